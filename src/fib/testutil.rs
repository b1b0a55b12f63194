//! Values the fib unit tests share: learned candidates and wanted tables.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::want::{Policy, WantedTable};
use crate::config::Fib;
use crate::rib::{BestPathChange, Candidate, PathAttrs, PeerRef, Source};

/// A route learned from `peer` through `next_hop`.
pub fn learned(peer: &str, next_hop: &str) -> Candidate {
    Candidate {
        source: Source::Peer(std::sync::Arc::new(PeerRef {
            address: peer.parse().unwrap(),
            router_id: Ipv4Addr::new(198, 18, 0, 9),
            ibgp: false,
        })),
        attrs: Arc::new(PathAttrs {
            attrs: Default::default(),
            next_hop: Some(next_hop.parse().unwrap()),
        }),
    }
}

/// `prefix` now has `new` as its best route (`None`: no route).
pub fn change(prefix: &str, new: Option<Candidate>) -> BestPathChange {
    BestPathChange {
        prefix: prefix.parse().unwrap(),
        old: None,
        new,
        equal: Vec::new(),
    }
}

/// The wanted table of `fib` for `(prefix, next hop)` pairs learned from 198.18.0.2.
pub fn wanted(fib: &Fib, routes: &[(&str, &str)]) -> (Policy, WantedTable) {
    let policy = Policy::new(fib);
    let mut table = WantedTable::default();
    for (prefix, next_hop) in routes {
        table.apply(
            &policy,
            &change(prefix, Some(learned("198.18.0.2", next_hop))),
        );
    }
    (policy, table)
}
