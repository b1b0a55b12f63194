//! A prefix table with per-family counters, the shape both Adj-RIBs share.

use super::PrefixMap;
use crate::wire::{Family, Prefix};

/// Per-family route counts kept up to date on every change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FamilyCounts {
    /// IPv4 unicast.
    pub ipv4: usize,
    /// IPv6 unicast.
    pub ipv6: usize,
}

impl FamilyCounts {
    /// The count for `family` (0 for families baton does not carry).
    pub fn get(&self, family: Family) -> usize {
        match family {
            Family::IPV4_UNICAST => self.ipv4,
            Family::IPV6_UNICAST => self.ipv6,
            _ => 0,
        }
    }

    pub(super) fn slot(&mut self, prefix: &Prefix) -> &mut usize {
        if prefix.addr().is_ipv4() {
            &mut self.ipv4
        } else {
            &mut self.ipv6
        }
    }

    /// The count of `family`, mutable (`None` for families baton does not carry).
    pub(super) fn family_slot(&mut self, family: Family) -> Option<&mut usize> {
        match family {
            Family::IPV4_UNICAST => Some(&mut self.ipv4),
            Family::IPV6_UNICAST => Some(&mut self.ipv6),
            _ => None,
        }
    }
}

/// A map from prefix to `V` that counts its entries per family, and counts separately the
/// entries a predicate marks (e.g. "accepted").
#[derive(Debug, Clone)]
pub struct CountedTable<V> {
    map: PrefixMap<V>,
    counts: FamilyCounts,
}

impl<V> Default for CountedTable<V> {
    fn default() -> Self {
        CountedTable {
            map: PrefixMap::default(),
            counts: FamilyCounts::default(),
        }
    }
}

impl<V> CountedTable<V> {
    /// Insert or replace; returns the old value.
    pub fn insert(&mut self, prefix: Prefix, value: V) -> Option<V> {
        let old = self.map.insert(prefix, value);
        if old.is_none() {
            *self.counts.slot(&prefix) += 1;
        }
        old
    }

    /// Remove; returns the old value.
    pub fn remove(&mut self, prefix: &Prefix) -> Option<V> {
        let old = self.map.remove(prefix);
        if old.is_some() {
            *self.counts.slot(prefix) -= 1;
        }
        old
    }

    /// The value for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<&V> {
        self.map.get(prefix)
    }

    /// Entry counts per family.
    pub fn counts(&self) -> FamilyCounts {
        self.counts
    }

    /// The entries of `family`, values mutable (the prefix set cannot change this way).
    pub fn iter_family_mut(&mut self, family: Family) -> impl Iterator<Item = (Prefix, &mut V)> {
        self.map.iter_family_mut(family)
    }

    /// All entries, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &V)> {
        self.map.iter()
    }

    /// The entries of `family`, in no particular order.
    pub fn iter_family(&self, family: Family) -> impl Iterator<Item = (Prefix, &V)> {
        self.map.iter_family(family)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keep the entries of `family` for which `keep` holds (it may change them); returns how
    /// many were removed.
    pub fn retain_family(
        &mut self,
        family: Family,
        mut keep: impl FnMut(Prefix, &mut V) -> bool,
    ) -> usize {
        let mut removed = 0;
        self.map.retain_family(family, |p, v| {
            let kept = keep(p, v);
            removed += usize::from(!kept);
            kept
        });
        if let Some(count) = self.counts.family_slot(family) {
            *count -= removed;
        }
        removed
    }
}
