//! Prometheus metrics: one registry, every family registered once at start, and a handle
//! ([`Metrics`], shared as `Arc`) passed to whoever counts.
//!
//! Names follow Prometheus conventions: the `baton_` prefix, `_total` on counters, base units
//! (seconds, bytes), HELP text on every family. What changes on its own (routes, peers) is fed
//! by the RIB's best-path feed and by the peer status at scrape time; what happens (requests,
//! messages, kernel writes, saves) is counted where it happens. Rendering is the text
//! exposition format ([`Metrics::render`]), served on the REST API's `/metrics` and by
//! `batonctl metrics`.
//!
//! Per-peer message counters are handed to each peer task as [`PeerCounters`] (the counters
//! themselves, atomics, so counting an UPDATE costs no lock); the supervisor's figures are
//! mirrored from the handoff channel (`supervisor.rs`: the supervisor counts upgrades and
//! restarts, the speaker serves the scrape); state saves are reported by the store (`state.rs`).

mod peer;
mod state;
mod supervisor;

use std::net::IpAddr;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub use peer::PeerCounters;
pub use state::{KindLabel, StateMetrics};
pub use supervisor::{OutcomeLabel, SupervisorMetrics};

/// `family="ipv4-unicast"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FamilyLabel {
    /// The address family, as batonctl names it.
    pub family: String,
}

/// `peer="198.18.0.2"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    /// The neighbor's address.
    pub peer: String,
}

/// `peer="…",family="…"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerFamilyLabel {
    /// The neighbor's address.
    pub peer: String,
    /// The address family.
    pub family: String,
}

/// `peer="…",state="Established"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerStateLabel {
    /// The neighbor's address.
    pub peer: String,
    /// An RFC 4271 session state.
    pub state: String,
}

/// `route="/v1/routes",status="200"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabel {
    /// The route pattern, not the concrete path (bounded cardinality).
    pub route: String,
    /// The HTTP status code.
    pub status: String,
}

/// The Loc-RIB, refreshed at each scrape from the counters the RIB publishes.
#[derive(Debug, Default)]
pub struct RibMetrics {
    /// Prefixes with a best route, per family.
    pub prefixes: Family<FamilyLabel, Gauge>,
    /// Best-path changes seen.
    pub best_changes: Counter,
}

