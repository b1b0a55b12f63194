//! Property tests: arbitrary messages within the valid ranges round-trip through encode and
//! decode under both AS-number contexts.
//!
//! What "valid" means here is what a decoder can produce, so that `decode(encode(x)) == x` is
//! exact: under a 2-octet context AS_PATH and AGGREGATOR hold 2-octet numbers (AS_TRANS for the
//! others) with the real ones in `as4_path` / `as4_aggregator`; under a 4-octet context those two
//! are `None`. Attributes built the RIB's way (4-octet numbers in AS_PATH, no AS4_PATH) are
//! checked separately: under a 2-octet context they come back after `merge_as4`. `errors` is
//! cleared before comparing: it says what the decoder tolerated (e.g. an UPDATE without ORIGIN
//! is reported treat-as-withdraw), which is not part of the message.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::{encode_vec, FOUR, TWO};
use crate::wire::*;

/// Codes the decoder interprets; unknown attributes and capabilities use others.
const KNOWN_ATTRS: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32];
const KNOWN_CAPS: [u8; 7] = [1, 2, 6, 64, 65, 70, 71];

pub(crate) fn family() -> impl Strategy<Value = Family> {
    prop_oneof![
        Just(Family::IPV4_UNICAST),
        Just(Family::IPV6_UNICAST),
        (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family {
            afi: Afi(a),
            safi: Safi(s)
        }),
    ]
}

pub(crate) fn prefix_v4() -> impl Strategy<Value = Prefix> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Prefix::new_masked(IpAddr::V4(a.into()), l).unwrap())
}

pub(crate) fn prefix_v6() -> impl Strategy<Value = Prefix> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| Prefix::new_masked(IpAddr::V6(a.into()), l).unwrap())
}

fn capability() -> impl Strategy<Value = Capability> {
    let gr_family =
        (family(), any::<bool>()).prop_map(|(family, forwarding)| GrFamily { family, forwarding });
    let llgr_family =
        (family(), any::<bool>(), 0u32..1 << 24).prop_map(|(family, forwarding, stale_time)| {
            LlgrFamily {
                family,
                forwarding,
                stale_time,
            }
        });
    prop_oneof![
        family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::ExtendedMessage),
        Just(Capability::EnhancedRouteRefresh),
        any::<u32>().prop_map(Capability::FourOctetAs),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            vec(gr_family, 0..4)
        )
            .prop_map(|(restart_state, notification, restart_time, families)| {
                Capability::GracefulRestart(GracefulRestartCap {
                    restart_state,
                    notification,
                    restart_time,
                    families,
                })
            }),
        vec(llgr_family, 0..4).prop_map(Capability::LongLivedGracefulRestart),
        (
            any::<u8>().prop_filter("known", |c| !KNOWN_CAPS.contains(c)),
            vec(any::<u8>(), 0..40)
        )
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        vec(capability(), 0..12),
    )
        .prop_map(|(version, my_as, hold_time, id, capabilities)| Open {
            version,
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
}

fn as_path(asn: BoxedStrategy<u32>) -> impl Strategy<Value = AsPath> {
    let segment = (any::<bool>(), vec(asn, 1..12)).prop_map(|(set, asns)| AsSegment {
        kind: if set {
            SegmentType::AsSet
        } else {
            SegmentType::AsSequence
        },
        asns,
    });
    vec(segment, 0..4).prop_map(|segments| AsPath { segments })
}

fn aggregator(asn: BoxedStrategy<u32>) -> impl Strategy<Value = Aggregator> {
    (asn, any::<u32>()).prop_map(|(asn, a)| Aggregator {
        asn,
        address: Ipv4Addr::from(a),
    })
}

fn unknown_attrs() -> impl Strategy<Value = Vec<RawAttribute>> {
    // Unique codes, sorted: the decoder discards duplicates and sorts the rest.
    proptest::collection::btree_map(
        any::<u8>().prop_filter("known", |c| !KNOWN_ATTRS.contains(c)),
        (0u8..8, vec(any::<u8>(), 0..300)),
        0..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(code, (bits, value))| {
                // Optional (else it would be an unrecognized well-known attribute), any of
                // Transitive / Partial / Extended Length; the Extended Length bit is implied
                // for long values.
                let mut flags = 0x80 | (bits << 4);
                if value.len() > 255 {
                    flags |= 0x10;
                }
                RawAttribute { flags, code, value }
            })
            .collect()
    })
}

