//! Serving the API on its listener within bounds, so that no number of API clients, idle or
//! slow, can take what BGP needs.
//!
//! Anyone who can reach the port can open connections without a token, and each holds a file
//! descriptor: unbounded, a few thousand idle ones leave the speaker unable to accept a BGP
//! session. So:
//! - at most [`Limits::max_connections`] connections are served at once (`[api]
//!   max_connections`, held below what the descriptor limit leaves after [`fds::RESERVE`]);
//! - one more is *answered*, not queued or silently dropped: 503 with
//!   `{"code": "too_many_connections"}` and `Retry-After: 1`, then closed, by one of
//!   [`OVERFLOW_SLOTS`] short-lived tasks. The accept loop takes a slot before it accepts, so
//!   when every slot is taken the kernel queues new connections instead of the process opening
//!   descriptors it has no budget for;
//! - a head must arrive within `header_timeout` of its first byte and an idle connection is
//!   closed after `idle_timeout` ([`conn`]);
//! - when accepting fails for want of descriptors (EMFILE, ENFILE) or memory, the loop backs
//!   off (10 ms doubling to 1 s) instead of spinning;
//! - with `[api] tls_cert` and `tls_key`, every connection speaks TLS (rustls), its handshake
//!   bounded by `header_timeout`, and the same limits apply inside;
//! - heads are limited to [`MAX_HEAD`] bytes and [`MAX_HEADERS`] headers (431), targets to
//!   [`MAX_TARGET`] bytes (414), and every such refusal is JSON like the API's own ([`io`]).

mod conn;
mod io;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::error::{ApiError, ErrorCode};
use crate::config;
use crate::fds;

/// The largest request head (request line and headers), in bytes.
pub const MAX_HEAD: usize = 64 << 10;
/// The most headers in one request.
pub const MAX_HEADERS: usize = 100;
/// The longest request target (path and query), in bytes: the API's longest is a few hundred.
pub const MAX_TARGET: usize = 8 << 10;
/// Connections answered 503 at once, beyond those served.
pub const OVERFLOW_SLOTS: usize = 64;
/// The longest a refused connection is kept: the 503 written, then what the client sends read
/// and dropped until it closes, so the reply is not lost to a reset.
const REFUSE_LINGER: Duration = Duration::from_millis(50);
/// The longest writing the 503 may take.
const REFUSE_WRITE: Duration = Duration::from_secs(1);
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// How the API's connections are bounded and secured (`[api]` in the configuration).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The most connections served at once.
    pub max_connections: usize,
    /// How long a request's line and headers may take from their first byte.
    pub header_timeout: Duration,
    /// How long a connection may stay open with no request under way.
    pub idle_timeout: Duration,
    /// When set, connections speak TLS only; the handshake must end within `header_timeout`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl ServeOptions {
    /// The options of an `[api]` table, its TLS files read now. Errs (naming the key) if they
    /// cannot be used (they could when the configuration was loaded).
    pub fn from_config(api: &config::Api) -> Result<ServeOptions, config::TlsFailure> {
        Ok(ServeOptions {
            tls: api.tls_config()?,
            ..ServeOptions::bounds(api)
        })
    }

    /// The bounds of an `[api]` table, without TLS.
    fn bounds(api: &config::Api) -> ServeOptions {
        ServeOptions {
            max_connections: api.max_connections as usize,
            header_timeout: Duration::from_secs(api.header_timeout.into()),
            idle_timeout: Duration::from_secs(api.idle_timeout.into()),
            tls: None,
        }
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions::bounds(&config::Api::default())
    }
}

/// The bounds in force on one listener.
#[derive(Debug)]
pub(super) struct Limits {
    /// The connections served at once: `max_connections`, or fewer if descriptors are short.
    max_connections: usize,
    /// Connections answered 503 at once.
    overflow: usize,
    header_timeout: Duration,
    idle_timeout: Duration,
    max_head: usize,
    max_target: usize,
}

impl Limits {
    /// `options` within `available` file descriptors (for the served and the refused alike).
    fn new(options: &ServeOptions, available: u64) -> Limits {
        let available = usize::try_from(available).unwrap_or(usize::MAX);
        let overflow = OVERFLOW_SLOTS.min(available / 8).max(1);
        Limits {
            max_connections: options
                .max_connections
                .min(available.saturating_sub(overflow))
                .max(1),
            overflow,
            header_timeout: options.header_timeout,
            idle_timeout: options.idle_timeout,
            max_head: MAX_HEAD,
            max_target: MAX_TARGET,
        }
    }
}

