//! OpenAPI schemas of the types the API shares with the rest of the daemon.
//!
//! Requests deserialize into the configuration's own [`crate::config::Peer`] and
//! [`crate::config::Route`], and replies are the control socket's views
//! ([`crate::ctl::NeighborView`], [`crate::ctl::RouteView`]). Those modules do not depend on
//! utoipa, so their schemas are declared here, under the same names, field for field; a unit
//! test serializes each real type and checks that the schema lists exactly its keys.
//!
//! The structs are never built: they exist for their `ToSchema` derive only.
// Never constructed: the derive reads the fields, nothing else does.
#![allow(dead_code)]

use utoipa::{IntoParams, ToSchema};

/// A BGP neighbor, as a `[[peer]]` table of the configuration file writes it.
#[derive(ToSchema)]
#[schema(as = Peer)]
pub(crate) struct PeerDoc {
    /// The neighbor's address (unicast); one neighbor per address.
    #[schema(example = "198.18.0.2")]
    address: String,
    /// The neighbor's AS number: 1 to 4294967295, not 23456 (AS_TRANS).
    #[schema(minimum = 1, example = 65002)]
    remote_as: u32,
    /// TCP port to connect to (not 0).
    #[schema(default = 179, minimum = 1)]
    port: Option<u16>,
    /// Never connect out; only accept the neighbor's connection.
    #[schema(default = false)]
    passive: Option<bool>,
    /// Hold time we offer, in seconds: 0 or at least 3 (RFC 4271 section 4.2).
    #[schema(default = 90)]
    hold_time: Option<u16>,
    /// Seconds between connection attempts (at least 1).
    #[schema(default = 5, minimum = 1)]
    connect_retry: Option<u16>,
    /// Address families to negotiate (`ipv4-unicast`, `ipv6-unicast`; none twice); the family
    /// of `address` when left out.
    #[schema(example = json!(["ipv4-unicast", "ipv6-unicast"]))]
    families: Option<Vec<String>>,
    /// Source address for outgoing connections, of the family of `address`.
    #[schema(example = "198.18.0.1")]
    local_address: Option<String>,
    /// Free text for operators.
    description: Option<String>,
    /// Graceful restart (RFC 4724) and long-lived graceful restart (RFC 9494).
    graceful_restart: Option<GracefulRestartDoc>,
    /// A file holding the TCP-MD5 password (RFC 2385), readable by its owner only. A
    /// `password` itself is refused here: nothing would keep it across a restart.
    #[schema(example = "/etc/baton/peer-198.18.0.2.key")]
    password_file: Option<String>,
    /// GTSM (RFC 5082): `true` for a directly connected neighbor, or its distance in hops
    /// (1 to 254); packets arriving with a lower TTL are dropped.
    #[schema(value_type = Option<Object>, example = json!(true))]
    ttl_security: Option<serde_json::Value>,
    /// Most prefixes accepted per family: a number for every family, or a table per family
    /// (`{"ipv4-unicast": 1000}`).
    #[schema(value_type = Option<Object>, example = 1000)]
    max_prefixes: Option<serde_json::Value>,
    /// Percent of `max_prefixes` at which one warning is logged.
    #[schema(default = 75, minimum = 1, maximum = 100)]
    max_prefixes_warning: Option<u8>,
    /// What going over `max_prefixes` does: `cease` (Cease 6/1, RFC 4486) or `warn`.
    #[schema(default = "cease", example = "cease")]
    max_prefixes_action: Option<String>,
    /// Seconds after a `max_prefixes` Cease before connecting again; left out, the neighbor
    /// stays down until `neighbor reset`.
    max_prefixes_restart_after: Option<u32>,
}

/// Graceful restart settings of a neighbor; keys left out take their defaults.
#[derive(ToSchema)]
#[schema(as = GracefulRestart)]
pub(crate) struct GracefulRestartDoc {
    /// Advertise the Graceful Restart capability.
    #[schema(default = false)]
    enabled: Option<bool>,
    /// Restart Time we advertise, in seconds (at most 4095).
    #[schema(default = 120, maximum = 4095)]
    restart_time: Option<u16>,
    /// Long-lived stale time in seconds (at most 16777215); 0 means no LLGR.
    #[schema(default = 0, maximum = 16777215)]
    long_lived_stale_time: Option<u32>,
    /// Set the N bit: graceful restart also after a NOTIFICATION (RFC 8538).
    #[schema(default = true)]
    notification: Option<bool>,
    /// Seconds to wait for End-of-RIB from peers before best-path selection.
    #[schema(default = 360)]
    selection_deferral_time: Option<u16>,
}

