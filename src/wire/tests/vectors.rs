//! Test vectors both ways, `(bytes, Message)`, for every message type and capability, and the
//! header and OPEN errors of RFC 4271 §6.1 and §6.2.

use std::net::{IpAddr, Ipv4Addr};

use super::{both_ways, encode_vec, frame, hex, FOUR, TWO};
use crate::wire::*;

fn ip4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn keepalive() {
    let bytes = hex("ffffffffffffffffffffffffffffffff 0013 04");
    both_ways(&bytes, &Message::Keepalive, &TWO);
    both_ways(&bytes, &Message::Keepalive, &FOUR);
}

#[test]
fn notification() {
    let msg = Message::Notification(Notification::cease_with_message(
        notif::ADMIN_SHUTDOWN,
        "bye",
    ));
    both_ways(&frame(3, &hex("06 02 03 627965")), &msg, &TWO);
    let msg = Message::Notification(Notification {
        code: notif::MESSAGE_HEADER,
        subcode: notif::BAD_MESSAGE_LENGTH,
        data: vec![0x00, 0x12],
    });
    both_ways(&frame(3, &hex("01 02 0012")), &msg, &TWO);
    let msg = Message::Notification(Notification::new(notif::CEASE, notif::PEER_DECONFIGURED));
    both_ways(&frame(3, &hex("06 03")), &msg, &FOUR);
}

#[test]
fn route_refresh() {
    let cases = [
        ("0002 00 01", Family::IPV6_UNICAST, 0),
        ("0001 01 01", Family::IPV4_UNICAST, 1),
        ("0001 02 01", Family::IPV4_UNICAST, 2),
        (
            "0019 07 46",
            Family {
                afi: Afi(25),
                safi: Safi(70),
            },
            7,
        ),
    ];
    for (body, family, subtype) in cases {
        let msg = Message::RouteRefresh(RouteRefresh { family, subtype });
        both_ways(&frame(5, &hex(body)), &msg, &TWO);
    }
}

/// OPEN fixed fields used by the capability vectors: version 4, AS 65001, hold 90, 198.18.0.1.
const OPEN_FIXED: &str = "04 fde9 005a c6120001";

fn open(capabilities: Vec<Capability>) -> Message {
    Message::Open(Open {
        version: 4,
        my_as: 65001,
        hold_time: 90,
        bgp_id: ip4(198, 18, 0, 1),
        capabilities,
    })
}

fn capability_vectors() -> Vec<(&'static str, Capability)> {
    let gr_family = |family, forwarding| GrFamily { family, forwarding };
    vec![
        (
            "01 04 0001 00 01",
            Capability::Multiprotocol(Family::IPV4_UNICAST),
        ),
        (
            "01 04 0002 00 01",
            Capability::Multiprotocol(Family::IPV6_UNICAST),
        ),
        ("02 00", Capability::RouteRefresh),
        ("06 00", Capability::ExtendedMessage),
        (
            "40 0a c078 0001 01 80 0002 01 00",
            Capability::GracefulRestart(GracefulRestartCap {
                restart_state: true,
                notification: true,
                restart_time: 120,
                families: vec![
                    gr_family(Family::IPV4_UNICAST, true),
                    gr_family(Family::IPV6_UNICAST, false),
                ],
            }),
        ),
        (
            "40 02 0fff",
            Capability::GracefulRestart(GracefulRestartCap {
                restart_state: false,
                notification: false,
                restart_time: 4095,
                families: vec![],
            }),
        ),
        ("41 04 fa56ea01", Capability::FourOctetAs(4_200_000_001)),
        ("46 00", Capability::EnhancedRouteRefresh),
        (
            "47 0e 0001 01 80 000e10 0002 01 00 ffffff",
            Capability::LongLivedGracefulRestart(vec![
                LlgrFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding: true,
                    stale_time: 3600,
                },
                LlgrFamily {
                    family: Family::IPV6_UNICAST,
                    forwarding: false,
                    stale_time: 0xff_ffff,
                },
            ]),
        ),
        ("47 00", Capability::LongLivedGracefulRestart(vec![])),
        (
            "49 04 02766d00",
            Capability::Unknown {
                code: 73,
                value: vec![2, b'v', b'm', 0],
            },
        ),
        (
            "80 00",
            Capability::Unknown {
                code: 128,
                value: vec![],
            },
        ),
    ]
}

