//! What the daemon reports: neighbors and routes, as JSON-ready values.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::Peer;
use crate::rib::PathAttrs;
use crate::session::SessionState;
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
    /// FSM state (`Idle` … `Established` on the wire).
    pub state: SessionState,
    /// Seconds since the session reached Established.
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// Milliseconds from Established to our End-of-RIB written (the whole table before it);
    /// `None` until then.
    #[serde(default)]
    pub end_of_rib_sent_ms: Option<u64>,
    /// Milliseconds from Established until the peer's End-of-RIB had arrived for every
    /// negotiated family; `None` until then.
    #[serde(default)]
    pub end_of_rib_received_ms: Option<u64>,
    /// The peer's BGP identifier, once known.
    #[serde(default)]
    pub remote_id: Option<String>,
    /// Last reason the session went down.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Times the session reached Established.
    pub established_count: u64,
    /// Routes ignored (treated as withdrawn, RFC 7606) because their next hop was martian:
    /// loopback, multicast, unspecified, our own address… (see `rib::martian`).
    #[serde(default)]
    pub martian_next_hops: u64,
    /// Graceful restart helper phase: `Idle`, or what is being kept for a restarting peer.
    #[serde(default)]
    pub graceful_restart: String,
    /// Per negotiated (or configured) family: route counters.
    pub families: Vec<FamilyCountersView>,
}

/// The answer to `neighbor ADDR`: one peer in detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborDetailView {
    /// Status and counters, as in the list (its keys at the top level of the JSON object).
    #[serde(flatten)]
    pub status: NeighborView,
    /// `config` (the configuration file names the peer) or `api` (added at run time).
    pub source: String,
    /// The session may run; false once administratively disabled.
    pub enabled: bool,
    /// The hold time negotiated with the peer (the smaller of both OPENs), while Established.
    #[serde(default)]
    pub negotiated_hold_time: Option<u16>,
    /// The peer's settings, as a `[[peer]]` table gives them.
    pub config: Peer,
}

/// What a `neighbor del|enable|disable|reset` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NeighborChange {
    /// Deleted, its session closed with Cease / Peer De-configured.
    Deleted,
    /// Enabled: its session starts.
    Enabled,
    /// Disabled: its session closed with Cease / Administrative Shutdown.
    Disabled,
    /// Its session closed with Cease / Administrative Reset and started again.
    Reset,
    /// ROUTE-REFRESH asked of it (when it takes them) and our routes sent again.
    SoftReset,
}

/// The answer to `neighbor del|enable|disable|reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborChangeView {
    /// The peer.
    pub address: IpAddr,
    /// What was done.
    pub change: NeighborChange,
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

/// The answer to `route add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteAddView {
    /// Routes now originated (new or with new attributes).
    pub announced: usize,
}

/// The answer to `route del`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDelView {
    /// Run-time routes no longer originated (prefixes that were not are not counted).
    pub withdrawn: usize,
}

/// The answer to `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// The supervisor's pid (stable across upgrades).
    pub supervisor_pid: u32,
    /// The supervisor's own version.
    pub supervisor_version: String,
    /// Seconds since the supervisor started.
    pub uptime_secs: u64,
    /// The running speaker's pid, if one runs.
    pub speaker_pid: Option<u32>,
    /// The running speaker's generation (1 for the first, +1 per start or upgrade).
    pub generation: u64,
    /// The running speaker's version (package version and build fingerprint).
    pub version: Option<String>,
    /// The executable the running speaker was started from.
    #[serde(default)]
    pub binary: Option<String>,
    /// Seconds since the running speaker started.
    pub speaker_uptime_secs: Option<u64>,
    /// Speaker crashes since the supervisor started.
    pub crashes: u64,
    /// Crashes are repeating: restarts are being delayed.
    pub crash_loop: bool,
    /// Crashes in a row without a stable run (60 s) between them: the back-off's count.
    #[serde(default)]
    pub consecutive_crashes: u32,
    /// How long the supervisor would wait to start a new speaker if the running one died now
    /// (0: at once).
    #[serde(default)]
    pub next_restart_delay_ms: u64,
    /// While a restart is being delayed (crash loop): milliseconds until it.
    #[serde(default)]
    pub restart_in_ms: Option<u64>,
    /// An upgrade is in progress.
    pub upgrading: bool,
    /// The last upgrade's outcome.
    pub last_upgrade: Option<UpgradeView>,
    /// What the running speaker found wrong when loading the state (empty when all was well).
    #[serde(default)]
    pub state_problems: Vec<String>,
    /// Why the running speaker cannot write the state directory (`null` when it can): it
    /// serves from what it read, and refuses run-time changes until it is writable again.
    #[serde(default)]
    pub state_not_writable: Option<String>,
}

/// The answer to `speaker-info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerInfoView {
    /// The speaker's version.
    pub version: String,
    /// What loading the state found wrong.
    pub state_problems: Vec<String>,
    /// Why the state directory cannot be written now, if it cannot.
    #[serde(default)]
    pub state_not_writable: Option<String>,
    /// Routes originated from the configuration.
    pub config_routes: usize,
    /// Routes originated at run time.
    pub api_routes: usize,
}

/// The outcome of one upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeView {
    /// Every peer that was up is up again with our End-of-RIB.
    pub ok: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// The binary started.
    pub binary: String,
    /// Generation and version before.
    pub from_generation: u64,
    /// Version before.
    pub from_version: Option<String>,
    /// Generation after (the old one's when rolled back).
    pub to_generation: u64,
    /// Version after.
    pub to_version: Option<String>,
    /// Milliseconds from the command to the last End-of-RIB (or the failure).
    pub duration_ms: u64,
    /// Per peer that was up before.
    pub peers: Vec<PeerUpgradeView>,
}

/// One peer's part in an upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerUpgradeView {
    /// The peer.
    pub peer: IpAddr,
    /// Milliseconds from the command until the new speaker's session was Established.
    pub established_ms: Option<u64>,
    /// Milliseconds from the command until our End-of-RIB was written to it.
    pub end_of_rib_ms: Option<u64>,
}

/// The outcome of a reload (`batonctl reload`, SIGHUP): the plan, and whether it was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadView {
    /// The configuration file read.
    pub file: String,
    /// Only the plan was computed (`--dry-run`).
    pub dry_run: bool,
    /// The plan was carried out (false for a dry run, or when the speaker restart failed).
    pub applied: bool,
    /// What changes.
    #[serde(flatten)]
    pub plan: crate::config::Plan,
    /// The graceful speaker restart, when the plan needed one and it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<UpgradeView>,
    /// Why the supervisor did not re-execute itself from a new binary on disk (it carries on
    /// with its old one; the speaker handoff still ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor_not_replaced: Option<String>,
}