/// Serve `router` on `listener` within `options` until `shutdown` completes; then stop
/// accepting, let requests under way finish, and return once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let available = fds::available().unwrap_or(u64::MAX);
    let limits = Arc::new(Limits::new(&options, available));
    if limits.max_connections < options.max_connections {
        warn!(
            max_connections = options.max_connections,
            serving = limits.max_connections,
            fd_limit = fds::limit(),
            fd_open = fds::open_count(),
            fd_reserve = fds::RESERVE,
            "the file descriptor limit leaves room for fewer API connections than max_connections"
        );
    }
    info!(
        addr = %listener.local_addr()?,
        max_connections = limits.max_connections,
        header_timeout_secs = limits.header_timeout.as_secs(),
        idle_timeout_secs = limits.idle_timeout.as_secs(),
        tls = options.tls.is_some(),
        "REST API serving"
    );
    let tls = options.tls.map(tokio_rustls::TlsAcceptor::from);
    let served = Arc::new(Semaphore::new(limits.max_connections));
    let refused = Arc::new(Semaphore::new(limits.overflow));
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut backoff = MIN_BACKOFF;
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        // A slot first, then the socket: nothing is accepted that cannot be answered.
        let slot = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            p = served.clone().acquire_owned() => Slot::Serve(p.map_err(closed)?),
            p = refused.clone().acquire_owned() => Slot::Refuse(p.map_err(closed)?),
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if out_of_resources(&e) => {
                    warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "REST API cannot accept a connection");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
                // The client gave up before we accepted (ECONNABORTED and the like).
                Err(_) => continue,
            },
        };
        backoff = MIN_BACKOFF;
        // A served slot may have come free while the accept waited.
        let slot = match slot {
            Slot::Refuse(p) => match served.clone().try_acquire_owned() {
                Ok(s) => {
                    drop(p);
                    Slot::Serve(s)
                }
                Err(_) => Slot::Refuse(p),
            },
            serve => serve,
        };
        match slot {
            Slot::Serve(permit) => {
                let (router, limits, stopping) = (router.clone(), limits.clone(), stopping.clone());
                let tls = tls.clone();
                tasks.spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tls {
                        None => conn::serve(stream, peer, router, limits, stopping).await,
                        Some(tls) => {
                            let handshake = tls.accept(stream);
                            match tokio::time::timeout(limits.header_timeout, handshake).await {
                                Ok(Ok(stream)) => {
                                    conn::serve(stream, peer, router, limits, stopping).await
                                }
                                Ok(Err(e)) => debug!(%peer, error = %e, "API TLS handshake failed"),
                                Err(_) => debug!(%peer, "API TLS handshake timed out"),
                            }
                        }
                    }
                    drop(permit);
                });
            }
            Slot::Refuse(permit) => {
                let reply = too_many(limits.max_connections);
                tasks.spawn(async move {
                    refuse(stream, &reply).await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// A permit to serve a connection, or to answer it 503.
enum Slot {
    Serve(OwnedSemaphorePermit),
    Refuse(OwnedSemaphorePermit),
}

fn closed(_: tokio::sync::AcquireError) -> std::io::Error {
    std::io::Error::other("the API's connection slots were closed")
}

/// Accept failed for want of descriptors or memory: waiting helps, retrying at once does not.
fn out_of_resources(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The 503 for a connection beyond the cap, whole.
fn too_many(max: usize) -> Vec<u8> {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the API is serving its maximum of {max} connections: try again shortly"),
    )
    .with_code(ErrorCode::TooManyConnections)
    .raw_response()
}

/// Answer `reply` without reading the request, close the sending side, and drop what the client
/// still sends for a moment so the reply is not lost to a reset.
async fn refuse(mut stream: TcpStream, reply: &[u8]) {
    let written = tokio::time::timeout(REFUSE_WRITE, stream.write_all(reply)).await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let _ = stream.shutdown().await;
    let mut scratch = [0u8; 4096];
    let _ = tokio::time::timeout(REFUSE_LINGER, async {
        while matches!(stream.read(&mut scratch).await, Ok(n) if n > 0) {}
    })
    .await;
}
