//! RIB behaviour: learning, withdrawing, exporting, and the UPDATEs a change produces.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::BytesMut;

use super::*;
use crate::config::Route;
use crate::wire::{
    decode, frame_len, AsPath, AsSegment, AttrError, AttrErrorAction, Attributes, CodecContext,
    Community, Family, Message, MpReach, Origin, Prefix, SegmentType, Update, UpdateErrors,
};

pub(super) const LOCAL_AS: u32 = 65001;

pub(super) fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn peer(last: u8) -> PeerRef {
    PeerRef {
        address: IpAddr::from([198, 18, 0, last]),
        router_id: Ipv4Addr::new(198, 18, 0, last),
        ibgp: false,
    }
}

pub(super) fn route(prefix: &str) -> Route {
    Route {
        prefix: p(prefix),
        next_hop: None,
        communities: vec![Community(65001 << 16 | 100)],
        large_communities: vec![],
        med: Some(10),
        local_pref: Some(200),
        as_path_prepend: 0,
    }
}

pub(super) fn session(remote_as: u32, families: Vec<Family>) -> PeerSession {
    PeerSession {
        address: IpAddr::from([198, 18, 0, 2]),
        local_as: LOCAL_AS,
        remote_as,
        remote_id: Ipv4Addr::new(198, 18, 0, 2),
        families,
        codec: CodecContext {
            four_octet_as: true,
            extended_message: false,
        },
        local_v4: Some(Ipv4Addr::new(198, 18, 0, 1)),
        local_v6: Some("2001:db8::1".parse().unwrap()),
    }
}

/// What an originated `route` exports to `session`.
fn export(route: &Route, session: &PeerSession) -> Option<PathAttrs> {
    let origin = Originated {
        attrs: std::sync::Arc::new(local_attrs(route)),
        prepend: route.as_path_prepend,
    };
    export_local(route.prefix.family(), &origin, session)
}

fn learned_attrs(path: &[u32]) -> Attributes {
    Attributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::AsSequence,
                asns: path.to_vec(),
            }],
        }),
        next_hop: Some(Ipv4Addr::new(198, 18, 0, 2)),
        ..Attributes::default()
    }
}

fn announce(prefixes: &[&str], path: &[u32]) -> Update {
    Update {
        attributes: Some(learned_attrs(path)),
        nlri: prefixes.iter().map(|s| p(s)).collect(),
        ..Update::default()
    }
}

/// Split a buffer of encoded messages back into messages.
pub(super) fn messages(buf: &BytesMut, ctx: &CodecContext) -> Vec<Message> {
    let mut rest = &buf[..];
    let mut out = Vec::new();
    while let Some(len) = frame_len(rest, ctx).unwrap() {
        out.push(decode(&rest[..len], ctx).unwrap());
        rest = &rest[len..];
    }
    assert!(rest.is_empty());
    out
}

#[test]
fn learned_route_enters_adj_in_and_loc_rib_and_leaves_on_withdraw() {
    let mut rib = Rib::new(LOCAL_AS);
    let out = rib.apply_update(peer(2), announce(&["203.0.113.0/24"], &[65002]));
    assert_eq!(out.announced, 1);
    assert_eq!(rib.adj_in(&peer(2).address).unwrap().received().ipv4, 1);
    assert!(rib.loc().best(&p("203.0.113.0/24")).is_some());

    let out = rib.apply_update(
        peer(2),
        Update {
            withdrawn: vec![p("203.0.113.0/24")],
            ..Update::default()
        },
    );
    assert_eq!(out.withdrawn, 1);
    assert_eq!(rib.adj_in(&peer(2).address).unwrap().received().ipv4, 0);
    assert!(rib.loc().best(&p("203.0.113.0/24")).is_none());
}

#[test]
fn routes_sharing_attributes_share_one_interned_set() {
    let mut rib = Rib::new(LOCAL_AS);
    let prefixes: Vec<String> = (0..200).map(|i| format!("10.{i}.0.0/16")).collect();
    let refs: Vec<&str> = prefixes.iter().map(|s| s.as_str()).collect();
    rib.apply_update(peer(2), announce(&refs, &[65002]));
    assert_eq!(rib.attribute_sets(), 1);
}

#[test]
fn route_with_our_as_in_the_path_is_received_but_not_accepted() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.apply_update(peer(2), announce(&["203.0.113.0/24"], &[65002, LOCAL_AS]));
    let adj = rib.adj_in(&peer(2).address).unwrap();
    assert_eq!((adj.received().ipv4, adj.accepted().ipv4), (1, 0));
    assert!(rib.loc().best(&p("203.0.113.0/24")).is_none());
}

