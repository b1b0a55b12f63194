//! What a peer task tells the operator about its session: the state it publishes to the
//! status board, and the words for why a session went down.

use super::*;

impl PeerTask {
    /// Publish the most advanced state of any connection as the peer's state.
    pub(super) fn publish_state(&self) {
        let rank = |s: &State| match s {
            State::Idle => 0,
            State::Connect | State::Active => 1,
            State::OpenSent => 2,
            State::OpenConfirm(_) => 3,
            State::Established(_) => 4,
        };
        let state = self
            .conns
            .iter()
            .map(|c| c.session.state())
            .max_by_key(|s| rank(s))
            .map_or(SessionState::Idle, State::kind);
        self.status.update(self.peer.address, |s| s.state = state);
    }
}

/// A down reason in the words of the log and `last_error`.
pub(super) fn describe(reason: &DownReason) -> String {
    let n = |n: &Notification| {
        let mut s = format!("{}/{}", n.code, n.subcode);
        if let Some(cause) = n.hard_reset_cause() {
            s.push_str(&format!(
                " (Hard Reset of {}/{})",
                cause.code, cause.subcode
            ));
        }
        if let Some(m) = n.shutdown_message() {
            s.push_str(&format!(" \"{m}\""));
        }
        s
    };
    match reason {
        DownReason::Stopped(None) => "stopped".into(),
        DownReason::Stopped(Some(x)) => format!("stopped, sent NOTIFICATION {}", n(x)),
        DownReason::ConnectionLost => "connection lost".into(),
        DownReason::NotificationSent(x) => format!("sent NOTIFICATION {}", n(x)),
        DownReason::NotificationReceived(x) => format!("received NOTIFICATION {}", n(x)),
    }
}
