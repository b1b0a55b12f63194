//! The originated routes and what they make peers hold: the operator's routes enter the
//! Loc-RIB, and every Established peer is sent their export (RFC 4271 §9.2), first as a whole
//! table when its session comes up, then change by change.
//!
//! A route is kept as its prefix and an [`Originated`]: the interned attribute set it has in the
//! Loc-RIB (shared with every route of equal attributes, and with the Loc-RIB candidate) and
//! its prepend count. At a million routes that is a few dozen bytes a route rather than a copy
//! of the configuration's `Route` with its own community list. What a peer holds is computed
//! from it (see `adj_out.rs`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use bytes::BytesMut;

use super::{
    local_attrs, AdjRibOut, Candidate, FamilyCounts, Interner, LastAttrs, LastExport, Originated,
    OutPeer, PeerSession, Rib, RouteRuns, SharedAttrs, Source, SourceId,
};
use crate::config::Route;
use crate::wire::{Family, Prefix, Update, UpdatePacker};

impl Rib {
    /// Replace the set of originated routes. Returns, per Established peer, the UPDATEs that
    /// bring it from what it was sent to the new set (nothing for an unchanged route).
    pub fn set_originated(&mut self, routes: Vec<Route>) -> Vec<(IpAddr, BytesMut)> {
        self.set_originated_runs(&RouteRuns::new(&routes))
    }

    /// [`set_originated`](Self::set_originated) from runs of equal attributes, each run's
    /// attribute set made once. A prefix given twice takes its last route.
    pub fn set_originated_runs(&mut self, routes: &RouteRuns) -> Vec<(IpAddr, BytesMut)> {
        let new: BTreeMap<Prefix, Originated> = {
            let mut memo = LastAttrs::default();
            let interner = &mut self.interner;
            let origins: Vec<(Prefix, Originated)> = routes
                .iter()
                .map(|(r, prefix)| (prefix, origin_of(r, &mut memo, interner)))
                .collect();
            origins.into_iter().collect()
        };
        let old = std::mem::replace(&mut self.originated, new);
        self.loc.reserve(growth(&old, &self.originated));
        // Both maps are in prefix order: walk them side by side. With no peer up there is
        // nothing to stage (a first load), so only the Loc-RIB is written.
        let staging = !self.out.is_empty();
        let mut changes = Changes::default();
        let mut now = self.originated.iter().peekable();
        for (prefix, origin) in old {
            while let Some((p, o)) = now.next_if(|(p, _)| **p < prefix) {
                upsert_local(&mut self.loc, *p, o);
                if staging {
                    changes.added.push(*p);
                }
            }
            match now.next_if(|(p, _)| **p == prefix) {
                Some((_, o)) if *o == origin => continue,
                Some((_, o)) => upsert_local(&mut self.loc, prefix, o),
                None => {
                    self.loc.remove(&prefix, SourceId::Local);
                }
            }
            if staging {
                changes.was.push((prefix, origin));
            }
        }
        for (p, o) in now {
            upsert_local(&mut self.loc, *p, o);
            if staging {
                changes.added.push(*p);
            }
        }
        self.restage(&changes)
    }

    /// Change some originated routes: add or replace `announce`, remove `withdraw`. Returns,
    /// per Established peer, the UPDATEs for those prefixes only: the cost is the change's,
    /// not the table's.
    pub fn change_originated(
        &mut self,
        announce: Vec<Route>,
        withdraw: &[Prefix],
    ) -> Vec<(IpAddr, BytesMut)> {
        // What each prefix touched was before the first change to it.
        let mut before: HashMap<Prefix, Option<Originated>> = HashMap::new();
        for prefix in withdraw {
            if let Some(old) = self.originated.remove(prefix) {
                self.loc.remove(prefix, SourceId::Local);
                before.entry(*prefix).or_insert(Some(old));
            }
        }
        let mut memo = LastAttrs::default();
        for route in &announce {
            let origin = origin_of(route, &mut memo, &mut self.interner);
            if self.originated.get(&route.prefix) == Some(&origin) {
                continue;
            }
            upsert_local(&mut self.loc, route.prefix, &origin);
            let old = self.originated.insert(route.prefix, origin);
            before.entry(route.prefix).or_insert(old);
        }
        let mut changes = Changes::default();
        for (prefix, old) in before {
            match old {
                Some(origin) => changes.was.push((prefix, origin)),
                None => changes.added.push(prefix),
            }
        }
        self.restage(&changes)
    }

    /// Stage `changes` for every Established peer (each prefix from what its old route
    /// exported to what its route now exports) and return the UPDATEs each needs.
    fn restage(&mut self, changes: &Changes) -> Vec<(IpAddr, BytesMut)> {
        let mut writes = Vec::new();
        for (addr, peer) in self.out.iter_mut() {
            let session = &peer.session;
            let interner = &mut self.interner;
            let (mut was_memo, mut now_memo) = (LastExport::default(), LastExport::default());
            for (prefix, old) in &changes.was {
                let was = was_memo.interned(*prefix, old, session, interner);
                let now = self.originated.get(prefix);
                let now = now.and_then(|o| now_memo.interned(*prefix, o, session, interner));
                peer.adj_out.stage(*prefix, was.as_ref(), now);
            }
            for prefix in &changes.added {
                let now = self.originated.get(prefix);
                let now = now.and_then(|o| now_memo.interned(*prefix, o, session, interner));
                peer.adj_out.stage(*prefix, None, now);
            }
            let mut buf = BytesMut::new();
            if peer
                .adj_out
                .flush(&UpdatePacker::new(session.codec), &mut buf)
                > 0
            {
                writes.push((*addr, buf));
            }
        }
        writes
    }

