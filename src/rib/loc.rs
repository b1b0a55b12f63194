//! The Loc-RIB: every usable route per prefix, the best one first.

use smallvec::SmallVec;

use super::{compare, multipath_equal, Candidate, FamilyCounts, PrefixMap, SourceId};
use crate::wire::Prefix;

/// What a change did to the best route of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BestChange {
    /// The best route is unchanged.
    None,
    /// This is the new best route.
    New(Candidate),
    /// No route is left for the prefix.
    Gone,
}

/// One prefix whose best route changed: what consumers of the Loc-RIB (the kernel route
/// installer) subscribe to. `old == None` is a new prefix, `new == None` a prefix gone.
/// A change of the routes equal to the best for multipath ([`multipath_equal`]) is a change
/// too, even when the best itself stays (`old == new`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestPathChange {
    /// The prefix.
    pub prefix: Prefix,
    /// Its best route before the change.
    pub old: Option<Candidate>,
    /// Its best route after the change.
    pub new: Option<Candidate>,
    /// The other routes of the prefix as good as `new` for multipath, after the change (empty
    /// when there are none, or no `new`).
    pub equal: Vec<Candidate>,
}

/// Candidates per prefix, the best at index 0.
#[derive(Debug, Default)]
pub struct LocRib {
    /// One candidate inline: nearly every prefix has one, so a million prefixes are not a
    /// million heap allocations.
    table: PrefixMap<SmallVec<[Candidate; 1]>>,
    /// Best-path changes since the last [`take_changes`](Self::take_changes), kept only while
    /// someone listens (see [`track_changes`](Self::track_changes)).
    changes: Option<Vec<BestPathChange>>,
    /// Prefixes with a route, per family, and best-path changes so far: counted on every
    /// change (no allocation), for the metrics, whether or not anyone tracks the changes.
    counts: FamilyCounts,
    best_changes: u64,
}

impl LocRib {
    /// Make room for `additional` more prefixes of each family at once. A million-entry table that grows
    /// by doubling holds the old and the new table together while it moves (about 200 MB at
    /// the last step), and that moment was the speaker's peak memory at start-up.
    pub fn reserve(&mut self, additional: FamilyCounts) {
        self.table.reserve(additional.ipv4, additional.ipv6);
    }

    /// Add or replace the candidate from `candidate.source`.
    pub fn upsert(&mut self, prefix: Prefix, candidate: Candidate) -> BestChange {
        let tracking = self.changes.is_some();
        let list = self.table.get_or_default(prefix);
        let old_best = list.first().cloned();
        let old_equal = tracking.then(|| equal_to_best(list));
        let id = candidate.source.id();
        list.retain(|c| c.source.id() != id);
        list.push(candidate);
        reselect(list);
        let change = diff(old_best.clone(), list.first());
        if old_best.is_none() {
            *self.counts.slot(&prefix) += 1;
        }
        self.count(&change);
        self.record(prefix, old_best, old_equal, &change);
        change
    }

    /// Remove the candidate from `source`.
    pub fn remove(&mut self, prefix: &Prefix, source: SourceId) -> BestChange {
        let Some(list) = self.table.get_mut(prefix) else {
            return BestChange::None;
        };
        let old_best = list.first().cloned();
        let old_equal = self.changes.is_some().then(|| equal_to_best(list));
        list.retain(|c| c.source.id() != source);
        let change = if list.is_empty() {
            self.table.remove(prefix);
            if old_best.is_some() {
                *self.counts.slot(prefix) -= 1;
                BestChange::Gone
            } else {
                BestChange::None
            }
        } else {
            reselect(list);
            diff(old_best.clone(), list.first())
        };
        self.count(&change);
        self.record(*prefix, old_best, old_equal, &change);
        change
    }

    fn count(&mut self, change: &BestChange) {
        if *change != BestChange::None {
            self.best_changes += 1;
        }
    }

    /// Prefixes with at least one route, per family.
    pub fn counts(&self) -> FamilyCounts {
        self.counts
    }

    /// How many times a prefix's best route changed (appeared, was replaced or went).
    pub fn best_changes(&self) -> u64 {
        self.best_changes
    }

    /// Start or stop keeping the best-path changes for [`take_changes`](Self::take_changes).
    /// Off by default, so that a RIB nobody watches pays nothing.
    pub fn track_changes(&mut self, on: bool) {
        self.changes = on.then(Vec::new);
    }

    /// The best-path changes since the last call, in the order they happened.
    pub fn take_changes(&mut self) -> Vec<BestPathChange> {
        self.changes
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn record(
        &mut self,
        prefix: Prefix,
        old: Option<Candidate>,
        old_equal: Option<Vec<Candidate>>,
        change: &BestChange,
    ) {
        let (Some(changes), Some(old_equal)) = (self.changes.as_mut(), old_equal) else {
            return;
        };
        let list = self.table.get(&prefix).map_or(&[][..], |l| l.as_slice());
        let equal = equal_to_best(list);
        let new = match change {
            BestChange::None if same_set(&old_equal, &equal) => return,
            BestChange::None => old.clone(),
            BestChange::New(c) => Some(c.clone()),
            BestChange::Gone => None,
        };
        changes.push(BestPathChange {
            prefix,
            old,
            new,
            equal,
        });
    }

    /// The best route for `prefix`.
    pub fn best(&self, prefix: &Prefix) -> Option<&Candidate> {
        self.table.get(prefix).and_then(|l| l.first())
    }

    /// The other candidates for `prefix` as good as the best for multipath.
    pub fn equal_to_best(&self, prefix: &Prefix) -> Vec<Candidate> {
        self.table
            .get(prefix)
            .map_or_else(Vec::new, |l| equal_to_best(l))
    }

    /// All candidates for `prefix`, best first.
    pub fn candidates(&self, prefix: &Prefix) -> &[Candidate] {
        self.table.get(prefix).map_or(&[], |l| l.as_slice())
    }

    /// Every prefix with its candidates, best first.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &[Candidate])> {
        self.table.iter().map(|(p, l)| (p, l.as_slice()))
    }

