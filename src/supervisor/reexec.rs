//! The supervisor upgrades itself: after a package replaced the binary it was started from, a
//! reload re-executes the supervisor in place (`execve`, same pid, so systemd's MAINPID holds).
//!
//! Nothing is closed or restarted on the way: the BGP and API listeners, the control socket,
//! the state directory's lock and the running speaker's handoff channel and stderr pipe are left
//! open across exec (close-on-exec cleared on exactly those) and named, with the little state
//! the supervisor keeps (generation counter, crash counters, last upgrade, upgrade counts), in
//! the environment variable [`REEXEC_ENV`] as versioned JSON. The speaker is still our child: the new image
//! adopts it (waitpid works, the channel is the same socket), then finishes the reload, whose
//! speaker handoff then runs as ever.
//!
//! After exec there is no old image to fall back to, so compatibility is settled before: the
//! new binary is asked `--reexec-check VERSION` and must say yes, or the old supervisor carries
//! on and the reload says why.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::generation::Linked;
use super::process::Process;
use super::stderr::LastWords;
use super::Supervisor;
use crate::ctl::{Reply, UpgradeView};
use crate::handoff::{claim_reexec_fd, Channel, UpgradeCounts};

/// The environment variable that carries the inherited descriptors and state.
pub const REEXEC_ENV: &str = "BATON_REEXEC";
/// The version of what [`REEXEC_ENV`] carries; a binary adopts exactly the versions it knows.
pub const STATE_VERSION: u32 = 1;
/// How long the new binary may take to answer `--reexec-check`.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What one supervisor image hands the next.
#[derive(Debug, Serialize, Deserialize)]
pub struct Carried {
    /// [`STATE_VERSION`] of the image that wrote it.
    pub version: u32,
    /// BGP listeners, by descriptor number.
    pub bgp: Vec<RawFd>,
    /// The REST API listener.
    pub api: Option<RawFd>,
    /// The control socket's listener.
    pub control: RawFd,
    /// The state directory's lock.
    pub lock: RawFd,
    /// The running speaker.
    pub speaker: Option<CarriedSpeaker>,
    /// The last generation number given.
    pub generation: u64,
    /// Crash counters.
    pub total_crashes: u64,
    /// Crashes in a row.
    pub consecutive: u32,
    /// The last upgrade.
    pub last_upgrade: Option<UpgradeView>,
    /// Upgrades by outcome (absent when written by an image that did not count them).
    #[serde(default)]
    pub upgrades: UpgradeCounts,
    /// The supervisor's uptime so far.
    pub uptime_ms: u64,
    /// The control connection waiting for the answer (none after SIGHUP).
    pub reply: Option<RawFd>,
    /// What the new image does once it has taken over.
    pub then: Then,
}

/// The command that led to the re-exec, which the new image carries out.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Then {
    /// Finish the reload (`batonctl reload`, SIGHUP).
    Reload,
    /// Run the speaker upgrade (`batonctl upgrade` without `--binary`).
    Upgrade {
        /// Its timeout.
        timeout_secs: u64,
    },
}

/// The running speaker, as handed over.
#[derive(Debug, Serialize, Deserialize)]
pub struct CarriedSpeaker {
    /// Its pid (our child).
    pub pid: u32,
    /// Our end of its handoff channel.
    pub channel: RawFd,
    /// Our end of its stderr pipe.
    pub stderr: Option<RawFd>,
    /// Its generation number, executable, version and protocol.
    pub number: u64,
    pub binary: PathBuf,
    pub version: String,
    pub protocol: u32,
    /// How long it has run.
    pub uptime_ms: u64,
}

/// `batond --reexec-check VERSION`: whether this build adopts state of `version`.
pub fn check(version: u32) -> Result<String, String> {
    if version == STATE_VERSION {
        Ok(format!("yes: adopts re-exec state version {STATE_VERSION}"))
    } else {
        Err(format!(
            "no: re-exec state version {version} is not {STATE_VERSION}, the one this build adopts"
        ))
    }
}

/// What the new image takes over from [`REEXEC_ENV`].
pub struct Adopted {
    pub state_dir: crate::store::StateDir,
    pub listeners: Vec<std::net::TcpListener>,
    pub api: Option<std::net::TcpListener>,
    pub control: tokio::net::UnixListener,
    pub carried: Carried,
}

