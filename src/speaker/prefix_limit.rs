//! The prefix limit of one peer (`max_prefixes`): counts the prefixes the peer's current session
//! holds in our Adj-RIB-In, by family, and says when a count crosses the warning threshold or
//! the bound (RFC 4486 §4, Cease / Maximum Number of Prefixes Reached).
//!
//! The peer task counts for itself, from the UPDATEs it hands the RIB (after the martian
//! screen: a route we ignore is not accepted), so the decision is taken before the UPDATE that
//! goes over the bound reaches the RIB, without a round trip to the RIB task. A prefix
//! announced again (an implicit withdraw) is counted once; a treat-as-withdraw UPDATE (RFC 7606)
//! removes its prefixes. Each threshold is reported once per crossing: going back below it
//! arms it again, so a peer hovering around the bound does not fill the log with a line per
//! UPDATE.
//!
//! Pure: no I/O, tested on values.

use std::collections::BTreeMap;

use crate::config::{MaxPrefixes, Peer};
use crate::rib::PrefixMap;
use crate::wire::{Family, Prefix, Update};

/// A threshold crossed by one UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// The count reached `max_prefixes_warning` percent of the bound.
    Warning {
        /// The family.
        family: Family,
        /// Prefixes held now.
        count: usize,
        /// The bound.
        limit: u32,
        /// The warning threshold, in prefixes.
        threshold: usize,
    },
    /// The count went over the bound.
    Exceeded {
        /// The family.
        family: Family,
        /// Prefixes held now.
        count: usize,
        /// The bound.
        limit: u32,
    },
}

/// The counts of one family.
#[derive(Debug, Default)]
struct Count {
    /// The prefixes themselves (a peer may announce one again): a full table's worth with a
    /// bound on a transit session, so IPv4 keys packed as in the Loc-RIB (about half the
    /// memory of a set of `Prefix`).
    held: PrefixMap<()>,
    warned: bool,
    exceeded: bool,
}

/// The prefix limit of one peer, for its current session.
#[derive(Debug)]
pub struct PrefixLimit {
    bounds: MaxPrefixes,
    warning_percent: u8,
    counts: BTreeMap<Family, Count>,
}

impl PrefixLimit {
    /// The limit `peer` configures, or `None` if it has no `max_prefixes`.
    pub fn of(peer: &Peer) -> Option<PrefixLimit> {
        Some(PrefixLimit {
            bounds: peer.max_prefixes.clone()?,
            warning_percent: peer.max_prefixes_warning,
            counts: BTreeMap::new(),
        })
    }

    /// A new session starts from nothing.
    pub fn reset(&mut self) {
        self.counts.clear();
    }

    /// The prefixes of `family` held now.
    #[cfg(test)]
    pub fn count(&self, family: Family) -> usize {
        self.counts.get(&family).map_or(0, |c| c.held.len())
    }

    /// Count what `update` announces and withdraws; returns the thresholds it crossed upward.
    pub fn apply(&mut self, update: &Update) -> Vec<Crossing> {
        let withdraw_all = update.errors.treat_as_withdraw();
        let v4 = Family::IPV4_UNICAST;
        let mut touched = Vec::new();
        let mut change = |family: Family, prefixes: &[Prefix], add: bool| {
            if prefixes.is_empty() || self.bounds.limit(family).is_none() {
                return;
            }
            let count = self.counts.entry(family).or_default();
            for p in prefixes {
                if add {
                    count.held.insert(*p, ());
                } else {
                    count.held.remove(p);
                }
            }
            if !touched.contains(&family) {
                touched.push(family);
            }
        };
        change(v4, &update.withdrawn, false);
        if let Some(u) = &update.mp_unreach {
            change(u.family, &u.withdrawn, false);
        }
        change(v4, &update.nlri, !withdraw_all);
        if let Some(r) = &update.mp_reach {
            change(r.family, &r.nlri, !withdraw_all);
        }
        touched
            .into_iter()
            .flat_map(|family| self.crossings(family))
            .collect()
    }

    fn crossings(&mut self, family: Family) -> Vec<Crossing> {
        let Some(limit) = self.bounds.limit(family) else {
            return Vec::new();
        };
        let threshold = warning_threshold(limit, self.warning_percent);
        let c = self.counts.entry(family).or_default();
        let count = c.held.len();
        let mut out = Vec::new();
        if upward(&mut c.warned, count >= threshold) {
            out.push(Crossing::Warning {
                family,
                count,
                limit,
                threshold,
            });
        }
        if upward(&mut c.exceeded, count > limit as usize) {
            out.push(Crossing::Exceeded {
                family,
                count,
                limit,
            });
        }
        out
    }
}

/// Whether `over` now holds and did not at the last look (`was`, updated): a crossing upward.
fn upward(was: &mut bool, over: bool) -> bool {
    let crossed = over && !*was;
    *was = over;
    crossed
}

