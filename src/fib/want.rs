//! What baton wants in the kernel: for each prefix whose best route was learned from a peer,
//! one route through that route's next hop, as `[fib]` says to install it.
//!
//! Fed by the Loc-RIB's best-path changes. Originated routes are never installed (the prefix
//! is ours: the host is its destination), nor routes from an excluded peer or family, nor a
//! route whose next hop the kernel could not use (none, or of the other family).
//!
//! Multipath (`[fib] multipath = true`): the routes the Loc-RIB reports as equal to the best
//! ([`crate::rib::multipath_equal`]: equal through the decision process up to, not including,
//! the router-id and peer-address tie-breakers) add their next hops, filtered like the best's,
//! and the prefix gets one multipath route through every distinct next hop. Off, or with one
//! distinct next hop, it is a plain route through the best's.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::{KernelRoute, Via};
use crate::config::Fib;
use crate::rib::{BestPathChange, Candidate, Source};
use crate::wire::{Family, Prefix};

/// One route baton wants in the kernel, and the peer it was learned from (for the logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The route.
    pub route: KernelRoute,
    /// The peer whose best route it is.
    pub peer: IpAddr,
}

/// How best routes become kernel routes: the `[fib]` settings of one speaker run.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The routing table.
    pub table: u32,
    /// The protocol number marking our routes.
    pub protocol: u8,
    /// The priority of our routes.
    pub metric: u32,
    multipath: bool,
    src_v4: Option<IpAddr>,
    src_v6: Option<IpAddr>,
    families: Vec<Family>,
    excluded: HashSet<IpAddr>,
}

impl Policy {
    /// The policy `[fib]` describes.
    pub fn new(fib: &Fib) -> Policy {
        Policy {
            table: fib.table,
            protocol: fib.protocol,
            metric: fib.metric,
            multipath: fib.multipath,
            src_v4: fib.src(Family::IPV4_UNICAST),
            src_v6: fib.src(Family::IPV6_UNICAST),
            families: fib.families.clone(),
            excluded: fib.exclude_peers.iter().map(|a| a.to_canonical()).collect(),
        }
    }

    /// The kernel route for `best`, the best route to `prefix`, and `equal`, the routes as
    /// good as it for multipath, if it is to be installed.
    pub fn route_for(
        &self,
        prefix: Prefix,
        best: &Candidate,
        equal: &[Candidate],
    ) -> Option<Wanted> {
        let Source::Peer(peer) = &best.source else {
            return None;
        };
        if !self.families.contains(&prefix.family()) {
            return None;
        }
        let mut gateways = vec![self.next_hop(prefix, best)?];
        if self.multipath {
            gateways.extend(equal.iter().filter_map(|c| self.next_hop(prefix, c)));
        }
        let via = Via::new(gateways)?;
        let src = if prefix.addr().is_ipv4() {
            self.src_v4
        } else {
            self.src_v6
        };
        Some(Wanted {
            route: KernelRoute {
                table: self.table,
                prefix,
                via,
                src,
                metric: self.metric,
            },
            peer: peer.address,
        })
    }

    /// The next hop of `candidate` if the kernel may route `prefix` through it: learned from
    /// a peer not excluded, of the prefix's family, specified.
    fn next_hop(&self, prefix: Prefix, candidate: &Candidate) -> Option<IpAddr> {
        let Source::Peer(peer) = &candidate.source else {
            return None;
        };
        let next_hop = candidate.attrs.next_hop?;
        let usable = !self.excluded.contains(&peer.address)
            && next_hop.is_ipv4() == prefix.addr().is_ipv4()
            && !next_hop.is_unspecified();
        usable.then_some(next_hop)
    }
}

/// What changed for one prefix in the wanted table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantChange {
    /// The prefix.
    pub prefix: Prefix,
    /// What was wanted before.
    pub old: Option<Wanted>,
    /// What is wanted now.
    pub new: Option<Wanted>,
}

/// Every route baton wants in the kernel, by prefix.
#[derive(Debug, Default)]
pub struct WantedTable {
    map: HashMap<Prefix, Wanted>,
}

impl WantedTable {
    /// Take one best-path change; returns what it changed here, if anything (a change of
    /// attributes that keeps the next hop changes nothing in the kernel).
    pub fn apply(&mut self, policy: &Policy, change: &BestPathChange) -> Option<WantChange> {
        let new = change
            .new
            .as_ref()
            .and_then(|best| policy.route_for(change.prefix, best, &change.equal));
        let old = match &new {
            Some(w) => self.map.insert(change.prefix, w.clone()),
            None => self.map.remove(&change.prefix),
        };
        (old != new).then_some(WantChange {
            prefix: change.prefix,
            old,
            new,
        })
    }

