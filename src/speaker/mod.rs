//! The speaker: wires listeners, peer tasks, the RIB task and the control socket together on
//! tokio, and stops them the way the operator meant (a deliberate stop sends Cease).

mod api_backend;
mod best_feed;
mod committer;
mod conn;
mod control;
mod fib;
mod intent;
mod listeners;
mod marker;
mod martian;
mod ops;
mod peer;
mod peer_set;
mod prefix_limit;
mod reload;
mod rib_saver;
mod rib_task;
mod status;
pub mod supervised;
mod takeover;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::config::Config;
use crate::ctl::{Reply, Request};
use crate::store::StateDir;
use crate::wire::{notif, Notification};
use peer_set::PeerSet;
use rib_task::RibCmd;
use status::StatusBoard;

/// Why the speaker could not run.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    /// A socket could not be bound (running without a supervisor).
    #[error(transparent)]
    Bind(#[from] crate::sockets::BindError),
    /// A listening socket handed over could not be taken into tokio.
    #[error("cannot use a listening socket: {0}")]
    Listener(std::io::Error),
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
    /// The thread that keeps intent changes could not be started.
    #[error("cannot start the thread that keeps intent changes: {0}")]
    Committer(std::io::Error),
}

/// How a speaker run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// SIGTERM, SIGINT or a Stop command: peers were sent Cease and withdraw at once; the next
    /// start is a fresh one.
    Deliberate,
    /// Quiesce (upgrade) or the supervisor vanished: sessions closed without a NOTIFICATION, so
    /// GR peers keep our routes; the next start is a graceful restart.
    Silent,
}

/// What a supervisor tells its speaker.
#[derive(Debug)]
pub enum Command {
    /// Start the BGP sessions (after Ready; at once for a plain start).
    Activate,
    /// Close every session without a NOTIFICATION and end (an upgrade hands over).
    Quiesce,
    /// Deliberate stop: Cease to every peer, then end.
    Stop,
    /// A control request from `batonctl`, answered through the sender.
    Request(Request, oneshot::Sender<Reply>),
}

