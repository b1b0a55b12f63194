//! The BGP decision process (RFC 4271 §9.1.2), as a comparison of two candidate routes.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::SharedAttrs;
use crate::wire::Origin;

/// Where a Loc-RIB candidate came from.
///
/// A peer is named through one shared [`PeerRef`] per session (the RIB hands them out), so a
/// candidate is two pointers: 16 bytes, where a `PeerRef` inline made it 32, in a table with a
/// candidate for every prefix of a full table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// Originated by this speaker (configuration or API).
    Local,
    /// Learned from a peer.
    Peer(Arc<PeerRef>),
}

/// A source's identity alone, what a removal names: a peer's identifier may change between
/// sessions; its address is its identity here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceId {
    /// Originated by this speaker.
    Local,
    /// Learned from the peer at this address.
    Peer(IpAddr),
}

impl Source {
    /// Its identity.
    pub fn id(&self) -> SourceId {
        match self {
            Source::Local => SourceId::Local,
            Source::Peer(p) => SourceId::Peer(p.address),
        }
    }

    /// The peer it was learned from, if it was.
    pub fn peer(&self) -> Option<&PeerRef> {
        match self {
            Source::Local => None,
            Source::Peer(p) => Some(p),
        }
    }
}

/// What the decision process needs to know about the peer a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerRef {
    /// The peer's address (the RIB's key for it).
    pub address: IpAddr,
    /// Its BGP identifier.
    pub router_id: Ipv4Addr,
    /// Learned over iBGP.
    pub ibgp: bool,
}

impl PeerRef {
    /// A reference by address alone, for a peer whose identifier is not known (routes restored
    /// from a snapshot).
    pub fn of(address: IpAddr) -> PeerRef {
        PeerRef {
            address,
            router_id: Ipv4Addr::UNSPECIFIED,
            ibgp: false,
        }
    }
}

/// One route for a prefix in the Loc-RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its origin.
    pub source: Source,
    /// Its attributes.
    pub attrs: SharedAttrs,
}

/// LOCAL_PREF assumed when a route carries none (eBGP-learned, or an iBGP peer that omitted it).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Compare two candidates for the same prefix: `Less` means `a` is preferred.
///
/// RFC 4271 §9.1.2.2 in order, with locally originated routes first (as every implementation
/// does) and long-lived stale routes last (RFC 9494 §4.3): highest LOCAL_PREF, shortest AS_PATH (an AS_SET counts 1), lowest ORIGIN, lowest MED
/// when both come from the same neighbouring AS, eBGP over iBGP, lowest BGP identifier, lowest
/// peer address. (Interior cost, step e, is equal for every route here: no IGP.)
pub fn compare(a: &Candidate, b: &Candidate) -> Ordering {
    compare_until_tie_break(a, b).then_with(|| match (&a.source, &b.source) {
        (Source::Peer(pa), Source::Peer(pb)) => u32::from(pa.router_id)
            .cmp(&u32::from(pb.router_id))
            .then_with(|| pa.address.cmp(&pb.address)),
        _ => Ordering::Equal,
    })
}

/// True if `a` and `b` are equally good for multipath (ECMP): equal through every step of
/// [`compare`] before its final tie-breakers (BGP identifier, peer address) — the same
/// LLGR staleness, LOCAL_PREF, AS_PATH length, ORIGIN, MED when comparable (same neighbouring
/// AS) and eBGP/iBGP. The rule of BIRD's `merge paths` and, with `as-path multipath-relax`,
/// FRR's `maximum-paths`. Two learned routes only: an originated route is never multipath.
pub fn multipath_equal(a: &Candidate, b: &Candidate) -> bool {
    matches!((&a.source, &b.source), (Source::Peer(_), Source::Peer(_)))
        && compare_until_tie_break(a, b).is_eq()
}

