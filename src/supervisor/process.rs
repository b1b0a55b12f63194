//! A speaker's process as its link task holds it: spawned by this supervisor (tokio's `Child`),
//! or adopted after the supervisor re-executed itself (a pid that is still our child, waited
//! for with `waitpid`). Either way it is signalled only until it has been reaped, so a reused
//! pid is never hit.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use tokio::process::Child;
use tokio::task::JoinHandle;

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