#[test]
fn treat_as_withdraw_removes_what_the_peer_sent_before() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.apply_update(peer(2), announce(&["203.0.113.0/24"], &[65002]));
    let mut bad = announce(&["203.0.113.0/24"], &[65002]);
    bad.errors = UpdateErrors(vec![AttrError {
        code: 1,
        action: AttrErrorAction::TreatAsWithdraw,
        reason: "test".into(),
    }]);
    let out = rib.apply_update(peer(2), bad);
    assert_eq!((out.announced, out.withdrawn), (0, 1));
    assert!(rib.loc().best(&p("203.0.113.0/24")).is_none());
}

#[test]
fn peer_down_removes_its_routes_from_the_loc_rib() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.apply_update(peer(2), announce(&["203.0.113.0/24"], &[65002]));
    rib.apply_update(peer(3), announce(&["203.0.113.0/24"], &[65003, 65004]));
    assert_eq!(
        rib.loc().best(&p("203.0.113.0/24")).unwrap().source,
        Source::Peer(Arc::new(peer(2)))
    );
    rib.peer_down(peer(2).address);
    assert_eq!(
        rib.loc().best(&p("203.0.113.0/24")).unwrap().source,
        Source::Peer(Arc::new(peer(3)))
    );
}

#[test]
fn the_loc_rib_counts_its_prefixes_per_family_and_its_best_path_changes_untracked() {
    let mut rib = Rib::new(LOCAL_AS);
    let counts = |rib: &Rib| (rib.loc().counts().ipv4, rib.loc().best_changes());
    rib.apply_update(peer(2), announce(&["203.0.113.0/24"], &[65002]));
    assert_eq!(counts(&rib), (1, 1));
    // A worse path for the same prefix: a candidate more, no new prefix, no change of best.
    rib.apply_update(peer(3), announce(&["203.0.113.0/24"], &[65003, 65004]));
    assert_eq!(counts(&rib), (1, 1));
    // The best goes: the other one takes over (a change), the prefix stays.
    rib.peer_down(peer(2).address);
    assert_eq!(counts(&rib), (1, 2));
    rib.peer_down(peer(3).address);
    assert_eq!(counts(&rib), (0, 3));
    assert_eq!(rib.loc().counts().ipv6, 0);
}

#[test]
fn ebgp_export_prepends_our_as_sets_next_hop_self_and_drops_local_pref() {
    let attrs = export(
        &route("192.0.2.0/24"),
        &session(65002, vec![Family::IPV4_UNICAST]),
    )
    .unwrap();
    assert_eq!(
        attrs.attrs.as_path.as_ref().unwrap().segments[0].asns,
        vec![LOCAL_AS]
    );
    assert_eq!(attrs.attrs.next_hop, Some(Ipv4Addr::new(198, 18, 0, 1)));
    assert_eq!(attrs.attrs.local_pref, None);
    assert_eq!(attrs.attrs.med, Some(10));
}

#[test]
fn ibgp_export_carries_local_pref_and_an_empty_as_path() {
    let attrs = export(
        &route("192.0.2.0/24"),
        &session(LOCAL_AS, vec![Family::IPV4_UNICAST]),
    )
    .unwrap();
    assert!(attrs.attrs.as_path.as_ref().unwrap().segments.is_empty());
    assert_eq!(attrs.attrs.local_pref, Some(200));
}

#[test]
fn export_keeps_a_configured_next_hop_and_honours_prepends() {
    let mut r = route("192.0.2.0/24");
    r.next_hop = Some(IpAddr::from([198, 18, 0, 9]));
    r.as_path_prepend = 2;
    let attrs = export(&r, &session(65002, vec![Family::IPV4_UNICAST])).unwrap();
    assert_eq!(attrs.attrs.next_hop, Some(Ipv4Addr::new(198, 18, 0, 9)));
    assert_eq!(attrs.attrs.as_path.unwrap().path_len(), 3);
}

#[test]
fn ipv6_route_uses_the_ipv6_local_address_and_is_not_sent_without_the_family() {
    let s = session(65002, vec![Family::IPV6_UNICAST]);
    let attrs = export(&route("2001:db8:100::/48"), &s).unwrap();
    assert_eq!(
        attrs.next_hop,
        Some(IpAddr::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap()))
    );
    assert_eq!(attrs.attrs.next_hop, None);
    assert!(export(&route("192.0.2.0/24"), &s).is_none());
}

#[test]
fn ipv6_learned_route_takes_its_next_hop_from_mp_reach() {
    let mut rib = Rib::new(LOCAL_AS);
    let nh: IpAddr = "2001:db8::2".parse().unwrap();
    let mut attrs = learned_attrs(&[65002]);
    attrs.next_hop = None;
    rib.apply_update(
        peer(2),
        Update {
            attributes: Some(attrs),
            mp_reach: Some(MpReach {
                family: Family::IPV6_UNICAST,
                next_hops: vec![nh],
                nlri: vec![p("2001:db8:200::/48")],
            }),
            ..Update::default()
        },
    );
    let best = rib.loc().best(&p("2001:db8:200::/48")).unwrap();
    assert_eq!(best.attrs.next_hop, Some(nh));
}

