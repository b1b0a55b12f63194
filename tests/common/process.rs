//! A daemon started by a test: its process, its log file, and how to stop it.
//!
//! Shared by the gobgpd, bird2 and baton wrappers. The process is a direct child of the test
//! (started through `ip netns exec`, which execs), so its pid is the daemon's and signals sent to
//! it reach the daemon. On drop it is killed; if the test is panicking, the tail of its log is
//! printed first so that a failing test shows what the daemon saw.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{poll, tail};

/// How many log lines a failing test prints per daemon.
const LOG_TAIL_LINES: usize = 60;

/// A running (or exited) daemon with its output in a log file.
pub struct Daemon {
    /// Short name for messages, e.g. "gobgpd in bt-4242-0-a".
    label: String,
    /// The process.
    child: Child,
    /// Its exit status once reaped.
    status: Option<ExitStatus>,
    /// stdout and stderr of every start of this daemon, appended.
    log: PathBuf,
}

impl Daemon {
    /// Starts `cmd` with stdin on /dev/null and stdout and stderr appended to `log`.
    pub fn spawn(label: &str, mut cmd: Command, log: &Path) -> Daemon {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{label}: open log {}: {e}", log.display()));
        let _ = writeln!(file, "=== harness: starting {cmd:?}");
        let err: File = file.try_clone().expect("duplicate the log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{label}: cannot start {cmd:?}: {e}"));
        Daemon {
            label: label.to_string(),
            child,
            status: None,
            log: log.to_path_buf(),
        }
    }

    /// The daemon's pid (still meaningful after it exited, but then no longer its own).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its label, e.g. "gobgpd in bt-4242-0-a".
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Path of its log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Prints the tail of its log to stderr (shown by `cargo test` for failing tests).
    pub fn dump_logs(&self) {
        eprintln!(
            "----- {} (pid {}): last {LOG_TAIL_LINES} lines of {} -----\n{}\n----- end of {} -----",
            self.label,
            self.pid(),
            self.log.display(),
            tail(&self.log, LOG_TAIL_LINES),
            self.label
        );
    }

    /// Its exit status if it has exited (reaping it), `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("{}: wait: {e}", self.label));
        }
        self.status
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.exited().is_none()
    }

    /// Panics with its log tail if it has exited: for start-up checks.
    pub fn assert_running(&mut self, during: &str) {
        if let Some(status) = self.exited() {
            self.dump_logs();
            panic!("{} exited ({status}) {during}", self.label);
        }
    }

    /// Sends `sig` to it; does nothing if it has already been reaped (its pid may be reused).
    pub fn signal(&mut self, sig: Signal) {
        if self.exited().is_some() {
            return;
        }
        let pid = i32::try_from(self.pid()).expect("pid fits in i32");
        // ESRCH only if it died just now; the wait below sees that.
        let _ = kill(Pid::from_raw(pid), sig);
    }

    /// Waits until it exits, panicking after `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let label = self.label.clone();
        poll::until(deadline, &format!("{label} to exit"), || self.exited())
    }

    /// SIGTERM, then waits (up to 10 s) for it to exit.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        self.wait_exit(Duration::from_secs(10))
    }

    /// SIGKILL, then waits for it to be gone.
    pub fn kill(&mut self) -> ExitStatus {
        self.signal(Signal::SIGKILL);
        self.wait_exit(Duration::from_secs(10))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        // No panicking here (a panic while unwinding aborts): plain try_wait, errors ignored.
        if self.status.is_none() && !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
