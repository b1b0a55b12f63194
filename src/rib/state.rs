//! [`Rib`]: the three RIBs together, and the operations the speaker performs on them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use super::{
    AdjRibIn, AdjRibOut, BestPathChange, Candidate, InRoute, Interner, LocRib, Originated,
    PathAttrs, PeerRef, PeerSession, SharedAttrs, Source, SourceId,
};
use crate::wire::{Community, Family, Prefix, Update};

/// An Established peer's outbound side.
#[derive(Debug)]
pub(super) struct OutPeer {
    pub(super) session: PeerSession,
    pub(super) adj_out: AdjRibOut,
}

/// What applying one received UPDATE did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Prefixes announced (accepted or not).
    pub announced: usize,
    /// Prefixes withdrawn (including treat-as-withdraw).
    pub withdrawn: usize,
    /// The UPDATE was an End-of-RIB marker for this family.
    pub end_of_rib: Option<Family>,
}

/// Adj-RIB-In per peer, the Loc-RIB, Adj-RIB-Out per Established peer, and the originated routes.
#[derive(Debug)]
pub struct Rib {
    local_as: u32,
    pub(super) interner: Interner,
    /// The originated routes (`originate.rs`).
    pub(super) originated: BTreeMap<Prefix, Originated>,
    adj_in: HashMap<IpAddr, AdjRibIn>,
    /// The shared reference of each peer that sent routes (see `shared_peer`).
    peers: HashMap<IpAddr, Arc<PeerRef>>,
    /// Established peers: what each can be sent, and its counts.
    pub(super) out: HashMap<IpAddr, OutPeer>,
    pub(super) loc: LocRib,
}

impl Rib {
    /// An empty RIB for a speaker in `local_as`.
    pub fn new(local_as: u32) -> Rib {
        Rib {
            local_as,
            interner: Interner::default(),
            originated: BTreeMap::new(),
            adj_in: HashMap::new(),
            peers: HashMap::new(),
            out: HashMap::new(),
            loc: LocRib::default(),
        }
    }

    /// A session went down without graceful restart: forget what it was sent and everything
    /// it announced.
    pub fn peer_down(&mut self, address: IpAddr) {
        self.out.remove(&address);
        self.peers.remove(&address);
        if let Some(adj_in) = self.adj_in.remove(&address) {
            for (prefix, route) in adj_in.iter() {
                if route.accepted {
                    self.loc.remove(&prefix, SourceId::Peer(address));
                }
            }
        }
        self.interner.gc();
    }