/// The prefixes and (old, new) best sources of a batch of best-path changes.
fn best_changes(rib: &mut Rib) -> Vec<(Prefix, Option<Source>, Option<Source>)> {
    rib.take_best_changes()
        .into_iter()
        .map(|c| (c.prefix, c.old.map(|o| o.source), c.new.map(|n| n.source)))
        .collect()
}

#[test]
fn best_path_changes_are_kept_only_while_tracked() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.apply_update(peer(2), announce(&["203.0.113.0/24"], &[65002]));
    assert!(rib.take_best_changes().is_empty());
}

#[test]
fn every_kind_of_change_reports_the_old_and_new_best() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.track_best_changes(true);
    let (a, b) = (peer(2), peer(3));
    let x = p("203.0.113.0/24");

    // A new prefix.
    rib.apply_update(a, announce(&["203.0.113.0/24"], &[65002, 65010]));
    assert_eq!(
        best_changes(&mut rib),
        vec![(x, None, Some(Source::Peer(Arc::new(a))))]
    );
    // A shorter path from another peer wins.
    rib.apply_update(b, announce(&["203.0.113.0/24"], &[65003]));
    assert_eq!(
        best_changes(&mut rib),
        vec![(
            x,
            Some(Source::Peer(Arc::new(a))),
            Some(Source::Peer(Arc::new(b)))
        )]
    );
    // A losing route's change is no best-path change.
    rib.apply_update(a, announce(&["203.0.113.0/24"], &[65002, 65011]));
    assert!(best_changes(&mut rib).is_empty());
    // The winner withdraws: back to the other one.
    rib.apply_update(
        b,
        Update {
            withdrawn: vec![x],
            ..Update::default()
        },
    );
    assert_eq!(
        best_changes(&mut rib),
        vec![(
            x,
            Some(Source::Peer(Arc::new(b))),
            Some(Source::Peer(Arc::new(a)))
        )]
    );
    // The last peer goes down: the prefix is gone.
    rib.peer_down(a.address);
    assert_eq!(
        best_changes(&mut rib),
        vec![(x, Some(Source::Peer(Arc::new(a))), None)]
    );
    // Originated routes count too.
    rib.set_originated(vec![route("198.51.100.0/24")]);
    assert_eq!(
        best_changes(&mut rib),
        vec![(p("198.51.100.0/24"), None, Some(Source::Local))]
    );
}

#[test]
fn purging_stale_routes_reports_their_prefixes_gone() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.track_best_changes(true);
    let a = peer(2);
    rib.apply_update(a, announce(&["203.0.113.0/24", "203.0.114.0/24"], &[65002]));
    let _ = rib.take_best_changes();
    rib.mark_stale(a.address, &[Family::IPV4_UNICAST]);
    assert!(best_changes(&mut rib).is_empty(), "stale routes stay best");
    rib.purge_stale(a.address, &[Family::IPV4_UNICAST]);
    let mut gone = best_changes(&mut rib);
    gone.sort_by_key(|c| c.0.to_string());
    assert_eq!(
        gone,
        vec![
            (p("203.0.113.0/24"), Some(Source::Peer(Arc::new(a))), None),
            (p("203.0.114.0/24"), Some(Source::Peer(Arc::new(a))), None),
        ]
    );
}

/// Our addresses on the session the martian tests receive on.
const LOCAL: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
];

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

/// An UPDATE of `prefix` with `next_hops`: NEXT_HOP for an IPv4 address alone, else
/// MP_REACH_NLRI of the prefix's family.
fn announce_via(prefix: &str, next_hops: &[IpAddr]) -> Update {
    let mut u = announce(&[prefix], &[65002]);
    if let [IpAddr::V4(nh)] = next_hops {
        u.attributes.as_mut().unwrap().next_hop = Some(*nh);
        return u;
    }
    let nlri = std::mem::take(&mut u.nlri);
    u.attributes.as_mut().unwrap().next_hop = None;
    u.mp_reach = Some(MpReach {
        family: nlri[0].family(),
        next_hops: next_hops.to_vec(),
        nlri,
    });
    u
}

/// A prefix of the family a next hop usually goes with.
fn prefix_for(next_hop: IpAddr) -> &'static str {
    if next_hop.is_ipv4() {
        "203.0.113.0/24"
    } else {
        "2001:db8:100::/48"
    }
}

