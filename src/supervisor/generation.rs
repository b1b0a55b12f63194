//! One speaker process, as the supervisor drives it: spawned with its end of the handoff
//! channel, handed the listening sockets, asked things, told to go, and watched until it exits.

use std::collections::HashMap;
use std::net::TcpListener as StdTcpListener;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::handoff::{
    listener_to_send, spawn_with_handoff, supervisor_handshake, Hello, ListenerKind, Msg,
};

/// How long a new speaker may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a speaker's lifecycle reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// State loaded, listeners taken: it can go live.
    Ready,
    /// It let go of its sessions (after Quiesce) and exits next.
    Quiesced,
    /// The process ended; how.
    Exited(String),
}

/// Requests waiting for the speaker's reply; `None` once the link has closed, so a request
/// that races with the speaker's death fails at once instead of waiting out its timeout.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<serde_json::Value>>>>>;

/// A running speaker generation.
#[derive(Debug)]
pub struct Generation {
    /// 1 for the first speaker of this supervisor, +1 for each start or upgrade.
    pub number: u64,
    /// Its process id.
    pub pid: u32,
    /// The executable it was started from.
    pub binary: PathBuf,
    /// What it reported as its version.
    pub version: String,
    /// When it was spawned.
    pub started: Instant,
    to_speaker: mpsc::UnboundedSender<Msg>,
    pending: Pending,
    next_id: AtomicU64,
}

/// Where the handoff protocol's launch parameters come from.
#[derive(Debug, Clone)]
pub struct LaunchSpec<'a> {
    /// Generation number to give it.
    pub number: u64,
    /// Executable.
    pub binary: &'a Path,
    /// Configuration file (`None`: the embedded default).
    pub config_path: Option<&'a Path>,
    /// State directory.
    pub state_dir: &'a Path,
    /// BGP listeners to hand over.
    pub listeners: Arc<Vec<StdTcpListener>>,
    /// The REST API listener to hand over, when `[api] listen` is set.
    pub api_listener: Option<Arc<StdTcpListener>>,
}