    /// A session went down gracefully (RFC 4724 §4.2): keep its routes of `families` as stale
    /// (still used for forwarding and still in the Loc-RIB), forget the rest. Returns how many
    /// routes were kept.
    pub fn mark_stale(&mut self, address: IpAddr, families: &[Family]) -> usize {
        self.out.remove(&address);
        let Some(adj_in) = self.adj_in.get_mut(&address) else {
            return 0;
        };
        let kept = families.iter().map(|f| adj_in.mark_stale(*f)).sum();
        let others: Vec<Family> = [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
            .into_iter()
            .filter(|f| !families.contains(f))
            .collect();
        for family in others {
            self.remove_where(address, family, |_| true);
        }
        kept
    }

    /// Delete the routes of `families` from `address` that are still stale (End-of-RIB
    /// received, or the restart timer expired). Returns how many were deleted.
    pub fn purge_stale(&mut self, address: IpAddr, families: &[Family]) -> usize {
        families
            .iter()
            .map(|f| self.remove_where(address, *f, |r| r.stale))
            .sum()
    }

    /// RFC 9494 §4.3: the restart time passed and long-lived GR applies: stale routes of
    /// `families` get the LLGR_STALE community (and so lose to every other route), those
    /// carrying NO_LLGR are deleted. Returns (kept, deleted).
    pub fn long_lived_stale(&mut self, address: IpAddr, families: &[Family]) -> (usize, usize) {
        let mut deleted = 0;
        for family in families {
            deleted += self.remove_where(address, *family, |r| {
                r.stale && r.attrs.attrs.communities.contains(&Community::NO_LLGR)
            });
        }
        let Some(adj_in) = self.adj_in.get_mut(&address) else {
            return (0, deleted);
        };
        let mut kept = 0;
        let stale: Vec<Prefix> = families
            .iter()
            .flat_map(|f| adj_in.stale_prefixes(*f))
            .collect();
        for prefix in stale {
            let Some(route) = adj_in.get(&prefix).cloned() else {
                continue;
            };
            if route
                .attrs
                .attrs
                .communities
                .contains(&Community::LLGR_STALE)
            {
                continue;
            }
            let mut attrs = (*route.attrs).clone();
            attrs.attrs.communities.push(Community::LLGR_STALE);
            let attrs = self.interner.intern(attrs);
            adj_in.insert(
                prefix,
                InRoute {
                    attrs: attrs.clone(),
                    ..route
                },
            );
            if route.accepted {
                let me = SourceId::Peer(address);
                let known = self
                    .loc
                    .candidates(&prefix)
                    .iter()
                    .find(|c| c.source.id() == me);
                let source = match known.map(|c| c.source.clone()) {
                    Some(source) => source,
                    None => Source::Peer(shared_peer(&mut self.peers, PeerRef::of(address))),
                };
                self.loc.upsert(prefix, Candidate { source, attrs });
            }
            kept += 1;
        }
        (kept, deleted)
    }

    /// Remove the routes of `family` from `address` for which `pred` holds.
    fn remove_where(
        &mut self,
        address: IpAddr,
        family: Family,
        pred: impl Fn(&InRoute) -> bool,
    ) -> usize {
        let Some(adj_in) = self.adj_in.get_mut(&address) else {
            return 0;
        };
        let doomed: Vec<Prefix> = adj_in
            .iter_family(family)
            .filter(|(_, r)| pred(r))
            .map(|(p, _)| p)
            .collect();
        for prefix in &doomed {
            if adj_in.remove(prefix).is_some_and(|r| r.accepted) {
                self.loc.remove(prefix, SourceId::Peer(address));
            }
        }
        doomed.len()
    }

    /// Apply an UPDATE received from `peer` (RFC 4271 §9, RFC 7606 treat-as-withdraw).
    pub fn apply_update(&mut self, peer: PeerRef, update: Update) -> UpdateOutcome {
        let peer = self.shared_peer(peer);
        let peer = &peer;
        let mut outcome = UpdateOutcome {
            end_of_rib: update.as_end_of_rib(),
            ..UpdateOutcome::default()
        };
        if outcome.end_of_rib.is_some() {
            return outcome;
        }
        let withdraw_all = update.errors.treat_as_withdraw();
        let Update {
            withdrawn,
            attributes,
            mp_reach,
            mp_unreach,
            nlri,
            ..
        } = update;
        let unreach = mp_unreach.map(|u| u.withdrawn).unwrap_or_default();
        for prefix in withdrawn.iter().chain(unreach.iter()) {
            outcome.withdrawn += self.withdraw(peer, prefix);
        }
        let mut attrs = attributes.unwrap_or_default();
        // RFC 6793 §4.2.3: a 2-octet peer's AS4_PATH rebuilds the real path.
        attrs.merge_as4();
        let mut announce = |rib: &mut Rib, prefixes: Vec<Prefix>, next_hop: Option<IpAddr>| {
            if withdraw_all {
                for prefix in &prefixes {
                    outcome.withdrawn += rib.withdraw(peer, prefix);
                }
                return;
            }
            if prefixes.is_empty() {
                return;
            }
            let shared = rib.interner.intern(PathAttrs {
                attrs: attrs.clone(),
                next_hop,
            });
            let accepted = !shared
                .attrs
                .as_path
                .as_ref()
                .is_some_and(|p| p.contains(rib.local_as));
            for prefix in prefixes {
                rib.announce(peer, prefix, shared.clone(), accepted);
                outcome.announced += 1;
            }
        };
        let v4_next_hop = attrs.next_hop.map(IpAddr::V4);
        announce(self, nlri, v4_next_hop);
        if let Some(reach) = mp_reach {
            let next_hop = reach.next_hops.first().copied();
            announce(self, reach.nlri, next_hop);
        }
        outcome
    }

    fn announce(
        &mut self,
        peer: &Arc<PeerRef>,
        prefix: Prefix,
        attrs: SharedAttrs,
        accepted: bool,
    ) {
        self.insert_learned(
            peer,
            prefix,
            InRoute {
                attrs,
                accepted,
                stale: false,
            },
        );
    }

    /// Put a learned route in the peer's Adj-RIB-In and, if accepted, in the Loc-RIB.
    pub(super) fn insert_learned(&mut self, peer: &Arc<PeerRef>, prefix: Prefix, route: InRoute) {
        let (attrs, accepted) = (route.attrs.clone(), route.accepted);
        self.adj_in
            .entry(peer.address)
            .or_default()
            .insert(prefix, route);
        if accepted {
            let source = Source::Peer(peer.clone());
            self.loc.upsert(prefix, Candidate { source, attrs });
        } else {
            self.loc.remove(&prefix, SourceId::Peer(peer.address));
        }
    }

    fn shared_peer(&mut self, peer: PeerRef) -> Arc<PeerRef> {
        shared_peer(&mut self.peers, peer)
    }

    /// The shared copy of an attribute set.
    pub(super) fn intern(&mut self, attrs: PathAttrs) -> SharedAttrs {
        self.interner.intern(attrs)
    }

    /// Take one route a peer had sent a previous speaker, as stale: still usable, still in the
    /// Loc-RIB, until that peer's End-of-RIB on the new session (or the selection deferral time)
    /// says what is still valid (RFC 4724 §4.1: the restarting speaker defers its selection).
    /// A route whose AS_PATH holds our AS is kept but not accepted, as when it was learned.
    pub fn restore_stale(&mut self, peer: IpAddr, prefix: Prefix, attrs: PathAttrs) {
        let attrs = self.intern(attrs);
        let accepted = !attrs
            .attrs
            .as_path
            .as_ref()
            .is_some_and(|p| p.contains(self.local_as()));
        let peer = self.shared_peer(PeerRef::of(peer));
        self.insert_learned(
            &peer,
            prefix,
            InRoute {
                attrs,
                accepted,
                stale: true,
            },
        );
    }

    /// Start or stop keeping best-path changes (see [`take_best_changes`](Self::take_best_changes)).
    pub fn track_best_changes(&mut self, on: bool) {
        self.loc.track_changes(on);
    }

    /// Every change of a prefix's best route since the last call, whatever caused it: an
    /// UPDATE, a withdrawal, a peer going down, stale routes purged or depreferenced, originated
    /// routes replaced. The one seam the kernel route installer and metrics listen on.
    pub fn take_best_changes(&mut self) -> Vec<BestPathChange> {
        self.loc.take_changes()
    }

    /// Our AS.
    pub fn local_as(&self) -> u32 {
        self.local_as
    }

    fn withdraw(&mut self, peer: &PeerRef, prefix: &Prefix) -> usize {
        let Some(adj_in) = self.adj_in.get_mut(&peer.address) else {
            return 0;
        };
        match adj_in.remove(prefix) {
            Some(_) => {
                self.loc.remove(prefix, SourceId::Peer(peer.address));
                1
            }
            None => 0,
        }
    }

    /// The Adj-RIB-In of a peer.
    pub fn adj_in(&self, address: &IpAddr) -> Option<&AdjRibIn> {
        self.adj_in.get(address)
    }

    /// Every peer with an Adj-RIB-In.
    pub fn adj_ins(&self) -> impl Iterator<Item = (&IpAddr, &AdjRibIn)> {
        self.adj_in.iter()
    }

    /// Every Established peer.
    pub fn out_peers(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.out.keys().copied()
    }

    /// The Loc-RIB.
    pub fn loc(&self) -> &LocRib {
        &self.loc
    }

    /// Distinct attribute sets held.
    pub fn attribute_sets(&self) -> usize {
        self.interner.len()
    }
}

/// The one shared [`PeerRef`] equal to `peer` in `peers`: every candidate from a session points
/// at it. A peer whose identifier changed (a new session) gets a new one; candidates of the
/// old one keep theirs until replaced.
fn shared_peer(peers: &mut HashMap<IpAddr, Arc<PeerRef>>, peer: PeerRef) -> Arc<PeerRef> {
    match peers.get(&peer.address) {
        Some(shared) if **shared == peer => shared.clone(),
        _ => {
            let shared = Arc::new(peer);
            peers.insert(peer.address, shared.clone());
            shared
        }
    }
}
