//! What a speaker reports while it takes over: one [`Progress`] per peer and address family as
//! each step happens, so the supervisor follows an upgrade by events instead of asking.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::wire::Family;

/// A step of one peer's session in one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgressKind {
    /// The session reached Established with this family negotiated.
    Established,
    /// Our End-of-RIB for the family was written to the session, after the whole table.
    EndOfRibSent,
    /// The peer's End-of-RIB for the family arrived.
    EndOfRibReceived,
}

impl ProgressKind {
    /// Words for a human.
    pub fn describe(self) -> &'static str {
        match self {
            ProgressKind::Established => "Established",
            ProgressKind::EndOfRibSent => "End-of-RIB sent",
            ProgressKind::EndOfRibReceived => "End-of-RIB received",
        }
    }
}

/// Speaker → supervisor: a step of one peer's session, as it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The peer.
    pub peer: IpAddr,
    /// The address family (`ipv4-unicast`).
    #[serde(with = "family_text")]
    pub family: Family,
    /// What happened.
    pub kind: ProgressKind,
    /// Milliseconds from the speaker's activation to the step, on the speaker's clock.
    pub elapsed_ms: u64,
}

/// A family as its name (`ipv4-unicast`), the way operators read it everywhere else.
mod family_text {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use crate::wire::Family;

    pub fn serialize<S: Serializer>(family: &Family, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(family)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Family, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}