/// A speaker run under a supervisor: it gets its listeners, is driven by commands, and says
/// when it is ready.
#[derive(Debug)]
pub struct Supervised {
    /// The listening sockets, bound by the supervisor.
    pub listeners: Vec<std::net::TcpListener>,
    /// The REST API's listening socket, bound by the supervisor (`[api] listen`).
    pub api_listener: Option<std::net::TcpListener>,
    /// Commands; when the sender goes away (supervisor gone), the speaker ends silently.
    pub commands: mpsc::UnboundedReceiver<Command>,
    /// Fired once the state is loaded and the speaker could go live.
    pub ready: oneshot::Sender<()>,
    /// Where the steps of each session are reported as they happen.
    pub steps: mpsc::UnboundedSender<status::SessionStep>,
    /// The metrics, with the supervisor's figures mirrored into them.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The message sent with Cease / Administrative Shutdown on a deliberate stop (RFC 9003).
pub const SHUTDOWN_MESSAGE: &str = "baton: administrative shutdown";

/// Why a disabled peer has no session, as its status says.
const DISABLED: &str = "administratively disabled";

/// Run the speaker: standalone (binds its listeners and control socket, runs until SIGTERM or
/// SIGINT; SIGHUP reloads `config_path`) or under a supervisor.
pub async fn run(
    config: Config,
    config_path: Option<std::path::PathBuf>,
    supervised: Option<Supervised>,
) -> Result<Ending, SpeakerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(SpeakerError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(SpeakerError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(SpeakerError::Signals)?;
    let (std_listeners, api_listener, mut commands, ready, status, metrics) = match supervised {
        Some(s) => (
            s.listeners,
            s.api_listener,
            Some(s.commands),
            Some(s.ready),
            StatusBoard::reporting(s.steps),
            s.metrics,
        ),
        None => (
            crate::sockets::bind_listeners(&config.global.listen)?,
            crate::sockets::bind_api_listener(&config)?,
            None,
            None,
            StatusBoard::default(),
            Arc::new(crate::metrics::Metrics::new()),
        ),
    };
    let listeners = std_listeners
        .into_iter()
        .map(|l| {
            l.set_nonblocking(true)?;
            TcpListener::from_std(l)
        })
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(SpeakerError::Listener)?;
    let listeners: Vec<_> = listeners.into_iter().map(Arc::new).collect();

    let (rib_tx, rib_rx) = mpsc::unbounded_channel();
    let rib = tokio::spawn(rib_task::run(config.global.asn, rib_rx, status.clone()));
    // The keeper holds the configuration's routes; the speaker keeps the settings only, so
    // that a million routes are held once.
    let (config, routes) = config.split_routes();
    let intent = Arc::new(Mutex::new(intent::IntentKeeper::open_owned(Config {
        routes,
        ..config.clone()
    })));
    observe_saves(&intent, &metrics);
    let originated = intent
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .originated_runs();
    let _ = rib_tx.send(RibCmd::SetOriginated(originated));
    let peers = PeerSet::new(
        config.global.asn,
        config.global.router_id,
        rib_tx.clone(),
        status.clone(),
        Arc::new(listeners::Listeners::new(listeners.clone())),
        metrics.clone(),
    );
    // The one operations core: the control socket, the REST API and reloads all go through it.
    let ops = Arc::new(
        ops::Ops::new(
            status.clone(),
            rib_tx.clone(),
            intent.clone(),
            peers.clone(),
            metrics.clone(),
            config.global.asn,
            config.global.router_id,
            config_path,
        )
        .map_err(SpeakerError::Committer)?,
    );
    if commands.is_none() {
        let control = crate::sockets::bind_control_socket(
            &config.global.control_socket,
            config.global.control_socket_mode,
            config.global.control_socket_group.as_ref(),
        )?;
        tokio::spawn(control::serve(control, ops.clone()));
    }

    // Under a supervisor: report ready, then wait to be activated (an upgrade activates the
    // new speaker only once the old one has let go of its sessions).
    if let (Some(ready), Some(cmds)) = (ready, commands.as_mut()) {
        let _ = ready.send(());
        loop {
            match cmds.recv().await {
                Some(Command::Activate) => {
                    // The previous speaker may have acknowledged changes after we loaded:
                    // read the run-time intent again now that it has let go, and hand the
                    // RIB the difference (the configured routes are as they were).
                    let mut keeper = intent.lock().unwrap_or_else(|e| e.into_inner());
                    if keeper.state_dir().is_some() {
                        let (announce, withdraw) = keeper.reread_run_time();
                        if !announce.is_empty() || !withdraw.is_empty() {
                            let _ = rib_tx.send(RibCmd::ChangeOriginated { announce, withdraw });
                        }
                    } else {
                        *keeper = keeper.reopen();
                        let _ = rib_tx.send(RibCmd::SetOriginated(keeper.originated_runs()));
                        drop(keeper);
                        observe_saves(&intent, &metrics);
                    }
                    break;
                }
                Some(Command::Request(req, reply)) => {
                    let _ = reply.send(control::execute(&ops, req).await);
                }
                Some(Command::Stop) | Some(Command::Quiesce) | None => {
                    info!("stopped before going live");
                    return Ok(Ending::Silent);
                }
            }
        }
    }

    let (marker, restarting) = marker::RunMarker::begin(&config.global.state_dir);
    if restarting {
        info!("the previous speaker ended without a deliberate stop (crash, kill or upgrade): restarting gracefully, Restart bit set");
    }
    let state_dir = intent.lock().unwrap_or_else(|e| e.into_inner()).state_dir();
    let saver = state_dir.as_ref().map(|dir| {
        if restarting {
            restore_rib(dir, &rib_tx, &config);
        }
        rib_saver::RibSaver::start(rib_tx.clone(), dir.clone())
    });

    let all_peers = ops.peer_list();
    let enabled: Vec<_> = all_peers
        .iter()
        .filter(|p| p.2)
        .map(|p| p.0.clone())
        .collect();
    let fib = fib::start(&config, &enabled, &rib_tx, metrics.clone()).await;
    if let Some(fib) = &fib {
        let _ = ops.fib.set(fib.query());
    }
    for (p, _, enabled) in &all_peers {
        status.update(p.address, |_| {});
        if *enabled {
            peers.start(p.clone(), restarting);
        } else {
            status.update(p.address, |s| s.last_error = Some(DISABLED.into()));
        }
    }
    let accepting: Vec<_> = listeners
        .into_iter()
        .map(|l| tokio::spawn(accept_loop(l, peers.clone())))
        .collect();
    info!(asn = config.global.asn, router_id = %config.global.router_id, peers = all_peers.len(), "speaker running");
    ops.set_live(true);
    // The API is served only while live: during an upgrade, requests wait in the listener's
    // queue from the moment the old speaker stops until the new one is activated.
    let api = match api_listener {
        Some(l) => {
            let router = api_backend::router(&config, ops.clone());
            match api_backend::ApiServer::start(l, router, &config) {
                Ok(server) => Some(server),
                Err(e) => {
                    warn!(error = %e, "cannot serve the REST API");
                    None
                }
            }
        }
        None => None,
    };

    let ending = loop {
        let cmd = async {
            match commands.as_mut() {
                Some(c) => c.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => {
                info!(signal = "SIGTERM", "deliberate stop");
                break Ending::Deliberate;
            }
            _ = int.recv() => {
                info!(signal = "SIGINT", "deliberate stop");
                break Ending::Deliberate;
            }
            _ = hup.recv() => {
                if commands.is_some() {
                    info!(signal = "SIGHUP", "ignored: under a supervisor, reload batond (the supervisor) instead");
                } else {
                    let ops = ops.clone();
                    tokio::spawn(async move { reload::on_signal(&ops).await });
                }
            }
            c = cmd => match c {
                Some(Command::Request(req, reply)) => {
                    let ops = ops.clone();
                    tokio::spawn(async move { let _ = reply.send(control::execute(&ops, req).await); });
                }
                Some(Command::Activate) => {}
                Some(Command::Stop) => {
                    info!("deliberate stop requested by the supervisor");
                    break Ending::Deliberate;
                }
                Some(Command::Quiesce) => {
                    info!("quiesce: closing sessions without NOTIFICATION for the next speaker");
                    break Ending::Silent;
                }
                None => {
                    warn!("the supervisor is gone: closing sessions without NOTIFICATION");
                    break Ending::Silent;
                }
            }
        }
    };

    // No more API changes; those in flight finish (and are saved) first, then nothing more is
    // changed through this speaker (the control socket's requests are refused from here on).
    if let Some(api) = api {
        api.stop().await;
    }
    ops.set_live(false);
    // Stop accepting first: once every process has closed the listeners, peers are refused
    // at once instead of waiting in the accept queue.
    for a in accepting {
        a.abort();
    }
    peers.forget_listeners();
    let notification = (ending == Ending::Deliberate)
        .then(|| Notification::cease_with_message(notif::ADMIN_SHUTDOWN, SHUTDOWN_MESSAGE));
    // The saver ends before the RIB task; after a silent ending the next speaker takes over
    // from this RIB, so it saves it one last time.
    if let Some(saver) = saver {
        saver.finish(ending == Ending::Silent).await;
    }
    // Before the sessions end, so that what they withdraw never reaches the kernel: a silent
    // stop leaves our routes for the next speaker; a deliberate one removes them.
    if let Some(fib) = fib {
        fib.stop(ending == Ending::Deliberate && !config.fib.keep_on_stop)
            .await;
    }
    peers.stop_all(notification).await;
    drop(rib_tx);
    rib.abort();
    if commands.is_none() {
        let _ = std::fs::remove_file(&config.global.control_socket);
    }
    match ending {
        Ending::Deliberate => {
            marker.end();
            info!("stopped: peers were told (Cease), the next start is a fresh one");
        }
        Ending::Silent => info!("stopped silently: peers keep our routes (graceful restart)"),
    }
    Ok(ending)
}

/// Have the state directory (if the intent keeper has one) report every save to `metrics`.
fn observe_saves(intent: &Mutex<intent::IntentKeeper>, metrics: &Arc<crate::metrics::Metrics>) {
    let dir = intent.lock().unwrap_or_else(|e| e.into_inner()).state_dir();
    if let Some(dir) = dir {
        // Already observed when the keeper kept its directory: that is fine.
        let _ = dir.observe(metrics.clone());
    }
}

/// After a restart: take the routes peers had sent as stale, until each peer's End-of-RIB or
/// its selection deferral time (RFC 4724 §4.1).
fn restore_rib(dir: &StateDir, rib: &mpsc::UnboundedSender<RibCmd>, config: &Config) {
    match dir.load_rib() {
        Ok(Some(loaded)) => {
            for p in &loaded.problems {
                warn!(problem = %p, "RIB snapshot");
            }
            let _ = rib.send(RibCmd::Restore(Box::new(loaded.value)));
            for p in &config.peers {
                let (rib, address) = (rib.clone(), p.address);
                let deferral = std::time::Duration::from_secs(
                    p.graceful_restart.selection_deferral_time.into(),
                );
                tokio::spawn(async move {
                    tokio::time::sleep(deferral).await;
                    let families = vec![
                        crate::wire::Family::IPV4_UNICAST,
                        crate::wire::Family::IPV6_UNICAST,
                    ];
                    let _ = rib.send(RibCmd::PurgeStale(address, families));
                });
            }
        }
        Ok(None) => {}
        Err(e) => warn!(error = %e, "RIB snapshot unusable: relearning from the peers"),
    }
}

/// Hand each accepted connection to the task of the peer it comes from; refuse strangers
/// (and disabled peers).
async fn accept_loop(listener: Arc<TcpListener>, peers: PeerSet) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let ip = match from.ip() {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                    v4 => v4,
                };
                match peers.get(ip) {
                    Some(_) if !peers.admit(ip, &stream) => {}
                    Some(tx) => {
                        let _ = stream.set_nodelay(true);
                        let _ = tx.send(peer::PeerEvent::Incoming(stream));
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
