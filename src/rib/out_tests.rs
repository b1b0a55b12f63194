//! What peers are sent: a session's initial table, the UPDATEs a change of the originated
//! routes produces, ROUTE-REFRESH, and the Adj-RIB-Out as shown. The RIB keeps no table per
//! peer (see `adj_out.rs`), so these check the bytes each change writes and the counts.

use std::net::IpAddr;

use super::tests::{messages, p, route, session, LOCAL_AS};
use super::*;
use crate::config::Route;
use crate::wire::{Family, Message, Prefix, Update};

const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, 2));

/// The UPDATEs in `buf` that announce something, as (prefixes, MED).
fn announcements(buf: &bytes::BytesMut) -> Vec<(Vec<Prefix>, Option<u32>)> {
    let ctx = session(65002, vec![]).codec;
    messages(buf, &ctx)
        .into_iter()
        .filter_map(|m| match m {
            Message::Update(u) if !u.nlri.is_empty() => {
                Some((u.nlri.clone(), u.attributes.as_ref().and_then(|a| a.med)))
            }
            _ => None,
        })
        .collect()
}

/// The prefixes `buf` withdraws.
fn withdrawals(buf: &bytes::BytesMut) -> Vec<Prefix> {
    let ctx = session(65002, vec![]).codec;
    messages(buf, &ctx)
        .into_iter()
        .flat_map(|m| match m {
            Message::Update(u) => u.withdrawn,
            _ => Vec::new(),
        })
        .collect()
}

fn with_med(prefix: &str, med: u32) -> Route {
    Route {
        med: Some(med),
        ..route(prefix)
    }
}

/// A RIB originating `routes` with one eBGP IPv4 peer up.
fn rib_with_peer(routes: Vec<Route>) -> Rib {
    let mut rib = Rib::new(LOCAL_AS);
    rib.set_originated(routes);
    rib.peer_up(session(65002, vec![Family::IPV4_UNICAST]));
    rib
}

#[test]
fn peer_up_sends_every_route_then_end_of_rib_per_family() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.set_originated(vec![
        route("192.0.2.0/24"),
        route("198.51.100.0/24"),
        route("2001:db8:100::/48"),
    ]);
    let s = session(65002, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    let ctx = s.codec;
    let msgs = messages(&rib.peer_up(s), &ctx);
    let updates: Vec<&Update> = msgs
        .iter()
        .map(|m| match m {
            Message::Update(u) => u,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    // One UPDATE for both IPv4 prefixes (same attributes), one for IPv6, then two End-of-RIB.
    assert_eq!(updates.len(), 4);
    assert_eq!(updates[0].nlri.len() + updates[1].nlri.len(), 2);
    let eors: Vec<Option<Family>> = updates.iter().map(|u| u.as_end_of_rib()).collect();
    assert_eq!(
        &eors[2..],
        &[Some(Family::IPV4_UNICAST), Some(Family::IPV6_UNICAST)]
    );
    assert!(eors[..2].iter().all(|e| e.is_none()));
}

#[test]
fn changing_one_route_sends_one_update_and_unchanged_routes_nothing() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.set_originated(vec![route("192.0.2.0/24"), route("198.51.100.0/24")]);
    let s = session(65002, vec![Family::IPV4_UNICAST]);
    let ctx = s.codec;
    rib.peer_up(s);
    assert!(rib
        .set_originated(vec![route("192.0.2.0/24"), route("198.51.100.0/24")])
        .is_empty());
    let mut changed = route("198.51.100.0/24");
    changed.med = Some(20);
    let writes = rib.set_originated(vec![route("192.0.2.0/24"), changed]);
    assert_eq!(writes.len(), 1);
    let msgs = messages(&writes[0].1, &ctx);
    assert_eq!(msgs.len(), 1);
    let Message::Update(u) = &msgs[0] else {
        panic!("not an UPDATE")
    };
    assert_eq!(u.nlri, vec![p("198.51.100.0/24")]);
    assert_eq!(u.attributes.as_ref().unwrap().med, Some(20));
}

#[test]
fn removing_a_route_withdraws_it() {
    let mut rib = rib_with_peer(vec![route("192.0.2.0/24"), route("198.51.100.0/24")]);
    let writes = rib.set_originated(vec![route("192.0.2.0/24")]);
    assert_eq!(withdrawals(&writes[0].1), vec![p("198.51.100.0/24")]);
    assert!(announcements(&writes[0].1).is_empty());
    assert_eq!(rib.advertised_counts(&PEER).unwrap().ipv4, 1);
}

#[test]
fn a_run_of_equal_attributes_is_encoded_once_and_other_attributes_apart() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.set_originated(vec![
        route("198.51.100.0/26"),
        route("198.51.100.64/26"),
        with_med("198.51.100.128/25", 20),
        route("203.0.113.0/24"),
    ]);
    let mut sent = announcements(&rib.peer_up(session(65002, vec![Family::IPV4_UNICAST])));
    sent.sort_by_key(|(_, med)| *med);
    let want = |s: &[&str]| s.iter().map(|x| p(x)).collect::<Vec<_>>();
    assert_eq!(
        sent,
        vec![
            (
                want(&["198.51.100.0/26", "198.51.100.64/26", "203.0.113.0/24"]),
                Some(10)
            ),
            (want(&["198.51.100.128/25"]), Some(20)),
        ]
    );
}