#[test]
fn open_with_each_capability() {
    for (cap_hex, cap) in capability_vectors() {
        let cap_bytes = hex(cap_hex);
        let mut body = hex(OPEN_FIXED);
        body.push(cap_bytes.len() as u8 + 2);
        body.push(2);
        body.push(cap_bytes.len() as u8);
        body.extend_from_slice(&cap_bytes);
        both_ways(&frame(1, &body), &open(vec![cap]), &TWO);
    }
}

#[test]
fn open_with_every_capability_in_one_parameter() {
    let (hexes, caps): (Vec<_>, Vec<_>) = capability_vectors().into_iter().unzip();
    let caps_bytes = hex(&hexes.concat());
    let mut body = hex(OPEN_FIXED);
    body.extend_from_slice(&[caps_bytes.len() as u8 + 2, 2, caps_bytes.len() as u8]);
    body.extend_from_slice(&caps_bytes);
    both_ways(&frame(1, &body), &open(caps), &FOUR);
}

#[test]
fn open_without_parameters() {
    both_ways(
        &frame(1, &hex("04 5ba0 0000 c6120002 00")),
        &{
            Message::Open(Open {
                version: 4,
                my_as: AS_TRANS,
                hold_time: 0,
                bgp_id: ip4(198, 18, 0, 2),
                capabilities: vec![],
            })
        },
        &TWO,
    );
}

#[test]
fn open_with_several_parameters_decodes_to_one_list() {
    // Two Capabilities parameters, the second with two capabilities.
    let bytes = frame(
        1,
        &hex("04 fde9 005a c6120001 0e 02 02 0200 02 08 4104fa56ea01 4600"),
    );
    let msg = open(vec![
        Capability::RouteRefresh,
        Capability::FourOctetAs(4_200_000_001),
        Capability::EnhancedRouteRefresh,
    ]);
    assert_eq!(decode(&bytes, &TWO), Ok(msg.clone()));
    // Re-encoded into a single parameter.
    assert_eq!(
        encode_vec(&msg, &TWO),
        frame(
            1,
            &hex("04 fde9 005a c6120001 0c 02 0a 0200 4104fa56ea01 4600")
        )
    );
}

#[test]
fn open_extended_optional_parameters_rfc9072() {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length 7; the parameter has a
    // two-octet length.
    let bytes = frame(
        1,
        &hex("04 fde9 005a c6120001 ff ff 0007 02 0004 0200 4600"),
    );
    let msg = open(vec![
        Capability::RouteRefresh,
        Capability::EnhancedRouteRefresh,
    ]);
    assert_eq!(decode(&bytes, &TWO), Ok(msg.clone()));
    // Short enough for the RFC 4271 format, which is what we send (RFC 9072 §2 "SHOULD").
    assert_eq!(
        encode_vec(&msg, &TWO),
        frame(1, &hex("04 fde9 005a c6120001 06 02 04 0200 4600"))
    );
}

#[test]
fn open_longer_than_255_octets_of_parameters_uses_rfc9072() {
    let caps: Vec<Capability> = (0..70u8)
        .map(|i| Capability::Unknown {
            code: 200,
            value: vec![i; 4],
        })
        .collect();
    let msg = open(caps);
    let bytes = encode_vec(&msg, &TWO);
    // 70 capabilities of 6 octets: 420 octets in one parameter of the extended format.
    assert_eq!(&bytes[28..35], &hex("ff ff 01a7 02 01a4")[..]);
    assert_eq!(decode(&bytes, &TWO), Ok(msg));
}