    /// A session reached Established: returns its initial UPDATEs, every originated route it can
    /// carry, followed by End-of-RIB for each negotiated family — in that order, so the peer
    /// never sees End-of-RIB before the whole table.
    pub fn peer_up(&mut self, session: PeerSession) -> BytesMut {
        let mut adj_out = AdjRibOut::default();
        let mut buf = BytesMut::new();
        announce_all(
            &self.originated,
            &mut self.interner,
            &session,
            None,
            &mut adj_out,
            &mut buf,
        );
        for family in &session.families {
            crate::wire::encode(
                &crate::wire::Message::Update(Update::end_of_rib(*family)),
                &session.codec,
                &mut buf,
            );
        }
        self.out
            .insert(session.address, OutPeer { session, adj_out });
        buf
    }

    /// The peer asked for a ROUTE-REFRESH of `family`: everything it was sent, again.
    pub fn refresh(&mut self, address: IpAddr, family: Family) -> BytesMut {
        let mut buf = BytesMut::new();
        if let Some(p) = self.out.get(&address) {
            announce_all(
                &self.originated,
                &mut self.interner,
                &p.session,
                Some(family),
                &mut AdjRibOut::default(),
                &mut buf,
            );
        }
        buf
    }

    /// What an Established peer has been sent (its Adj-RIB-Out), in prefix order; only
    /// `prefix`'s route if one is named. Computed from the originated routes: the routes of a
    /// run with equal attributes share one set.
    pub fn advertised(
        &self,
        address: &IpAddr,
        prefix: Option<Prefix>,
    ) -> Vec<(Prefix, SharedAttrs)> {
        let Some(peer) = self.out.get(address) else {
            return Vec::new();
        };
        let routes: Box<dyn Iterator<Item = (&Prefix, &Originated)>> = match prefix {
            Some(p) => Box::new(self.originated.get_key_value(&p).into_iter()),
            None => Box::new(self.originated.iter()),
        };
        let mut memo = LastExport::default();
        routes
            .filter_map(|(p, o)| {
                let attrs = memo.get(*p, o, SharedAttrs::new, &peer.session);
                attrs.map(|a| (*p, a))
            })
            .collect()
    }

    /// How many prefixes an Established peer has been sent, per family.
    pub fn advertised_counts(&self, address: &IpAddr) -> Option<FamilyCounts> {
        self.out.get(address).map(|p| p.adj_out.advertised())
    }
}

/// Originated routes that changed, as the RIB stages them for its peers: each prefix once.
#[derive(Debug, Default)]
struct Changes {
    /// Routes originated before the change (each still originated, changed, or gone).
    was: Vec<(Prefix, Originated)>,
    /// Prefixes not originated before the change.
    added: Vec<Prefix>,
}

/// The [`Originated`] of `route`: its Loc-RIB attribute set, interned once per run of routes with
/// equal attributes.
fn origin_of<'a>(
    route: &'a Route,
    memo: &mut LastAttrs<'a>,
    interner: &mut Interner,
) -> Originated {
    let attrs = memo
        .get(route, |r| Some(interner.intern(local_attrs(r))))
        .expect("an originated route always has local attributes");
    Originated {
        attrs,
        prepend: route.as_path_prepend,
    }
}

/// Put an originated route in the Loc-RIB.
fn upsert_local(loc: &mut super::LocRib, prefix: Prefix, origin: &Originated) {
    let attrs = origin.attrs.clone();
    let source = Source::Local;
    loc.upsert(prefix, Candidate { source, attrs });
}

/// Stage every originated route `session` can carry (of `family`, or all) as new in `adj_out`
/// and write the UPDATEs into `out`, one interned set per run of equal attributes.
fn announce_all(
    originated: &BTreeMap<Prefix, Originated>,
    interner: &mut Interner,
    session: &PeerSession,
    family: Option<Family>,
    adj_out: &mut AdjRibOut,
    out: &mut BytesMut,
) -> usize {
    let mut memo = LastExport::default();
    for (prefix, origin) in originated {
        if family.is_some_and(|f| f != prefix.family()) {
            continue;
        }
        let now = memo.interned(*prefix, origin, session, interner);
        adj_out.stage(*prefix, None, now);
    }
    adj_out.flush(&UpdatePacker::new(session.codec), out)
}

/// How many more prefixes of each family `new` holds than `old` (none for a family that
/// shrank): what the Loc-RIB has to make room for.
fn growth(old: &BTreeMap<Prefix, Originated>, new: &BTreeMap<Prefix, Originated>) -> FamilyCounts {
    // Prefixes sort IPv4 before IPv6, so each family is one range of the map.
    let v4 = |m: &BTreeMap<Prefix, Originated>| m.keys().take_while(|p| p.addr().is_ipv4()).count();
    let (old_v4, new_v4) = (v4(old), v4(new));
    FamilyCounts {
        ipv4: new_v4.saturating_sub(old_v4),
        ipv6: (new.len() - new_v4).saturating_sub(old.len() - old_v4),
    }
}
