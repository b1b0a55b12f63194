//! Messages captured from a real gobgpd 3.10 ↔ bird2 2.0.12 session
//! (`tests/fixtures/wire/capture.sh` reproduces them): gobgpd in AS 4200000001 at 198.18.0.1,
//! bird2 in AS 65002 at 198.18.0.2, IPv4 and IPv6 unicast over one IPv4 session, graceful
//! restart on both sides. Both advertise the 4-octet AS capability, so UPDATEs decode under the
//! 4-octet context.
//!
//! Each fixture re-encodes to the same octets, except bird2's IPv6 UPDATE: bird2 writes
//! MP_REACH_NLRI first and with the Extended Length bit although it is 28 octets long, where we
//! (and gobgpd) write attributes in type-code order with the shortest length. That difference is
//! legitimate (RFC 4271 §5 leaves the order free; the bit is optional for short values), so that
//! fixture is checked for semantic equality.

use std::net::{IpAddr, Ipv4Addr};

use super::{encode_vec, FOUR, TWO};
use crate::wire::*;

const GOBGPD_OPEN: &[u8] = include_bytes!("../../../tests/fixtures/wire/gobgpd_open.bin");
const BIRD_OPEN: &[u8] = include_bytes!("../../../tests/fixtures/wire/bird_open.bin");
const GOBGPD_UPDATE_V4: &[u8] = include_bytes!("../../../tests/fixtures/wire/gobgpd_update_v4.bin");
const GOBGPD_UPDATE_V6: &[u8] = include_bytes!("../../../tests/fixtures/wire/gobgpd_update_v6.bin");
const BIRD_UPDATE_V4: &[u8] = include_bytes!("../../../tests/fixtures/wire/bird_update_v4.bin");
const BIRD_UPDATE_V6: &[u8] = include_bytes!("../../../tests/fixtures/wire/bird_update_v6.bin");
const GOBGPD_EOR_V4: &[u8] = include_bytes!("../../../tests/fixtures/wire/gobgpd_eor_v4.bin");
const GOBGPD_EOR_V6: &[u8] = include_bytes!("../../../tests/fixtures/wire/gobgpd_eor_v6.bin");
const BIRD_EOR_V4: &[u8] = include_bytes!("../../../tests/fixtures/wire/bird_eor_v4.bin");
const BIRD_EOR_V6: &[u8] = include_bytes!("../../../tests/fixtures/wire/bird_eor_v6.bin");
const KEEPALIVE: &[u8] = include_bytes!("../../../tests/fixtures/wire/keepalive.bin");
const GOBGPD_NOTIFICATION: &[u8] =
    include_bytes!("../../../tests/fixtures/wire/gobgpd_notification.bin");
const BIRD_ROUTE_REFRESH_V4: &[u8] =
    include_bytes!("../../../tests/fixtures/wire/bird_route_refresh.bin");
const BIRD_ROUTE_REFRESH_V6: &[u8] =
    include_bytes!("../../../tests/fixtures/wire/bird_route_refresh_2.bin");

#[track_caller]
fn decoded(bytes: &[u8], ctx: &CodecContext) -> Message {
    assert_eq!(frame_len(bytes, ctx), Ok(Some(bytes.len())));
    decode(bytes, ctx).unwrap_or_else(|e| panic!("fixture does not decode: {e}"))
}

#[track_caller]
fn byte_exact(bytes: &[u8], ctx: &CodecContext) -> Message {
    let msg = decoded(bytes, ctx);
    assert_eq!(
        encode_vec(&msg, ctx),
        bytes,
        "re-encoding differs for {msg:?}"
    );
    msg
}

#[track_caller]
fn update(msg: Message) -> Update {
    match msg {
        Message::Update(u) => {
            assert!(u.errors.is_empty(), "{:?}", u.errors);
            u
        }
        other => panic!("not an UPDATE: {other:?}"),
    }
}

fn gr(families: &[Family]) -> Capability {
    Capability::GracefulRestart(GracefulRestartCap {
        restart_state: false,
        notification: false,
        restart_time: 120,
        families: families
            .iter()
            .map(|&family| GrFamily {
                family,
                forwarding: false,
            })
            .collect(),
    })
}

