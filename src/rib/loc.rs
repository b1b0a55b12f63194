//! The Loc-RIB: every usable route per prefix, the best one first.

use super::{compare, multipath_equal, Candidate, Candidates, FamilyCounts, PrefixMap, SourceId};
use crate::wire::Prefix;

/// What a change did to the best route of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BestChange {
    /// The best route is unchanged.
    None,
    /// This is the new best route.
    New(Candidate),
    /// No route is left for the prefix.
    Gone,
}

/// What [`LocRib::edit_from`] does with one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Leave it as it is.
    Keep,
    /// It was changed in place: choose the best again.
    Changed,
    /// Remove it.
    Remove,
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

/// How many routes ahead of a batch's change [`LocRib::prefetch`] is called: enough misses
/// under way to hide most of the wait (4 to 32 measured alike), few enough not to evict the
/// entries fetched before they are used.
pub const LOOKAHEAD: usize = 8;

/// Candidates per prefix, the best at index 0.
#[derive(Debug, Default)]
pub struct LocRib {
    /// One candidate inline: nearly every prefix has one, so a million prefixes are not a
    /// million heap allocations (`candidates.rs`).
    table: PrefixMap<Candidates>,
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

    /// Add or replace the candidate from `candidate.source`; returns the one it replaced.
    pub fn upsert(&mut self, prefix: Prefix, candidate: Candidate) -> Option<Candidate> {
        let mut fresh = Some(candidate);
        let (list, inserted) = self
            .table
            .get_or_insert_with(prefix, || Candidates::One(fresh.take().expect("made once")));
        if inserted {
            // A new prefix, the common case of a table arriving: nothing to compare.
            *self.counts.slot(&prefix) += 1;
            self.best_changes += 1;
            if self.changes.is_some() {
                let change = BestChange::New(list.as_slice()[0].clone());
                let list = list.as_slice();
                record(
                    &mut self.changes,
                    prefix,
                    None,
                    Some(Vec::new()),
                    list,
                    &change,
                );
            }
            return None;
        }
        let candidate = fresh.expect("not inserted, so not taken");
        if let (Candidates::One(only), None) = (&mut *list, &self.changes) {
            if only.source.id() == candidate.source.id() {
                // The prefix's only route, sent again by its source (a peer's table after a
                // restart): it stays the best, and nothing is cloned. A clone is a locked
                // reference count, which would wait for the cache misses under way.
                self.best_changes += u64::from(*only != candidate);
                return Some(std::mem::replace(only, candidate));
            }
        }
        let old_best = list.as_slice().first().cloned();
        let old_equal = self
            .changes
            .is_some()
            .then(|| equal_to_best(list.as_slice()));
        let id = candidate.source.id();
        let replaced = match list.as_slice().iter().position(|c| c.source.id() == id) {
            Some(i) => Some(std::mem::replace(&mut list.as_mut_slice()[i], candidate)),
            None => {
                list.push(candidate);
                None
            }
        };
        let change = settle(list.as_mut_slice(), old_best.clone());
        self.best_changes += u64::from(change != BestChange::None);
        let list = list.as_slice();
        record(
            &mut self.changes,
            prefix,
            old_best,
            old_equal,
            list,
            &change,
        );
        replaced
    }

    /// Remove the candidate from `source`; returns it.
    pub fn remove(&mut self, prefix: &Prefix, source: SourceId) -> Option<Candidate> {
        let list = self.table.get_mut(prefix)?;
        let i = list
            .as_slice()
            .iter()
            .position(|c| c.source.id() == source)?;
        let old_best = list.as_slice().first().cloned();
        let old_equal = self
            .changes
            .is_some()
            .then(|| equal_to_best(list.as_slice()));
        let (removed, change) = match list.remove(i) {
            Some(removed) => (removed, settle(list.as_mut_slice(), old_best.clone())),
            None => {
                let Some(Candidates::One(only)) = self.table.remove(prefix) else {
                    unreachable!("a prefix whose only candidate is being removed")
                };
                *self.counts.slot(prefix) -= 1;
                (only, BestChange::Gone)
            }
        };
        self.best_changes += u64::from(change != BestChange::None);
        let list = self.table.get(prefix).map_or(&[][..], |l| l.as_slice());
        record(
            &mut self.changes,
            *prefix,
            old_best,
            old_equal,
            list,
            &change,
        );
        Some(removed)
    }

