//! What the supervisor tells systemd (sd_notify(3), `Type=notify`): `READY=1` once the sockets
//! are bound, `RELOADING=1` with `MONOTONIC_USEC=` in one datagram when a reload or an upgrade
//! starts and `READY=1` only once it has finished or rolled back, `STOPPING=1`, a `STATUS=` a
//! human can read, and `WATCHDOG=1` while the speaker answers.
//!
//! Every send is non-blocking: a supervisor must never hang on a full notification socket (a
//! busy or wedged service manager); a message that does not fit is dropped and logged.

use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tracing::{debug, info, warn};

use super::{Generation, Supervisor};
use crate::session::SessionState;

/// How often `STATUS=` is refreshed (peers up) when systemd's watchdog is off.
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// The longest the speaker may take to answer before the watchdog is not petted.
const ASK_BOUND: Duration = Duration::from_secs(5);

/// Send `states` in one datagram to `$NOTIFY_SOCKET`, if set, without blocking.
pub fn send(states: &[NotifyState]) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let mut msg = String::new();
    for s in states {
        let _ = writeln!(msg, "{s}");
    }
    let sent = (|| -> io::Result<usize> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        match path.as_bytes().strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(msg.as_bytes(), &addr)
            }
            None => socket.send_to(msg.as_bytes(), &path),
        }
    })();
    match sent {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            debug!(message = %msg.trim_end(), "sd_notify dropped: the notification socket is full")
        }
        Err(e) => debug!(error = %e, message = %msg.trim_end(), "sd_notify failed"),
    }
}

/// `STATUS=`.
pub fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

/// A reload (or upgrade) as systemd sees it: `RELOADING=1` with `MONOTONIC_USEC=` when it
/// starts, `STATUS=` and `READY=1` when it is over — even if the work was dropped half-way.
pub struct Reload {
    done: bool,
}

impl Reload {
    /// Say that a reload starts.
    pub fn begin() -> Reload {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => send(&[NotifyState::Reloading, now]),
            Err(e) => warn!(error = %e, "cannot read CLOCK_MONOTONIC for RELOADING=1"),
        }
        Reload { done: false }
    }

    /// Say how it ended (`status`, before `READY=1` in the same datagram).
    pub fn finish(mut self, status: &str) {
        self.done = true;
        send(&[NotifyState::Status(status), NotifyState::Ready]);
    }
}

impl Drop for Reload {
    fn drop(&mut self) {
        if !self.done {
            send(&[NotifyState::Ready]);
        }
    }
}

impl Supervisor {
    /// Ask `gen` which peers are up, for `STATUS=`; `Err` if it does not answer in `within`.
    pub(super) async fn count_peers(
        &self,
        gen: &Generation,
        within: Duration,
    ) -> Result<(), String> {
        let n = gen.neighbors(within).await?;
        let up = n
            .iter()
            .filter(|n| n.state == SessionState::Established)
            .count();
        self.lock().peers_up = Some((up, n.len()));
        Ok(())
    }

    /// The `STATUS=` line: the speaker, the crashes and back-off, the peers up (as last asked)
    /// and the last upgrade's outcome.
    pub(super) fn status_line(&self) -> String {
        let s = self.status();
        let speaker = match s.speaker_pid {
            Some(pid) => format!(
                "speaker generation {} pid {pid} version {}",
                s.generation,
                s.version.unwrap_or_else(|| "-".into())
            ),
            None => "no speaker running".to_string(),
        };
        let next = match s.restart_in_ms {
            Some(ms) => format!("restarting in {ms} ms"),
            None => format!("next restart delay {} ms", s.next_restart_delay_ms),
        };
        let peers = match self.lock().peers_up {
            Some((up, all)) => format!("{up}/{all} peers up"),
            None => "peers not known yet".to_string(),
        };
        let upgrade = match &s.last_upgrade {
            None => "no upgrade yet".to_string(),
            Some(u) if u.ok => format!(
                "last upgrade ok: generation {} -> {} in {} ms",
                u.from_generation, u.to_generation, u.duration_ms
            ),
            Some(u) => format!(
                "last upgrade FAILED after {} ms (generation {} runs): {}",
                u.duration_ms,
                u.to_generation,
                u.reason.as_deref().unwrap_or("no reason given")
            ),
        };
        format!(
            "{speaker}; {} crashes ({} in a row), {next}; {peers}; {upgrade}",
            s.crashes, s.consecutive_crashes
        )
    }

    /// Keep `STATUS=` current and, when systemd's watchdog is on (`WATCHDOG_USEC`), pet it at
    /// half its interval — after the speaker answered a Neighbors request. While no speaker
    /// runs (a crash restart, backing off) or an upgrade is under way (bounded by its own
    /// deadline), the supervisor is what is alive and pets it anyway: restarting the whole
    /// service would only drop the routes peers still hold.
    pub(super) async fn watch(self: Arc<Self>, watchdog: Option<Duration>) {
        let every = watchdog.map_or(STATUS_EVERY, |w| w / 2);
        let ask = ASK_BOUND.min(every / 2);
        if let Some(w) = watchdog {
            info!(
                watchdog_ms = w.as_millis() as u64,
                "systemd watchdog on: petting it while the speaker answers"
            );
        }
        let mut last_status = String::new();
        let mut silent = false;
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let (active, upgrading) = {
                let s = self.lock();
                (s.active.clone(), s.upgrading.is_some())
            };
            let alive = match active {
                None => true,
                Some(gen) => match self.count_peers(&gen, ask).await {
                    Ok(()) => {
                        if silent {
                            info!(generation = gen.number, "the speaker answers again");
                        }
                        silent = false;
                        true
                    }
                    Err(e) => {
                        if !silent && !upgrading {
                            warn!(generation = gen.number, error = %e, "the speaker does not answer: not petting systemd's watchdog");
                        }
                        silent = !upgrading;
                        upgrading
                    }
                },
            };
            if alive && watchdog.is_some() {
                send(&[NotifyState::Watchdog]);
            }
            let line = self.status_line();
            if line != last_status {
                status(&line);
                last_status = line;
            }
        }
    }
}
