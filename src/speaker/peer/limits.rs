//! The prefix limit of a peer task (`max_prefixes`, see [`PrefixLimit`]) carried out: the
//! warning threshold logged once per crossing, and going over the bound either logged
//! (`warn`) or answered with Cease / Maximum Number of Prefixes Reached and the RFC 4486 data
//! (`cease`), after which the peer stays down until `max_prefixes_restart_after` or an
//! operator's reset. Also the hint logged when a peer with TCP-MD5 or GTSM cannot be reached.

use super::*;
use crate::config::MaxPrefixesAction;
use crate::speaker::prefix_limit::Crossing;

impl PeerTask {
    /// Count `update` against the limit; true if the session was ceased for it (the UPDATE
    /// then goes no further).
    pub(super) fn over_prefix_limit(&mut self, id: u64, update: &wire::Update) -> bool {
        let Some(limit) = &mut self.prefix_limit else {
            return false;
        };
        let mut cease = None;
        for crossing in limit.apply(update) {
            match crossing {
                Crossing::Warning {
                    family,
                    count,
                    limit,
                    threshold,
                } => warn!(
                    %family, count, limit, threshold, percent = self.peer.max_prefixes_warning,
                    "prefix count reached the max_prefixes warning threshold (logged once per crossing)"
                ),
                Crossing::Exceeded {
                    family,
                    count,
                    limit,
                } => match self.peer.max_prefixes_action {
                    MaxPrefixesAction::Warn => warn!(
                        %family, count, limit,
                        "prefix count over max_prefixes: keeping the session (max_prefixes_action = \"warn\"; logged once per crossing)"
                    ),
                    MaxPrefixesAction::Cease => cease = cease.or(Some((family, count, limit))),
                },
            }
        }
        let Some((family, count, limit)) = cease else {
            return false;
        };
        let restart = self.peer.max_prefixes_restart_after;
        let then = match restart {
            Some(s) => format!("connecting again in {s} s (max_prefixes_restart_after)"),
            None => "down until `batonctl neighbor reset`".to_string(),
        };
        warn!(%family, count, limit, "prefix count over max_prefixes: sending Cease / Maximum Number of Prefixes Reached (RFC 4486), {then}");
        // RFC 8538 §5: this Cease is a Hard Reset when the N bit was negotiated.
        let n = self.hard_reset_if_needed(id, &Notification::max_prefixes_reached(family, limit));
        self.feed(id, Input::ManualStop(Some(n)));
        // Instead of the restart the session's end armed:
        self.held_down = true;
        self.restart_at = restart.map(|s| Instant::now() + Duration::from_secs(s.into()));
        let text = format!(
            "maximum number of prefixes reached: {count} {family} prefixes, max_prefixes {limit}; {then}"
        );
        self.status
            .update(self.peer.address, |s| s.last_error = Some(text));
        true
    }

    /// An outgoing connection failed: say what TCP-MD5 or GTSM may have to do with it, once
    /// until a session is Established again (a peer that drops our segments says nothing).
    pub(super) fn connect_failed(&mut self, e: &std::io::Error) {
        let Some(hint) = self.security.hint() else {
            debug!(error = %e, "connect failed");
            return;
        };
        if self.hinted {
            debug!(error = %e, %hint, "connect failed");
            return;
        }
        self.hinted = true;
        warn!(error = %e, %hint, "connect failed: {e}; {hint}");
        let text = format!("connect failed: {e}; {hint}");
        self.status
            .update(self.peer.address, |s| s.last_error = Some(text));
    }
}
