//! Adj-RIB-Out: what we have told one peer, and the UPDATEs that bring it to a new state.

use std::sync::Arc;

use bytes::BytesMut;
use foldhash::{HashMap, HashMapExt};

use super::{CountedTable, FamilyCounts, SharedAttrs};
use crate::wire::{Family, Prefix, UpdatePacker};

/// Changes staged for one family, grouped so each attribute set is encoded once.
#[derive(Debug, Default)]
struct Pending {
    /// Announcements keyed by attribute-set identity (interned, so pointer equality is equality).
    announce: HashMap<usize, (SharedAttrs, Vec<Prefix>)>,
    withdraw: Vec<Prefix>,
}

/// What one peer has been sent, plus changes not yet written.
#[derive(Debug, Default)]
pub struct AdjRibOut {
    table: CountedTable<SharedAttrs>,
    pending: HashMap<Family, Pending>,
}

impl AdjRibOut {
    /// Empty, with room for `routes` prefixes (a new session's whole table) without regrowing.
    pub fn with_capacity(routes: usize) -> AdjRibOut {
        AdjRibOut {
            table: CountedTable::with_capacity(routes),
            pending: HashMap::new(),
        }
    }

    /// Make `prefix` carry `attrs` (or be withdrawn, for `None`) at the next [`flush`](Self::flush).
    /// Staging the state the peer already has is a no-op, so a reload that changes nothing
    /// sends nothing.
    pub fn stage(&mut self, prefix: Prefix, attrs: Option<SharedAttrs>) {
        let pending = self.pending.entry(prefix.family()).or_default();
        match attrs {
            Some(a) => {
                let old = self.table.insert(prefix, a.clone());
                if old.is_some_and(|old| Arc::ptr_eq(&old, &a)) {
                    return;
                }
                pending
                    .announce
                    .entry(Arc::as_ptr(&a) as usize)
                    .or_insert_with(|| (a, Vec::new()))
                    .1
                    .push(prefix);
            }
            None => {
                if self.table.remove(&prefix).is_some() {
                    pending.withdraw.push(prefix);
                }
            }
        }
    }

    /// Encode every staged change into `out` as packed UPDATEs; returns the message count.
    ///
    /// A prefix staged twice (announced then withdrawn, say) is written in the state it ended
    /// in: withdrawals go first and skip prefixes announced since, announcements skip prefixes
    /// no longer held with that attribute set.
    pub fn flush(&mut self, packer: &UpdatePacker, out: &mut BytesMut) -> usize {
        let mut messages = 0;
        let mut families: Vec<Family> = self.pending.keys().copied().collect();
        families.sort();
        for family in families {
            let Some(p) = self.pending.remove(&family) else {
                continue;
            };
            let withdraw: Vec<Prefix> = p
                .withdraw
                .into_iter()
                .filter(|x| self.table.get(x).is_none())
                .collect();
            if !withdraw.is_empty() {
                messages += packer.withdraw(family, &withdraw, out);
            }
            for (attrs, prefixes) in p.announce.into_values() {
                let live: Vec<Prefix> = prefixes
                    .into_iter()
                    .filter(|x| self.table.get(x).is_some_and(|a| Arc::ptr_eq(a, &attrs)))
                    .collect();
                if live.is_empty() {
                    continue;
                }
                let next_hops: Vec<_> = attrs.next_hop.into_iter().collect();
                messages += packer.announce(family, &attrs.attrs, &next_hops, &live, out);
            }
        }
        messages
    }

    /// Encode everything held for `family` again (answering ROUTE-REFRESH, RFC 2918 §4).
    pub fn readvertise(&self, family: Family, packer: &UpdatePacker, out: &mut BytesMut) -> usize {
        let mut groups: HashMap<usize, (&SharedAttrs, Vec<Prefix>)> = HashMap::new();
        for (prefix, attrs) in self.table.iter().filter(|(p, _)| p.family() == family) {
            groups
                .entry(Arc::as_ptr(attrs) as usize)
                .or_insert_with(|| (attrs, Vec::new()))
                .1
                .push(*prefix);
        }
        groups
            .into_values()
            .map(|(attrs, prefixes)| {
                let next_hops: Vec<_> = attrs.next_hop.into_iter().collect();
                packer.announce(family, &attrs.attrs, &next_hops, &prefixes, out)
            })
            .sum()
    }

    /// Prefixes advertised, per family.
    pub fn advertised(&self) -> FamilyCounts {
        self.table.counts()
    }

    /// Every route advertised.
    pub fn iter(&self) -> impl Iterator<Item = (&Prefix, &SharedAttrs)> {
        self.table.iter()
    }
}