impl RibMetrics {
    /// Set the gauges and the counter to what the RIB counted: prefixes per family, and
    /// best-path changes since the speaker started (the counter only ever rises to it).
    pub fn set(&self, per_family: &[(String, usize)], best_changes: u64) {
        for (family, n) in per_family {
            let label = FamilyLabel {
                family: family.clone(),
            };
            self.prefixes.get_or_create(&label).set(*n as i64);
        }
        self.best_changes
            .inner()
            .fetch_max(best_changes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Peers, refreshed from the peer status at each scrape.
#[derive(Debug, Default)]
pub struct PeerMetrics {
    /// 1 for the state each peer is in, 0 for the others.
    pub state: Family<PeerStateLabel, Gauge>,
    /// Seconds since the session came up (0 when down).
    pub uptime: Family<PeerLabel, Gauge>,
    /// Times the session reached Established.
    pub established: Family<PeerLabel, Gauge>,
    /// Prefixes received, per family.
    pub received: Family<PeerFamilyLabel, Gauge>,
    /// Prefixes accepted, per family.
    pub accepted: Family<PeerFamilyLabel, Gauge>,
    /// Prefixes advertised, per family.
    pub advertised: Family<PeerFamilyLabel, Gauge>,
    /// Prefixes ignored for a martian next hop since the speaker started.
    pub martian_next_hops: Family<PeerLabel, Gauge>,
    /// Times an Established session went down.
    pub flaps: Family<PeerLabel, Counter>,
    /// UPDATE messages received.
    pub updates_received: Family<PeerLabel, Counter>,
    /// UPDATE messages sent.
    pub updates_sent: Family<PeerLabel, Counter>,
    /// NOTIFICATION messages received.
    pub notifications_received: Family<PeerLabel, Counter>,
    /// NOTIFICATION messages sent.
    pub notifications_sent: Family<PeerLabel, Counter>,
}

/// The REST API.
#[derive(Debug, Default)]
pub struct ApiMetrics {
    /// Requests answered, by route pattern and status.
    pub requests: Family<ApiLabel, Counter>,
}

/// Kernel routes, counted by the installer (`src/fib`).
#[derive(Debug)]
pub struct FibMetrics {
    /// Routes of ours the kernel holds, per family.
    pub routes: Family<FamilyLabel, Gauge>,
    /// Routes written (added or replaced).
    pub installs: Counter,
    /// Routes deleted.
    pub deletes: Counter,
    /// Routes found missing by a reconciliation run and put back.
    pub reinstalls: Counter,
    /// Writes of a route the kernel refused.
    pub install_failures: Counter,
    /// Reconciliation runs completed.
    pub reconcile_runs: Counter,
    /// How long reconciliation runs took, dump to last write.
    pub reconcile_duration: Histogram,
}

impl Default for FibMetrics {
    fn default() -> Self {
        FibMetrics {
            routes: Family::default(),
            installs: Counter::default(),
            deletes: Counter::default(),
            reinstalls: Counter::default(),
            install_failures: Counter::default(),
            reconcile_runs: Counter::default(),
            // 1 ms to about 4 minutes: a small table to a million routes on a slow host.
            reconcile_duration: Histogram::new(exponential_buckets(0.001, 4.0, 10)),
        }
    }
}

/// Every metric of a speaker, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// The Loc-RIB.
    pub rib: RibMetrics,
    /// Peers.
    pub peers: PeerMetrics,
    /// The REST API.
    pub api: ApiMetrics,
    /// Kernel routes.
    pub fib: FibMetrics,
    /// The supervisor's figures, mirrored.
    pub supervisor: SupervisorMetrics,
    /// State saves.
    pub state: StateMetrics,
}

/// The session states a peer can be in, so that every state of every peer is exported (a
/// state gauge that only exists while true cannot be alerted on).
pub const SESSION_STATES: [&str; 6] = [
    "Idle",
    "Connect",
    "Active",
    "OpenSent",
    "OpenConfirm",
    "Established",
];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every family registered, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("baton");
        let rib = RibMetrics::default();
        let peers = PeerMetrics::default();
        let api = ApiMetrics::default();
        let fib = FibMetrics::default();
        registry.register(
            "rib_prefixes",
            "Prefixes with a best route in the Loc-RIB",
            rib.prefixes.clone(),
        );
        registry.register(
            "rib_best_path_changes",
            "Changes of a prefix's best route",
            rib.best_changes.clone(),
        );
        registry.register(
            "peer_session_state",
            "1 for the BGP session state the peer is in, 0 for the others",
            peers.state.clone(),
        );
        registry.register(
            "peer_uptime_seconds",
            "Seconds since the session reached Established (0 when it is down)",
            peers.uptime.clone(),
        );
        registry.register(
            "peer_established_sessions",
            "Times the session reached Established since the speaker started",
            peers.established.clone(),
        );
        registry.register(
            "peer_prefixes_received",
            "Prefixes the peer sent us, per family",
            peers.received.clone(),
        );
        registry.register(
            "peer_prefixes_accepted",
            "Prefixes from the peer that are usable (not looped), per family",
            peers.accepted.clone(),
        );
        registry.register(
            "peer_prefixes_advertised",
            "Prefixes we advertise to the peer, per family",
            peers.advertised.clone(),
        );
        registry.register(
            "peer_martian_next_hops",
            "Prefixes from the peer ignored (treated as withdrawn) for a martian next hop",
            peers.martian_next_hops.clone(),
        );
        registry.register(
            "api_requests",
            "REST API requests answered, by route and status",
            api.requests.clone(),
        );
        peer::register_counters(&mut registry, &peers);
        register_fib(&mut registry, &fib);
        let supervisor = SupervisorMetrics::default();
        supervisor.register(&mut registry);
        let state = StateMetrics::default();
        state.register(&mut registry);
        Metrics {
            registry,
            rib,
            peers,
            api,
            fib,
            supervisor,
            state,
        }
    }

    /// Set one peer's state gauges: 1 for `state`, 0 for every other.
    pub fn set_peer_state(&self, peer: IpAddr, state: &str) {
        for s in SESSION_STATES {
            self.peers
                .state
                .get_or_create(&PeerStateLabel {
                    peer: peer.to_string(),
                    state: s.to_string(),
                })
                .set(i64::from(s == state));
        }
    }

    /// The text exposition format (version 0.0.4 / OpenMetrics text).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl crate::store::SaveObserver for Metrics {
    fn saved(&self, kind: crate::store::SaveKind, took: Duration, bytes: u64) {
        self.state.saved(kind, took, bytes)
    }

    fn failed(&self, kind: crate::store::SaveKind) {
        self.state.failed(kind)
    }
}

