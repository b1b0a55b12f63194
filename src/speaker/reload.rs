//! Declarative reload, speaker side: read the configuration file again, plan the difference
//! from what runs ([`crate::config::plan`]), and carry it out touching nothing else — removed
//! peers get Cease "peer de-configured", changed peers are reset only when what they were sent
//! in our OPEN changed, routes go through the RIB, which sends only what changed.
//!
//! A plan that changes who we are or where we listen is the supervisor's to carry out (a
//! graceful restart of the speaker, like an upgrade to the same binary); the speaker then only
//! lets removed peers go with their Cease, because the next speaker will not know them.

use tracing::{error, info, warn};

use super::ops::Ops;
use super::peer::PeerEvent;
use super::rib_task::RibCmd;
use super::DISABLED;
use crate::api::BackendError;
use crate::config::plan::PeerAction;
use crate::config::{Peer, Plan};
use crate::ctl::ReloadView;
use crate::wire::{notif, Notification};

impl Ops {
    /// Plan the reload and, unless `dry_run`, carry it out. `Err` (with the file, line and
    /// field of a bad configuration) means nothing was changed.
    pub async fn reload(&self, dry_run: bool) -> Result<ReloadView, String> {
        if !dry_run {
            self.live().map_err(|e| e.to_string())?;
        }
        let path = self.config_path.clone().ok_or(
            "batond runs on its embedded default configuration (no --config): nothing to reload",
        )?;
        let running = self.intent().config().clone();
        let load_path = path.clone();
        let new = tokio::task::spawn_blocking(move || {
            crate::config::load_for_reload(&load_path, &running)
        })
        .await
        .map_err(|e| format!("reading the configuration did not complete: {e}"))?
        .map_err(|e| e.to_string())?;

        // One change to the peers at a time (the API changes them too).
        let _turn = self.peers.changing().await;
        let (plan, wanted) = {
            let intent = self.intent();
            let old_peers: Vec<Peer> = intent.peers().into_iter().map(|(p, _, _)| p).collect();
            let old_routes = intent.originated();
            let (new_peers, new_routes) = intent.preview(new.clone());
            let plain: Vec<Peer> = new_peers.iter().map(|(p, _, _)| p.clone()).collect();
            let plan = Plan::between(
                (intent.config(), &old_peers, &old_routes),
                (&new, &plain, &new_routes),
            );
            (plan, new_peers)
        };
        let mut view = ReloadView {
            file: path.display().to_string(),
            dry_run,
            applied: false,
            plan,
            restart: None,
            supervisor_not_replaced: None,
        };
        if dry_run {
            return Ok(view);
        }
        if !view.plan.restart_speaker.is_empty() {
            // The next speaker reads the file itself; it will not know the removed peers.
            self.remove_peers(&view.plan).await;
            info!(fields = ?view.plan.restart_speaker, "reload: the speaker restarts to apply it");
            return Ok(view);
        }
        self.apply(&view.plan, new, wanted).await?;
        view.applied = true;
        Ok(view)
    }

    async fn apply(
        &self,
        plan: &Plan,
        new: crate::config::Config,
        wanted: Vec<(Peer, super::intent::PeerSource, bool)>,
    ) -> Result<(), String> {
        let routes_change =
            !(plan.advertise.is_empty() && plan.withdraw.is_empty() && plan.update.is_empty());
        self.change_intent(move |keeper| {
            keeper.set_config(new).map_err(BackendError::from)?;
            let cmd = routes_change.then(|| RibCmd::SetOriginated(keeper.originated_runs()));
            Ok(((), cmd))
        })
        .await
        .map_err(|e| format!("cannot save the new intent, nothing was changed: {e}"))?;
        self.remove_peers(plan).await;
        for change in &plan.peers {
            let addr = change.address;
            let Some((peer, _, enabled)) = wanted.iter().find(|(p, _, _)| p.address == addr) else {
                continue;
            };
            let running = self.peers.get(addr);
            match change.action {
                PeerAction::Remove => {}
                PeerAction::Add if *enabled => {
                    info!(peer = %addr, "reload: peer added");
                    self.status.update(addr, |_| {});
                    self.peers.start(peer.clone(), false);
                }
                PeerAction::Add => {
                    self.status
                        .update(addr, |s| s.last_error = Some(DISABLED.into()));
                }
                PeerAction::Update => match running {
                    Some(_) if change.session_reset => {
                        info!(peer = %addr, changes = ?change.changes, "reload: session reset to apply");
                        let cease = Notification::new(notif::CEASE, notif::OTHER_CONFIG_CHANGE);
                        self.peers.stop(addr, Some(cease)).await;
                        self.peers.start(peer.clone(), false);
                    }
                    Some(task) => {
                        info!(peer = %addr, changes = ?change.changes, "reload: applied without a session reset");
                        let _ = task.send(PeerEvent::Settings(Box::new(peer.clone())));
                    }
                    // Disabled: the new settings apply when it is enabled.
                    None => {}
                },
            }
        }
        info!(
            peers = plan.peers.len(),
            advertise = plan.advertise.len(),
            withdraw = plan.withdraw.len(),
            update = plan.update.len(),
            "reload applied"
        );
        Ok(())
    }

    /// Stop the sessions of removed peers with Cease "peer de-configured" (RFC 4486 6/3).
    async fn remove_peers(&self, plan: &Plan) {
        for change in plan.peers.iter().filter(|c| c.action == PeerAction::Remove) {
            info!(peer = %change.address, "reload: peer removed");
            let cease = Notification::new(notif::CEASE, notif::PEER_DECONFIGURED);
            self.peers.stop(change.address, Some(cease)).await;
            self.forget_peer(change.address);
        }
    }
}

/// SIGHUP to a standalone speaker: reload, and say in the log what happened.
pub async fn on_signal(ops: &Ops) {
    info!(signal = "SIGHUP", "reloading the configuration");
    match ops.reload(false).await {
        Ok(view) if view.applied => info!(plan = ?view.plan, "reload done"),
        Ok(view) => warn!(
            fields = ?view.plan.restart_speaker,
            "reload: these changes need a restart of the speaker; a standalone speaker cannot restart itself: run batond (the supervisor) or restart it"
        ),
        Err(e) => error!(error = %e, "reload refused, nothing was changed"),
    }
}
