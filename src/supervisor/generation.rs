//! One speaker process, as the supervisor drives it: spawned with its end of the handoff
//! channel, handed the listening sockets, asked things, told to go, and followed through its
//! [`Event`]s: what it says on the channel, and its exit, seen through the process handle (the
//! link task owns the `Child`; nothing signals a bare pid that may have been reused).

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener as StdTcpListener};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant as Deadline;
use tracing::{debug, info, warn};

use super::process::{describe, end, Process};
use super::stderr::LastWords;
use crate::ctl::{NeighborView, Reply, Request};
use crate::handoff::{
    listener_to_send, spawn_with_handoff, supervisor_handshake, Channel, Figures, HandoffError,
    Hello, ListenerKind, Msg, Progress, SendHalf, FIGURES_VERSION,
};

/// How long a new speaker may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a speaker that failed to start may take to exit before it is killed.
const EXIT_BOUND: Duration = Duration::from_secs(2);
/// How long the messages a speaker sent just before it exited may take to be read.
const DRAIN_BOUND: Duration = Duration::from_millis(500);

/// What a speaker says or does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// State loaded, listeners taken: it can go live.
    Ready {
        /// The sessions it holds Established.
        peers_up: Vec<IpAddr>,
    },
    /// A step of one peer's session.
    Progress(Progress),
    /// Every peer expected at its activation is back.
    Done {
        /// The peers back.
        peers_up: Vec<IpAddr>,
    },
    /// It let go of its sessions (after Quiesce) and exits next.
    Quiesced,
    /// The process ended; how, and what it said last when it failed.
    Exited(String),
}

/// A speaker's events, for whoever watches it.
pub type Events = mpsc::UnboundedReceiver<Event>;

/// Requests waiting for the speaker's reply; `None` once the link has closed, so a request
/// that races with the speaker's death fails at once instead of waiting out its timeout.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Reply>>>>>;

/// Who watches a speaker's events, and how it ended (for a watcher that comes late).
#[derive(Debug, Default)]
struct Watch {
    sink: Option<mpsc::UnboundedSender<Event>>,
    exited: Option<String>,
}

/// What the link task is asked to do.
#[derive(Debug)]
enum ToLink {
    Send(Msg),
    Kill,
}

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
    /// The handoff protocol version agreed.
    pub protocol: u32,
    /// When it was spawned.
    pub started: Instant,
    /// When it was spawned, on tokio's clock (for the deadlines said in words).
    spawned: Deadline,
    /// Our end of its handoff channel and of its stderr pipe, by number: what a re-exec of the
    /// supervisor passes on (open as long as the link task runs).
    pub fds: (RawFd, Option<RawFd>),
    to_link: mpsc::UnboundedSender<ToLink>,
    pending: Pending,
    next_id: AtomicU64,
    watch: Arc<Mutex<Watch>>,
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
    /// The supervisor's counts, for the speaker's metrics.
    pub figures: Figures,
}

impl Generation {
    /// Spawn a speaker and return it once it said Ready (or why not), all within `timeout`:
    /// [`spawn`](Self::spawn), then [`ready`](Self::ready).
    pub async fn launch(
        spec: LaunchSpec<'_>,
        timeout: Duration,
        exits: mpsc::UnboundedSender<(u64, String)>,
    ) -> Result<(Generation, Events), String> {
        let deadline = Deadline::now() + timeout;
        let (gen, mut events) = Generation::spawn(spec, deadline, exits, |_| {}).await?;
        gen.ready(&mut events, deadline).await?;
        Ok((gen, events))
    }

