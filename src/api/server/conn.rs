//! One API connection (plain TCP, or TLS over it): HTTP/1.1 by hyper within the head limits, requests to the router, and a
//! watchdog that closes the connection when a head is too slow or nothing happens for too long.
//!
//! hyper's own header timeout starts whenever it waits for a head, idle time included, so it
//! cannot tell a slow head from an idle keep-alive; the watchdog can, through [`Activity`]: a
//! head must be complete within `header_timeout` of its first byte, and a connection with no
//! request under way is closed after `idle_timeout` without a byte. A request in the router is
//! never cut (the stop of the whole API bounds it).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tracing::debug;

use super::super::error::ApiError;
use super::io::{Activity, ConnIo, Expiry};
use super::{Limits, MAX_HEADERS};

/// How long a stopping server keeps serving a connection before shutting it down: enough for
/// a request already sent to be read and answered, well within the speaker's drain bound.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Serve HTTP/1.1 on `stream` until the client leaves, the watchdog expires it, or `stop`
/// turns true (then requests under way finish and the connection closes).
pub(super) async fn serve<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = TokioIo::new(ConnIo::new(stream, activity.clone(), limits.clone()));
    let service = {
        let (activity, limits) = (activity.clone(), limits.clone());
        let router = TowerToHyperService::new(router);
        service_fn(move |mut request: Request<Incoming>| {
            // Who is asking, for the audit log and the rate limit.
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = activity.request();
            let too_long = target_too_long(&request, &limits);
            let response = router.call(request);
            async move {
                let response = match too_long {
                    Some(error) => error.into_response(),
                    None => response.await.unwrap_or_else(|e: Infallible| match e {}),
                };
                drop(busy);
                Ok::<Response, Infallible>(response)
            }
        })
    };
    let conn = http1::Builder::new()
        .max_header_size(limits.max_head)
        .max_headers(MAX_HEADERS)
        // The watchdog times heads; hyper's timer would also count idle time.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let watchdog = watchdog(&activity, &limits);
    tokio::pin!(watchdog);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                debug!(%peer, error = %e, "API connection ended with an error");
            }
        }
        expiry = &mut watchdog => {
            debug!(%peer, ?expiry, "API connection closed: timed out");
        }
        () = stopped(&mut stop) => {
            // A connection accepted just before the stop may have its first request still on
            // the way; shutting it down at once would close it unanswered. Serve for a moment
            // (a request-per-connection client is done by then), then shut down.
            if tokio::time::timeout(STOP_GRACE, conn.as_mut()).await.is_err() {
                conn.as_mut().graceful_shutdown();
                tokio::select! {
                    _ = conn.as_mut() => {}
                    expiry = watchdog => debug!(%peer, ?expiry, "API connection closed while stopping"),
                }
            }
        }
    }
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Resolves when the connection has been quiet too long (see the module doc).
async fn watchdog(activity: &Activity, limits: &Limits) -> Expiry {
    loop {
        match activity.deadline(limits) {
            // A request is in the router: look again later.
            None => tokio::time::sleep(limits.idle_timeout).await,
            Some((at, expiry)) => {
                if tokio::time::Instant::now() >= at {
                    return expiry;
                }
                tokio::time::sleep_until(at).await;
            }
        }
    }
}

/// 414 for a request target (path and query) longer than the API ever needs.
fn target_too_long<B>(request: &Request<B>, limits: &Limits) -> Option<ApiError> {
    let len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    (len > limits.max_target).then(|| {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the request target (path and query) is {len} bytes long; the limit is {}",
                limits.max_target
            ),
        )
    })
}