    /// Walk the candidates from `source` of every prefix of `family`, and keep, change or remove
    /// each as `edit` says. Returns how many were removed. One pass over the family's table,
    /// which is how a peer's routes are found: they are not indexed by peer (see `adj_in.rs`).
    pub fn edit_from(
        &mut self,
        family: crate::wire::Family,
        source: SourceId,
        mut edit: impl FnMut(Prefix, &mut Candidate) -> Edit,
    ) -> usize {
        let (changes, counts) = (&mut self.changes, &mut self.counts);
        let (mut removed, mut best_changes) = (0, 0);
        self.table.retain_family(family, |prefix, list| {
            let Some(i) = list.as_slice().iter().position(|c| c.source.id() == source) else {
                return true;
            };
            let old_best = list.as_slice().first().cloned();
            let old_equal = changes.is_some().then(|| equal_to_best(list.as_slice()));
            let (change, kept) = match edit(prefix, &mut list.as_mut_slice()[i]) {
                Edit::Keep => return true,
                Edit::Changed => (settle(list.as_mut_slice(), old_best.clone()), true),
                Edit::Remove => {
                    removed += 1;
                    match list.remove(i) {
                        Some(_) => (settle(list.as_mut_slice(), old_best.clone()), true),
                        None => (BestChange::Gone, false),
                    }
                }
            };
            best_changes += u64::from(change != BestChange::None);
            let after = if kept { list.as_slice() } else { &[] };
            record(changes, prefix, old_best, old_equal, after, &change);
            if !kept {
                *counts.slot(&prefix) -= 1;
            }
            kept
        });
        self.best_changes += best_changes;
        removed
    }

    /// The candidate from `source` for `prefix`.
    pub fn candidate_from(&self, prefix: &Prefix, source: SourceId) -> Option<&Candidate> {
        self.candidates(prefix)
            .iter()
            .find(|c| c.source.id() == source)
    }

    /// Every candidate from `source` (all families), in no particular order.
    pub fn from_source(&self, source: SourceId) -> impl Iterator<Item = (Prefix, &Candidate)> {
        self.table.iter().filter_map(move |(p, list)| {
            let from = list.as_slice().iter().find(|c| c.source.id() == source);
            from.map(|c| (p, c))
        })
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

    /// The best route for `prefix`.
    pub fn best(&self, prefix: &Prefix) -> Option<&Candidate> {
        self.table.get(prefix).and_then(|l| l.as_slice().first())
    }

    /// The other candidates for `prefix` as good as the best for multipath.
    pub fn equal_to_best(&self, prefix: &Prefix) -> Vec<Candidate> {
        self.table
            .get(prefix)
            .map_or_else(Vec::new, |l| equal_to_best(l.as_slice()))
    }

    /// Start fetching `prefix`'s entry into the cache, for a change to it a few routes later.
    ///
    /// A full table is a hash table of some 50 MiB, and each prefix of a peer's feed lands in
    /// a random part of it: every change waits for a cache miss, one after the other. A lookup
    /// of a prefix [`LOOKAHEAD`] routes ahead, its answer unused, lets the CPU have several
    /// misses under way at once. It halved the time to apply a million routes
    /// (`cargo bench --bench rib`: 0.31 s to 0.16 s).
    pub fn prefetch(&self, prefix: &Prefix) {
        std::hint::black_box(self.table.get(prefix).is_some());
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

/// Choose the best of `list` again after a change; what that did to the best.
fn settle(list: &mut [Candidate], old_best: Option<Candidate>) -> BestChange {
    if !list.is_empty() {
        reselect(list);
    }
    diff(old_best, list.first())
}

/// Keep the change for [`LocRib::take_changes`] if someone listens (`changes` is `Some`):
/// `list` is the prefix's candidates after it, `old_equal` the multipath set before it.
fn record(
    changes: &mut Option<Vec<BestPathChange>>,
    prefix: Prefix,
    old: Option<Candidate>,
    old_equal: Option<Vec<Candidate>>,
    list: &[Candidate],
    change: &BestChange,
) {
    let (Some(changes), Some(old_equal)) = (changes.as_mut(), old_equal) else {
        return;
    };
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
    fn a_route_sent_again_by_its_only_source_replaces_it_and_counts_only_a_change() {
        let prefix = Prefix::new(IpAddr::from([198, 19, 0, 0]), 24).unwrap();
        for tracked in [false, true] {
            let mut loc = LocRib::default();
            loc.track_changes(tracked);
            assert_eq!(loc.upsert(prefix, from(1, &[65001])), None);
            let before = loc.best_changes();
            // The same route again: replaced, the best did not change.
            let same = from(1, &[65001]);
            assert_eq!(loc.upsert(prefix, same.clone()), Some(from(1, &[65001])));
            assert_eq!(loc.best_changes(), before, "tracked: {tracked}");
            // Other attributes from the same source: the best changed to them.
            let longer = from(1, &[65001, 65002]);
            assert_eq!(loc.upsert(prefix, longer.clone()), Some(same));
            assert_eq!(loc.best_changes(), before + 1, "tracked: {tracked}");
            assert_eq!(loc.candidates(&prefix), &[longer][..]);
            if tracked {
                assert_eq!(changes(&mut loc).len(), 2, "the first route and the change");
            }
        }
    }

    #[test]
    fn a_candidate_is_two_pointers_and_a_prefix_list_of_one_holds_it_inline() {
        // The Loc-RIB holds a list for every prefix of a full table: these sizes are its memory.
        assert_eq!(std::mem::size_of::<Candidate>(), 16);
        assert_eq!(std::mem::size_of::<Candidates>(), 16);
    }
}
