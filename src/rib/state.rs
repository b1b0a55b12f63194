//! [`Rib`]: the three RIBs together, and the operations the speaker performs on them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use super::adj_in::{is_stale, learn, unlearn, InPeer};

const LOOKAHEAD: usize = 32;
use super::{
    AdjRibIn, AdjRibOut, BestPathChange, Candidate, Edit, Interner, LocRib, Originated, PathAttrs,
    PeerRef, PeerSession, SharedAttrs, SourceId,
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
    /// What each peer that sent routes has besides its Loc-RIB candidates (`adj_in.rs`).
    inbound: HashMap<IpAddr, InPeer>,
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
            inbound: HashMap::new(),
            out: HashMap::new(),
            loc: LocRib::default(),
        }
    }

    /// A session went down without graceful restart: forget what it was sent and everything
    /// it announced.
    pub fn peer_down(&mut self, address: IpAddr) {
        self.out.remove(&address);
        if self.inbound.remove(&address).is_some() {
            for family in FAMILIES {
                self.loc
                    .edit_from(family, SourceId::Peer(address), |_, _| Edit::Remove);
            }
        }
        self.interner.gc();
    }

    /// A session went down gracefully (RFC 4724 §4.2): keep its routes of `families` as stale
    /// (still used for forwarding and still in the Loc-RIB), forget the rest. Returns how many
    /// routes were kept.
    pub fn mark_stale(&mut self, address: IpAddr, families: &[Family]) -> usize {
        self.out.remove(&address);
        let Some(inbound) = self.inbound.get_mut(&address) else {
            return 0;
        };
        // Its routes point at the session's reference: forgetting it makes them all stale.
        inbound.session = None;
        let received = AdjRibIn::new(address, inbound, &self.loc).received();
        let kept = families.iter().map(|f| received.get(*f)).sum();
        for family in FAMILIES.into_iter().filter(|f| !families.contains(f)) {
            self.remove_where(address, family, |_, _| true);
        }
        kept
    }

    /// Delete the routes of `families` from `address` that are still stale (End-of-RIB
    /// received, or the restart timer expired). Returns how many were deleted.
    pub fn purge_stale(&mut self, address: IpAddr, families: &[Family]) -> usize {
        families
            .iter()
            .map(|f| self.remove_where(address, *f, |stale, _| stale))
            .sum()
    }

    /// RFC 9494 §4.3: the restart time passed and long-lived GR applies: stale routes of
    /// `families` get the LLGR_STALE community (and so lose to every other route), those
    /// carrying NO_LLGR are deleted. Returns (kept, deleted).
    pub fn long_lived_stale(&mut self, address: IpAddr, families: &[Family]) -> (usize, usize) {
        let mut deleted = 0;
        for family in families {
            deleted += self.remove_where(address, *family, |stale, c| {
                stale && c.attrs.attrs.communities.contains(&Community::NO_LLGR)
            });
        }
        let Some(inbound) = self.inbound.get_mut(&address) else {
            return (0, deleted);
        };
        let (session, interner) = (inbound.session.clone(), &mut self.interner);
        let mut kept = 0;
        let mut depreference = |c: &mut Candidate| {
            let communities = &c.attrs.attrs.communities;
            if !is_stale(session.as_ref(), c) || communities.contains(&Community::LLGR_STALE) {
                return Edit::Keep;
            }
            let mut attrs = (*c.attrs).clone();
            attrs.attrs.communities.push(Community::LLGR_STALE);
            c.attrs = interner.intern(attrs);
            kept += 1;
            Edit::Changed
        };
        for family in families {
            self.loc
                .edit_from(*family, SourceId::Peer(address), |_, c| depreference(c));
            for (_, c) in inbound.rejected.iter_family_mut(*family) {
                depreference(c);
            }
        }
        (kept, deleted)
    }

    /// Remove the routes of `family` from `address` for which `doomed(stale, route)` holds;
    /// returns how many.
    fn remove_where(
        &mut self,
        address: IpAddr,
        family: Family,
        doomed: impl Fn(bool, &Candidate) -> bool,
    ) -> usize {
        let Some(inbound) = self.inbound.get_mut(&address) else {
            return 0;
        };
        let session = inbound.session.clone();
        let doomed = |c: &Candidate| doomed(is_stale(session.as_ref(), c), c);
        let rejected = inbound.rejected.retain_family(family, |_, c| !doomed(c));
        let accepted = self.loc.edit_from(family, SourceId::Peer(address), |_, c| {
            if doomed(c) {
                Edit::Remove
            } else {
                Edit::Keep
            }
        });
        if let Some(count) = inbound.accepted.family_slot(family) {
            *count -= accepted;
        }
        rejected + accepted
    }

    /// Apply an UPDATE received from `peer` (RFC 4271 §9, RFC 7606 treat-as-withdraw).
    pub fn apply_update(&mut self, peer: PeerRef, update: Update) -> UpdateOutcome {
        let address = peer.address;
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
        let inbound = self.inbound.entry(address).or_default();
        let peer = inbound.session(peer);
        let (loc, interner, local_as) = (&mut self.loc, &mut self.interner, self.local_as);
        let unreach = mp_unreach.map(|u| u.withdrawn).unwrap_or_default();
        let withdrawn: Vec<&Prefix> = withdrawn.iter().chain(unreach.iter()).collect();
        for (i, prefix) in withdrawn.iter().enumerate() {
            if let Some(ahead) = withdrawn.get(i + LOOKAHEAD) {
                loc.prefetch(ahead);
            }
            outcome.withdrawn += usize::from(unlearn(loc, inbound, address, prefix));
        }
        let mut attrs = attributes.unwrap_or_default();
        // RFC 6793 §4.2.3: a 2-octet peer's AS4_PATH rebuilds the real path.
        attrs.merge_as4();
        let mut announce = |prefixes: Vec<Prefix>, next_hop: Option<IpAddr>| {
            if withdraw_all {
                for prefix in &prefixes {
                    outcome.withdrawn += usize::from(unlearn(loc, inbound, address, prefix));
                }
                return;
            }
            if prefixes.is_empty() {
                return;
            }
            let shared = interner.intern(PathAttrs {
                attrs: attrs.clone(),
                next_hop,
            });
            let accepted = !shared
                .attrs
                .as_path
                .as_ref()
                .is_some_and(|p| p.contains(local_as));
            outcome.announced += prefixes.len();
            let mut replaced = Vec::new();
            for (i, prefix) in prefixes.iter().enumerate() {
                if let Some(ahead) = prefixes.get(i + LOOKAHEAD) {
                    loc.prefetch(ahead);
                }
                replaced.extend(learn(
                    loc,
                    inbound,
                    &peer,
                    *prefix,
                    shared.clone(),
                    accepted,
                ));
            }
            // Dropped together, their reference counts do not wait for the table's misses.
            drop(replaced);
        };
        let v4_next_hop = attrs.next_hop.map(IpAddr::V4);
        announce(nlri, v4_next_hop);
        if let Some(reach) = mp_reach {
            let next_hop = reach.next_hops.first().copied();
            announce(reach.nlri, next_hop);
        }
        outcome
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
        self.restore_stale_many(peer, &[prefix], attrs);
    }

    /// [`restore_stale`](Self::restore_stale) for routes sharing one attribute set.
    pub fn restore_stale_many(&mut self, peer: IpAddr, prefixes: &[Prefix], attrs: PathAttrs) {
        let attrs = self.intern(attrs);
        let accepted = !attrs
            .attrs
            .as_path
            .as_ref()
            .is_some_and(|p| p.contains(self.local_as()));
        let inbound = self.inbound.entry(peer).or_default();
        let restored = inbound
            .restored
            .get_or_insert_with(|| Arc::new(PeerRef::of(peer)))
            .clone();
        let mut replaced = Vec::new();
        for (i, prefix) in prefixes.iter().enumerate() {
            if let Some(ahead) = prefixes.get(i + LOOKAHEAD) {
                self.loc.prefetch(ahead);
            }
            let route = learn(
                &mut self.loc,
                inbound,
                &restored,
                *prefix,
                attrs.clone(),
                accepted,
            );
            replaced.extend(route);
        }
        drop(replaced);
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

    /// The Adj-RIB-In of a peer.
    pub fn adj_in(&self, address: &IpAddr) -> Option<AdjRibIn<'_>> {
        let inbound = self.inbound.get(address)?;
        Some(AdjRibIn::new(*address, inbound, &self.loc))
    }

    /// Every peer with an Adj-RIB-In.
    pub fn adj_ins(&self) -> impl Iterator<Item = (&IpAddr, AdjRibIn<'_>)> {
        self.inbound
            .iter()
            .map(|(a, inbound)| (a, AdjRibIn::new(*a, inbound, &self.loc)))
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

/// The families a peer's routes are walked in.
const FAMILIES: [Family; 2] = [Family::IPV4_UNICAST, Family::IPV6_UNICAST];
