//! The name of a session's state, without the data the FSM keeps in it: what the status board
//! holds, the control socket, the REST API and the handoff channel carry, and what is compared
//! (never a string). It is spelled as RFC 4271 §8.2.2 names the states (`"Established"`) on every
//! wire, and turned into text only where a human reads it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of the six RFC 4271 states.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum SessionState {
    /// Refuses everything but a start.
    #[default]
    Idle,
    /// Waiting for an outgoing TCP connection to complete.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the first KEEPALIVE.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

impl SessionState {
    /// The RFC name, as every wire spells it.
    pub fn name(self) -> &'static str {
        match self {
            SessionState::Idle => "Idle",
            SessionState::Connect => "Connect",
            SessionState::Active => "Active",
            SessionState::OpenSent => "OpenSent",
            SessionState::OpenConfirm => "OpenConfirm",
            SessionState::Established => "Established",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::SessionState;

    #[test]
    fn every_state_is_spelled_on_the_wire_as_its_rfc_name() {
        use SessionState::*;
        for s in [Idle, Connect, Active, OpenSent, OpenConfirm, Established] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<SessionState>(&json).unwrap(), s);
            assert_eq!(s.to_string(), s.name());
        }
        assert!(serde_json::from_str::<SessionState>("\"established\"").is_err());
    }
}