fn seq(asns: &[u32]) -> Option<AsPath> {
    Some(AsPath {
        segments: vec![AsSegment {
            kind: SegmentType::AsSequence,
            asns: asns.to_vec(),
        }],
    })
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

const BOTH: [Family; 2] = [Family::IPV4_UNICAST, Family::IPV6_UNICAST];

#[test]
fn gobgpd_open() {
    let Message::Open(open) = byte_exact(GOBGPD_OPEN, &TWO) else {
        panic!("not an OPEN");
    };
    assert_eq!(open.version, 4);
    assert_eq!(open.my_as, AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(open.hold_time, 90);
    assert_eq!(open.bgp_id, Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(
        open.capabilities,
        vec![
            Capability::RouteRefresh,
            // FQDN (draft-walton-bgp-hostname-capability): hostname "vm", no domain.
            Capability::Unknown {
                code: 73,
                value: vec![2, b'v', b'm', 0],
            },
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::FourOctetAs(4_200_000_001),
            gr(&BOTH),
            // Extended next hop (RFC 8950): IPv4 unicast over an IPv6 next hop.
            Capability::Unknown {
                code: 5,
                value: vec![0, 1, 0, 1, 0, 2],
            },
        ]
    );
}

#[test]
fn bird_open() {
    let Message::Open(open) = byte_exact(BIRD_OPEN, &TWO) else {
        panic!("not an OPEN");
    };
    assert_eq!(
        (open.my_as, open.asn(), open.hold_time),
        (65002, 65002, 240)
    );
    assert_eq!(open.bgp_id, Ipv4Addr::new(198, 18, 0, 2));
    assert_eq!(
        open.capabilities,
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            gr(&BOTH),
            Capability::FourOctetAs(65002),
            Capability::EnhancedRouteRefresh,
            Capability::LongLivedGracefulRestart(vec![]),
        ]
    );
}

#[test]
fn gobgpd_update_v4() {
    let u = update(byte_exact(GOBGPD_UPDATE_V4, &FOUR));
    assert_eq!(u.nlri, vec![p("192.0.2.0/24")]);
    let a = u.attributes.unwrap();
    assert_eq!(a.origin, Some(Origin::Incomplete));
    assert_eq!(a.as_path, seq(&[4_200_000_001]));
    assert_eq!(a.next_hop, Some(Ipv4Addr::new(198, 18, 0, 1)));
    assert_eq!(a.med, Some(10));
    assert_eq!(a.communities, vec![Community((65001 << 16) | 100)]);
    assert_eq!(
        a.large_communities,
        vec![LargeCommunity {
            global: 65001,
            local1: 1,
            local2: 1
        }]
    );
}

#[test]
fn gobgpd_update_v6() {
    let u = update(byte_exact(GOBGPD_UPDATE_V6, &FOUR));
    assert!(u.nlri.is_empty());
    let mp = u.mp_reach.unwrap();
    assert_eq!(mp.family, Family::IPV6_UNICAST);
    assert_eq!(mp.next_hops, vec!["2001:db8::1".parse::<IpAddr>().unwrap()]);
    assert_eq!(mp.nlri, vec![p("2001:db8:1::/48")]);
    let a = u.attributes.unwrap();
    assert_eq!(a.next_hop, None);
    assert_eq!(a.med, Some(10));
    assert_eq!(a.communities, vec![Community((65001 << 16) | 100)]);
    assert_eq!(a.large_communities.len(), 1);
}

#[test]
fn bird_update_v4() {
    let u = update(byte_exact(BIRD_UPDATE_V4, &FOUR));
    assert_eq!(u.nlri, vec![p("198.18.100.0/24")]);
    let a = u.attributes.unwrap();
    assert_eq!(a.origin, Some(Origin::Igp));
    assert_eq!(a.as_path, seq(&[65002]));
    assert_eq!(a.next_hop, Some(Ipv4Addr::new(198, 18, 0, 2)));
    // bird2 does not pass MED to an eBGP peer; the community it does.
    assert_eq!(a.med, None);
    assert_eq!(a.communities, vec![Community((65002 << 16) | 200)]);
}

#[test]
fn bird_update_v6_is_semantically_equal() {
    let msg = decoded(BIRD_UPDATE_V6, &FOUR);
    let again = encode_vec(&msg, &FOUR);
    assert_eq!(decode(&again, &FOUR), Ok(msg.clone()));
    // One octet shorter: MP_REACH_NLRI without the Extended Length bit.
    assert_eq!(again.len() + 1, BIRD_UPDATE_V6.len());
    let u = update(msg);
    let mp = u.mp_reach.unwrap();
    assert_eq!(mp.next_hops, vec!["2001:db8::2".parse::<IpAddr>().unwrap()]);
    assert_eq!(mp.nlri, vec![p("2001:db8:100::/48")]);
    let a = u.attributes.unwrap();
    assert_eq!((a.origin, a.as_path), (Some(Origin::Igp), seq(&[65002])));
}

#[test]
fn end_of_rib_markers_match_both_daemons() {
    for (bytes, family) in [
        (GOBGPD_EOR_V4, Family::IPV4_UNICAST),
        (BIRD_EOR_V4, Family::IPV4_UNICAST),
        (GOBGPD_EOR_V6, Family::IPV6_UNICAST),
        (BIRD_EOR_V6, Family::IPV6_UNICAST),
    ] {
        let u = update(byte_exact(bytes, &FOUR));
        assert_eq!(u.as_end_of_rib(), Some(family));
        let ours = encode_vec(&Message::Update(Update::end_of_rib(family)), &FOUR);
        assert_eq!(ours, bytes);
    }
}

#[test]
fn keepalive_notification_route_refresh() {
    assert_eq!(byte_exact(KEEPALIVE, &FOUR), Message::Keepalive);
    // gobgpd on SIGTERM: Cease / Peer De-configured, no data.
    assert_eq!(
        byte_exact(GOBGPD_NOTIFICATION, &FOUR),
        Message::Notification(Notification::new(notif::CEASE, notif::PEER_DECONFIGURED))
    );
    for (bytes, family) in [
        (BIRD_ROUTE_REFRESH_V4, Family::IPV4_UNICAST),
        (BIRD_ROUTE_REFRESH_V6, Family::IPV6_UNICAST),
    ] {
        assert_eq!(
            byte_exact(bytes, &FOUR),
            Message::RouteRefresh(RouteRefresh { family, subtype: 0 })
        );
    }
}
