//! A speaker's process as its link task holds it: spawned by this supervisor (tokio's `Child`),
//! or adopted after the supervisor re-executed itself (a pid that is still our child, waited
//! for with `waitpid`). Either way it is signalled only until it has been reaped, so a reused
//! pid is never hit.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use tokio::process::Child;
use tokio::task::JoinHandle;

use super::stderr::LastWords;

/// One speaker process.
#[derive(Debug)]
pub enum Process {
    /// Started by this supervisor image.
    Spawned(Child),
    /// Inherited across the supervisor's re-exec.
    Adopted {
        /// Its pid.
        pid: Pid,
        /// The `waitpid` running until it exits.
        waiter: JoinHandle<io::Result<ExitStatus>>,
        /// Its exit, once reaped.
        status: Option<ExitStatus>,
    },
}

impl Process {
    /// Adopts `pid`, a child of this process.
    pub fn adopt(pid: u32) -> Process {
        let pid = Pid::from_raw(pid as i32);
        let waiter = tokio::task::spawn_blocking(move || wait_for(pid));
        Process::Adopted {
            pid,
            waiter,
            status: None,
        }
    }

    /// Waits for the exit (cancel-safe: dropping the future loses nothing).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            Process::Spawned(child) => child.wait().await,
            Process::Adopted { waiter, status, .. } => {
                if let Some(s) = status {
                    return Ok(*s);
                }
                let s = (&mut *waiter).await.map_err(io::Error::other)??;
                *status = Some(s);
                Ok(s)
            }
        }
    }

    /// SIGKILL, unless it has already been reaped.
    pub fn start_kill(&mut self) {
        match self {
            Process::Spawned(child) => {
                let _ = child.start_kill();
            }
            Process::Adopted {
                pid, status: None, ..
            } => {
                let _ = kill(*pid, Signal::SIGKILL);
            }
            Process::Adopted { .. } => {}
        }
    }
}

/// Kill a child that failed to start if it has not exited by itself within `grace`, and say
/// how it ended, and whether it had to be killed.
pub async fn end(
    child: &mut tokio::process::Child,
    words: &mut LastWords,
    grace: Duration,
) -> (String, bool) {
    let (status, killed) = match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => (status, false),
        Err(_) => {
            let _ = child.start_kill();
            (child.wait().await, true)
        }
    };
    (describe(status, words).await, killed)
}

/// `exit status: 3; stderr: …` (what it said last, when it failed).
pub async fn describe(
    status: std::io::Result<std::process::ExitStatus>,
    words: &mut LastWords,
) -> String {
    match status {
        Ok(status) if status.success() => status.to_string(),
        Ok(status) => match words.finish().await {
            last if last.is_empty() => status.to_string(),
            last => format!("{status}; stderr: {last}"),
        },
        Err(e) => format!("unknown ({e})"),
    }
}

/// `waitpid` until `pid` has exited (not merely stopped).
fn wait_for(pid: Pid) -> io::Result<ExitStatus> {
    loop {
        match waitpid(pid, None).map_err(io::Error::from)? {
            WaitStatus::Exited(_, code) => return Ok(ExitStatus::from_raw((code & 0xff) << 8)),
            WaitStatus::Signaled(_, sig, core) => {
                return Ok(ExitStatus::from_raw(
                    sig as i32 | if core { 0x80 } else { 0 },
                ))
            }
            _ => continue,
        }
    }
}
