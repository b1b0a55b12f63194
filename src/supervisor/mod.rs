//! The supervisor: `batond --config FILE`, systemd's main process.
//!
//! It binds every listening socket once and never closes it, owns the control socket and the
//! state directory, and runs one speaker process at a time (two during an upgrade). The
//! speaker gets the listeners over the handoff channel (SCM_RIGHTS). If the speaker dies, a new
//! one starts at once with the same sockets (peers hold our routes as stale meanwhile); if it
//! keeps dying, restarts back off. `batonctl upgrade` replaces the speaker with a new binary
//! without a flap, or changes nothing if the new one cannot take over.
//!
//! The supervisor upgrades itself too: a reload after its binary was replaced re-executes it in
//! place, keeping its pid, its descriptors and its speaker ([`reexec`]).

mod backoff;
mod control;
mod generation;
mod notify;
mod process;
mod reexec;
mod reload;
mod stderr;
mod upgrade;

use std::net::TcpListener as StdTcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::ctl::{StatusView, UpgradeView};
use crate::handoff::{Figures, Msg, UpgradeCounts};
pub use backoff::Backoff;
use generation::{Generation, LaunchSpec};
pub use reexec::{check as reexec_check, REEXEC_ENV};

/// How long a speaker may take from spawn to Ready on a plain start or crash restart.
const START_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping speaker may take to exit before it is killed.
const EXIT_BOUND: Duration = Duration::from_secs(10);