impl Generation {
    /// Spawn a speaker, hand it the listeners, and return it once it said Ready (or why not),
    /// all within `timeout`. Its exit is reported on `exits` as `(number, how)` whenever it
    /// happens.
    pub async fn launch(
        spec: LaunchSpec<'_>,
        timeout: Duration,
        exits: mpsc::UnboundedSender<(u64, String)>,
    ) -> Result<(Generation, mpsc::UnboundedReceiver<Lifecycle>), String> {
        let launched = tokio::time::Instant::now();
        let deadline = launched + timeout;
        let number = spec.number;
        let binary = spec.binary.to_path_buf();
        if !binary.exists() {
            return Err(format!("{}: no such file", binary.display()));
        }
        let mut cmd = tokio::process::Command::new(&binary);
        cmd.arg("speaker");
        if let Some(c) = spec.config_path {
            cmd.arg("--config").arg(c);
        }
        cmd.stdin(std::process::Stdio::null());
        let (mut child, mut channel) = spawn_with_handoff(cmd)
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let pid = child.id().unwrap_or(0);
        let started = Instant::now();
        let kill = |child: &mut tokio::process::Child| {
            let _ = child.start_kill();
        };

        let mut infos = Vec::new();
        let mut fds: Vec<BorrowedFd<'_>> = Vec::new();
        for l in spec.listeners.iter() {
            let (info, fd) =
                listener_to_send(l, ListenerKind::Bgp).map_err(|e| format!("listener: {e}"))?;
            infos.push(info);
            fds.push(fd);
        }
        if let Some(l) = spec.api_listener.as_deref() {
            let (info, fd) =
                listener_to_send(l, ListenerKind::Api).map_err(|e| format!("listener: {e}"))?;
            infos.push(info);
            fds.push(fd);
        }
        let hello = Hello::new(
            number,
            spec.state_dir.to_path_buf(),
            spec.config_path.map(Path::to_path_buf),
            infos,
        );
        let handshake_deadline = deadline.min(tokio::time::Instant::now() + HANDSHAKE_TIMEOUT);
        let ack = match tokio::time::timeout_at(
            handshake_deadline,
            supervisor_handshake(&mut channel, &hello, &fds),
        )
        .await
        {
            Ok(Ok(ack)) => ack,
            Ok(Err(e)) => {
                kill(&mut child);
                let status = child
                    .wait()
                    .await
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                return Err(format!(
                    "{} refused the handoff: {e} ({status})",
                    binary.display()
                ));
            }
            Err(_) => {
                kill(&mut child);
                let _ = child.wait().await;
                return Err(format!(
                    "{} did not answer the handoff within {} s",
                    binary.display(),
                    handshake_deadline
                        .saturating_duration_since(launched)
                        .as_secs()
                ));
            }
        };
        info!(generation = number, pid, version = %ack.speaker_version, "speaker started");

        let (to_speaker, outgoing) = mpsc::unbounded_channel();
        let (life_tx, mut life_rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        tokio::spawn(link(
            number,
            channel,
            child,
            outgoing,
            life_tx,
            pending.clone(),
            exits,
        ));
        let gen = Generation {
            number,
            pid,
            binary: binary.clone(),
            version: ack.speaker_version,
            started,
            to_speaker,
            pending,
            next_id: AtomicU64::new(1),
        };
        match tokio::time::timeout_at(deadline, life_rx.recv()).await {
            Ok(Some(Lifecycle::Ready)) => Ok((gen, life_rx)),
            Ok(Some(Lifecycle::Exited(how))) => Err(format!(
                "{} exited before it was ready ({how})",
                binary.display()
            )),
            Ok(other) => {
                gen.kill();
                Err(format!(
                    "{} said {other:?} instead of ready",
                    binary.display()
                ))
            }
            Err(_) => {
                gen.kill();
                Err(format!(
                    "{} was not ready within {} s",
                    binary.display(),
                    timeout.as_secs()
                ))
            }
        }
    }

    /// Send a message (Activate, Quiesce, Stop).
    pub fn send(&self, msg: Msg) {
        let _ = self.to_speaker.send(msg);
    }

    /// Forward a control request and wait (at most `timeout`) for the answer.
    pub async fn request(
        &self,
        body: serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        match self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            Some(waiting) => waiting.insert(id, tx),
            None => return Err(format!("speaker generation {} went away", self.number)),
        };
        self.send(Msg::Request { id, body });
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(format!("speaker generation {} went away", self.number)),
            Err(_) => {
                if let Some(waiting) = self
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_mut()
                {
                    waiting.remove(&id);
                }
                Err(format!("speaker generation {} did not answer", self.number))
            }
        }
    }

    /// SIGKILL the process.
    pub fn kill(&self) {
        if self.pid > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Carry messages both ways until the speaker's end closes, then reap the process.
async fn link(
    number: u64,
    channel: crate::handoff::Channel,
    mut child: tokio::process::Child,
    mut outgoing: mpsc::UnboundedReceiver<Msg>,
    life: mpsc::UnboundedSender<Lifecycle>,
    pending: Pending,
    exits: mpsc::UnboundedSender<(u64, String)>,
) {
    let (mut tx, mut rx) = channel.into_split();
    loop {
        tokio::select! {
            m = outgoing.recv() => match m {
                Some(msg) => {
                    if let Err(e) = tx.send(&msg, &[]).await {
                        warn!(generation = number, error = %e, "cannot reach the speaker");
                    }
                }
                None => break,
            },
            r = rx.recv() => match r {
                Ok((Msg::Ready { .. }, _)) => {
                    let _ = life.send(Lifecycle::Ready);
                }
                Ok((Msg::Quiesced, _)) => {
                    let _ = life.send(Lifecycle::Quiesced);
                }
                Ok((Msg::Reply { id, body }, _)) => {
                    let waiter = pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_mut()
                        .and_then(|w| w.remove(&id));
                    if let Some(w) = waiter {
                        let _ = w.send(body);
                    }
                }
                Ok((Msg::Progress { peer, event }, _)) => {
                    info!(generation = number, %peer, %event, "speaker progress");
                }
                Ok((other, _)) => {
                    warn!(generation = number, kind = other.kind(), "unexpected message from the speaker");
                }
                Err(e) if e.is_framing() || matches!(e, crate::handoff::HandoffError::Closed) => break,
                Err(e) => warn!(generation = number, error = %e, "bad message from the speaker"),
            }
        }
    }
    // Fail the waiting requests now (and refuse new ones): the speaker will not answer.
    pending.lock().unwrap_or_else(|e| e.into_inner()).take();
    let how = match child.wait().await {
        Ok(status) => status.to_string(),
        Err(e) => format!("unknown ({e})"),
    };
    let _ = life.send(Lifecycle::Exited(how.clone()));
    let _ = exits.send((number, how));
}
