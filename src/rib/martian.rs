//! Martian next hops: addresses a route can never be forwarded to, so the route is ignored.
//!
//! RFC 4271 §6.3: "If the NEXT_HOP attribute is semantically incorrect, the error SHOULD be
//! logged, and the route SHOULD be ignored. In this case, a NOTIFICATION message MUST NOT be
//! sent, and the connection MUST NOT be closed." It names the receiving speaker's own address
//! and (§5.1.3) a next hop that is not a unicast address. RFC 7606 §7.3 keeps this for NEXT_HOP
//! and §7.11 for the next hop of MP_REACH_NLRI; "ignored" is done as treat-as-withdraw
//! (RFC 7606 §2): a route the peer sent earlier for the same prefix is replaced by nothing, as
//! the peer meant to replace it.
//!
//! Pure: the caller passes the session's local addresses and does the logging and counting.
//! The check is on the address only; the wire codec has already refused a next hop of a wrong
//! length.
//!
//! What is martian here:
//!
//! | next hop                                        | reason                          |
//! |-------------------------------------------------|---------------------------------|
//! | 0.0.0.0/8, `::`                                 | unspecified address             |
//! | 127.0.0.0/8, `::1`                              | loopback address                |
//! | 224.0.0.0/4, ff00::/8                           | multicast address               |
//! | 255.255.255.255                                 | broadcast address               |
//! | 240.0.0.0/4 (class E)                           | reserved address (240.0.0.0/4)  |
//! | fe80::/10 as the only (16-octet) IPv6 next hop  | link-local address without an interface |
//! | the session's own local address                 | our own address                 |
//!
//! An IPv4-mapped IPv6 next hop (`::ffff:a.b.c.d`) is judged by its IPv4 address. A 32-octet
//! IPv6 next hop (RFC 2545: global, then link-local) is judged by its global address only:
//! the link-local one is there for peers on the same link and is fine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::{MpUnreach, Update};

/// Why `next_hop` can never be a next hop, whatever the session; `None` if it can be.
pub fn martian_reason(next_hop: IpAddr) -> Option<&'static str> {
    match next_hop {
        IpAddr::V4(a) => v4_reason(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(m) => v4_reason(m),
            None => v6_reason(a),
        },
    }
}

fn v4_reason(a: Ipv4Addr) -> Option<&'static str> {
    let first = a.octets()[0];
    if first == 0 {
        Some("unspecified address")
    } else if a.is_loopback() {
        Some("loopback address")
    } else if a.is_multicast() {
        Some("multicast address")
    } else if a.is_broadcast() {
        Some("broadcast address")
    } else if first >= 240 {
        Some("reserved address (240.0.0.0/4)")
    } else {
        None
    }
}

fn v6_reason(a: Ipv6Addr) -> Option<&'static str> {
    if a.is_unspecified() {
        Some("unspecified address")
    } else if a.is_loopback() {
        Some("loopback address")
    } else if a.is_multicast() {
        Some("multicast address")
    } else {
        None
    }
}

/// IPv6 link-local, fe80::/10.
fn is_link_local(a: IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// Why the next hop field `next_hops` (NEXT_HOP, or MP_REACH_NLRI's one or two addresses) makes
/// the routes it carries unusable on a session whose local addresses are `local`.
pub fn next_hop_reason(next_hops: &[IpAddr], local: &[IpAddr]) -> Option<&'static str> {
    let &global = next_hops.first()?;
    let unmapped = |a: IpAddr| match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    };
    martian_reason(global)
        .or_else(|| {
            (next_hops.len() == 1 && is_link_local(global))
                .then_some("link-local address without an interface")
        })
        .or_else(|| {
            local
                .iter()
                .any(|l| unmapped(*l) == unmapped(global))
                .then_some("our own address")
        })
}

/// Routes of one UPDATE ignored for their next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredRoutes {
    /// The next hop they came with (the global one for IPv6).
    pub next_hop: IpAddr,
    /// Why it is martian.
    pub reason: &'static str,
    /// How many prefixes were turned into withdrawals.
    pub routes: usize,
}

/// Turn the routes of `update` whose next hop is martian on a session with local addresses
/// `local` into withdrawals (RFC 7606 treat-as-withdraw), leaving the rest as it is: the IPv4
/// NLRI field goes by NEXT_HOP, MP_REACH_NLRI's prefixes by its own next hop. A NEXT_HOP in an
/// UPDATE without IPv4 NLRI is not looked at (RFC 4760 §3: the receiver ignores it). Returns
/// what was ignored, at most one entry per next hop field.
pub fn ignore_martian_routes(update: &mut Update, local: &[IpAddr]) -> Vec<IgnoredRoutes> {
    let mut ignored = Vec::new();
    let next_hop = update
        .attributes
        .as_ref()
        .and_then(|a| a.next_hop)
        .map(IpAddr::V4);
    if let Some(nh) = next_hop.filter(|_| !update.nlri.is_empty()) {
        if let Some(reason) = next_hop_reason(&[nh], local) {
            ignored.push(IgnoredRoutes {
                next_hop: nh,
                reason,
                routes: update.nlri.len(),
            });
            let nlri = std::mem::take(&mut update.nlri);
            update.withdrawn.extend(nlri);
        }
    }
    let Some(reach) = update.mp_reach.as_mut().filter(|r| !r.nlri.is_empty()) else {
        return ignored;
    };
    let Some(reason) = next_hop_reason(&reach.next_hops, local) else {
        return ignored;
    };
    ignored.push(IgnoredRoutes {
        next_hop: reach.next_hops[0],
        reason,
        routes: reach.nlri.len(),
    });
    let (family, nlri) = (reach.family, std::mem::take(&mut reach.nlri));
    match &mut update.mp_unreach {
        Some(unreach) if unreach.family == family => unreach.withdrawn.extend(nlri),
        // The withdrawn routes field holds IPv4 unicast only; a prefix carries its family, and
        // the RIB withdraws both lists alike.
        Some(_) => update.withdrawn.extend(nlri),
        None => {
            update.mp_unreach = Some(MpUnreach {
                family,
                withdrawn: nlri,
            })
        }
    }
    ignored
}