    /// Spawn a speaker (`started` is told its pid at once) and hand it the listeners; return it
    /// once it answered the handshake (before `deadline`), with its events from then on. Its
    /// exit is also reported on `exits` as `(number, how)` whenever it happens. On failure the
    /// process is gone (killed if needed) and the error says what it said last.
    pub async fn spawn(
        spec: LaunchSpec<'_>,
        deadline: Deadline,
        exits: mpsc::UnboundedSender<(u64, String)>,
        started: impl FnOnce(u32),
    ) -> Result<(Generation, Events), String> {
        let spawned = Deadline::now();
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
        cmd.stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .env_remove(super::REEXEC_ENV);
        let (mut child, mut channel) = spawn_with_handoff(cmd)
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let pid = child.id().unwrap_or(0);
        started(pid);
        let stderr = child.stderr.take().expect("stderr is piped");
        let passed_on = (channel.raw_fd(), Some(stderr.as_raw_fd()));
        let mut words = LastWords::relay(stderr);
        let started = Instant::now();

        let mut infos = Vec::new();
        let mut fds: Vec<BorrowedFd<'_>> = Vec::new();
        let bgp = spec.listeners.iter().map(|l| (l, ListenerKind::Bgp));
        let api = spec.api_listener.iter().map(|l| (&**l, ListenerKind::Api));
        for (l, kind) in bgp.chain(api) {
            let (info, fd) = listener_to_send(l, kind).map_err(|e| format!("listener: {e}"))?;
            infos.push(info);
            fds.push(fd);
        }
        let mut hello = Hello::new(
            number,
            spec.state_dir.to_path_buf(),
            spec.config_path.map(Path::to_path_buf),
            infos,
        );
        hello.figures = spec.figures;
        let handshake_deadline = deadline.min(spawned + HANDSHAKE_TIMEOUT);
        let name = binary.display();
        let handshake = tokio::select! {
            biased;
            r = tokio::time::timeout_at(
                handshake_deadline,
                supervisor_handshake(&mut channel, &hello, &fds),
            ) => r,
            status = child.wait() => {
                let how = describe(status, &mut words).await;
                return Err(format!("{name} exited during startup ({how})"));
            }
        };
        let ack = match handshake {
            Ok(Ok(ack)) => ack,
            Ok(Err(e)) => {
                let (how, killed) = end(&mut child, &mut words, EXIT_BOUND).await;
                return Err(match e {
                    HandoffError::Refused { .. } => {
                        format!("{name} refused the handoff: {e} ({how})")
                    }
                    // It went away (the channel closed with it): its exit says why.
                    _ if !killed => format!("{name} exited during startup ({how})"),
                    _ => format!("{name} broke the handoff ({e}): killed ({how})"),
                });
            }
            Err(_) => {
                let (how, _) = end(&mut child, &mut words, Duration::ZERO).await;
                return Err(format!(
                    "{name} did not answer the handoff within {} s: killed ({how})",
                    secs(handshake_deadline - spawned)
                ));
            }
        };
        info!(generation = number, pid, version = %ack.speaker_version, protocol = ack.version, "speaker started");

        let link = Linked {
            number,
            pid,
            binary,
            version: ack.speaker_version,
            protocol: ack.version,
            started,
            spawned,
            fds: passed_on,
        };
        Ok(link.run(channel, Process::Spawned(child), words, exits))
    }

    /// Wait (until `deadline`) for the speaker to say Ready; if it exits first or does not
    /// make it in time (then it is killed), say why.
    pub async fn ready(
        &self,
        events: &mut Events,
        deadline: Deadline,
    ) -> Result<Vec<IpAddr>, String> {
        let name = self.binary.display();
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(Event::Ready { peers_up })) => return Ok(peers_up),
                Ok(Some(Event::Exited(how))) => {
                    return Err(format!("{name} exited before it was ready ({how})"))
                }
                Ok(Some(other)) => warn!(generation = self.number, ?other, "before Ready"),
                Ok(None) => return Err(format!("{name} went away before it was ready")),
                Err(_) => {
                    self.kill();
                    let how = exited(events, EXIT_BOUND).await;
                    return Err(format!(
                        "{name} was not ready within {} s: killed ({how})",
                        secs(deadline - self.spawned)
                    ));
                }
            }
        }
    }

    /// From now on, the speaker's events go to the returned receiver (and no longer to the
    /// previous one); if it has already exited, that is the first event.
    pub fn watch(&self) -> Events {
        let (sink, events) = mpsc::unbounded_channel();
        let mut w = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(how) = &w.exited {
            let _ = sink.send(Event::Exited(how.clone()));
        }
        w.sink = Some(sink);
        events
    }

    /// Send a message (Activate, Quiesce, Stop).
    pub fn send(&self, msg: Msg) {
        let _ = self.to_link.send(ToLink::Send(msg));
    }

    /// Tell the speaker the supervisor's counts changed, if its protocol version has the
    /// message (an older speaker keeps the figures its `Hello` gave).
    pub fn tell(&self, figures: Figures) {
        if self.protocol >= FIGURES_VERSION {
            self.send(Msg::Figures(figures));
        }
    }

    /// The speaker's neighbor list (also how the supervisor checks that it answers).
    pub async fn neighbors(&self, timeout: Duration) -> Result<Vec<NeighborView>, String> {
        match self.request(Request::Neighbors, timeout).await? {
            Reply::Ok(v) => serde_json::from_value(v).map_err(|e| e.to_string()),
            Reply::Error { error } => Err(error),
        }
    }

    /// Forward a control request and wait (at most `timeout`) for the answer.
    pub async fn request(&self, body: Request, timeout: Duration) -> Result<Reply, String> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        let gone = || format!("speaker generation {} went away", self.number);
        match self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            Some(waiting) => waiting.insert(id, tx),
            None => return Err(gone()),
        };
        self.send(Msg::Request { id, body });
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(gone()),
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

    /// SIGKILL the process (through its handle, by the link task).
    pub fn kill(&self) {
        let _ = self.to_link.send(ToLink::Kill);
    }
}

/// A speaker whose handshake is done, about to get its link task.
pub struct Linked {
    /// See [`Generation`]'s fields.
    pub number: u64,
    pub pid: u32,
    pub binary: PathBuf,
    pub version: String,
    pub protocol: u32,
    pub started: Instant,
    pub spawned: Deadline,
    pub fds: (RawFd, Option<RawFd>),
}