/// `percent` of `limit`, rounded up, at least 1.
fn warning_threshold(limit: u32, percent: u8) -> usize {
    let t = (u64::from(limit) * u64::from(percent)).div_ceil(100);
    t.max(1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MaxPrefixesAction;
    use crate::wire::{AttrError, AttrErrorAction, MpReach, MpUnreach};

    fn peer(limit: MaxPrefixes, warning: u8) -> Peer {
        let mut p = Peer::new("198.18.0.2".parse().unwrap(), 65002);
        p.max_prefixes = Some(limit);
        p.max_prefixes_warning = warning;
        p.max_prefixes_action = MaxPrefixesAction::Cease;
        p
    }

    fn v4(range: std::ops::Range<u32>) -> Vec<Prefix> {
        range
            .map(|i| format!("198.19.{i}.0/24").parse().unwrap())
            .collect()
    }

    fn announce(prefixes: Vec<Prefix>) -> Update {
        Update {
            nlri: prefixes,
            ..Update::default()
        }
    }

    fn kinds(c: &[Crossing]) -> Vec<&'static str> {
        c.iter()
            .map(|c| match c {
                Crossing::Warning { .. } => "warning",
                Crossing::Exceeded { .. } => "exceeded",
            })
            .collect()
    }

    #[test]
    fn the_warning_comes_once_per_crossing_and_the_bound_at_the_n_plus_first() {
        let mut l = PrefixLimit::of(&peer(MaxPrefixes::All(4), 75)).unwrap();
        assert!(l.apply(&announce(v4(0..2))).is_empty());
        let c = l.apply(&announce(v4(2..3)));
        assert_eq!(
            c,
            vec![Crossing::Warning {
                family: Family::IPV4_UNICAST,
                count: 3,
                limit: 4,
                threshold: 3
            }]
        );
        // The 4th: at the bound, not over it; no second warning.
        assert!(l.apply(&announce(v4(3..4))).is_empty());
        // The same prefixes again (implicit withdraw) count once.
        assert!(l.apply(&announce(v4(0..4))).is_empty());
        assert_eq!(l.count(Family::IPV4_UNICAST), 4);
        let c = l.apply(&announce(v4(4..5)));
        assert_eq!(
            c,
            vec![Crossing::Exceeded {
                family: Family::IPV4_UNICAST,
                count: 5,
                limit: 4
            }]
        );
        assert!(l.apply(&announce(v4(5..6))).is_empty(), "reported once");
    }

    #[test]
    fn going_back_below_arms_the_threshold_again() {
        let mut l = PrefixLimit::of(&peer(MaxPrefixes::All(10), 50)).unwrap();
        assert_eq!(kinds(&l.apply(&announce(v4(0..5)))), ["warning"]);
        let withdraw = Update {
            withdrawn: v4(0..3),
            ..Update::default()
        };
        assert!(l.apply(&withdraw).is_empty());
        assert_eq!(l.count(Family::IPV4_UNICAST), 2);
        assert_eq!(kinds(&l.apply(&announce(v4(0..3)))), ["warning"]);
        l.reset();
        assert_eq!(l.count(Family::IPV4_UNICAST), 0);
    }

    #[test]
    fn families_are_counted_apart_and_only_those_with_a_bound() {
        let mut bounds = BTreeMap::new();
        bounds.insert(Family::IPV6_UNICAST, 1);
        let mut l = PrefixLimit::of(&peer(MaxPrefixes::PerFamily(bounds), 100)).unwrap();
        assert!(l.apply(&announce(v4(0..50))).is_empty());
        let v6 = |s: &str| -> Prefix { s.parse().unwrap() };
        let reach = |p: Vec<Prefix>| Update {
            mp_reach: Some(MpReach {
                family: Family::IPV6_UNICAST,
                next_hops: vec!["2001:db8::2".parse().unwrap()],
                nlri: p,
            }),
            ..Update::default()
        };
        assert_eq!(
            kinds(&l.apply(&reach(vec![v6("2001:db8:1::/48")]))),
            ["warning"]
        );
        let c = l.apply(&reach(vec![v6("2001:db8:2::/48")]));
        assert_eq!(kinds(&c), ["exceeded"]);
        let unreach = Update {
            mp_unreach: Some(MpUnreach {
                family: Family::IPV6_UNICAST,
                withdrawn: vec![v6("2001:db8:2::/48")],
            }),
            ..Update::default()
        };
        assert!(l.apply(&unreach).is_empty());
        assert_eq!(l.count(Family::IPV6_UNICAST), 1);
    }

    #[test]
    fn a_treat_as_withdraw_update_removes_its_prefixes() {
        let mut l = PrefixLimit::of(&peer(MaxPrefixes::All(100), 75)).unwrap();
        l.apply(&announce(v4(0..3)));
        let mut bad = announce(v4(0..2));
        bad.errors.0.push(AttrError {
            code: 1,
            action: AttrErrorAction::TreatAsWithdraw,
            reason: "test".into(),
        });
        l.apply(&bad);
        assert_eq!(l.count(Family::IPV4_UNICAST), 1);
    }

    #[test]
    fn the_warning_threshold_rounds_up_and_is_at_least_one() {
        assert_eq!(warning_threshold(1000, 75), 750);
        assert_eq!(warning_threshold(3, 75), 3);
        assert_eq!(warning_threshold(1, 1), 1);
        assert_eq!(warning_threshold(u32::MAX, 100), u32::MAX as usize);
    }
}
