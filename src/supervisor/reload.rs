//! Declarative reload, supervisor side (`batonctl reload`, SIGHUP, `systemctl reload`): the
//! running speaker reads the file, plans and applies the difference
//! ([`crate::speaker`]'s reload); when the plan changes who we are or where we listen, the
//! supervisor then restarts the speaker the graceful way — an upgrade to the same binary, so
//! peers keep our routes and see End-of-RIB again.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use super::reexec::{fingerprint, Then};
use super::{notify, Supervisor};
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

    /// Put `config` in force (read again by a reload or an upgrade), without its routes: the
    /// supervisor never needs them.
    pub(super) fn set_config(&self, config: Config) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config.without_routes();
    }

    /// Reload: plan (and unless `dry_run`, apply) the configuration file's changes. `Err` means
    /// nothing was changed. systemd sees `RELOADING=1` until it is applied, or the speaker
    /// restart it asked for has finished or rolled back.
    pub async fn reload(
        self: &Arc<Self>,
        dry_run: bool,
        reply: Option<std::os::fd::RawFd>,
    ) -> Result<ReloadView, String> {
        if self.lock().upgrading.is_some() {
            return Err("an upgrade is in progress: reload when it is done".into());
        }
        if dry_run {
            return self.plan_reload(true).await.map(|(view, _)| view);
        }
        let notified = notify::Reload::begin();
        let result = self.apply_reload(reply).await;
        self.recount_peers().await;
        let status = self.status_line();
        match &result {
            Ok(view) if view.applied => notified.finish(&status),
            Ok(_) => notified.finish(&format!("reload FAILED, rolled back: {status}")),
            Err(e) => notified.finish(&format!("reload refused, nothing changed ({e}); {status}")),
        }
        result
    }

    /// Ask the speaker to plan (and unless `dry_run`, apply) the file's changes; add a speaker
    /// restart when the binary on disk is a new build.
    async fn plan_reload(self: &Arc<Self>, dry_run: bool) -> Result<(ReloadView, String), String> {
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
        Ok((view, on_disk))
    }

    /// Apply a reload, restarting the speaker the graceful way when the plan says so.
    async fn apply_reload(
        self: &Arc<Self>,
        reply: Option<std::os::fd::RawFd>,
    ) -> Result<ReloadView, String> {
        let (mut view, on_disk) = self.plan_reload(false).await?;
        if view.plan.restart_speaker.is_empty() {
            // The speaker read and applied the whole file; the settings are what we keep.
            if let Some(Ok(config)) = self
                .config_path
                .as_deref()
                .map(crate::config::load_settings)
            {
                self.set_config(config);
            }
            return Ok(view);
        }
        // A new build of the supervisor too: it re-executes itself first (returning only if it
        // did not), and the new image finishes this reload.
        if on_disk.contains('+') && fingerprint(&on_disk) != fingerprint(&self.version) {
            view.supervisor_not_replaced = Some(self.reexec(reply, Then::Reload).await);
        }
        let t0 = self.begin_upgrade()?;
        let restart = self.run_upgrade(t0, None, RESTART_TIMEOUT, None).await;
        if !restart.ok {
            warn!(reason = ?restart.reason, "reload: the speaker restart failed");
        }
        view.applied = restart.ok;
        view.restart = Some(restart);
        Ok(view)
    }

    /// SIGHUP: reload, and say in the log what happened (systemd hears it from [`Self::reload`]).
    pub(super) async fn reload_on_signal(self: Arc<Self>) {
        info!(signal = "SIGHUP", "reloading the configuration");
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
    }
}