#[test]
fn a_change_the_peer_cannot_see_sends_nothing_but_reaches_the_loc_rib() {
    let mut rib = rib_with_peer(vec![route("192.0.2.0/24")]);
    let changed = Route {
        local_pref: Some(300),
        ..route("192.0.2.0/24")
    };
    // LOCAL_PREF is not sent over eBGP: the peer's view is unchanged.
    assert!(rib.change_originated(vec![changed], &[]).is_empty());
    let best = rib
        .loc()
        .best(&p("192.0.2.0/24"))
        .expect("still originated");
    assert_eq!(best.attrs.attrs.local_pref, Some(300));
    assert_eq!(rib.advertised_counts(&PEER).unwrap().ipv4, 1);
}

#[test]
fn withdrawing_and_announcing_the_same_route_in_one_change_sends_nothing() {
    let mut rib = rib_with_peer(vec![route("192.0.2.0/24")]);
    let writes = rib.change_originated(vec![route("192.0.2.0/24")], &[p("192.0.2.0/24")]);
    assert!(writes.is_empty());
    assert_eq!(rib.advertised_counts(&PEER).unwrap().ipv4, 1);
}

#[test]
fn a_prefix_changed_twice_in_one_change_is_sent_once_in_its_last_state() {
    let mut rib = rib_with_peer(vec![]);
    let writes = rib.change_originated(
        vec![with_med("192.0.2.0/24", 10), with_med("192.0.2.0/24", 20)],
        &[],
    );
    assert_eq!(
        announcements(&writes[0].1),
        vec![(vec![p("192.0.2.0/24")], Some(20))]
    );
    assert_eq!(rib.advertised_counts(&PEER).unwrap().ipv4, 1);
}

#[test]
fn a_new_route_set_sends_additions_changes_and_withdrawals_and_not_the_rest() {
    let mut rib = rib_with_peer(vec![
        route("192.0.2.0/24"),
        route("198.51.100.0/24"),
        route("203.0.113.0/24"),
    ]);
    let writes = rib.set_originated(vec![
        with_med("198.51.100.0/24", 30),
        route("203.0.113.0/24"),
        route("203.0.113.0/25"),
    ]);
    assert_eq!(writes.len(), 1);
    let mut sent = announcements(&writes[0].1);
    sent.sort();
    assert_eq!(
        sent,
        vec![
            (vec![p("198.51.100.0/24")], Some(30)),
            (vec![p("203.0.113.0/25")], Some(10)),
        ]
    );
    assert_eq!(withdrawals(&writes[0].1), vec![p("192.0.2.0/24")]);
    assert_eq!(rib.advertised_counts(&PEER).unwrap().ipv4, 3);
}

#[test]
fn route_refresh_sends_the_family_again_and_changes_no_count() {
    let mut rib = Rib::new(LOCAL_AS);
    rib.set_originated(vec![
        route("192.0.2.0/24"),
        route("198.51.100.0/24"),
        route("2001:db8:100::/48"),
    ]);
    rib.peer_up(session(
        65002,
        vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
    ));
    let again = rib.refresh(PEER, Family::IPV4_UNICAST);
    let ctx = session(65002, vec![]).codec;
    let msgs = messages(&again, &ctx);
    assert!(msgs.iter().all(|m| matches!(m, Message::Update(u)
        if u.as_end_of_rib().is_none() && u.mp_reach.is_none())));
    assert_eq!(
        announcements(&again),
        vec![(vec![p("192.0.2.0/24"), p("198.51.100.0/24")], Some(10))]
    );
    let counts = rib.advertised_counts(&PEER).unwrap();
    assert_eq!((counts.ipv4, counts.ipv6), (2, 1));
    assert!(rib
        .refresh("198.18.0.9".parse().unwrap(), Family::IPV4_UNICAST)
        .is_empty());
}

#[test]
fn the_adj_rib_out_shown_is_what_the_peer_was_sent() {
    let rib = rib_with_peer(vec![
        route("203.0.113.0/24"),
        route("192.0.2.0/24"),
        // Not carried: the session has no IPv6.
        route("2001:db8:100::/48"),
    ]);
    let shown = rib.advertised(&PEER, None);
    let prefixes: Vec<Prefix> = shown.iter().map(|(p, _)| *p).collect();
    assert_eq!(prefixes, vec![p("192.0.2.0/24"), p("203.0.113.0/24")]);
    let attrs = &shown[0].1;
    assert_eq!(attrs.next_hop, Some("198.18.0.1".parse().unwrap()));
    assert_eq!(attrs.attrs.local_pref, None);
    assert!(attrs.attrs.as_path.as_ref().unwrap().contains(LOCAL_AS));
    let one = rib.advertised(&PEER, Some(p("203.0.113.0/24")));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].0, p("203.0.113.0/24"));
    assert!(rib.advertised(&PEER, Some(p("198.51.100.0/24"))).is_empty());
    assert!(rib
        .advertised(&"198.18.0.9".parse().unwrap(), None)
        .is_empty());
}

#[test]
fn a_session_that_ends_leaves_nothing_advertised() {
    let mut rib = rib_with_peer(vec![route("192.0.2.0/24")]);
    rib.peer_down(PEER);
    assert_eq!(rib.advertised_counts(&PEER), None);
    assert!(rib.set_originated(vec![]).is_empty());
}
