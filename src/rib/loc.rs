//! The Loc-RIB: every usable route per prefix, the best one first.

use std::collections::HashMap;

use super::{compare, Candidate, Source};
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
/// installer, metrics) subscribe to. `old == None` is a new prefix, `new == None` a prefix gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestPathChange {
    /// The prefix.
    pub prefix: Prefix,
    /// Its best route before the change.
    pub old: Option<Candidate>,
    /// Its best route after the change.
    pub new: Option<Candidate>,
}

/// Candidates per prefix, the best at index 0.
#[derive(Debug, Default)]
pub struct LocRib {
    table: HashMap<Prefix, Vec<Candidate>>,
    /// Best-path changes since the last [`take_changes`](Self::take_changes), kept only while
    /// someone listens (see [`track_changes`](Self::track_changes)).
    changes: Option<Vec<BestPathChange>>,
}

impl LocRib {
    /// Add or replace the candidate from `candidate.source`.
    pub fn upsert(&mut self, prefix: Prefix, candidate: Candidate) -> BestChange {
        let list = self.table.entry(prefix).or_default();
        let old_best = list.first().cloned();
        list.retain(|c| !c.source.same_as(&candidate.source));
        list.push(candidate);
        reselect(list);
        let change = diff(old_best.clone(), list.first());
        self.record(prefix, old_best, &change);
        change
    }

    /// Remove the candidate from `source`.
    pub fn remove(&mut self, prefix: &Prefix, source: Source) -> BestChange {
        let Some(list) = self.table.get_mut(prefix) else {
            return BestChange::None;
        };
        let old_best = list.first().cloned();
        list.retain(|c| !c.source.same_as(&source));
        let change = if list.is_empty() {
            self.table.remove(prefix);
            if old_best.is_some() {
                BestChange::Gone
            } else {
                BestChange::None
            }
        } else {
            reselect(list);
            diff(old_best.clone(), list.first())
        };
        self.record(*prefix, old_best, &change);
        change
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

    fn record(&mut self, prefix: Prefix, old: Option<Candidate>, change: &BestChange) {
        let Some(changes) = self.changes.as_mut() else {
            return;
        };
        let new = match change {
            BestChange::None => return,
            BestChange::New(c) => Some(c.clone()),
            BestChange::Gone => None,
        };
        changes.push(BestPathChange { prefix, old, new });
    }

    /// The best route for `prefix`.
    pub fn best(&self, prefix: &Prefix) -> Option<&Candidate> {
        self.table.get(prefix).and_then(|l| l.first())
    }

    /// All candidates for `prefix`, best first.
    pub fn candidates(&self, prefix: &Prefix) -> &[Candidate] {
        self.table.get(prefix).map_or(&[], |l| l.as_slice())
    }

    /// Every prefix with its candidates, best first.
    pub fn iter(&self) -> impl Iterator<Item = (&Prefix, &[Candidate])> {
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

fn diff(old: Option<Candidate>, new: Option<&Candidate>) -> BestChange {
    match (old, new) {
        (Some(o), Some(n)) if &o == n => BestChange::None,
        (_, Some(n)) => BestChange::New(n.clone()),
        (Some(_), None) => BestChange::Gone,
        (None, None) => BestChange::None,
    }
}