/// In a new image: the descriptors and state the previous one left, if it left any. Needs a
/// tokio runtime.
pub fn from_env(state_dir: &Path) -> Result<Option<Adopted>, String> {
    let Some(text) = std::env::var_os(REEXEC_ENV) else {
        return Ok(None);
    };
    let carried: Carried = serde_json::from_slice(text.as_bytes())
        .map_err(|e| format!("{REEXEC_ENV}: not what this build writes: {e}"))?;
    check(carried.version)?;
    let mut seen = Vec::new();
    let mut claim = |fd| claim_reexec_fd(fd, &mut seen).map_err(|e| format!("{REEXEC_ENV}: {e}"));
    let tcp = |fd: OwnedFd| std::net::TcpListener::from(fd);
    let listeners = carried
        .bgp
        .iter()
        .map(|fd| claim(*fd).map(tcp))
        .collect::<Result<_, _>>()?;
    let api = carried.api.map(&mut claim).transpose()?.map(tcp);
    let control = std::os::unix::net::UnixListener::from(claim(carried.control)?);
    control.set_nonblocking(true).map_err(|e| e.to_string())?;
    let control = tokio::net::UnixListener::from_std(control).map_err(|e| e.to_string())?;
    let state_dir = crate::store::StateDir::adopt(state_dir, claim(carried.lock)?)
        .map_err(|e| e.to_string())?;
    Ok(Some(Adopted {
        state_dir,
        listeners,
        api,
        control,
        carried,
    }))
}

impl Supervisor {
    /// Re-execute this supervisor from [`Supervisor::exe`], handing over everything; returns
    /// only if it did not happen, saying why (then nothing changed). `reply`: the control
    /// connection waiting for the reload's answer, which the new image gives.
    pub(super) async fn reexec(&self, reply: Option<RawFd>, then: Then) -> String {
        if let Err(why) = ask(&self.exe).await {
            warn!(exe = %self.exe.display(), %why, "the supervisor stays as it is");
            return why;
        }
        let carried = {
            let s = self.lock();
            if s.upgrading.is_some()
                || !s.retiring.is_empty()
                || s.restart_at.is_some()
                || s.active.is_none()
            {
                return "a speaker is starting or stopping: the supervisor re-executes at the next reload".into();
            }
            // After exec nothing can be given back: whatever the new image needs must be here.
            let Some(lock) = self.state_dir.lock_fd() else {
                return "this supervisor does not hold the state directory's lock".into();
            };
            let listeners = self.current_listeners();
            Carried {
                version: STATE_VERSION,
                bgp: listeners.iter().map(AsRawFd::as_raw_fd).collect(),
                api: self.api_listener.as_ref().map(|l| l.as_raw_fd()),
                control: self.control_fd,
                lock,
                speaker: s.active.as_ref().map(|a| CarriedSpeaker {
                    pid: a.pid,
                    channel: a.fds.0,
                    stderr: a.fds.1,
                    number: a.number,
                    binary: a.binary.clone(),
                    version: a.version.clone(),
                    protocol: a.protocol,
                    uptime_ms: a.started.elapsed().as_millis() as u64,
                }),
                generation: s.next_generation,
                total_crashes: s.backoff.total_crashes,
                consecutive: s.backoff.consecutive,
                last_upgrade: s.last_upgrade.clone(),
                upgrades: s.upgrades,
                uptime_ms: self.started.elapsed().as_millis() as u64,
                reply,
                then,
            }
        };
        match exec(&self.exe, &carried) {
            Ok(never) => match never {},
            Err(why) => {
                warn!(%why, "the supervisor could not re-execute itself");
                why
            }
        }
    }

    /// In the new image: the state carried over, and the speaker adopted; then the reload that
    /// led here is finished (and answered, when a client waits).
    pub(super) fn resume(self: &Arc<Self>, carried: Carried) -> Result<(), String> {
        let mut seen = Vec::new();
        let mut claim =
            |fd| claim_reexec_fd(fd, &mut seen).map_err(|e| format!("{REEXEC_ENV}: {e}"));
        let speaker = match carried.speaker {
            Some(sp) => {
                let channel = claim(sp.channel)?;
                let channel = std::os::unix::net::UnixStream::from(channel);
                channel.set_nonblocking(true).map_err(|e| e.to_string())?;
                let channel =
                    tokio::net::UnixStream::from_std(channel).map_err(|e| e.to_string())?;
                let words = match sp.stderr.map(&mut claim).transpose()? {
                    Some(fd) => {
                        let pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(fd)
                            .map_err(|e| e.to_string())?;
                        LastWords::relay(pipe)
                    }
                    None => LastWords::relay(tokio::io::empty()),
                };
                let ran = Duration::from_millis(sp.uptime_ms);
                let channel = Channel::new(channel);
                let linked = Linked {
                    number: sp.number,
                    pid: sp.pid,
                    binary: sp.binary,
                    version: sp.version,
                    protocol: sp.protocol,
                    started: Instant::now().checked_sub(ran).unwrap_or_else(Instant::now),
                    spawned: tokio::time::Instant::now(),
                    fds: (channel.raw_fd(), sp.stderr),
                };
                let process = Process::adopt(sp.pid);
                let (gen, _events) = linked.run(channel, process, words, self.exits.clone());
                info!(
                    generation = gen.number,
                    pid = gen.pid,
                    "speaker adopted after the supervisor's re-exec"
                );
                Some(Arc::new(gen))
            }
            None => None,
        };
        let reply = carried.reply.map(&mut claim).transpose()?;
        {
            let mut s = self.lock();
            s.next_generation = carried.generation;
            s.backoff.total_crashes = carried.total_crashes;
            s.backoff.consecutive = carried.consecutive;
            s.last_upgrade = carried.last_upgrade;
            s.upgrades = carried.upgrades;
            s.active = speaker.clone();
        }
        let sup = self.clone();
        if speaker.is_none() {
            tokio::spawn(sup.start_until_running(Duration::ZERO));
            return Ok(());
        }
        let then = carried.then;
        tokio::spawn(async move {
            let answer = match then {
                Then::Reload => to_reply(sup.reload(false, None).await),
                Then::Upgrade { timeout_secs } => {
                    let timeout = Duration::from_secs(timeout_secs);
                    to_reply(sup.upgrade(None, timeout, None).await)
                }
            };
            if let Reply::Error { error } = &answer {
                warn!(%error, ?then, "after the supervisor's re-exec");
            }
            if let Some(fd) = reply {
                super::control::answer_on(fd, answer).await;
            }
        });
        Ok(())
    }