#[test]
fn open_errors() {
    let cases = [
        // RFC 4271 §6.2: unsupported optional parameter (type 1, authentication).
        (
            "04 fde9 005a c6120001 04 01 02 0000",
            notif::UNSUPPORTED_OPT_PARAM,
        ),
        // A known capability of the wrong length.
        ("04 fde9 005a c6120001 06 02 04 41020001", 0),
        ("04 fde9 005a c6120001 04 02 02 0201", 0),
        ("04 fde9 005a c6120001 07 02 05 400300 7800", 0),
        ("04 fde9 005a c6120001 07 02 05 01 03 000100", 0),
        // A capability overrunning its parameter.
        ("04 fde9 005a c6120001 04 02 02 4104", 0),
        // Parameters overrunning the message, or octets after them.
        ("04 fde9 005a c6120001 10 02 02 0200", 0),
        ("04 fde9 005a c6120001 00 00", 0),
        ("04 fde9 005a c6120001 ff ff 0009 02 0004 0200 4600", 0),
    ];
    for (body, subcode) in cases {
        let err = decode(&frame(1, &hex(body)), &TWO).unwrap_err();
        assert_eq!(
            (err.code, err.subcode),
            (notif::OPEN, subcode),
            "{body}: {err}"
        );
    }
}

#[test]
fn header_errors() {
    let bad = |bytes: &[u8], ctx: &CodecContext| decode(bytes, ctx).unwrap_err();
    // RFC 4271 §6.1: marker not all ones → 1/1, from frame_len too, even before the header is in.
    let mut m = frame(4, &[]);
    m[3] = 0;
    let e = bad(&m, &TWO);
    assert_eq!((e.code, e.subcode), (1, 1));
    assert_eq!(frame_len(&m[..5], &TWO).unwrap_err().subcode, 1);
    // Length below 19, above the maximum, or wrong for the type → 1/2 with the length field.
    let mut m = frame(4, &[]);
    m[17] = 18;
    let e = bad(&m, &TWO);
    assert_eq!((e.code, e.subcode, e.data.clone()), (1, 2, vec![0, 18]));
    let big = frame(2, &vec![0; 4097 - 19]);
    assert_eq!(&big[16..18], &[0x10, 0x01]);
    let e = frame_len(&big, &TWO).unwrap_err();
    assert_eq!((e.code, e.subcode, e.data), (1, 2, vec![0x10, 0x01]));
    let extended = CodecContext {
        four_octet_as: true,
        extended_message: true,
    };
    assert_eq!(frame_len(&big, &extended), Ok(Some(4097)));
    let e = bad(&frame(4, &[0]), &TWO);
    assert_eq!((e.subcode, e.data), (2, vec![0, 20]));
    let e = bad(&frame(1, &[0; 9]), &TWO);
    assert_eq!((e.subcode, e.data), (2, vec![0, 28]));
    let e = bad(&frame(2, &[0; 3]), &TWO);
    assert_eq!((e.subcode, e.data), (2, vec![0, 22]));
    let e = bad(&frame(3, &[6]), &TWO);
    assert_eq!((e.subcode, e.data), (2, vec![0, 20]));
    let e = bad(&frame(5, &[0, 1, 0]), &TWO);
    assert_eq!((e.subcode, e.data), (2, vec![0, 22]));
    // A frame whose length field disagrees with its size.
    let mut m = frame(4, &[]);
    m.push(0);
    assert_eq!(bad(&m, &TWO).subcode, 2);
    assert_eq!(bad(&m[..10], &TWO).subcode, 2);
    // Unknown type → 1/3 with the type.
    let e = bad(&frame(9, &[]), &TWO);
    assert_eq!((e.code, e.subcode, e.data), (1, 3, vec![9]));
}

#[test]
fn route_refresh_length_errors() {
    // RFC 7313 §5: BoRR/EoRR of the wrong length → 7/1 with the whole message.
    let m = frame(5, &hex("0001 01 01 00"));
    let e = decode(&m, &TWO).unwrap_err();
    assert_eq!((e.code, e.subcode), (notif::ROUTE_REFRESH, 1));
    assert_eq!(e.data, m);
    // A plain refresh of the wrong length is a header length error.
    let e = decode(&frame(5, &hex("0001 00 01 00")), &TWO).unwrap_err();
    assert_eq!((e.code, e.subcode, e.data), (1, 2, vec![0, 24]));
}

#[test]
fn frame_len_splits_a_stream() {
    let mut stream = frame(4, &[]);
    stream.extend(frame(5, &hex("0001 00 01")));
    assert_eq!(frame_len(&stream, &TWO), Ok(Some(19)));
    assert_eq!(frame_len(&stream[19..], &TWO), Ok(Some(23)));
    assert_eq!(frame_len(&stream[19..40], &TWO), Ok(None));
    assert_eq!(frame_len(&stream[..18], &TWO), Ok(None));
    assert_eq!(frame_len(&[], &TWO), Ok(None));
}