/// Attribute sets as a decoder under `ctx` produces them (see the module doc).
pub(crate) fn attributes(ctx: CodecContext) -> impl Strategy<Value = Attributes> {
    let asn: BoxedStrategy<u32> = if ctx.four_octet_as {
        any::<u32>().boxed()
    } else {
        (0u32..=65535).boxed()
    };
    let four = ctx.four_octet_as;
    let as4 = move |s: BoxedStrategy<AsPath>| {
        if four {
            Just(None).boxed()
        } else {
            option::of(s).boxed()
        }
    };
    let as4_agg = move |s: BoxedStrategy<Aggregator>| {
        if four {
            Just(None).boxed()
        } else {
            option::of(s).boxed()
        }
    };
    let origin = prop_oneof![
        Just(Origin::Igp),
        Just(Origin::Egp),
        Just(Origin::Incomplete)
    ];
    (
        (
            option::of(origin),
            option::of(as_path(asn.clone())),
            as4(as_path(any::<u32>().boxed()).boxed()),
            option::of(any::<u32>().prop_map(Ipv4Addr::from)),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            any::<bool>(),
        ),
        (
            option::of(aggregator(asn)),
            as4_agg(aggregator(any::<u32>().boxed()).boxed()),
            vec(any::<u32>().prop_map(Community), 0..6),
            vec(any::<[u8; 8]>().prop_map(ExtCommunity), 0..4),
            vec(
                any::<(u32, u32, u32)>().prop_map(|(global, local1, local2)| LargeCommunity {
                    global,
                    local1,
                    local2,
                }),
                0..4,
            ),
            unknown_attrs(),
        ),
    )
        .prop_map(
            |(
                (origin, as_path, as4_path, next_hop, med, local_pref, atomic_aggregate),
                (
                    aggregator,
                    as4_aggregator,
                    communities,
                    ext_communities,
                    large_communities,
                    unknown,
                ),
            )| Attributes {
                origin,
                as_path,
                as4_path,
                next_hop,
                med,
                local_pref,
                atomic_aggregate,
                aggregator,
                as4_aggregator,
                communities,
                ext_communities,
                large_communities,
                unknown,
            },
        )
}

fn mp_reach() -> impl Strategy<Value = MpReach> {
    let v6 = any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)));
    prop_oneof![
        (
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            vec(prefix_v4(), 0..20)
        )
            .prop_map(|(nh, nlri)| MpReach {
                family: Family::IPV4_UNICAST,
                next_hops: vec![nh],
                nlri
            }),
        (vec(v6, 1..=2), vec(prefix_v6(), 0..20)).prop_map(|(next_hops, nlri)| MpReach {
            family: Family::IPV6_UNICAST,
            next_hops,
            nlri
        }),
    ]
}

fn mp_unreach() -> impl Strategy<Value = MpUnreach> {
    prop_oneof![
        vec(prefix_v4(), 0..20).prop_map(|withdrawn| MpUnreach {
            family: Family::IPV4_UNICAST,
            withdrawn
        }),
        vec(prefix_v6(), 0..20).prop_map(|withdrawn| MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn
        }),
        // End-of-RIB of any family.
        family().prop_map(|family| MpUnreach {
            family,
            withdrawn: vec![]
        }),
    ]
}

fn update(ctx: CodecContext) -> impl Strategy<Value = Update> {
    (
        vec(prefix_v4(), 0..20),
        // An empty attribute set is no attribute set (`None`).
        option::of(attributes(ctx)).prop_map(|a| a.filter(|a| *a != Attributes::default())),
        option::of(mp_reach()),
        option::of(mp_unreach()),
        vec(prefix_v4(), 0..20),
    )
        .prop_map(
            |(withdrawn, attributes, mp_reach, mp_unreach, nlri)| Update {
                withdrawn,
                attributes,
                mp_reach,
                mp_unreach,
                nlri,
                errors: UpdateErrors::default(),
            },
        )
}

pub(crate) fn message(ctx: CodecContext) -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        update(ctx).prop_map(Message::Update),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..64)).prop_map(|(code, subcode, data)| {
            Message::Notification(Notification {
                code,
                subcode,
                data,
            })
        }),
        Just(Message::Keepalive),
        (family(), any::<u8>())
            .prop_map(|(family, subtype)| Message::RouteRefresh(RouteRefresh { family, subtype })),
    ]
}

fn without_errors(mut msg: Message) -> Message {
    if let Message::Update(u) = &mut msg {
        u.errors = UpdateErrors::default();
    }
    msg
}

fn round_trip(msg: &Message, ctx: &CodecContext) -> Result<(), TestCaseError> {
    let bytes = encode_vec(msg, ctx);
    prop_assert!(bytes.len() <= ctx.max_message_len());
    prop_assert_eq!(frame_len(&bytes, ctx), Ok(Some(bytes.len())));
    let back = decode(&bytes, ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(without_errors(back), msg.clone());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip_four_octet(msg in message(FOUR)) {
        round_trip(&msg, &FOUR)?;
    }

    #[test]
    fn round_trip_two_octet(msg in message(TWO)) {
        round_trip(&msg, &TWO)?;
    }

    /// The RIB's attributes (4-octet AS numbers, no AS4_PATH) sent to a 2-octet speaker come back
    /// equal once merged (RFC 6793 §4.2.2 out, §4.2.3 in).
    #[test]
    fn rib_attributes_through_a_two_octet_session(
        mut attrs in attributes(FOUR),
        nlri in vec(prefix_v4(), 1..10),
    ) {
        attrs.next_hop = Some(Ipv4Addr::new(198, 18, 0, 1));
        let msg = Message::Update(Update {
            attributes: Some(attrs.clone()),
            nlri,
            ..Update::default()
        });
        let bytes = encode_vec(&msg, &TWO);
        let Ok(Message::Update(u)) = decode(&bytes, &TWO) else {
            return Err(TestCaseError::fail("does not decode"));
        };
        let mut got = u.attributes.unwrap();
        got.merge_as4();
        prop_assert_eq!(got, attrs);
    }
}