/// Why the supervisor could not run.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// Binding a listener or the control socket failed.
    #[error(transparent)]
    Bind(#[from] crate::sockets::BindError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// The state directory is unusable or in use by another batond.
    #[error(transparent)]
    State(#[from] crate::store::StoreError),
    /// What a previous image of this supervisor handed over could not be taken.
    #[error("cannot take over from the previous supervisor image: {0}")]
    Reexec(String),
    /// The executable's path could not be found.
    #[error("cannot find my own executable: {0}")]
    Exe(std::io::Error),
}

/// What the supervisor keeps between events.
#[derive(Debug, Default)]
struct State {
    active: Option<Arc<Generation>>,
    next_generation: u64,
    backoff: Backoff,
    /// The back-off's ceiling, from the peers' restart times when a speaker last died.
    ceiling: Duration,
    /// When a delayed restart (crash loop) will start the next speaker.
    restart_at: Option<Instant>,
    upgrading: Option<Instant>,
    /// Peers Established and known, as the speaker last said (for `STATUS=`).
    peers_up: Option<(usize, usize)>,
    last_upgrade: Option<UpgradeView>,
    /// Upgrades by outcome (for the speaker's metrics).
    upgrades: UpgradeCounts,
    /// Generations whose exit is expected (quiesced, stopped, replaced).
    retiring: Vec<u64>,
    stopping: bool,
}

/// The supervisor's shared parts.
pub struct Supervisor {
    config_path: Option<PathBuf>,
    /// The configuration in force: replaced by a reload or an upgrade that read the file again.
    config: Mutex<Config>,
    /// `[global] state_dir` and `control_socket` as at the start: a reload cannot move them.
    state_dir_path: PathBuf,
    control_socket: PathBuf,
    /// The control socket's listening descriptor (passed on by a re-exec).
    control_fd: std::os::fd::RawFd,
    /// The path this supervisor was started from: after a package upgrade, the new binary.
    exe: PathBuf,
    /// The BGP listeners, held for the life of the supervisor; dropped on a deliberate stop so
    /// that peers are refused at once rather than left in the accept queue.
    listeners: Mutex<Option<Arc<Vec<StdTcpListener>>>>,
    /// The REST API listener (`[api] listen`), held likewise: requests queue in the kernel
    /// while no speaker serves it (between an old speaker and a new one).
    api_listener: Option<Arc<StdTcpListener>>,
    /// The state directory, locked for this supervisor.
    state_dir: crate::store::StateDir,
    version: String,
    started: Instant,
    state: Mutex<State>,
    exits: mpsc::UnboundedSender<(u64, String)>,
}

impl Supervisor {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn active(&self) -> Option<Arc<Generation>> {
        self.lock().active.clone()
    }

    fn next_number(&self) -> u64 {
        let mut s = self.lock();
        s.next_generation += 1;
        s.next_generation
    }

    fn spec<'a>(&'a self, number: u64, binary: &'a std::path::Path) -> LaunchSpec<'a> {
        LaunchSpec {
            number,
            binary,
            config_path: self.config_path.as_deref(),
            state_dir: &self.state_dir_path,
            listeners: self.current_listeners(),
            api_listener: self.api_listener.clone(),
            figures: self.figures(),
        }
    }

    /// The counts speakers export as metrics: crash restarts (each crash or failed start is
    /// followed by one) and upgrades by outcome.
    fn figures(&self) -> Figures {
        let s = self.lock();
        Figures {
            restarts: s.backoff.total_crashes,
            upgrades: s.upgrades,
        }
    }

    fn current_listeners(&self) -> Arc<Vec<StdTcpListener>> {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// The listeners for a speaker about to start with a configuration listening on `wanted`:
    /// the sockets already bound for addresses it keeps (the same sockets, so no connection is
    /// ever refused), newly bound ones for new addresses. Sockets for addresses it drops are
    /// closed only when [`use_listeners`](Self::use_listeners) replaces the set, after the
    /// handoff.
    fn listeners_for(
        &self,
        wanted: &[std::net::SocketAddr],
    ) -> Result<Arc<Vec<StdTcpListener>>, String> {
        let current = self.current_listeners();
        let mut out = Vec::new();
        for addr in wanted {
            match current.iter().find(|l| l.local_addr().ok() == Some(*addr)) {
                Some(l) => out.push(l.try_clone().map_err(|e| format!("{addr}: {e}"))?),
                None => {
                    info!(%addr, "binding a new listening address");
                    out.extend(
                        crate::sockets::bind_listeners(&[*addr]).map_err(|e| e.to_string())?,
                    );
                }
            }
        }
        Ok(Arc::new(out))
    }

    /// From now on, speakers get `set`; listeners not in it are closed here.
    fn use_listeners(&self, set: Arc<Vec<StdTcpListener>>) {
        *self.listeners.lock().unwrap_or_else(|e| e.into_inner()) = Some(set);
    }

    /// Start a speaker and let it go live at once (first start, crash restart).
    async fn start_speaker(self: &Arc<Self>) -> Result<(), String> {
        let number = self.next_number();
        let (gen, life) = Generation::launch(
            self.spec(number, &self.exe),
            START_READY_TIMEOUT,
            self.exits.clone(),
        )
        .await?;
        gen.send(Msg::Activate { expect: Vec::new() });
        drop(life);
        let gen = Arc::new(gen);
        {
            let mut s = self.lock();
            if s.stopping {
                gen.send(Msg::Stop);
                s.retiring.push(number);
            }
            s.active = Some(gen.clone());
        }
        // Counts that changed since its Hello (an upgrade that ended while it started) reach
        // it now; later changes go to the active speaker.
        gen.tell(self.figures());
        Ok(())
    }

    /// Keep trying to start a speaker, with backoff, until one runs or we are stopping.
    async fn start_until_running(self: Arc<Self>, mut delay: Duration) {
        loop {
            if !delay.is_zero() {
                info!(
                    delay_ms = delay.as_millis() as u64,
                    "waiting before starting the speaker (crash loop)"
                );
                tokio::time::sleep(delay).await;
            }
            {
                let mut s = self.lock();
                s.restart_at = None;
                if s.stopping {
                    return;
                }
            }
            match self.start_speaker().await {
                Ok(()) => {
                    notify::status(&self.status_line());
                    return;
                }
                Err(e) => {
                    error!(error = %e, "the speaker did not start");
                    let now = Instant::now();
                    delay = self.crashed(now, now);
                    notify::status(&self.status_line());
                }
            }
        }
    }

    /// Count a crash of the speaker started at `started`; returns the delay before the next
    /// start, bounded by the peers' restart times as they are now.
    fn crashed(&self, started: Instant, now: Instant) -> Duration {
        let ceiling = self.backoff_ceiling();
        let mut s = self.lock();
        s.ceiling = ceiling;
        let delay = s.backoff.crashed(started, now, ceiling);
        s.restart_at = (!delay.is_zero()).then(|| now + delay);
        delay
    }

    /// The back-off's ceiling for the peers we have: the configuration's and those added at
    /// run time (from the saved intent), with graceful restart; the shortest restart time
    /// decides ([`backoff::ceiling`]).
    fn backoff_ceiling(&self) -> Duration {
        let api_peers = match self.state_dir.load_intent() {
            Ok(Some(loaded)) => loaded.value.api_peers,
            _ => Vec::new(),
        };
        let config = self.config();
        let shortest = config
            .peers
            .iter()
            .chain(&api_peers)
            .filter(|p| p.graceful_restart.enabled)
            .map(|p| p.graceful_restart.restart_time)
            .min();
        backoff::ceiling(shortest)
    }

    /// A speaker process ended.
    fn exited(self: &Arc<Self>, number: u64, how: String) {
        let mut s = self.lock();
        if let Some(i) = s.retiring.iter().position(|n| *n == number) {
            s.retiring.remove(i);
            info!(generation = number, %how, "speaker exited as asked");
            return;
        }
        let Some(active) = s.active.clone().filter(|a| a.number == number) else {
            return;
        };
        s.active = None;
        if s.stopping {
            return;
        }
        drop(s);
        let delay = self.crashed(active.started, Instant::now());
        let s = self.lock();
        warn!(generation = number, %how, crashes = s.backoff.total_crashes, in_a_row = s.backoff.consecutive, delay_ms = delay.as_millis() as u64, "the speaker died: starting a new one with the same sockets and state");
        drop(s);
        notify::status(&self.status_line());
        tokio::spawn(self.clone().start_until_running(delay));
    }

    fn status(&self) -> StatusView {
        let s = self.lock();
        let now = Instant::now();
        // With no speaker running, the next crash would be one of a start that fails at once.
        let started = s.active.as_ref().map_or(now, |a| a.started);
        StatusView {
            supervisor_pid: std::process::id(),
            supervisor_version: self.version.clone(),
            uptime_secs: self.started.elapsed().as_secs(),
            speaker_pid: s.active.as_ref().map(|a| a.pid),
            generation: s.active.as_ref().map_or(0, |a| a.number),
            version: s.active.as_ref().map(|a| a.version.clone()),
            binary: s.active.as_ref().map(|a| a.binary.display().to_string()),
            speaker_uptime_secs: s.active.as_ref().map(|a| a.started.elapsed().as_secs()),
            crashes: s.backoff.total_crashes,
            crash_loop: s.backoff.looping(),
            consecutive_crashes: s.backoff.consecutive,
            next_restart_delay_ms: s
                .backoff
                .delay_if_crashed(started, now, s.ceiling)
                .as_millis() as u64,
            // Rounded up: a restart due in 1999.6 ms is "in 2000 ms", not 1999.
            restart_in_ms: s
                .restart_at
                .map(|t| t.saturating_duration_since(now).as_micros().div_ceil(1000) as u64),
            upgrading: s.upgrading.is_some(),
            last_upgrade: s.last_upgrade.clone(),
            state_problems: Vec::new(),
            state_not_writable: None,
        }
    }

    /// Deliberate stop: the speaker sends Cease to every peer; wait (bounded) for it to exit.
    async fn stop(self: &Arc<Self>, exits: &mut mpsc::UnboundedReceiver<(u64, String)>) {
        let active = {
            let mut s = self.lock();
            s.stopping = true;
            let a = s.active.take();
            if let Some(a) = &a {
                s.retiring.push(a.number);
            }
            a
        };
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(active) = active else {
            return;
        };
        active.send(Msg::Stop);
        let deadline = tokio::time::Instant::now() + EXIT_BOUND;
        loop {
            match tokio::time::timeout_at(deadline, exits.recv()).await {
                Ok(Some((n, _))) if n == active.number => return,
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => {
                    warn!(
                        generation = active.number,
                        "the speaker did not stop in time: killing it"
                    );
                    active.kill();
                    return;
                }
            }
        }
    }
}

/// Run the supervisor until SIGTERM or SIGINT.
pub async fn run(config_path: Option<PathBuf>, config: Config) -> Result<(), SupervisorError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(SupervisorError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(SupervisorError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(SupervisorError::Signals)?;
    let exe = own_path().map_err(SupervisorError::Exe)?;
    let adopted = reexec::from_env(&config.global.state_dir).map_err(SupervisorError::Reexec)?;
    let (state_dir, listeners, api_listener, control, carried) = match adopted {
        Some(a) => (a.state_dir, a.listeners, a.api, a.control, Some(a.carried)),
        None => (
            crate::store::StateDir::open(&config.global.state_dir)?,
            crate::sockets::bind_listeners(&config.global.listen)?,
            crate::sockets::bind_api_listener(&config)?,
            crate::sockets::bind_control_socket(
                &config.global.control_socket,
                config.global.control_socket_mode,
                config.global.control_socket_group.as_ref(),
            )?,
            None,
        ),
    };
    let uptime = Duration::from_millis(carried.as_ref().map_or(0, |c| c.uptime_ms));
    let (exits_tx, mut exits) = mpsc::unbounded_channel();
    let sup = Arc::new(Supervisor {
        config_path,
        state_dir_path: config.global.state_dir.clone(),
        control_socket: config.global.control_socket.clone(),
        control_fd: std::os::fd::AsRawFd::as_raw_fd(&control),
        config: Mutex::new(config.without_routes()),
        exe,
        listeners: Mutex::new(Some(Arc::new(listeners))),
        api_listener: api_listener.map(Arc::new),
        state_dir,
        version: crate::version::current(),
        started: Instant::now()
            .checked_sub(uptime)
            .unwrap_or_else(Instant::now),
        state: Mutex::new(State {
            ceiling: backoff::MAX_DELAY,
            ..State::default()
        }),
        exits: exits_tx,
    });
    info!(pid = std::process::id(), exe = %sup.exe.display(), "supervisor running");
    tokio::spawn(control::serve(control, sup.clone()));
    match carried {
        Some(carried) => sup.resume(carried).map_err(SupervisorError::Reexec)?,
        None => {
            tokio::spawn(sup.clone().start_until_running(Duration::ZERO));
        }
    }
    // Ready as soon as the sockets are bound: connections queue in the kernel until the
    // speaker accepts them.
    notify::send(&[sd_notify::NotifyState::Ready]);
    tokio::spawn(sup.clone().watch(sd_notify::watchdog_enabled()));

    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                tokio::spawn(sup.clone().reload_on_signal());
            }
            e = exits.recv() => match e {
                Some((number, how)) => sup.exited(number, how),
                None => break,
            },
        }
    }
    info!("deliberate stop: the speaker tells every peer (Cease)");
    notify::send(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("stopping: the speaker sends Cease to every peer"),
    ]);
    sup.stop(&mut exits).await;
    let _ = std::fs::remove_file(&sup.control_socket);
    info!("stopped");
    Ok(())
}

/// The path this process was started from, resolved now. After a package upgrade replaced the
/// file, this names the new binary, unlike `/proc/self/exe` (the old, deleted inode).
fn own_path() -> std::io::Result<PathBuf> {
    let arg0 = std::env::args_os()
        .next()
        .ok_or_else(|| std::io::Error::other("no argv[0]"))?;
    let arg0 = PathBuf::from(arg0);
    if arg0.components().count() > 1 {
        // Absolute but not canonical: a symlink keeps pointing at whatever is installed.
        return std::path::absolute(arg0);
    }
    // Found through PATH.
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(&arg0))
        .find(|p| p.is_file())
        .map_or_else(std::env::current_exe, Ok)
}