    /// What is wanted for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<&Wanted> {
        self.map.get(prefix)
    }

    /// True if `route` is exactly what is wanted for its prefix.
    pub fn wants(&self, route: &KernelRoute) -> bool {
        self.map
            .get(&route.prefix)
            .is_some_and(|w| w.route == *route)
    }

    /// Every wanted route.
    pub fn iter(&self) -> impl Iterator<Item = &Wanted> {
        self.map.values()
    }

    /// How many routes are wanted.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is wanted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fib::testutil::{change, learned};

    #[test]
    fn learned_routes_are_wanted_with_the_fib_settings_and_originated_ones_never() {
        let fib = Fib {
            src_v4: Some("198.18.0.1".parse().unwrap()),
            ..Fib::default()
        };
        let policy = Policy::new(&fib);
        let mut table = WantedTable::default();
        let c = table
            .apply(
                &policy,
                &change("198.18.5.0/24", Some(learned("198.18.0.2", "198.18.0.3"))),
            )
            .unwrap();
        let w = c.new.unwrap();
        assert_eq!(
            w.route.to_string(),
            "198.18.5.0/24 via 198.18.0.3 src 198.18.0.1 metric 20 table 254"
        );
        assert_eq!(w.peer, "198.18.0.2".parse::<IpAddr>().unwrap());

        let local = Candidate {
            source: Source::Local,
            ..learned("198.18.0.2", "198.18.0.3")
        };
        let c = table
            .apply(&policy, &change("198.18.5.0/24", Some(local)))
            .unwrap();
        assert!(c.old.is_some() && c.new.is_none());
        assert!(table.is_empty());
    }

    #[test]
    fn excluded_peers_families_and_unusable_next_hops_are_not_wanted() {
        let fib = Fib {
            exclude_peers: vec!["198.18.0.7".parse().unwrap()],
            families: vec![Family::IPV4_UNICAST],
            ..Fib::default()
        };
        let policy = Policy::new(&fib);
        let mut table = WantedTable::default();
        for (prefix, candidate) in [
            ("198.18.5.0/24", learned("198.18.0.7", "198.18.0.7")),
            ("2001:db8:5::/48", learned("2001:db8::2", "2001:db8::2")),
            ("198.18.6.0/24", learned("198.18.0.2", "2001:db8::2")),
        ] {
            assert_eq!(
                table.apply(&policy, &change(prefix, Some(candidate))),
                None,
                "{prefix}"
            );
        }
        assert!(table.is_empty());
    }

    #[test]
    fn a_new_best_through_the_same_next_hop_changes_nothing() {
        let policy = Policy::new(&Fib::default());
        let mut table = WantedTable::default();
        let first = learned("198.18.0.2", "198.18.0.3");
        assert!(table
            .apply(&policy, &change("198.18.5.0/24", Some(first)))
            .is_some());
        // Another peer, same next hop: reported (the peer is named in the logs), but the
        // kernel route is the same, so the installer writes nothing.
        let second = learned("198.18.0.4", "198.18.0.3");
        let c = table.apply(&policy, &change("198.18.5.0/24", Some(second)));
        assert!(c.is_some_and(|c| c.old.unwrap().route == c.new.unwrap().route));
    }

    #[test]
    fn equal_routes_give_one_multipath_route_only_when_multipath_is_on() {
        let mut c = change("198.18.5.0/24", Some(learned("198.18.0.2", "198.18.0.2")));
        c.equal = vec![
            learned("198.18.0.3", "198.18.0.3"),
            // Same next hop again, an excluded peer, another family: not added.
            learned("198.18.0.4", "198.18.0.2"),
            learned("198.18.0.7", "198.18.0.7"),
            learned("198.18.0.8", "2001:db8::8"),
        ];
        let fib = Fib {
            exclude_peers: vec!["198.18.0.7".parse().unwrap()],
            ..Fib::default()
        };
        let mut table = WantedTable::default();
        let one = table.apply(&Policy::new(&fib), &c).unwrap().new.unwrap();
        assert_eq!(
            one.route.to_string(),
            "198.18.5.0/24 via 198.18.0.2 metric 20 table 254"
        );
        let multipath = Fib {
            multipath: true,
            ..fib
        };
        let both = table
            .apply(&Policy::new(&multipath), &c)
            .unwrap()
            .new
            .unwrap();
        assert_eq!(
            both.route.to_string(),
            "198.18.5.0/24 via 198.18.0.2,198.18.0.3 metric 20 table 254"
        );
        assert_eq!(both.peer, "198.18.0.2".parse::<IpAddr>().unwrap());
    }
}