impl Linked {
    /// Start the link task over `channel` and `process`; the generation, and its events.
    pub fn run(
        self,
        channel: Channel,
        process: Process,
        words: LastWords,
        exits: mpsc::UnboundedSender<(u64, String)>,
    ) -> (Generation, Events) {
        let (to_link, from_gen) = mpsc::unbounded_channel();
        let (sink, events) = mpsc::unbounded_channel();
        let watch = Arc::new(Mutex::new(Watch {
            sink: Some(sink),
            exited: None,
        }));
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let link = Link {
            number: self.number,
            pending: pending.clone(),
            watch: watch.clone(),
        };
        tokio::spawn(link.run(channel, process, words, from_gen, exits));
        let gen = Generation {
            number: self.number,
            pid: self.pid,
            binary: self.binary,
            version: self.version,
            protocol: self.protocol,
            started: self.started,
            spawned: self.spawned,
            fds: self.fds,
            to_link,
            pending,
            next_id: AtomicU64::new(1),
            watch,
        };
        (gen, events)
    }
}

/// Wait (at most `bound`) for the exit among `events`; how it ended, or that it had not.
pub async fn exited(events: &mut Events, bound: Duration) -> String {
    let wait = async {
        while let Some(e) = events.recv().await {
            if let Event::Exited(how) = e {
                return how;
            }
        }
        "gone".to_string()
    };
    tokio::time::timeout(bound, wait)
        .await
        .unwrap_or_else(|_| format!("still running after {} s", secs(bound)))
}

/// Whole seconds, rounded (a deadline a few ms short of 3 s is "3 s").
fn secs(d: Duration) -> u64 {
    d.as_secs_f64().round() as u64
}

/// The task that owns one speaker's process and channel.
struct Link {
    number: u64,
    pending: Pending,
    watch: Arc<Mutex<Watch>>,
}

impl Link {
    /// Carry messages both ways and watch the process until it exits; then fail what waits
    /// for it and report how it ended.
    async fn run(
        self,
        channel: Channel,
        mut child: Process,
        mut words: LastWords,
        mut from_gen: mpsc::UnboundedReceiver<ToLink>,
        exits: mpsc::UnboundedSender<(u64, String)>,
    ) {
        let number = self.number;
        let (tx, mut rx) = channel.into_split();
        let (out, outgoing) = mpsc::unbounded_channel();
        // A stopped speaker does not read: sending must not hold up the watch on its exit.
        let writer = tokio::spawn(write(number, tx, outgoing));
        let (mut open, mut asked) = (true, true);
        let status = loop {
            tokio::select! {
                biased;
                status = child.wait() => break status,
                m = from_gen.recv(), if asked => match m {
                    Some(ToLink::Send(msg)) => {
                        let _ = out.send(msg);
                    }
                    Some(ToLink::Kill) => child.start_kill(),
                    None => asked = false,
                },
                r = rx.recv(), if open => match r {
                    Ok((msg, _)) => self.heard(msg),
                    Err(e) if e.is_framing() || matches!(e, HandoffError::Closed) => {
                        open = false;
                        self.pending.lock().unwrap_or_else(|e| e.into_inner()).take();
                    }
                    Err(e) => warn!(generation = number, error = %e, "bad message from the speaker"),
                },
            }
        };
        // What it said just before it exited comes before its exit (`Quiesced`, mostly).
        if open {
            let rest = async {
                while let Ok((msg, _)) = rx.recv().await {
                    self.heard(msg);
                }
            };
            let _ = tokio::time::timeout(DRAIN_BOUND, rest).await;
        }
        // Fail the waiting requests now (and refuse new ones): the speaker will not answer.
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        writer.abort();
        let how = describe(status, &mut words).await;
        {
            let mut w = self.watch.lock().unwrap_or_else(|e| e.into_inner());
            w.exited = Some(how.clone());
            if let Some(sink) = &w.sink {
                let _ = sink.send(Event::Exited(how.clone()));
            }
        }
        let _ = exits.send((number, how));
    }

    /// A message from the speaker.
    fn heard(&self, msg: Msg) {
        let event = match msg {
            Msg::Ready { peers_up } => Event::Ready { peers_up },
            Msg::Progress(p) => {
                debug!(generation = self.number, peer = %p.peer, family = %p.family, kind = ?p.kind, "speaker progress");
                Event::Progress(p)
            }
            Msg::Done { peers_up } => Event::Done { peers_up },
            Msg::Quiesced => Event::Quiesced,
            Msg::Reply { id, body } => {
                let waiter = self
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_mut()
                    .and_then(|w| w.remove(&id));
                if let Some(w) = waiter {
                    let _ = w.send(body);
                }
                return;
            }
            other => {
                warn!(
                    generation = self.number,
                    kind = other.kind(),
                    "unexpected message from the speaker"
                );
                return;
            }
        };
        let w = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sink) = &w.sink {
            let _ = sink.send(event);
        }
    }
}

/// Send the supervisor's messages to the speaker, in order.
async fn write(number: u64, mut tx: SendHalf, mut outgoing: mpsc::UnboundedReceiver<Msg>) {
    while let Some(msg) = outgoing.recv().await {
        if let Err(e) = tx.send(&msg, &[]).await {
            warn!(generation = number, error = %e, "cannot reach the speaker");
        }
    }
}
