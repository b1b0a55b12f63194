//! The speaker's side of the handoff channel: answer the supervisor's Hello, take the
//! listening sockets, then turn channel messages into speaker [`Command`]s, and speaker answers
//! and session steps into channel messages (the sequence: [`crate::handoff`]'s `proto`).
//!
//! The supervisor's figures (upgrades by outcome, crash restarts) go straight into the metrics,
//! with this speaker's generation: those of the `Hello` at once, each `Figures` message as it
//! comes. The speaker serves `/metrics`, the supervisor counts: this is the one bridge.

use std::net::IpAddr;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use super::status::SessionStep;
use super::takeover::Takeover;
use super::{Command, Ending, Supervised};
use crate::config::Config;
use crate::ctl::Reply;
use crate::handoff::{
    listener_from_fd, speaker_handshake, Channel, HandoffError, ListenerKind, Msg, RecvHalf,
    SendHalf, EVENTS_VERSION,
};
use crate::metrics::Metrics;

/// Why a supervised speaker could not start.
#[derive(Debug, thiserror::Error)]
pub enum SupervisedError {
    /// The handoff channel failed or the supervisor is incompatible.
    #[error("handoff: {0}")]
    Handoff(#[from] crate::handoff::HandoffError),
    /// The configuration named by the supervisor is unusable.
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    /// The speaker failed.
    #[error(transparent)]
    Speaker(#[from] super::SpeakerError),
}

/// Run a speaker driven by the supervisor on the inherited descriptor `fd`.
pub async fn run(fd: RawFd) -> Result<Ending, SupervisedError> {
    let mut channel = Channel::from_handoff_fd(fd)?;
    let accepted = speaker_handshake(&mut channel, &crate::version::current()).await?;
    let config = match &accepted.hello.config_path {
        Some(path) => crate::config::load(path)?,
        None => Config::default_config(),
    };
    let config = with_state_dir(config, accepted.hello.state_dir.clone());
    let mut listeners = Vec::new();
    let mut api_listener = None;
    for (info, fd) in accepted.listeners {
        let to_std = |fd| {
            listener_from_fd(fd)?.into_std().map_err(|e| {
                crate::handoff::HandoffError::NotAListener(format!("{}: {e}", info.addr))
            })
        };
        match info.kind {
            ListenerKind::Bgp => listeners.push(to_std(fd)?),
            ListenerKind::Api => {
                // The supervisor binds `[api] listen` once, at its start: a configuration
                // read since (an upgrade reloads it) that moved or removed it takes a restart
                // of batond.
                match config.api.as_ref().and_then(|a| a.listen) {
                    Some(addr) if addr != info.addr => warn!(
                        configured = %addr, bound = %info.addr,
                        "[api] listen changed: the API stays on the address bound at batond's start until batond restarts"
                    ),
                    None => {
                        warn!(bound = %info.addr, "[api] listen was removed: not serving the API (the socket closes when batond restarts)");
                        continue;
                    }
                    Some(_) => {}
                }
                api_listener = Some(to_std(fd)?);
            }
            ListenerKind::Other => {}
        }
    }
    info!(
        generation = accepted.hello.generation,
        listeners = listeners.len(),
        "handoff received"
    );

    let generation = accepted.hello.generation;
    let metrics = Arc::new(Metrics::new());
    metrics
        .supervisor
        .mirror(generation, &accepted.hello.figures);
    let events = accepted.version >= EVENTS_VERSION;
    let (tx, rx) = channel.into_split();
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Msg>();
    let writer = tokio::spawn(write_to_supervisor(tx, out_rx));
    let (cmd_tx, commands) = mpsc::unbounded_channel();
    let (activated_tx, activated_rx) = oneshot::channel();
    tokio::spawn(read_from_supervisor(
        rx,
        cmd_tx,
        out_tx.clone(),
        activated_tx,
        (generation, metrics.clone()),
    ));
    let (ready_tx, ready_rx) = oneshot::channel();
    let (steps_tx, steps_rx) = mpsc::unbounded_channel();
    let progress = Reporter {
        out: out_tx.clone(),
        events,
    };
    tokio::spawn(progress.run(ready_rx, activated_rx, steps_rx));
    let ending = super::run(
        config,
        accepted.hello.config_path.clone(),
        Some(Supervised {
            listeners,
            api_listener,
            commands,
            ready: ready_tx,
            steps: steps_tx,
            metrics,
        }),
    )
    .await;
    match &ending {
        Ok(Ending::Silent) => {
            let _ = out_tx.send(Msg::Quiesced);
        }
        Ok(Ending::Deliberate) => {}
        Err(e) => error!(error = %e, "speaker failed"),
    }
    drop(out_tx);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer).await;
    Ok(ending?)
}

/// Send what the speaker says to the supervisor, in order, until `Quiesced` (the last word).
async fn write_to_supervisor(mut tx: SendHalf, mut out: mpsc::UnboundedReceiver<Msg>) {
    while let Some(msg) = out.recv().await {
        let last = matches!(msg, Msg::Quiesced);
        if let Err(e) = tx.send(&msg, &[]).await {
            warn!(error = %e, "cannot reach the supervisor");
            return;
        }
        if last {
            return;
        }
    }
}

/// Turn the supervisor's messages into speaker commands; requests are answered on `replies`.
/// `Activate`'s expected peers (and the moment) go to the progress reporter; `Figures` to the
/// metrics of this speaker (of generation `generation`). Ends when the supervisor is gone,
/// which makes the speaker end silently.
async fn read_from_supervisor(
    mut rx: RecvHalf,
    commands: mpsc::UnboundedSender<Command>,
    replies: mpsc::UnboundedSender<Msg>,
    activated: oneshot::Sender<(Vec<IpAddr>, Instant)>,
    (generation, metrics): (u64, Arc<Metrics>),
) {
    let mut activated = Some(activated);
    let answer = |id: u64, reply_rx: oneshot::Receiver<Reply>| {
        let out = replies.clone();
        tokio::spawn(async move {
            let body = reply_rx.await.unwrap_or(Reply::Error {
                error: "the speaker is stopping".into(),
            });
            let _ = out.send(Msg::Reply { id, body });
        });
    };
    loop {
        let cmd = match rx.recv().await {
            Ok((Msg::Activate { expect }, _)) => {
                if let Some(tx) = activated.take() {
                    let _ = tx.send((expect, Instant::now()));
                }
                Command::Activate
            }
            Ok((Msg::Quiesce, _)) => Command::Quiesce,
            Ok((Msg::Stop, _)) => Command::Stop,
            Ok((Msg::Figures(figures), _)) => {
                metrics.supervisor.mirror(generation, &figures);
                continue;
            }
            Ok((Msg::Request { id, body }, _)) => {
                let (reply_tx, reply_rx) = oneshot::channel();
                answer(id, reply_rx);
                Command::Request(body, reply_tx)
            }
            Err(HandoffError::BadRequest { id, reason }) => {
                let (reply_tx, reply_rx) = oneshot::channel();
                answer(id, reply_rx);
                let _ = reply_tx.send(Reply::Error {
                    error: format!("bad request: {reason}"),
                });
                continue;
            }
            Ok((other, _)) => {
                warn!(
                    kind = other.kind(),
                    "unexpected message from the supervisor"
                );
                continue;
            }
            Err(e) if e.is_framing() || matches!(e, HandoffError::Closed) => {
                // The supervisor is gone (or the channel broke): dropping the command
                // sender makes the speaker end silently.
                info!(error = %e, "handoff channel closed");
                return;
            }
            Err(e) => {
                warn!(error = %e, "bad message from the supervisor");
                continue;
            }
        };
        if commands.send(cmd).is_err() {
            return;
        }
    }
}

/// Tells the supervisor how the takeover goes: `Ready`, then (protocol version 2) each session
/// step as `Progress` and `Done` once the expected peers are back.
struct Reporter {
    out: mpsc::UnboundedSender<Msg>,
    /// The agreed version has progress events.
    events: bool,
}

impl Reporter {
    async fn run(
        self,
        ready: oneshot::Receiver<()>,
        activated: oneshot::Receiver<(Vec<IpAddr>, Instant)>,
        mut steps: mpsc::UnboundedReceiver<SessionStep>,
    ) {
        let mut takeover = Takeover::default();
        if ready.await.is_err() {
            return;
        }
        let peers_up = takeover.peers_up();
        let _ = self.out.send(Msg::Ready { peers_up });
        let Ok((expect, at)) = activated.await else {
            return;
        };
        self.send(takeover.activate(expect, at));
        while let Some(step) = steps.recv().await {
            self.send(takeover.step(step));
        }
    }

    fn send(&self, msgs: Vec<Msg>) {
        if self.events {
            for msg in msgs {
                let _ = self.out.send(msg);
            }
        }
    }
}

/// The supervisor's state directory wins over the config's (they are the same unless the
/// supervisor was started differently).
fn with_state_dir(mut config: Config, state_dir: PathBuf) -> Config {
    config.global.state_dir = state_dir;
    config
}
