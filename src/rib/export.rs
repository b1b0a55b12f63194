//! What an originated route looks like to one peer (RFC 4271 §5.1): eBGP prepends our AS and
//! sets next-hop self unless the route names a next hop; iBGP carries LOCAL_PREF.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::{Interner, PathAttrs, SharedAttrs, DEFAULT_LOCAL_PREF};
use crate::config::Route;
use crate::wire::{AsPath, Attributes, CodecContext, Family, Origin as OriginAttr, Prefix};

/// An Established session as the RIB sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSession {
    /// The peer's address (the RIB's key for the peer).
    pub address: IpAddr,
    /// Our AS on this session.
    pub local_as: u32,
    /// The peer's AS.
    pub remote_as: u32,
    /// The peer's BGP identifier.
    pub remote_id: Ipv4Addr,
    /// Families negotiated on the session.
    pub families: Vec<Family>,
    /// The session's codec context.
    pub codec: CodecContext,
    /// Our IPv4 address towards the peer, for next-hop self.
    pub local_v4: Option<Ipv4Addr>,
    /// Our IPv6 address towards the peer, for next-hop self.
    pub local_v6: Option<Ipv6Addr>,
}

impl PeerSession {
    /// True for an iBGP session.
    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.remote_as
    }
}

/// An originated route as the RIB keeps it, beside its prefix: the attribute set it has in
/// our own Loc-RIB ([`local_attrs`], interned) and how many extra copies of our AS it carries
/// to eBGP peers, the one thing of a [`Route`] that only export needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originated {
    /// Its Loc-RIB attributes; `next_hop` is the configured one, if any.
    pub attrs: SharedAttrs,
    /// Extra copies of our AS prepended towards eBGP peers.
    pub prepend: u8,
}

/// The attributes an originated route of `family` carries to `session`, or `None` when the
/// session cannot carry it (family not negotiated, or no next hop of the route's family).
pub fn export_local(
    family: Family,
    origin: &Originated,
    session: &PeerSession,
) -> Option<PathAttrs> {
    if !session.families.contains(&family) {
        return None;
    }
    let local = &origin.attrs.attrs;
    let next_hop = origin.attrs.next_hop.or(match family {
        Family::IPV4_UNICAST => session.local_v4.map(IpAddr::V4),
        _ => session.local_v6.map(IpAddr::V6),
    })?;
    let ibgp = session.is_ibgp();
    let as_path = if ibgp {
        AsPath::default()
    } else {
        let prepends = 1 + origin.prepend as usize;
        AsPath::default().prepended(session.local_as, prepends)
    };
    let attrs = Attributes {
        origin: Some(OriginAttr::Igp),
        as_path: Some(as_path),
        next_hop: match next_hop {
            IpAddr::V4(v4) if family == Family::IPV4_UNICAST => Some(v4),
            _ => None,
        },
        med: local.med,
        local_pref: ibgp.then(|| local.local_pref.unwrap_or(DEFAULT_LOCAL_PREF)),
        communities: local.communities.clone(),
        large_communities: local.large_communities.clone(),
        ..Attributes::default()
    };
    Some(PathAttrs {
        attrs,
        next_hop: Some(next_hop),
    })
}

/// The attributes of an originated route as it stands in our own Loc-RIB.
pub fn local_attrs(route: &Route) -> PathAttrs {
    PathAttrs {
        attrs: Attributes {
            origin: Some(OriginAttr::Igp),
            as_path: Some(AsPath::default()),
            med: route.med,
            local_pref: route.local_pref,
            communities: route.communities.clone(),
            large_communities: route.large_communities.clone(),
            ..Attributes::default()
        },
        next_hop: route.next_hop,
    }
}

/// Remembers the attribute set made for the last route, so a run of routes with the same
/// attributes (the usual case: a million prefixes, a handful of attribute sets, in prefix
/// order) builds and interns the set once rather than once per prefix.
#[derive(Debug, Default)]
pub struct LastAttrs<'a> {
    last: Option<(&'a Route, Option<SharedAttrs>)>,
}

impl<'a> LastAttrs<'a> {
    /// The set for `route`: the last one made if `route` has the same attributes as the last
    /// route asked about (everything but the prefix, whose family must match), else `make`'s.
    pub fn get(
        &mut self,
        route: &'a Route,
        make: impl FnOnce(&Route) -> Option<SharedAttrs>,
    ) -> Option<SharedAttrs> {
        if let Some((last, attrs)) = &self.last {
            if same_attributes(last, route) {
                return attrs.clone();
            }
        }
        let attrs = make(route);
        self.last = Some((route, attrs.clone()));
        attrs
    }
}

/// Equal in everything an attribute set is made from. Destructured, so that a field added to
/// [`Route`] cannot be forgotten here.
pub(super) fn same_attributes(a: &Route, b: &Route) -> bool {
    let Route {
        prefix,
        next_hop,
        communities,
        large_communities,
        med,
        local_pref,
        as_path_prepend,
    } = a;
    prefix.family() == b.prefix.family()
        && *next_hop == b.next_hop
        && *med == b.med
        && *local_pref == b.local_pref
        && *as_path_prepend == b.as_path_prepend
        && *communities == b.communities
        && *large_communities == b.large_communities
}

/// Remembers the export made for the last route, so a run of routes with the same [`Originated`]
/// (one interned set, so a pointer comparison) and family exports and interns once.
#[derive(Debug, Default)]
pub struct LastExport {
    last: Option<(Family, Originated, Option<SharedAttrs>)>,
}

impl LastExport {
    /// The export of `origin` for `prefix` to `session`: the last one made if the origin and
    /// family are the last ones asked about, else a new one shared through `share`.
    pub fn get(
        &mut self,
        prefix: Prefix,
        origin: &Originated,
        share: impl FnOnce(PathAttrs) -> SharedAttrs,
        session: &PeerSession,
    ) -> Option<SharedAttrs> {
        let family = prefix.family();
        if let Some((f, o, attrs)) = &self.last {
            if *f == family && o.prepend == origin.prepend && Arc::ptr_eq(&o.attrs, &origin.attrs) {
                return attrs.clone();
            }
        }
        let attrs = export_local(family, origin, session).map(share);
        self.last = Some((family, origin.clone(), attrs.clone()));
        attrs
    }

    /// [`get`](Self::get), the export interned in `interner` (so equal exports are one pointer).
    pub fn interned(
        &mut self,
        prefix: Prefix,
        origin: &Originated,
        session: &PeerSession,
        interner: &mut Interner,
    ) -> Option<SharedAttrs> {
        self.get(prefix, origin, |a| interner.intern(a), session)
    }
}
