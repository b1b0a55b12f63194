//! Declarative reload, supervisor side (`batonctl reload`, SIGHUP, `systemctl reload`): the
//! running speaker reads the file, plans and applies the difference
//! ([`crate::speaker`]'s reload); when the plan changes who we are or where we listen, the
//! supervisor then restarts the speaker the graceful way — an upgrade to the same binary, so
//! peers keep our routes and see End-of-RIB again.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use super::reexec::{fingerprint, Then};
use super::Supervisor;
use crate::config::Config;
use crate::ctl::{ReloadView, Reply, Request};

/// How long the speaker may take to plan and apply a reload (it stops and starts sessions).
const APPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a speaker restart asked for by a reload may take (like `batonctl upgrade`'s default).
const RESTART_TIMEOUT: Duration = Duration::from_secs(60);

impl Supervisor {
    /// The configuration in force.
    pub(super) fn config(&self) -> Config {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Put `config` in force (read again by a reload or an upgrade).
    pub(super) fn set_config(&self, config: Config) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// Reload: plan (and unless `dry_run`, apply) the configuration file's changes. `Err` means
    /// nothing was changed.
    pub async fn reload(
        self: &Arc<Self>,
        dry_run: bool,
        reply: Option<std::os::fd::RawFd>,
    ) -> Result<ReloadView, String> {
        if self.lock().upgrading.is_some() {
            return Err("an upgrade is in progress: reload when it is done".into());
        }
        let speaker = self
            .active()
            .ok_or("no speaker is running (is it restarting after a crash?): try again")?;
        let mut view: ReloadView = match speaker
            .request(Request::Reload { dry_run }, APPLY_TIMEOUT)
            .await?
        {
            Reply::Ok(v) => serde_json::from_value(v)
                .map_err(|e| format!("bad answer from the speaker: {e}"))?,
            Reply::Error { error } => return Err(error),
        };
        // After a package upgrade the binary on disk is a new build: a reload (`systemctl
        // reload`) then also replaces the speaker, which reads the new file as it starts.
        let exe = self.exe.clone();
        let on_disk = tokio::task::spawn_blocking(move || crate::version::describe(&exe))
            .await
            .unwrap_or_default();
        // (Unreadable: `describe` says the bare package version; the restart would fail.)
        if on_disk.contains('+') && fingerprint(&on_disk) != fingerprint(&speaker.version) {
            view.plan
                .restart_speaker
                .push(format!("binary ({} is {on_disk})", self.exe.display()));
        }
        if dry_run {
            return Ok(view);
        }
        if view.plan.restart_speaker.is_empty() {
            if let Some(Ok(config)) = self.config_path.as_deref().map(crate::config::load) {
                self.set_config(config);
            }
            return Ok(view);
        }
        // A new build of the supervisor too: it re-executes itself first (returning only if it
        // did not), and the new image finishes this reload.
        if on_disk.contains('+') && fingerprint(&on_disk) != fingerprint(&self.version) {
            view.supervisor_not_replaced = Some(self.reexec(reply, Then::Reload).await);
        }
        let restart = self.upgrade(None, RESTART_TIMEOUT, None).await?;
        if !restart.ok {
            warn!(reason = ?restart.reason, "reload: the speaker restart failed");
        }
        view.applied = restart.ok;
        view.restart = Some(restart);
        Ok(view)
    }

    /// SIGHUP: reload, and say in the log (and to systemd) what happened.
    pub(super) async fn reload_on_signal(self: Arc<Self>) {
        info!(signal = "SIGHUP", "reloading the configuration");
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Reloading]);
        match self.reload(false, None).await {
            Ok(view) if view.applied => info!(
                peers = view.plan.peers.len(),
                advertise = view.plan.advertise.len(),
                withdraw = view.plan.withdraw.len(),
                update = view.plan.update.len(),
                restarted = view.restart.is_some(),
                "reload done"
            ),
            Ok(view) => {
                warn!(restart = ?view.restart, "reload: the speaker restart failed; the old speaker still runs")
            }
            Err(e) => error!(error = %e, "reload refused, nothing was changed"),
        }
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    }
}