fn register_fib(registry: &mut Registry, fib: &FibMetrics) {
    // Both families at 0 from the start: an empty family is not rendered at all.
    for family in [
        crate::wire::Family::IPV4_UNICAST,
        crate::wire::Family::IPV6_UNICAST,
    ] {
        let _ = fib.routes.get_or_create(&FamilyLabel {
            family: family.name(),
        });
    }
    registry.register(
        "fib_routes",
        "Routes of ours in the kernel routing table, per family",
        fib.routes.clone(),
    );
    registry.register(
        "fib_installs",
        "Kernel routes written (added or replaced)",
        fib.installs.clone(),
    );
    registry.register("fib_deletes", "Kernel routes deleted", fib.deletes.clone());
    registry.register(
        "route_reinstalls",
        "Kernel routes found missing by reconciliation and installed again",
        fib.reinstalls.clone(),
    );
    registry.register(
        "route_install_failures",
        "Kernel route writes the kernel refused",
        fib.install_failures.clone(),
    );
    registry.register(
        "fib_reconcile_runs",
        "Reconciliation runs of the kernel table completed",
        fib.reconcile_runs.clone(),
    );
    registry.register(
        "fib_reconcile_duration_seconds",
        "Duration of reconciliation runs, from the kernel dump to the last write",
        fib.reconcile_duration.clone(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_rendered_with_help_and_the_prefix() {
        let m = Metrics::new();
        m.rib
            .prefixes
            .get_or_create(&FamilyLabel {
                family: "ipv4-unicast".into(),
            })
            .set(3);
        m.set_peer_state("198.18.0.2".parse().unwrap(), "Established");
        let text = m.render();
        assert!(text.contains("# HELP baton_rib_prefixes "), "{text}");
        for family in [
            "baton_route_reinstalls_total 0",
            "baton_route_install_failures_total 0",
            "baton_fib_installs_total 0",
            "baton_fib_deletes_total 0",
            "baton_fib_reconcile_runs_total 0",
            "baton_fib_routes{family=\"ipv6-unicast\"} 0",
            "baton_fib_reconcile_duration_seconds_count 0",
        ] {
            assert!(text.contains(family), "{family}: {text}");
        }
        assert!(
            text.contains("baton_rib_prefixes{family=\"ipv4-unicast\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE baton_rib_best_path_changes counter"),
            "{text}"
        );
        assert!(
            text.contains("baton_rib_best_path_changes_total 0"),
            "{text}"
        );
        assert!(
            text.contains("baton_peer_session_state{peer=\"198.18.0.2\",state=\"Established\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("baton_peer_session_state{peer=\"198.18.0.2\",state=\"Idle\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn supervisor_figures_are_mirrored_and_never_go_back() {
        use crate::handoff::{Figures, UpgradeCounts};
        let m = Metrics::new();
        let text = m.render();
        for zero in [
            "baton_generation 0",
            "baton_speaker_restarts_total 0",
            "baton_upgrades_total{outcome=\"completed\"} 0",
            "baton_upgrades_total{outcome=\"failed\"} 0",
            "baton_upgrades_total{outcome=\"incomplete\"} 0",
            "baton_state_save_bytes{kind=\"rib\"} 0",
            "baton_state_save_duration_seconds_count{kind=\"journal\"} 0",
        ] {
            assert!(text.contains(zero), "{zero}: {text}");
        }
        let figures = Figures {
            restarts: 2,
            upgrades: UpgradeCounts {
                completed: 3,
                failed: 1,
                incomplete: 0,
            },
        };
        m.supervisor.mirror(6, &figures);
        // An older figure (a message overtaken) lowers nothing.
        m.supervisor.mirror(6, &Figures::default());
        let text = m.render();
        for want in [
            "baton_generation 6",
            "baton_speaker_restarts_total 2",
            "baton_upgrades_total{outcome=\"completed\"} 3",
            "baton_upgrades_total{outcome=\"failed\"} 1",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
    }

    #[test]
    fn peer_counters_count_into_the_families_and_go_with_the_peer() {
        let m = Metrics::new();
        let peer: IpAddr = "198.18.0.2".parse().unwrap();
        let c = m.peer_counters(peer);
        c.updates_received.inc_by(5);
        c.notifications_sent.inc();
        c.flaps.inc();
        // The same counters again (a peer task started anew counts on).
        m.peer_counters(peer).updates_received.inc();
        let text = m.render();
        for want in [
            "baton_peer_updates_received_total{peer=\"198.18.0.2\"} 6",
            "baton_peer_updates_sent_total{peer=\"198.18.0.2\"} 0",
            "baton_peer_notifications_sent_total{peer=\"198.18.0.2\"} 1",
            "baton_peer_notifications_received_total{peer=\"198.18.0.2\"} 0",
            "baton_peer_flaps_total{peer=\"198.18.0.2\"} 1",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        m.set_peer_state(peer, "Idle");
        m.forget_peer(peer);
        assert!(!m.render().contains("198.18.0.2"), "{}", m.render());
    }
}