    /// `batonctl upgrade` of the binary at [`Supervisor::exe`]: if it is a new build of the
    /// supervisor too, re-execute first (returns only if that did not happen).
    pub(super) async fn reexec_if_new(&self, reply: RawFd, timeout_secs: u64) {
        let exe = self.exe.clone();
        let on_disk = tokio::task::spawn_blocking(move || crate::version::describe(&exe))
            .await
            .unwrap_or_default();
        if on_disk.contains('+') && fingerprint(&on_disk) != fingerprint(&self.version) {
            self.reexec(Some(reply), Then::Upgrade { timeout_secs })
                .await;
        }
    }
}

/// The build fingerprint of a version string (`0.1.0+b3c4d5e6` → `b3c4d5e6`).
pub(super) fn fingerprint(version: &str) -> &str {
    version.rsplit('+').next().unwrap_or(version)
}

/// A command's outcome as the control socket answers it.
fn to_reply<T: Serialize>(result: Result<T, String>) -> Reply {
    match result.map(serde_json::to_value) {
        Ok(Ok(v)) => Reply::Ok(v),
        Ok(Err(e)) => Reply::Error {
            error: e.to_string(),
        },
        Err(error) => Reply::Error { error },
    }
}

/// Ask `exe --reexec-check VERSION` whether it adopts what we carry.
async fn ask(exe: &Path) -> Result<(), String> {
    let name = exe.display();
    let run = tokio::process::Command::new(exe)
        .arg("--reexec-check")
        .arg(STATE_VERSION.to_string())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(CHECK_TIMEOUT, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("cannot run {name} --reexec-check: {e}")),
        Err(_) => {
            return Err(format!(
                "{name} --reexec-check did not answer within {} s",
                CHECK_TIMEOUT.as_secs()
            ))
        }
    };
    let said = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    let (stdout, stderr) = (said(&out.stdout), said(&out.stderr));
    if out.status.success() && stdout.starts_with("yes") {
        return Ok(());
    }
    let words = [stdout, stderr]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Err(format!(
        "{name} cannot adopt this supervisor's state (version {STATE_VERSION}): \
         --reexec-check {} ({words}); the supervisor keeps running its old binary",
        out.status
    ))
}

/// Clear close-on-exec on what `carried` names and `execve` `exe` with the same arguments and
/// [`REEXEC_ENV`] set. Returns only on failure, with close-on-exec set again.
fn exec(exe: &Path, carried: &Carried) -> Result<std::convert::Infallible, String> {
    let mut fds: Vec<RawFd> = carried.bgp.clone();
    fds.extend(carried.api);
    fds.extend([carried.control, carried.lock]);
    fds.extend(carried.reply);
    if let Some(sp) = &carried.speaker {
        fds.push(sp.channel);
        fds.extend(sp.stderr);
    }
    let json = serde_json::to_string(carried).map_err(|e| e.to_string())?;
    let cstr = |b: &[u8]| CString::new(b).map_err(|e| e.to_string());
    let path = cstr(exe.as_os_str().as_bytes())?;
    let args = std::env::args_os()
        .map(|a| cstr(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut env = std::env::vars_os()
        .filter(|(k, _)| k != REEXEC_ENV)
        .map(|(k, v)| cstr(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<Vec<_>, _>>()?;
    env.push(cstr(format!("{REEXEC_ENV}={json}").as_bytes())?);
    let set = |flag: FdFlag| -> Result<(), String> {
        for fd in &fds {
            fcntl(*fd, FcntlArg::F_SETFD(flag)).map_err(|e| format!("descriptor {fd}: {e}"))?;
        }
        Ok(())
    };
    if let Err(e) = set(FdFlag::empty()) {
        let _ = set(FdFlag::FD_CLOEXEC);
        return Err(e);
    }
    info!(exe = %exe.display(), state = %json, "the supervisor re-executes itself");
    let e = nix::unistd::execve(&path, &args, &env).unwrap_err();
    let _ = set(FdFlag::FD_CLOEXEC);
    Err(format!("execve {}: {e}", exe.display()))
}