/// Every attribute baton interprets, on an IPv4 UPDATE between 4-octet speakers.
#[test]
fn update_with_every_attribute() {
    let attrs = hex("40 01 01 00
         40 02 14 02 02 fa56ea01 0000fdea 01 02 00000001 00000002
         40 03 04 c6120001
         80 04 04 0000000a
         40 05 04 00000064
         40 06 00
         c0 07 08 fa56ea01 c6120001
         c0 08 08 fde90064 ffffff01
         c0 10 08 0002fde900000064
         c0 20 0c 0000fde9 00000001 00000001
         e0 63 02 abcd");
    assert_eq!(attrs.len(), 104);
    let mut body = hex("0004 18 c61201");
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(&attrs);
    body.extend_from_slice(&hex("18 c00002 11 c61280"));
    let update = Update {
        withdrawn: vec![p("198.18.1.0/24")],
        attributes: Some(Attributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath {
                segments: vec![
                    AsSegment {
                        kind: SegmentType::AsSequence,
                        asns: vec![4_200_000_001, 65002],
                    },
                    AsSegment {
                        kind: SegmentType::AsSet,
                        asns: vec![1, 2],
                    },
                ],
            }),
            next_hop: Some(ip4(198, 18, 0, 1)),
            med: Some(10),
            local_pref: Some(100),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                address: ip4(198, 18, 0, 1),
            }),
            communities: vec![Community(0xfde9_0064), Community::NO_EXPORT],
            ext_communities: vec![ExtCommunity([0, 2, 0xfd, 0xe9, 0, 0, 0, 0x64])],
            large_communities: vec![LargeCommunity {
                global: 65001,
                local1: 1,
                local2: 1,
            }],
            unknown: vec![RawAttribute {
                flags: 0xe0,
                code: 99,
                value: vec![0xab, 0xcd],
            }],
            ..Attributes::default()
        }),
        nlri: vec![p("192.0.2.0/24"), p("198.18.128.0/17")],
        ..Update::default()
    };
    both_ways(&frame(2, &body), &Message::Update(update), &FOUR);
}

/// RFC 6793 towards a 2-octet speaker: AS_TRANS in AS_PATH and AGGREGATOR, the real numbers in
/// AS4_PATH and AS4_AGGREGATOR; decoded apart, merged by `merge_as4`.
#[test]
fn update_to_a_two_octet_speaker() {
    let attrs = hex("40 01 01 00
         40 02 06 02 02 fde9 5ba0
         40 03 04 c6120001
         c0 07 06 5ba0 c6120001
         c0 11 0a 02 02 0000fde9 fa56ea01
         c0 12 08 fa56ea01 c6120001");
    let mut body = hex("0000");
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(&attrs);
    body.extend_from_slice(&hex("18 c00002"));
    let bytes = frame(2, &body);

    let seq = |asns: Vec<u32>| AsPath {
        segments: vec![AsSegment {
            kind: SegmentType::AsSequence,
            asns,
        }],
    };
    let agg = |asn| Aggregator {
        asn,
        address: ip4(198, 18, 0, 1),
    };
    let rib_form = Attributes {
        origin: Some(Origin::Igp),
        as_path: Some(seq(vec![65001, 4_200_000_001])),
        next_hop: Some(ip4(198, 18, 0, 1)),
        aggregator: Some(agg(4_200_000_001)),
        ..Attributes::default()
    };
    let wire_form = Attributes {
        as_path: Some(seq(vec![65001, u32::from(AS_TRANS)])),
        as4_path: Some(seq(vec![65001, 4_200_000_001])),
        aggregator: Some(agg(u32::from(AS_TRANS))),
        as4_aggregator: Some(agg(4_200_000_001)),
        ..rib_form.clone()
    };
    let update = |attributes| {
        Message::Update(Update {
            attributes: Some(attributes),
            nlri: vec![p("192.0.2.0/24")],
            ..Update::default()
        })
    };
    // The wire form both ways; the RIB form encodes to the same octets.
    both_ways(&bytes, &update(wire_form.clone()), &TWO);
    assert_eq!(encode_vec(&update(rib_form.clone()), &TWO), bytes);
    let mut merged = wire_form;
    merged.merge_as4();
    assert_eq!(merged, rib_form);
    // Between 4-octet speakers the same attributes carry no AS4_* attributes.
    let four = encode_vec(&update(rib_form), &FOUR);
    assert!(!four
        .windows(2)
        .any(|w| w == [0xc0, 0x11] || w == [0xc0, 0x12]));
}

#[test]
fn update_ipv6_with_link_local_next_hop() {
    let attrs = hex("40 01 01 00
         40 02 06 02 01 0000fdea
         80 0e 35 0002 01 20
            20010db8000000000000000000000002 fe800000000000000000000000000001 00
            30 20010db80001 40 20010db800020000");
    let mut body = hex("0000");
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(&attrs);
    let update = Update {
        attributes: Some(Attributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath {
                segments: vec![AsSegment {
                    kind: SegmentType::AsSequence,
                    asns: vec![65002],
                }],
            }),
            ..Attributes::default()
        }),
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hops: vec![
                "2001:db8::2".parse::<IpAddr>().unwrap(),
                "fe80::1".parse().unwrap(),
            ],
            nlri: vec![p("2001:db8:1::/48"), p("2001:db8:2::/64")],
        }),
        ..Update::default()
    };
    both_ways(&frame(2, &body), &Message::Update(update), &FOUR);
}

