//! Per-peer message counters: each peer task gets its peer's counters ([`PeerCounters`],
//! clones of the registered ones, so counting an UPDATE takes no lock); a deleted peer's series
//! are dropped, so a scrape shows only the peers there are.

use std::net::IpAddr;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

use super::{Metrics, PeerFamilyLabel, PeerLabel, PeerMetrics, PeerStateLabel, SESSION_STATES};

/// One peer's message counters, for its task to count into (clones of the registered
/// counters: counting needs no lock).
#[derive(Debug, Clone, Default)]
pub struct PeerCounters {
    /// Times an Established session went down.
    pub flaps: Counter,
    /// UPDATE messages received.
    pub updates_received: Counter,
    /// UPDATE messages sent.
    pub updates_sent: Counter,
    /// NOTIFICATION messages received.
    pub notifications_received: Counter,
    /// NOTIFICATION messages sent.
    pub notifications_sent: Counter,
}

impl Metrics {
    /// The message counters of `peer` (at 0 for a new peer; a peer started again, after a
    /// reset or a change, counts on from where it was).
    pub fn peer_counters(&self, peer: IpAddr) -> PeerCounters {
        let label = PeerLabel {
            peer: peer.to_string(),
        };
        let p = &self.peers;
        PeerCounters {
            flaps: p.flaps.get_or_create_owned(&label),
            updates_received: p.updates_received.get_or_create_owned(&label),
            updates_sent: p.updates_sent.get_or_create_owned(&label),
            notifications_received: p.notifications_received.get_or_create_owned(&label),
            notifications_sent: p.notifications_sent.get_or_create_owned(&label),
        }
    }

    /// Drop every series of `peer` (deleted): a scrape then shows only the peers there are.
    pub fn forget_peer(&self, peer: IpAddr) {
        let label = PeerLabel {
            peer: peer.to_string(),
        };
        let p = &self.peers;
        for family in [
            &p.flaps,
            &p.updates_received,
            &p.updates_sent,
            &p.notifications_received,
            &p.notifications_sent,
        ] {
            family.remove(&label);
        }
        for family in [&p.uptime, &p.established, &p.martian_next_hops] {
            family.remove(&label);
        }
        for state in SESSION_STATES {
            p.state.remove(&PeerStateLabel {
                peer: label.peer.clone(),
                state: state.to_string(),
            });
        }
        for family in [
            crate::wire::Family::IPV4_UNICAST,
            crate::wire::Family::IPV6_UNICAST,
        ] {
            let l = PeerFamilyLabel {
                peer: label.peer.clone(),
                family: family.name(),
            };
            for f in [&p.received, &p.accepted, &p.advertised] {
                f.remove(&l);
            }
        }
    }
}

pub(super) fn register_counters(registry: &mut Registry, peers: &PeerMetrics) {
    registry.register(
        "peer_flaps",
        "Times an Established session with the peer went down",
        peers.flaps.clone(),
    );
    registry.register(
        "peer_updates_received",
        "UPDATE messages received from the peer (End-of-RIB markers included)",
        peers.updates_received.clone(),
    );
    registry.register(
        "peer_updates_sent",
        "UPDATE messages sent to the peer (End-of-RIB markers included)",
        peers.updates_sent.clone(),
    );
    registry.register(
        "peer_notifications_received",
        "NOTIFICATION messages received from the peer (the code is in the log and in \
         batonctl neighbor's last error)",
        peers.notifications_received.clone(),
    );
    registry.register(
        "peer_notifications_sent",
        "NOTIFICATION messages sent to the peer",
        peers.notifications_sent.clone(),
    );
}
