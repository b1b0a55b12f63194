//! The speaker: wires listeners, peer tasks, the RIB task and the control socket together on
//! tokio, and stops them the way the operator meant (a deliberate stop sends Cease).

mod conn;
mod control;
mod marker;
mod peer;
mod rib_task;
mod status;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn, Instrument};

use crate::config::Config;
use crate::wire::{notif, Notification};
use peer::{PeerEvent, PeerTask};
use rib_task::RibCmd;
use status::StatusBoard;

/// Why the speaker could not run.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The control socket could not be created.
    #[error("cannot create control socket {path}: {source}")]
    Control {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The state directory could not be used.
    #[error("cannot use state directory {path}: {source}")]
    StateDir {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// How the speaker was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// SIGTERM / SIGINT: tell every peer with Cease / Administrative Shutdown.
    Deliberate,
}

/// The message sent with Cease / Administrative Shutdown on a deliberate stop (RFC 9003).
pub const SHUTDOWN_MESSAGE: &str = "baton: administrative shutdown";

/// Run the speaker until SIGTERM or SIGINT.
pub async fn run(config: Config) -> Result<(), SpeakerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(SpeakerError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(SpeakerError::Signals)?;
    let listeners = bind_listeners(&config.global.listen)?;
    let control = control::bind(&config.global.control_socket)?;
    let (marker, restarting) =
        marker::RunMarker::begin(&config.global.state_dir).map_err(|source| {
            SpeakerError::StateDir {
                path: config.global.state_dir.display().to_string(),
                source,
            }
        })?;
    if restarting {
        info!("the previous speaker ended without a deliberate stop (crash, kill or upgrade): restarting gracefully, Restart bit set");
    }

    let (rib_tx, rib_rx) = mpsc::unbounded_channel();
    let rib = tokio::spawn(rib_task::run(config.global.asn, rib_rx));
    let _ = rib_tx.send(RibCmd::SetOriginated(config.routes.clone()));

    let status = StatusBoard::default();
    let mut peers: HashMap<IpAddr, mpsc::UnboundedSender<PeerEvent>> = HashMap::new();
    let mut peer_tasks = Vec::new();
    for p in &config.peers {
        status.update(p.address, |_| {});
        let (task, tx) = PeerTask::new(
            p.clone(),
            config.global.asn,
            config.global.router_id,
            restarting,
            rib_tx.clone(),
            status.clone(),
        );
        let span = tracing::info_span!("peer", peer = %p.address);
        peer_tasks.push(tokio::spawn(task.run().instrument(span)));
        peers.insert(p.address, tx);
    }
    for l in listeners {
        tokio::spawn(accept_loop(l, peers.clone()));
    }
    tokio::spawn(control::serve(
        control,
        config.peers.clone(),
        status.clone(),
        rib_tx.clone(),
    ));
    info!(asn = config.global.asn, router_id = %config.global.router_id, peers = config.peers.len(), routes = config.routes.len(), "speaker running");

    let kind = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    info!(
        signal = kind,
        "deliberate stop: sending Cease/Administrative Shutdown to every peer"
    );
    let cease = Notification::cease_with_message(notif::ADMIN_SHUTDOWN, SHUTDOWN_MESSAGE);
    let mut waits = Vec::new();
    for tx in peers.values() {
        let (done_tx, done_rx) = oneshot::channel();
        if tx
            .send(PeerEvent::Stop(Some(cease.clone()), done_tx))
            .is_ok()
        {
            waits.push(done_rx);
        }
    }
    for w in waits {
        let _ = w.await;
    }
    drop(rib_tx);
    rib.abort();
    let _ = std::fs::remove_file(&config.global.control_socket);
    marker.end();
    info!("stopped: peers were told (Cease), the next start is a fresh one");
    Ok(())
}

fn bind_listeners(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, SpeakerError> {
    addrs
        .iter()
        .map(|addr| {
            let bind = || -> std::io::Result<TcpListener> {
                let domain = socket2::Domain::for_address(*addr);
                let s = socket2::Socket::new(domain, socket2::Type::STREAM, None)?;
                s.set_reuse_address(true)?;
                if addr.is_ipv6() {
                    s.set_only_v6(true)?;
                }
                s.set_nonblocking(true)?;
                s.bind(&(*addr).into())?;
                s.listen(128)?;
                TcpListener::from_std(s.into())
            };
            bind().map_err(|source| SpeakerError::Listen {
                addr: *addr,
                source,
            })
        })
        .collect()
}

/// Hand each accepted connection to the task of the peer it comes from; refuse strangers.
async fn accept_loop(
    listener: TcpListener,
    peers: HashMap<IpAddr, mpsc::UnboundedSender<PeerEvent>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let ip = match from.ip() {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                    v4 => v4,
                };
                match peers.get(&ip) {
                    Some(tx) => {
                        let _ = stream.set_nodelay(true);
                        let _ = tx.send(PeerEvent::Incoming(stream));
                    }
                    None => warn!(%from, "connection from an unconfigured address refused"),
                }
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
