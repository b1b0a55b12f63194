//! Adj-RIB-Out: what one peer has been told, and the UPDATEs that bring it to a new state.
//!
//! Only originated routes go out (see the [module](super) doc), and the RIB writes every change
//! of them to every Established peer as it happens. So what a peer holds is, at every moment,
//! the export of the originated routes to its session ([`export_local`](super::export_local)).
//! Storing that again per peer cost a table as large as the originated set for each peer
//! (about 70 MB per peer at a million routes) to remember what can be recomputed, so an
//! [`AdjRibOut`] keeps only its counts and the changes not yet written: the RIB works out each
//! change's before and after and stages both.

use std::sync::Arc;

use bytes::BytesMut;
use foldhash::HashMap;

use super::{FamilyCounts, SharedAttrs};
use crate::wire::{Family, Prefix, UpdatePacker};

/// Changes staged for one family, grouped so each attribute set is encoded once.
#[derive(Debug, Default)]
struct Pending {
    /// Announcements keyed by attribute-set identity (interned, so pointer equality is equality).
    announce: HashMap<usize, (SharedAttrs, Vec<Prefix>)>,
    withdraw: Vec<Prefix>,
}

/// How many prefixes one peer has been sent, plus changes not yet written.
#[derive(Debug, Default)]
pub struct AdjRibOut {
    counts: FamilyCounts,
    pending: HashMap<Family, Pending>,
}

impl AdjRibOut {
    /// Make `prefix`, which the peer holds with `was` (`None`: not at all), carry `now` (`None`:
    /// withdrawn) at the next [`flush`](Self::flush). Both are interned, so equal sets are the
    /// same pointer and a change that changes nothing the peer sees stages nothing.
    ///
    /// A prefix is staged at most once between flushes: the RIB stages a set of changes whose
    /// prefixes are distinct, then flushes.
    pub fn stage(&mut self, prefix: Prefix, was: Option<&SharedAttrs>, now: Option<SharedAttrs>) {
        match (was, now) {
            (Some(was), Some(now)) if Arc::ptr_eq(was, &now) => {}
            (None, None) => {}
            (was, Some(now)) => {
                if was.is_none() {
                    *self.counts.slot(&prefix) += 1;
                }
                self.pending
                    .entry(prefix.family())
                    .or_default()
                    .announce
                    .entry(Arc::as_ptr(&now) as usize)
                    .or_insert_with(|| (now, Vec::new()))
                    .1
                    .push(prefix);
            }
            (Some(_), None) => {
                *self.counts.slot(&prefix) -= 1;
                self.pending
                    .entry(prefix.family())
                    .or_default()
                    .withdraw
                    .push(prefix);
            }
        }
    }

    /// Encode every staged change into `out` as packed UPDATEs, withdrawals first, families
    /// in order; returns the message count.
    pub fn flush(&mut self, packer: &UpdatePacker, out: &mut BytesMut) -> usize {
        let mut messages = 0;
        let mut families: Vec<Family> = self.pending.keys().copied().collect();
        families.sort();
        for family in families {
            let Some(p) = self.pending.remove(&family) else {
                continue;
            };
            if !p.withdraw.is_empty() {
                messages += packer.withdraw(family, &p.withdraw, out);
            }
            for (attrs, prefixes) in p.announce.into_values() {
                let next_hops: Vec<_> = attrs.next_hop.into_iter().collect();
                messages += packer.announce(family, &attrs.attrs, &next_hops, &prefixes, out);
            }
        }
        messages
    }

    /// Prefixes advertised, per family.
    pub fn advertised(&self) -> FamilyCounts {
        self.counts
    }
}