#[test]
fn martian_next_hops_are_named_and_their_routes_treated_as_withdrawn() {
    // (next hop field, reason); the v4 ones go as NEXT_HOP, the others in MP_REACH_NLRI.
    let martians: &[(&[&str], &str)] = &[
        (&["0.0.0.0"], "unspecified address"),
        (&["0.1.2.3"], "unspecified address"),
        (&["127.0.0.1"], "loopback address"),
        (&["127.255.0.9"], "loopback address"),
        (&["224.0.0.5"], "multicast address"),
        (&["239.255.255.250"], "multicast address"),
        (&["240.0.0.1"], "reserved address (240.0.0.0/4)"),
        (&["255.255.255.254"], "reserved address (240.0.0.0/4)"),
        (&["255.255.255.255"], "broadcast address"),
        (&["198.18.0.1"], "our own address"),
        (&["::"], "unspecified address"),
        (&["::1"], "loopback address"),
        (&["ff02::5"], "multicast address"),
        (&["ff0e::1", "fe80::2"], "multicast address"),
        (&["fe80::2"], "link-local address without an interface"),
        (&["febf::2"], "link-local address without an interface"),
        (&["2001:db8::1"], "our own address"),
        (&["2001:db8::1", "fe80::2"], "our own address"),
        (&["::ffff:127.0.0.1"], "loopback address"),
        (&["::ffff:198.18.0.1"], "our own address"),
    ];
    for (next_hops, reason) in martians {
        let nh = ips(next_hops);
        let prefix = prefix_for(nh[0]);
        let mut rib = Rib::new(LOCAL_AS);
        rib.apply_update(peer(2), announce_via(prefix, &ips(&["198.18.0.2"])));
        let mut bad = announce_via(prefix, &nh);
        let ignored = ignore_martian_routes(&mut bad, &LOCAL);
        assert_eq!(
            ignored,
            vec![IgnoredRoutes {
                next_hop: nh[0],
                reason,
                routes: 1
            }],
            "{next_hops:?}"
        );
        let out = rib.apply_update(peer(2), bad);
        // The route sent before with a good next hop goes too: treat-as-withdraw.
        assert_eq!((out.announced, out.withdrawn), (0, 1), "{next_hops:?}");
        assert!(rib.loc().best(&p(prefix)).is_none(), "{next_hops:?}");
        assert!(rib
            .adj_in(&peer(2).address)
            .unwrap()
            .get(&p(prefix))
            .is_none());
    }
}

#[test]
fn usable_next_hops_are_left_alone() {
    let fine: &[&[&str]] = &[
        &["198.18.0.2"],
        &["203.0.113.1"],
        &["223.255.255.254"],
        &["2001:db8::2"],
        // RFC 2545: global, then link-local.
        &["2001:db8::2", "fe80::2"],
        &["::ffff:198.18.0.2"],
    ];
    for next_hops in fine {
        let nh = ips(next_hops);
        assert_eq!(martian_reason(nh[0]), None, "{next_hops:?}");
        let prefix = prefix_for(nh[0]);
        let mut update = announce_via(prefix, &nh);
        let before = update.clone();
        assert_eq!(ignore_martian_routes(&mut update, &LOCAL), vec![]);
        assert_eq!(update, before);
        let mut rib = Rib::new(LOCAL_AS);
        rib.apply_update(peer(2), update);
        assert!(rib.loc().best(&p(prefix)).is_some(), "{next_hops:?}");
    }
}

#[test]
fn a_martian_next_hop_ignores_only_the_nlri_it_is_the_next_hop_of() {
    // NEXT_HOP 127.0.0.1 for the IPv4 NLRI field, a good MP_REACH_NLRI next hop for IPv6.
    let mut u = announce_via("2001:db8:100::/48", &ips(&["2001:db8::2"]));
    let attrs = u.attributes.as_mut().unwrap();
    attrs.next_hop = Some(Ipv4Addr::LOCALHOST);
    u.nlri = vec![p("203.0.113.0/24"), p("198.51.100.0/24")];
    let ignored = ignore_martian_routes(&mut u, &LOCAL);
    assert_eq!(ignored.len(), 1);
    assert_eq!(
        (ignored[0].reason, ignored[0].routes),
        ("loopback address", 2)
    );
    let mut rib = Rib::new(LOCAL_AS);
    rib.apply_update(peer(2), u);
    assert!(rib.loc().best(&p("203.0.113.0/24")).is_none());
    assert!(rib.loc().best(&p("198.51.100.0/24")).is_none());
    assert!(rib.loc().best(&p("2001:db8:100::/48")).is_some());
    // RFC 4760 §3: a NEXT_HOP beside MP_REACH_NLRI alone is not looked at.
    let mut u = announce_via("2001:db8:100::/48", &ips(&["2001:db8::2"]));
    u.attributes.as_mut().unwrap().next_hop = Some(Ipv4Addr::LOCALHOST);
    assert_eq!(ignore_martian_routes(&mut u, &LOCAL), vec![]);
}
