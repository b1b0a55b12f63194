//! Adj-RIB-In: what one peer announced to us, before and after our acceptance checks.

use super::{CountedTable, FamilyCounts, SharedAttrs};
use crate::wire::Prefix;

/// One route as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InRoute {
    /// Its attributes (interned).
    pub attrs: SharedAttrs,
    /// Passed the acceptance checks (no AS loop); only accepted routes enter the Loc-RIB.
    pub accepted: bool,
    /// Kept from a session that ended gracefully (RFC 4724) and not yet refreshed.
    pub stale: bool,
}

/// The routes one peer announced, with received and accepted counts per family.
#[derive(Debug, Default)]
pub struct AdjRibIn {
    table: CountedTable<InRoute>,
    accepted: FamilyCounts,
}

impl AdjRibIn {
    /// Record an announcement, replacing any earlier one for the prefix.
    pub fn insert(&mut self, prefix: Prefix, route: InRoute) {
        if route.accepted {
            bump(&mut self.accepted, &prefix, true);
        }
        if let Some(old) = self.table.insert(prefix, route) {
            if old.accepted {
                bump(&mut self.accepted, &prefix, false);
            }
        }
    }

    /// Record a withdrawal; returns what was held.
    pub fn remove(&mut self, prefix: &Prefix) -> Option<InRoute> {
        let old = self.table.remove(prefix)?;
        if old.accepted {
            bump(&mut self.accepted, prefix, false);
        }
        Some(old)
    }

    /// The route held for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<&InRoute> {
        self.table.get(prefix)
    }

    /// Prefixes received, per family.
    pub fn received(&self) -> FamilyCounts {
        self.table.counts()
    }

    /// Prefixes accepted, per family.
    pub fn accepted(&self) -> FamilyCounts {
        self.accepted
    }

    /// Mark every route of `family` stale; returns how many.
    pub fn mark_stale(&mut self, family: crate::wire::Family) -> usize {
        self.table
            .iter_family_mut(family)
            .map(|(_, r)| r.stale = true)
            .count()
    }

    /// The prefixes of `family` still stale.
    pub fn stale_prefixes(&self, family: crate::wire::Family) -> Vec<Prefix> {
        self.table
            .iter_family(family)
            .filter(|(_, r)| r.stale)
            .map(|(p, _)| p)
            .collect()
    }

    /// The routes of `family`.
    pub fn iter_family(
        &self,
        family: crate::wire::Family,
    ) -> impl Iterator<Item = (Prefix, &InRoute)> {
        self.table.iter_family(family)
    }

    /// Every route held.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &InRoute)> {
        self.table.iter()
    }

    /// Number of routes held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

fn bump(counts: &mut FamilyCounts, prefix: &Prefix, up: bool) {
    let slot = if prefix.addr().is_ipv4() {
        &mut counts.ipv4
    } else {
        &mut counts.ipv6
    };
    if up {
        *slot += 1;
    } else {
        *slot -= 1;
    }
}