/// A route to originate, as a `[[route]]` table of the configuration file writes it.
#[derive(ToSchema)]
#[schema(as = Route)]
pub(crate) struct RouteDoc {
    /// The prefix; host bits refused (`198.18.0.1/24` is an error naming `198.18.0.0/24`).
    #[schema(example = "198.18.7.0/24")]
    prefix: String,
    /// Next hop, of the prefix's family; our own session address when left out.
    #[schema(example = "198.18.0.1")]
    next_hop: Option<String>,
    /// Standard communities: `A:B` with both at most 65535, or a well-known name
    /// (`no-export`, `no-advertise`, `blackhole`, ...).
    #[schema(example = json!(["65001:100", "no-export"]))]
    communities: Option<Vec<String>>,
    /// Large communities: `A:B:C`, each at most 4294967295.
    #[schema(example = json!(["65001:1:1"]))]
    large_communities: Option<Vec<String>>,
    /// MULTI_EXIT_DISC.
    med: Option<u32>,
    /// LOCAL_PREF (sent to iBGP neighbors only).
    local_pref: Option<u32>,
    /// Extra copies of our AS prepended toward eBGP neighbors (at most 10).
    #[schema(default = 0, maximum = 10)]
    as_path_prepend: Option<u8>,
}

/// `POST /v1/routes`: one route, or a batch applied all or nothing.
#[derive(ToSchema)]
#[schema(as = AnnounceRequest)]
#[serde(untagged)]
pub(crate) enum AnnounceDoc {
    /// One route.
    One(RouteDoc),
    /// A batch of routes, none with the same prefix.
    Batch(RouteBatchDoc),
}

/// A batch of routes.
#[derive(ToSchema)]
#[schema(as = RouteBatch)]
pub(crate) struct RouteBatchDoc {
    /// The routes; at least one. An error names the route by its index
    /// (`routes[3].communities[0]`) and nothing is applied.
    routes: Vec<RouteDoc>,
}

/// A configured neighbor and its session.
#[derive(ToSchema)]
#[schema(as = NeighborView)]
pub(crate) struct NeighborViewDoc {
    /// The neighbor's address.
    #[schema(example = "198.18.0.2")]
    address: String,
    /// Configured remote AS.
    remote_as: u32,
    /// Description from the configuration.
    description: Option<String>,
    /// FSM state (`Idle`, `Connect`, `Active`, `OpenSent`, `OpenConfirm`, `Established`).
    state: String,
    /// Seconds since the session reached Established.
    uptime_secs: Option<u64>,
    /// Milliseconds from Established to our End-of-RIB written (the whole table before it).
    end_of_rib_sent_ms: Option<u64>,
    /// Milliseconds from Established until the neighbor's End-of-RIB had arrived for every
    /// negotiated family.
    end_of_rib_received_ms: Option<u64>,
    /// The neighbor's BGP identifier, once known.
    remote_id: Option<String>,
    /// Last reason the session went down.
    last_error: Option<String>,
    /// Times the session reached Established.
    established_count: u64,
    /// Routes ignored (treated as withdrawn, RFC 7606) because their next hop was martian
    /// (loopback, multicast, unspecified, the session's own address…), since the speaker started.
    martian_next_hops: u64,
    /// Graceful restart helper phase: `Idle`, or what is kept for a restarting neighbor.
    graceful_restart: String,
    /// Route counters per family.
    families: Vec<FamilyCountersDoc>,
}

/// Route counters of one family of one neighbor.
#[derive(ToSchema)]
#[schema(as = FamilyCountersView)]
pub(crate) struct FamilyCountersDoc {
    /// `ipv4-unicast` or `ipv6-unicast`.
    family: String,
    /// Prefixes in the Adj-RIB-In.
    received: usize,
    /// Of those, prefixes that passed acceptance checks.
    accepted: usize,
    /// Prefixes in the Adj-RIB-Out.
    advertised: usize,
}

/// One route.
#[derive(ToSchema)]
#[schema(as = RouteView)]
pub(crate) struct RouteViewDoc {
    /// The prefix.
    #[schema(example = "198.18.7.0/24")]
    prefix: String,
    /// Where the route comes from: `config` or `api` for routes we originate, else the
    /// address of the neighbor that sent it.
    #[schema(example = "api")]
    source: String,
    /// Next hop, when known.
    next_hop: Option<String>,
    /// `igp`, `egp` or `incomplete`.
    origin: Option<String>,
    /// AS_PATH flattened.
    as_path: Vec<u32>,
    /// AS_PATH as text, sets in braces.
    as_path_text: String,
    /// MULTI_EXIT_DISC.
    med: Option<u32>,
    /// LOCAL_PREF.
    local_pref: Option<u32>,
    /// Communities as `A:B` or well-known names.
    communities: Vec<String>,
    /// Large communities as `A:B:C`.
    large_communities: Vec<String>,
    /// Best route for the prefix (Loc-RIB only).
    best: Option<bool>,
    /// Kept from a session that ended gracefully, not yet refreshed (RFC 4724).
    stale: bool,
    /// Passed acceptance (Adj-RIB-In only).
    accepted: Option<bool>,
}

/// The query of the route listings; `PrefixFilter` in `request.rs` reads it.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PrefixQuery {
    /// Only this prefix (`198.18.0.0/24`; host bits refused).
    #[param(example = "198.18.0.0/24")]
    prefix: Option<String>,
}
