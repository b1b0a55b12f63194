//! The steps of an upgrade as the supervisor sees them, streamed to `batonctl upgrade` while it
//! waits: one JSON object per line on the control socket, each with an `"event"` key (which no
//! reply has), before the final reply.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::session::Progress;

/// One step of an upgrade, timed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeEvent {
    /// Milliseconds from the command to the moment the supervisor saw the step.
    pub ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub step: UpgradeStep,
}

/// What happened, in the order an upgrade goes (see the handoff protocol's sequence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum UpgradeStep {
    /// The new speaker's process was started.
    Started {
        /// Its generation.
        generation: u64,
        /// Its pid.
        pid: u32,
        /// The executable.
        binary: String,
    },
    /// It answered the handshake.
    Hello {
        /// Its generation.
        generation: u64,
        /// Its build.
        version: String,
        /// The handoff protocol version agreed.
        protocol: u32,
    },
    /// It loaded its configuration and state and took the listening sockets.
    Ready {
        /// Its generation.
        generation: u64,
        /// The sessions it holds Established.
        peers_up: Vec<IpAddr>,
    },
    /// The old speaker was asked to let go.
    Quiesce {
        /// Its generation.
        generation: u64,
    },
    /// It let go: sessions closed without NOTIFICATION, state saved.
    Quiesced {
        /// Its generation.
        generation: u64,
    },
    /// A speaker process ended.
    Exited {
        /// Its generation.
        generation: u64,
        /// How (`exit status: 0`), with what it said last on stderr when it failed.
        how: String,
    },
    /// A speaker process was killed.
    Killed {
        /// Its generation.
        generation: u64,
        /// Why.
        why: String,
    },
    /// The new speaker went live.
    Activated {
        /// Its generation.
        generation: u64,
        /// The peers expected back (those up at the old speaker).
        expect: Vec<IpAddr>,
    },
    /// A step of one peer's session at the new speaker.
    Progress {
        /// The speaker's generation.
        generation: u64,
        /// The peer, the family, the step, and when on the speaker's clock.
        #[serde(flatten)]
        progress: Progress,
    },
    /// Every expected peer is Established and has been sent End-of-RIB.
    Done {
        /// The new speaker's generation.
        generation: u64,
        /// The peers back.
        peers_up: Vec<IpAddr>,
    },
}

/// One line the supervisor writes on the control socket while an upgrade runs: a step, or
/// the final reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A step.
    Event(UpgradeEvent),
    /// A step this build does not know (from a newer supervisor), as it came.
    Unknown(serde_json::Value),
    /// The reply; nothing follows.
    Reply(super::Reply),
}

impl Line {
    /// Reads one line: an object with an `"event"` key is a step, anything else the reply.
    pub fn parse(text: &str) -> Result<Line, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        if value.get("event").is_some() {
            Ok(match serde_json::from_value(value.clone()) {
                Ok(event) => Line::Event(event),
                Err(_) => Line::Unknown(value),
            })
        } else {
            Ok(Line::Reply(serde_json::from_value(value)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ProgressKind;
    use crate::wire::Family;

    #[test]
    fn events_are_flat_objects_that_round_trip_and_replies_are_told_apart() {
        let event = UpgradeEvent {
            ms: 1204,
            step: UpgradeStep::Progress {
                generation: 3,
                progress: Progress {
                    peer: "198.18.0.2".parse().unwrap(),
                    family: Family::IPV4_UNICAST,
                    kind: ProgressKind::EndOfRibSent,
                    elapsed_ms: 980,
                },
            },
        };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            serde_json::json!({"ms": 1204, "event": "progress", "generation": 3,
                "peer": "198.18.0.2", "family": "ipv4-unicast", "kind": "end-of-rib-sent",
                "elapsed_ms": 980})
        );
        assert_eq!(Line::parse(&text).unwrap(), Line::Event(event));
        let done = r#"{"ms":5,"event":"done","generation":3,"peers_up":[]}"#;
        assert!(matches!(Line::parse(done), Ok(Line::Event(_))));
        let reply = r#"{"ok":true,"reason":null}"#;
        assert!(matches!(
            Line::parse(reply),
            Ok(Line::Reply(super::super::Reply::Ok(_)))
        ));
        let error = r#"{"error":"an upgrade is already in progress"}"#;
        assert!(matches!(
            Line::parse(error),
            Ok(Line::Reply(super::super::Reply::Error { .. }))
        ));
        assert!(matches!(
            Line::parse(r#"{"event":"teleport","ms":1}"#),
            Ok(Line::Unknown(_))
        ));
        assert!(Line::parse("not json").is_err());
    }
}
