//! What the daemon reports: neighbors and routes, as JSON-ready values.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::rib::PathAttrs;
use crate::wire::{Origin, Prefix, SegmentType};

/// One configured peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborView {
    /// Peer address.
    pub address: IpAddr,
    /// Configured remote AS.
    pub remote_as: u32,
    /// Description from the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// FSM state name (`Idle` … `Established`).
    pub state: String,
    /// Seconds since the session reached Established.
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// Milliseconds from Established to our End-of-RIB written (the whole table before it);
    /// `None` until then.
    #[serde(default)]
    pub end_of_rib_sent_ms: Option<u64>,
    /// The peer's BGP identifier, once known.
    #[serde(default)]
    pub remote_id: Option<String>,
    /// Last reason the session went down.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Times the session reached Established.
    pub established_count: u64,
    /// Graceful restart helper phase: `Idle`, or what is being kept for a restarting peer.
    #[serde(default)]
    pub graceful_restart: String,
    /// Per negotiated (or configured) family: route counters.
    pub families: Vec<FamilyCountersView>,
}

/// Route counters of one family of one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyCountersView {
    /// `ipv4-unicast` / `ipv6-unicast`.
    pub family: String,
    /// Prefixes in the Adj-RIB-In.
    pub received: usize,
    /// Of those, prefixes that passed acceptance checks.
    pub accepted: usize,
    /// Prefixes in the Adj-RIB-Out.
    pub advertised: usize,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteView {
    /// The prefix.
    pub prefix: String,
    /// `local` or the peer address.
    pub source: String,
    /// Next hop, when known.
    pub next_hop: Option<String>,
    /// `igp`, `egp`, `incomplete`.
    pub origin: Option<String>,
    /// AS_PATH flattened (sets in braces are flattened too; see `as_path_text`).
    pub as_path: Vec<u32>,
    /// AS_PATH as text, `{}` around sets.
    pub as_path_text: String,
    /// MED.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities as `A:B`.
    pub communities: Vec<String>,
    /// Large communities as `A:B:C`.
    pub large_communities: Vec<String>,
    /// Best route for the prefix (Loc-RIB only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<bool>,
    /// Kept from a session that ended gracefully, not yet refreshed (RFC 4724).
    #[serde(default)]
    pub stale: bool,
    /// Passed acceptance (Adj-RIB-In only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<bool>,
}

impl RouteView {
    /// The view of one route.
    pub fn new(prefix: &Prefix, source: String, attrs: &PathAttrs) -> RouteView {
        let a = &attrs.attrs;
        let (as_path, as_path_text) = match &a.as_path {
            None => (Vec::new(), String::new()),
            Some(p) => {
                let flat = p.segments.iter().flat_map(|s| s.asns.iter().copied());
                let text: Vec<String> = p
                    .segments
                    .iter()
                    .map(|s| {
                        let asns: Vec<String> = s.asns.iter().map(|x| x.to_string()).collect();
                        match s.kind {
                            SegmentType::AsSequence => asns.join(" "),
                            SegmentType::AsSet => format!("{{{}}}", asns.join(" ")),
                        }
                    })
                    .collect();
                (flat.collect(), text.join(" "))
            }
        };
        RouteView {
            prefix: prefix.to_string(),
            source,
            next_hop: attrs.next_hop.map(|n| n.to_string()),
            origin: a.origin.map(|o| {
                match o {
                    Origin::Igp => "igp",
                    Origin::Egp => "egp",
                    Origin::Incomplete => "incomplete",
                }
                .to_string()
            }),
            as_path,
            as_path_text,
            med: a.med,
            local_pref: a.local_pref,
            communities: a.communities.iter().map(|c| c.to_string()).collect(),
            large_communities: a.large_communities.iter().map(|c| c.to_string()).collect(),
            best: None,
            stale: false,
            accepted: None,
        }
    }
}

/// Routes of one peer's Adj-RIB-In.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjInView {
    /// The peer.
    pub peer: IpAddr,
    /// Its routes, sorted by prefix.
    pub routes: Vec<RouteView>,
}

/// The answer to `rib`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RibView {
    /// Loc-RIB: every candidate, `best` marking the selected one; sorted by prefix.
    pub loc_rib: Vec<RouteView>,
    /// Adj-RIB-In per peer.
    pub adj_rib_in: Vec<AdjInView>,
}
