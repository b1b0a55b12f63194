//! The graceful-restart side of a peer task (RFC 4724, RFC 9494 long-lived, RFC 8538): feeding
//! the sans-IO [`GrHelper`] and carrying out what it asks (keep routes stale, purge them, make
//! them long-lived stale), and wrapping a deliberate Cease in a Hard Reset when the peer
//! negotiated the N bit.

use super::*;

impl PeerTask {
    /// Feed the graceful restart helper and carry out what it decides.
    pub(super) fn graceful(&mut self, input: GrInput) {
        let address = self.peer.address;
        for out in self.gr.handle(input) {
            let cmd = match out {
                GrOutput::PurgeAll => RibCmd::PeerDown(address),
                GrOutput::MarkStale(families) => {
                    info!(
                        ?families,
                        "peer went away: keeping its routes as stale (graceful restart)"
                    );
                    RibCmd::MarkStale(address, families)
                }
                GrOutput::PurgeStale(families) => RibCmd::PurgeStale(address, families),
                GrOutput::LongLivedStale(families) => {
                    info!(
                        ?families,
                        "restart time over: routes become long-lived stale"
                    );
                    RibCmd::LongLivedStale(address, families)
                }
                GrOutput::StartTimer(t, d) => {
                    self.gr_timers.retain(|(x, _)| *x != t);
                    self.gr_timers.push((t, Instant::now() + d));
                    continue;
                }
                GrOutput::StopTimer(t) => {
                    self.gr_timers.retain(|(x, _)| *x != t);
                    continue;
                }
            };
            let _ = self.rib.send(cmd);
        }
        let phase = self.gr.phase().name();
        self.status.update(address, |s| s.graceful_restart = phase);
    }

    /// RFC 8538 §4: when both sides sent the N bit, a Cease other than Hard Reset keeps our
    /// routes at the peer as stale; a stop that means "withdraw" goes as a Hard Reset.
    pub(super) fn hard_reset_if_needed(&self, id: u64, n: &Notification) -> Notification {
        let ours = self
            .session_config
            .graceful_restart
            .as_ref()
            .is_some_and(|g| g.notification);
        let theirs = self.conns.iter().find(|c| c.id == id).is_some_and(|c| {
            matches!(c.session.state(), State::Established(neg) | State::OpenConfirm(neg)
                if neg.peer_graceful_restart.as_ref().is_some_and(|g| g.notification))
        });
        if ours && theirs && n.code == wire::notif::CEASE && !n.is_hard_reset() {
            n.hard_reset()
        } else {
            n.clone()
        }
    }
}

/// Our graceful restart capability for `peer`. After a restart the Restart bit is set and the
/// Forwarding bit too, for every family: what a host speaker forwards is its own services'
/// traffic, which kept flowing while it restarted (and a helper MUST flush a family whose F bit
/// is clear, RFC 4724 §4.2 — exactly the withdrawal we exist to prevent).
pub(super) fn gr_settings(peer: &Peer, restarting: bool) -> Option<GrSettings> {
    let gr = &peer.graceful_restart;
    gr.enabled.then(|| GrSettings {
        restart_time: gr.restart_time,
        restarting,
        forwarding: if restarting {
            peer.families.clone()
        } else {
            Vec::new()
        },
        notification: gr.notification,
        long_lived_stale_time: gr.long_lived_stale_time,
    })
}