#[test]
fn update_ipv6_withdraw() {
    let update = Update {
        mp_unreach: Some(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: vec![p("2001:db8:1::/48")],
        }),
        ..Update::default()
    };
    let bytes = frame(2, &hex("0000 000d 80 0f 0a 0002 01 30 20010db80001"));
    both_ways(&bytes, &Message::Update(update), &FOUR);
}

#[test]
fn end_of_rib_markers() {
    let v4 = Message::Update(Update::end_of_rib(Family::IPV4_UNICAST));
    both_ways(&frame(2, &hex("0000 0000")), &v4, &FOUR);
    let v6 = Message::Update(Update::end_of_rib(Family::IPV6_UNICAST));
    both_ways(&frame(2, &hex("0000 0006 800f03 000201")), &v6, &FOUR);
    // Any family's End-of-RIB decodes, even one whose NLRI this codec does not parse.
    let vpn = Family {
        afi: Afi::IPV4,
        safi: Safi(128),
    };
    let bytes = frame(2, &hex("0000 0006 800f03 000180"));
    let Ok(Message::Update(u)) = decode(&bytes, &FOUR) else {
        panic!("EoR of VPNv4 does not decode");
    };
    assert_eq!(u.as_end_of_rib(), Some(vpn));
}

#[test]
fn unknown_attributes_keep_flags_and_come_back_sorted() {
    // Two optional attributes out of code order, one with the Extended Length bit though short.
    let bytes = frame(2, &hex("0000 000a d0 64 0001 01 c0 0b 02 0203"));
    let Ok(Message::Update(u)) = decode(&bytes, &FOUR) else {
        panic!("does not decode");
    };
    let unknown = &u.attributes.as_ref().unwrap().unknown;
    assert_eq!(
        unknown,
        &vec![
            RawAttribute {
                flags: 0xc0,
                code: 11,
                value: vec![2, 3],
            },
            RawAttribute {
                flags: 0xd0,
                code: 100,
                value: vec![1],
            },
        ]
    );
    assert_eq!(
        encode_vec(&Message::Update(u), &FOUR),
        frame(2, &hex("0000 000a c0 0b 02 0203 d0 64 0001 01"))
    );
}

#[test]
fn long_attributes_use_extended_length() {
    let communities: Vec<Community> = (0..100).map(Community).collect();
    let msg = Message::Update(Update {
        attributes: Some(Attributes {
            communities: communities.clone(),
            ..Attributes::default()
        }),
        ..Update::default()
    });
    let bytes = encode_vec(&msg, &FOUR);
    assert_eq!(&bytes[23..27], &hex("d0 08 0190")[..]);
    assert_eq!(decode(&bytes, &FOUR), Ok(msg));
}