    /// Number of prefixes with at least one route.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when there is no route at all.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// Move the best candidate to the front (a linear scan: lists are short, and MED makes the
/// order non-transitive, so a full sort would not be meaningful anyway).
fn reselect(list: &mut [Candidate]) {
    let best = (0..list.len())
        .reduce(|b, i| {
            if compare(&list[i], &list[b]).is_lt() {
                i
            } else {
                b
            }
        })
        .unwrap_or(0);
    list.swap(0, best);
}

/// The candidates after the first (the best) that are as good as it for multipath.
pub fn equal_to_best(list: &[Candidate]) -> Vec<Candidate> {
    match list.split_first() {
        Some((best, rest)) => rest
            .iter()
            .filter(|c| multipath_equal(best, c))
            .cloned()
            .collect(),
        None => Vec::new(),
    }
}

/// True if `a` and `b` hold the same candidates, in any order.
fn same_set(a: &[Candidate], b: &[Candidate]) -> bool {
    a.len() == b.len() && a.iter().all(|c| b.contains(c))
}

fn diff(old: Option<Candidate>, new: Option<&Candidate>) -> BestChange {
    match (old, new) {
        (Some(o), Some(n)) if &o == n => BestChange::None,
        (_, Some(n)) => BestChange::New(n.clone()),
        (Some(_), None) => BestChange::Gone,
        (None, None) => BestChange::None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use super::*;
    use crate::rib::{PathAttrs, PeerRef, Source};
    use crate::wire::{AsPath, AsSegment, Attributes, SegmentType};

    fn from(last: u8, path: &[u32]) -> Candidate {
        Candidate {
            source: Source::Peer(Arc::new(PeerRef {
                address: IpAddr::from([198, 18, 0, last]),
                router_id: Ipv4Addr::new(198, 18, 0, last),
                ibgp: false,
            })),
            attrs: Arc::new(PathAttrs {
                attrs: Attributes {
                    as_path: Some(AsPath {
                        segments: vec![AsSegment {
                            kind: SegmentType::AsSequence,
                            asns: path.to_vec(),
                        }],
                    }),
                    ..Attributes::default()
                },
                next_hop: Some(IpAddr::from([198, 18, 0, last])),
            }),
        }
    }

    /// (old best, new best, equal) of each change, as last address bytes.
    fn changes(loc: &mut LocRib) -> Vec<(Option<u8>, Option<u8>, Vec<u8>)> {
        let last = |c: &Candidate| match &c.source {
            Source::Peer(p) => match p.address {
                IpAddr::V4(a) => a.octets()[3],
                IpAddr::V6(_) => 0,
            },
            Source::Local => 0,
        };
        loc.take_changes()
            .iter()
            .map(|c| {
                let mut equal: Vec<u8> = c.equal.iter().map(last).collect();
                equal.sort();
                (c.old.as_ref().map(last), c.new.as_ref().map(last), equal)
            })
            .collect()
    }

    #[test]
    fn a_change_of_the_routes_equal_to_the_best_is_a_change() {
        let mut loc = LocRib::default();
        loc.track_changes(true);
        let prefix: Prefix = "198.18.5.0/24".parse().unwrap();
        loc.upsert(prefix, from(2, &[65002]));
        assert_eq!(changes(&mut loc), [(None, Some(2), vec![])]);
        // An equal route from another AS: the best stays, the equal set grows.
        loc.upsert(prefix, from(3, &[65003]));
        assert_eq!(changes(&mut loc), [(Some(2), Some(2), vec![3])]);
        assert_eq!(loc.equal_to_best(&prefix).len(), 1);
        // A worse route: nothing.
        loc.upsert(prefix, from(4, &[65004, 65004]));
        assert!(changes(&mut loc).is_empty());
        // The equal one withdrawn: the set shrinks.
        loc.remove(&prefix, from(3, &[]).source.id());
        assert_eq!(changes(&mut loc), [(Some(2), Some(2), vec![])]);
        // The best withdrawn: the worse one is best, alone.
        loc.remove(&prefix, from(2, &[]).source.id());
        assert_eq!(changes(&mut loc), [(Some(2), Some(4), vec![])]);
    }

    #[test]
    fn a_candidate_is_two_pointers_and_a_prefix_list_of_one_holds_it_inline() {
        // The Loc-RIB holds a list for every prefix of a full table: these sizes are its memory.
        assert_eq!(std::mem::size_of::<Candidate>(), 16);
        assert_eq!(std::mem::size_of::<SmallVec<[Candidate; 1]>>(), 24);
    }
}