/// [`compare`] without its final tie-breakers.
fn compare_until_tie_break(a: &Candidate, b: &Candidate) -> Ordering {
    let (pa, pb) = match (&a.source, &b.source) {
        (Source::Local, Source::Local) => return Ordering::Equal,
        (Source::Local, _) => return Ordering::Less,
        (_, Source::Local) => return Ordering::Greater,
        (Source::Peer(pa), Source::Peer(pb)) => (pa, pb),
    };
    let (x, y) = (&a.attrs.attrs, &b.attrs.attrs);
    let llgr_stale = |attrs: &crate::wire::Attributes| {
        attrs
            .communities
            .contains(&crate::wire::Community::LLGR_STALE)
    };
    let by_llgr = llgr_stale(x).cmp(&llgr_stale(y));
    if by_llgr.is_ne() {
        return by_llgr;
    }
    let lp = |attrs: &crate::wire::Attributes| attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    let path_len =
        |attrs: &crate::wire::Attributes| attrs.as_path.as_ref().map_or(0, |p| p.path_len());
    let origin = |attrs: &crate::wire::Attributes| attrs.origin.unwrap_or(Origin::Incomplete);
    lp(y)
        .cmp(&lp(x))
        .then_with(|| path_len(x).cmp(&path_len(y)))
        .then_with(|| origin(x).cmp(&origin(y)))
        .then_with(|| {
            let neighbour =
                |attrs: &crate::wire::Attributes| attrs.as_path.as_ref().and_then(|p| p.first_as());
            if neighbour(x) == neighbour(y) {
                x.med.unwrap_or(0).cmp(&y.med.unwrap_or(0))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| pa.ibgp.cmp(&pb.ibgp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::PathAttrs;
    use crate::wire::{AsPath, AsSegment, Attributes, SegmentType};
    use std::sync::Arc;

    fn peer(last: u8, ibgp: bool) -> Source {
        Source::Peer(Arc::new(PeerRef {
            address: IpAddr::from([198, 18, 0, last]),
            router_id: Ipv4Addr::new(198, 18, 0, last),
            ibgp,
        }))
    }

    fn cand(source: Source, path: &[u32], f: impl FnOnce(&mut Attributes)) -> Candidate {
        let mut attrs = Attributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath {
                segments: vec![AsSegment {
                    kind: SegmentType::AsSequence,
                    asns: path.to_vec(),
                }],
            }),
            ..Attributes::default()
        };
        f(&mut attrs);
        Candidate {
            source,
            attrs: Arc::new(PathAttrs {
                attrs,
                next_hop: None,
            }),
        }
    }

    #[test]
    fn local_route_beats_any_learned_route() {
        let local = cand(Source::Local, &[], |_| {});
        let learned = cand(peer(2, false), &[], |a| a.local_pref = Some(1000));
        assert_eq!(compare(&local, &learned), Ordering::Less);
    }

    #[test]
    fn higher_local_pref_wins_before_path_length() {
        let a = cand(peer(2, true), &[1, 2, 3], |a| a.local_pref = Some(200));
        let b = cand(peer(3, true), &[1], |_| {});
        assert_eq!(compare(&a, &b), Ordering::Less);
    }

    #[test]
    fn shorter_as_path_wins() {
        let a = cand(peer(2, false), &[1, 2], |_| {});
        let b = cand(peer(3, false), &[1], |_| {});
        assert_eq!(compare(&a, &b), Ordering::Greater);
    }

    #[test]
    fn lower_origin_wins() {
        let a = cand(peer(2, false), &[1], |a| {
            a.origin = Some(Origin::Incomplete)
        });
        let b = cand(peer(3, false), &[1], |_| {});
        assert_eq!(compare(&a, &b), Ordering::Greater);
    }

    #[test]
    fn med_compared_only_within_the_same_neighbour_as() {
        let a = cand(peer(2, false), &[7], |a| a.med = Some(50));
        let b = cand(peer(3, false), &[7], |a| a.med = Some(10));
        assert_eq!(compare(&a, &b), Ordering::Greater);
        let c = cand(peer(2, false), &[8], |a| a.med = Some(50));
        // Different neighbour AS: MED ignored, falls through to the router id.
        assert_eq!(compare(&c, &b), Ordering::Less);
    }

    #[test]
    fn long_lived_stale_route_loses_to_a_longer_path() {
        let stale = cand(peer(2, false), &[7], |a| {
            a.communities.push(crate::wire::Community::LLGR_STALE)
        });
        let fresh = cand(peer(3, false), &[7, 8, 9], |_| {});
        assert_eq!(compare(&stale, &fresh), Ordering::Greater);
    }

    #[test]
    fn ebgp_beats_ibgp() {
        let a = cand(peer(2, true), &[7], |_| {});
        let b = cand(peer(3, false), &[7], |_| {});
        assert_eq!(compare(&a, &b), Ordering::Greater);
    }

    #[test]
    fn lowest_router_id_breaks_the_tie() {
        let a = cand(peer(2, false), &[7], |_| {});
        let b = cand(peer(3, false), &[7], |_| {});
        assert_eq!(compare(&a, &b), Ordering::Less);
    }

    #[test]
    fn multipath_equal_means_equal_up_to_the_tie_breakers() {
        let a = cand(peer(2, false), &[7], |_| {});
        // Another neighbour AS, same length: equal (MED not comparable, not looked at).
        let b = cand(peer(3, false), &[8], |a| a.med = Some(50));
        assert!(multipath_equal(&a, &b) && multipath_equal(&b, &a));
        // Same neighbour AS, higher MED: worse.
        let c = cand(peer(4, false), &[7], |a| a.med = Some(50));
        assert!(!multipath_equal(&a, &c));
        assert!(
            !multipath_equal(&a, &cand(peer(4, true), &[7], |_| {})),
            "iBGP"
        );
        assert!(
            !multipath_equal(&a, &cand(peer(4, false), &[7, 7], |_| {})),
            "path length"
        );
        assert!(!multipath_equal(
            &a,
            &cand(peer(4, false), &[7], |a| a.local_pref = Some(200))
        ));
        assert!(!multipath_equal(
            &a,
            &cand(peer(4, false), &[7], |a| a.origin = Some(Origin::Egp))
        ));
        let local = cand(Source::Local, &[], |_| {});
        assert!(!multipath_equal(&local, &local.clone()));
    }
}
