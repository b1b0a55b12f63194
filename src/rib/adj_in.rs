//! Adj-RIB-In: what one peer announced to us, before and after our acceptance checks.
//!
//! It is not a table of its own. A route a peer sent is one Loc-RIB candidate (its source the
//! peer, its attributes interned), and that candidate *is* the peer's Adj-RIB-In entry: a
//! separate per-peer table held every prefix of a full table a second time (24 bytes an entry in
//! a hash table at half load, about 50 MB at a million) and cost a second cache miss per prefix
//! received, half of the RIB's work in an ingest. What a peer's Adj-RIB-In adds to its
//! candidates is kept here, in [`InPeer`]:
//!   - the routes we did not accept (our AS in their AS_PATH), which are not candidates: a
//!     small table, usually empty;
//!   - per-family counts, so that `batonctl neighbor` does not walk a million routes;
//!   - which routes are stale (RFC 4724). Every route a session announces points at that
//!     session's [`PeerRef`]; when the session ends gracefully the RIB forgets that reference, so
//!     the routes still pointing at it, or at the one restored routes got, are the stale ones.
//!     Marking a million routes stale is one assignment, and re-announcing one refreshes it.
//!
//! Reading one peer's routes walks the Loc-RIB (a few milliseconds a million), which is what a
//! peer going down, a purge of stale routes, a snapshot or an `adj-in` view need anyway.

use std::net::IpAddr;
use std::sync::Arc;

use super::{
    Candidate, CountedTable, FamilyCounts, LocRib, PeerRef, SharedAttrs, Source, SourceId,
};
use crate::wire::Prefix;

/// What the RIB knows of one peer's announcements besides its Loc-RIB candidates.
#[derive(Debug, Default)]
pub(super) struct InPeer {
    /// The current session's reference, `None` between sessions.
    pub(super) session: Option<Arc<PeerRef>>,
    /// The reference routes restored from a snapshot share (never a session's: they are stale).
    pub(super) restored: Option<Arc<PeerRef>>,
    /// Routes not accepted: shown and counted, never candidates.
    pub(super) rejected: CountedTable<Candidate>,
    /// This peer's candidates in the Loc-RIB, per family.
    pub(super) accepted: FamilyCounts,
}

impl InPeer {
    /// The shared reference for `peer`'s current session: the same one for every route of the
    /// session, a new one when there was none (a new session) or the identifier changed.
    pub(super) fn session(&mut self, peer: PeerRef) -> Arc<PeerRef> {
        match &self.session {
            Some(shared) if **shared == peer => shared.clone(),
            _ => self.session.insert(Arc::new(peer)).clone(),
        }
    }

    /// True if `candidate` (one of this peer's) was not announced by the current session.
    pub(super) fn is_stale(&self, candidate: &Candidate) -> bool {
        is_stale(self.session.as_ref(), candidate)
    }
}

/// True unless `candidate` comes from `session`.
pub(super) fn is_stale(session: Option<&Arc<PeerRef>>, candidate: &Candidate) -> bool {
    match (&candidate.source, session) {
        (Source::Peer(from), Some(session)) => !Arc::ptr_eq(from, session),
        _ => true,
    }
}

/// Record a route `peer` announced: a candidate if `accepted`, otherwise a rejected route (and
/// no longer a candidate). Returns the candidate it replaced, for the caller to drop after a
/// batch (see [`LocRib::upsert`]'s fast path).
#[must_use = "the replaced route, to drop after the batch"]
pub(super) fn learn(
    loc: &mut LocRib,
    inbound: &mut InPeer,
    peer: &Arc<PeerRef>,
    prefix: Prefix,
    attrs: SharedAttrs,
    accepted: bool,
) -> Option<Candidate> {
    let candidate = Candidate {
        source: Source::Peer(peer.clone()),
        attrs,
    };
    if accepted {
        if !inbound.rejected.is_empty() {
            inbound.rejected.remove(&prefix);
        }
        let replaced = loc.upsert(prefix, candidate);
        if replaced.is_none() {
            *inbound.accepted.slot(&prefix) += 1;
        }
        replaced
    } else {
        inbound.rejected.insert(prefix, candidate);
        let removed = loc.remove(&prefix, SourceId::Peer(peer.address));
        if removed.is_some() {
            *inbound.accepted.slot(&prefix) -= 1;
        }
        removed
    }
}

/// Forget the route `address` announced for `prefix`; true if there was one.
pub(super) fn unlearn(
    loc: &mut LocRib,
    inbound: &mut InPeer,
    address: IpAddr,
    prefix: &Prefix,
) -> bool {
    if !inbound.rejected.is_empty() && inbound.rejected.remove(prefix).is_some() {
        return true;
    }
    let gone = loc.remove(prefix, SourceId::Peer(address)).is_some();
    if gone {
        *inbound.accepted.slot(prefix) -= 1;
    }
    gone
}

/// One route as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InRoute<'a> {
    /// Its attributes (interned).
    pub attrs: &'a SharedAttrs,
    /// Passed the acceptance checks (no AS loop); only accepted routes enter the Loc-RIB.
    pub accepted: bool,
    /// Kept from a session that ended gracefully (RFC 4724), or restored from a snapshot, and
    /// not yet refreshed.
    pub stale: bool,
}

/// The routes one peer announced, read from the Loc-RIB and the peer's [`InPeer`].
#[derive(Debug, Clone, Copy)]
pub struct AdjRibIn<'a> {
    address: IpAddr,
    peer: &'a InPeer,
    loc: &'a LocRib,
}

impl<'a> AdjRibIn<'a> {
    pub(super) fn new(address: IpAddr, peer: &'a InPeer, loc: &'a LocRib) -> Self {
        AdjRibIn { address, peer, loc }
    }

    fn route(&self, candidate: &'a Candidate, accepted: bool) -> InRoute<'a> {
        InRoute {
            attrs: &candidate.attrs,
            accepted,
            stale: self.peer.is_stale(candidate),
        }
    }

    /// The route held for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<InRoute<'a>> {
        let loc = self.loc;
        match loc.candidate_from(prefix, SourceId::Peer(self.address)) {
            Some(c) => Some(self.route(c, true)),
            None => self.peer.rejected.get(prefix).map(|c| self.route(c, false)),
        }
    }

    /// Every route held, accepted ones first, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, InRoute<'a>)> + 'a {
        let this = *self;
        let accepted = this
            .loc
            .from_source(SourceId::Peer(this.address))
            .map(move |(p, c)| (p, this.route(c, true)));
        let rejected = this
            .peer
            .rejected
            .iter()
            .map(move |(p, c)| (p, this.route(c, false)));
        accepted.chain(rejected)
    }

    /// Prefixes received, per family.
    pub fn received(&self) -> FamilyCounts {
        let (a, r) = (self.peer.accepted, self.peer.rejected.counts());
        FamilyCounts {
            ipv4: a.ipv4 + r.ipv4,
            ipv6: a.ipv6 + r.ipv6,
        }
    }

    /// Prefixes accepted, per family.
    pub fn accepted(&self) -> FamilyCounts {
        self.peer.accepted
    }

    /// Number of routes held.
    pub fn len(&self) -> usize {
        let r = self.received();
        r.ipv4 + r.ipv6
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
