//! The speaker's side of the handoff channel: answer the supervisor's Hello, take the
//! listening sockets, then turn channel messages into speaker [`Command`]s and speaker answers
//! into channel messages.

use std::os::fd::RawFd;
use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use super::{Command, Ending, Supervised};
use crate::config::Config;
use crate::ctl::{Reply, Request};
use crate::handoff::{listener_from_fd, speaker_handshake, Channel, ListenerKind, Msg};

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

    let (tx, mut rx) = channel.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Msg>();
    let writer = tokio::spawn(async move {
        let mut tx = tx;
        while let Some(msg) = out_rx.recv().await {
            let last = matches!(msg, Msg::Quiesced);
            if let Err(e) = tx.send(&msg, &[]).await {
                warn!(error = %e, "cannot reach the supervisor");
                return;
            }
            if last {
                return;
            }
        }
    });

    let (cmd_tx, commands) = mpsc::unbounded_channel();
    let replies = out_tx.clone();
    tokio::spawn(async move {
        loop {
            let cmd = match rx.recv().await {
                Ok((Msg::Activate, _)) => Command::Activate,
                Ok((Msg::Quiesce, _)) => Command::Quiesce,
                Ok((Msg::Stop, _)) => Command::Stop,
                Ok((Msg::Request { id, body }, _)) => {
                    let (reply_tx, reply_rx) = oneshot::channel();
                    let out = replies.clone();
                    tokio::spawn(async move {
                        let reply = reply_rx.await.unwrap_or(Reply::Error {
                            error: "the speaker is stopping".into(),
                        });
                        let body = serde_json::to_value(reply).unwrap_or_default();
                        let _ = out.send(Msg::Reply { id, body });
                    });
                    match serde_json::from_value::<Request>(body) {
                        Ok(req) => Command::Request(req, reply_tx),
                        Err(e) => {
                            let _ = reply_tx.send(Reply::Error {
                                error: format!("bad request: {e}"),
                            });
                            continue;
                        }
                    }
                }
                Ok((other, _)) => {
                    warn!(
                        kind = other.kind(),
                        "unexpected message from the supervisor"
                    );
                    continue;
                }
                Err(e) => {
                    // The supervisor is gone (or the channel broke): dropping the command
                    // sender makes the speaker end silently.
                    info!(error = %e, "handoff channel closed");
                    return;
                }
            };
            if cmd_tx.send(cmd).is_err() {
                return;
            }
        }
    });

    let (ready_tx, ready_rx) = oneshot::channel();
    let ready_out = out_tx.clone();
    tokio::spawn(async move {
        if ready_rx.await.is_ok() {
            let _ = ready_out.send(Msg::Ready {
                peers_up: Vec::new(),
            });
        }
    });
    let ending = super::run(
        config,
        accepted.hello.config_path.clone(),
        Some(Supervised {
            listeners,
            api_listener,
            commands,
            ready: ready_tx,
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

/// The supervisor's state directory wins over the config's (they are the same unless the
/// supervisor was started differently).
fn with_state_dir(mut config: Config, state_dir: PathBuf) -> Config {
    config.global.state_dir = state_dir;
    config
}
