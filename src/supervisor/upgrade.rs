//! `batonctl upgrade`: replace the speaker with a new binary without a route flap
//! (docs/architecture.md, "The upgrade, step by step"), or change nothing and say why.
//!
//! 1. Refuse if an upgrade is already running.
//! 2. Note which peers are up (asking the old speaker).
//! 3. Spawn the new speaker, hand it the listeners; it loads and validates everything and says
//!    Ready. Any failure or timeout here: kill it; the old speaker never noticed.
//! 4. Tell the old one to quiesce: close every session without a NOTIFICATION (peers enter
//!    graceful restart) and exit. If it does not exit within a bound, kill it.
//! 5. Activate the new one: it connects and accepts at once, with the Restart bit, advertises
//!    and sends End-of-RIB.
//! 6. Done when every peer that was up is Established again and has been sent End-of-RIB.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{Generation, Supervisor};
use crate::ctl::{NeighborView, PeerUpgradeView, Reply, Request, UpgradeView};
use crate::handoff::Msg;

/// How long the old speaker may take to let go after Quiesce before it is killed.
pub const QUIESCE_BOUND: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);
/// How long the running speaker may take to say which peers are up.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);
const POLL_ASK_TIMEOUT: Duration = Duration::from_secs(5);

impl Supervisor {
    /// Run one upgrade; `Err` only when it was refused before starting.
    pub async fn upgrade(
        self: &Arc<Self>,
        binary: Option<PathBuf>,
        timeout: Duration,
    ) -> Result<UpgradeView, String> {
        let t0 = Instant::now();
        {
            let mut s = self.lock();
            if let Some(since) = s.upgrading {
                return Err(format!(
                    "an upgrade is already in progress (started {} s ago): wait for it to finish",
                    since.elapsed().as_secs()
                ));
            }
            if s.active.is_none() {
                return Err("no speaker is running (is it restarting after a crash?)".into());
            }
            s.upgrading = Some(t0);
        }
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Reloading]);
        let binary = binary.unwrap_or_else(|| self.exe.clone());
        let view = self.upgrade_steps(binary, timeout, t0).await;
        if view.ok {
            info!(
                duration_ms = view.duration_ms,
                generation = view.to_generation,
                "upgrade complete"
            );
        } else {
            warn!(reason = ?view.reason, "upgrade failed");
        }
        {
            let mut s = self.lock();
            s.upgrading = None;
            s.last_upgrade = Some(view.clone());
        }
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        super::notify_status(&self.status_line());
        Ok(view)
    }

    async fn upgrade_steps(
        self: &Arc<Self>,
        binary: PathBuf,
        timeout: Duration,
        t0: Instant,
    ) -> UpgradeView {
        let deadline = t0 + timeout;
        let old = self.active().expect("checked before");
        let mut view = UpgradeView {
            ok: false,
            reason: None,
            binary: binary.display().to_string(),
            from_generation: old.number,
            from_version: Some(old.version.clone()),
            to_generation: old.number,
            to_version: Some(old.version.clone()),
            duration_ms: 0,
            peers: Vec::new(),
        };
        let fail = |mut view: UpgradeView, reason: String| {
            view.reason = Some(reason);
            view.duration_ms = t0.elapsed().as_millis() as u64;
            view
        };
        let before: Vec<IpAddr> = match neighbors(&old, ASK_TIMEOUT).await {
            Ok(n) => n
                .into_iter()
                .filter(|n| n.state == "Established")
                .map(|n| n.address)
                .collect(),
            Err(e) => {
                // A hung speaker is exactly what an upgrade may be for: expect every
                // configured peer back instead.
                warn!(error = %e, "the running speaker does not answer: expecting every configured peer");
                self.config().peers.iter().map(|p| p.address).collect()
            }
        };

        // The new speaker reads the configuration file as it is now: it may listen elsewhere.
        let config = match &self.config_path {
            Some(path) => match crate::config::load(path) {
                Ok(c) => c,
                Err(e) => {
                    return fail(
                        view,
                        format!("the configuration is invalid, nothing was changed: {e}"),
                    )
                }
            },
            None => self.config(),
        };
        let listeners = match self.listeners_for(&config.global.listen) {
            Ok(l) => l,
            Err(e) => return fail(view, format!("cannot listen: {e}; nothing was changed")),
        };

        // Step 3: the new speaker, standing by.
        let number = self.next_number();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut spec = self.spec(number, &binary);
        spec.listeners = listeners.clone();
        let (new, _life) = match Generation::launch(spec, remaining, self.exits.clone()).await {
            Ok(x) => x,
            Err(reason) => {
                return fail(
                    view,
                    format!("{reason}; the running speaker was left untouched"),
                )
            }
        };
        let new = Arc::new(new);

        // Step 4: the old speaker lets go, silently.
        self.lock().retiring.push(old.number);
        old.send(Msg::Quiesce);
        if !wait_gone(old.pid, QUIESCE_BOUND).await {
            warn!(
                generation = old.number,
                "the old speaker did not exit after quiesce: killing it"
            );
            old.kill();
            wait_gone(old.pid, QUIESCE_BOUND).await;
        }

        // Step 5: the new one goes live; listeners the new configuration dropped close now.
        new.send(Msg::Activate);
        self.lock().active = Some(new.clone());
        self.use_listeners(listeners);
        self.set_config(config);
        view.to_generation = new.number;
        view.to_version = Some(new.version.clone());

        // Step 6: every peer that was up, back with our End-of-RIB.
        let mut peers: Vec<PeerUpgradeView> = before
            .iter()
            .map(|p| PeerUpgradeView {
                peer: *p,
                established_ms: None,
                end_of_rib_ms: None,
            })
            .collect();
        loop {
            if let Ok(now) = neighbors(&new, POLL_ASK_TIMEOUT).await {
                let ms = t0.elapsed().as_millis() as u64;
                for p in peers.iter_mut() {
                    let Some(n) = now.iter().find(|n| n.address == p.peer) else {
                        continue;
                    };
                    if n.state == "Established" {
                        p.established_ms.get_or_insert(ms);
                        if n.end_of_rib_sent_ms.is_some() {
                            p.end_of_rib_ms.get_or_insert(ms);
                        }
                    }
                }
            }
            if peers.iter().all(|p| p.end_of_rib_ms.is_some()) {
                view.ok = true;
                break;
            }
            if Instant::now() >= deadline {
                let missing: Vec<String> = peers
                    .iter()
                    .filter(|p| p.end_of_rib_ms.is_none())
                    .map(|p| p.peer.to_string())
                    .collect();
                view.reason = Some(format!(
                    "the new speaker runs, but these peers were not back with End-of-RIB within {} s: {}",
                    timeout.as_secs(),
                    missing.join(", ")
                ));
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        view.peers = peers;
        view.duration_ms = t0.elapsed().as_millis() as u64;
        view
    }
}

/// The speaker's neighbor list.
pub async fn neighbors(gen: &Generation, timeout: Duration) -> Result<Vec<NeighborView>, String> {
    let body = serde_json::to_value(Request::Neighbors).map_err(|e| e.to_string())?;
    let reply = gen.request(body, timeout).await?;
    match serde_json::from_value::<Reply>(reply).map_err(|e| e.to_string())? {
        Reply::Ok(v) => serde_json::from_value(v).map_err(|e| e.to_string()),
        Reply::Error { error } => Err(error),
    }
}

/// Wait until process `pid` is gone (reaped), at most `bound`; true if it is.
async fn wait_gone(pid: u32, bound: Duration) -> bool {
    let end = Instant::now() + bound;
    loop {
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok();
        if !alive {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
