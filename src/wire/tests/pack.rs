//! The packer: every prefix comes out exactly once, in order, in messages no larger than the
//! limit and as full as the limit allows, with the octets `encode` would write.

use std::net::{IpAddr, Ipv4Addr};

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;

use super::prop::{attributes, prefix_v4, prefix_v6};
use super::{encode_vec, FOUR, TWO};
use crate::wire::nlri::prefix_wire_len;
use crate::wire::*;

const EXTENDED: CodecContext = CodecContext {
    four_octet_as: true,
    extended_message: true,
};

/// Split a buffer of whole messages.
fn messages<'a>(mut buf: &'a [u8], ctx: &CodecContext) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let len = frame_len(buf, ctx).unwrap().expect("a whole message");
        out.push(&buf[..len]);
        buf = &buf[len..];
    }
    out
}

fn updates(buf: &[u8], ctx: &CodecContext) -> Vec<(usize, Update)> {
    messages(buf, ctx)
        .into_iter()
        .map(|m| match decode(m, ctx) {
            Ok(Message::Update(u)) => (m.len(), u),
            other => panic!("packed message does not decode: {other:?}"),
        })
        .collect()
}

fn sample_attrs() -> Attributes {
    Attributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::AsSequence,
                asns: vec![4_200_000_001],
            }],
        }),
        next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
        med: Some(10),
        communities: vec![Community(0xfde9_0064)],
        large_communities: vec![LargeCommunity {
            global: 65001,
            local1: 1,
            local2: 1,
        }],
        ..Attributes::default()
    }
}

fn v4_slash24s(n: u32) -> Vec<Prefix> {
    (0..n)
        .map(|i| Prefix::new(IpAddr::V4(Ipv4Addr::from((10 << 24) | (i << 8))), 24).unwrap())
        .collect()
}

#[test]
fn ipv4_announce_is_what_encode_writes() {
    let prefixes = v4_slash24s(3);
    let mut out = BytesMut::new();
    let n = UpdatePacker::new(FOUR).announce(
        Family::IPV4_UNICAST,
        &sample_attrs(),
        &[],
        &prefixes,
        &mut out,
    );
    assert_eq!(n, 1);
    let expected = Message::Update(Update {
        attributes: Some(sample_attrs()),
        nlri: prefixes,
        ..Update::default()
    });
    assert_eq!(&out[..], encode_vec(&expected, &FOUR));
}

#[test]
fn ipv6_announce_carries_no_next_hop_attribute() {
    let prefixes: Vec<Prefix> = vec![
        "2001:db8:1::/48".parse().unwrap(),
        "2001:db8:2::/64".parse().unwrap(),
    ];
    let nh: Vec<IpAddr> = vec!["2001:db8::1".parse().unwrap(), "fe80::1".parse().unwrap()];
    let mut out = BytesMut::new();
    let n = UpdatePacker::new(FOUR).announce(
        Family::IPV6_UNICAST,
        &sample_attrs(),
        &nh,
        &prefixes,
        &mut out,
    );
    assert_eq!(n, 1);
    let expected = Message::Update(Update {
        attributes: Some(Attributes {
            next_hop: None,
            ..sample_attrs()
        }),
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hops: nh,
            nlri: prefixes,
        }),
        ..Update::default()
    });
    assert_eq!(&out[..], encode_vec(&expected, &FOUR));
    assert!(!out.windows(2).any(|w| w == [0x40, 0x03]));
}

#[test]
fn withdrawals_are_what_encode_writes() {
    let packer = UpdatePacker::new(FOUR);
    let v4 = v4_slash24s(2);
    let mut out = BytesMut::new();
    assert_eq!(packer.withdraw(Family::IPV4_UNICAST, &v4, &mut out), 1);
    let expected = Update {
        withdrawn: v4,
        ..Update::default()
    };
    assert_eq!(&out[..], encode_vec(&Message::Update(expected), &FOUR));

    let v6: Vec<Prefix> = vec!["2001:db8:1::/48".parse().unwrap()];
    let mut out = BytesMut::new();
    assert_eq!(packer.withdraw(Family::IPV6_UNICAST, &v6, &mut out), 1);
    let expected = Update {
        mp_unreach: Some(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: v6,
        }),
        ..Update::default()
    };
    assert_eq!(&out[..], encode_vec(&Message::Update(expected), &FOUR));
    // Nothing to withdraw, nothing written (End-of-RIB is explicit).
    assert_eq!(packer.withdraw(Family::IPV6_UNICAST, &[], &mut out), 0);
}

#[test]
fn a_large_table_fills_every_message() {
    let prefixes = v4_slash24s(100_000);
    let packer = UpdatePacker::new(FOUR);
    let mut out = BytesMut::new();
    let n = packer.announce(
        Family::IPV4_UNICAST,
        &sample_attrs(),
        &[],
        &prefixes,
        &mut out,
    );
    let got = updates(&out, &FOUR);
    assert_eq!(got.len(), n);
    // 4096 - 23 - 57 octets of attributes = 4016 octets: 1004 prefixes of 4 octets each.
    assert_eq!(n, 100_000usize.div_ceil(1004));
    assert!(got.iter().all(|(len, _)| *len <= MAX_MESSAGE_LEN));
    let all: Vec<Prefix> = got.into_iter().flat_map(|(_, u)| u.nlri).collect();
    assert_eq!(all, prefixes);
}

#[test]
fn attributes_too_large_for_a_message_write_nothing() {
    let attrs = Attributes {
        communities: (0..1100).map(Community).collect(),
        ..sample_attrs()
    };
    let prefixes = v4_slash24s(2);
    let mut out = BytesMut::new();
    let small = UpdatePacker::new(FOUR);
    assert!(!small.can_announce(Family::IPV4_UNICAST, &attrs, &[]));
    assert_eq!(
        small.announce(Family::IPV4_UNICAST, &attrs, &[], &prefixes, &mut out),
        0
    );
    assert!(out.is_empty());
    let big = UpdatePacker::new(EXTENDED);
    assert!(big.can_announce(Family::IPV4_UNICAST, &attrs, &[]));
    assert_eq!(
        big.announce(Family::IPV4_UNICAST, &attrs, &[], &prefixes, &mut out),
        1
    );
}

/// Check a packed buffer: sizes, fullness, and the prefixes in order.
fn check_packed(
    out: &[u8],
    count: usize,
    ctx: &CodecContext,
    prefixes: &[Prefix],
    pick: impl Fn(&Update) -> Vec<Prefix>,
) -> Result<Vec<Update>, TestCaseError> {
    let got = updates(out, ctx);
    prop_assert_eq!(got.len(), count);
    let mut all = Vec::new();
    for (i, (len, u)) in got.iter().enumerate() {
        prop_assert!(*len <= ctx.max_message_len());
        let mine = pick(u);
        // As full as allowed: the next message's first prefix would not have fitted.
        if let Some((_, next)) = got.get(i + 1) {
            let first = pick(next)[0];
            prop_assert!(len + prefix_wire_len(&first) > ctx.max_message_len());
        }
        prop_assert!(!mine.is_empty());
        all.extend(mine);
    }
    prop_assert_eq!(all, prefixes.to_vec());
    Ok(got.into_iter().map(|(_, u)| u).collect())
}

fn contexts() -> impl Strategy<Value = CodecContext> {
    prop_oneof![Just(TWO), Just(FOUR), Just(EXTENDED)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn packed_ipv4_announcements_decode_to_the_input(
        ctx in contexts(),
        attrs in attributes(TWO),
        prefixes in vec(prefix_v4(), 0..3000),
    ) {
        // Mandatory attributes present, so the decoder reports nothing.
        let attrs = Attributes {
            origin: attrs.origin.or(Some(Origin::Igp)),
            as_path: attrs.as_path.clone().or_else(|| Some(AsPath::default())),
            next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
            as4_path: None,
            as4_aggregator: None,
            ..attrs
        };
        let mut out = BytesMut::new();
        let n = UpdatePacker::new(ctx).announce(Family::IPV4_UNICAST, &attrs, &[], &prefixes, &mut out);
        let got = check_packed(&out, n, &ctx, &prefixes, |u| u.nlri.clone())?;
        for u in got {
            prop_assert_eq!(u.attributes.as_ref(), Some(&attrs));
            prop_assert!(u.errors.is_empty());
        }
    }

    #[test]
    fn packed_ipv6_announcements_decode_to_the_input(
        ctx in contexts(),
        attrs in attributes(FOUR),
        prefixes in vec(prefix_v6(), 0..2000),
        link_local in any::<bool>(),
    ) {
        let mut nh: Vec<IpAddr> = vec!["2001:db8::1".parse().unwrap()];
        if link_local {
            nh.push("fe80::1".parse().unwrap());
        }
        let ctx = CodecContext { four_octet_as: true, ..ctx };
        let mut out = BytesMut::new();
        let n = UpdatePacker::new(ctx).announce(Family::IPV6_UNICAST, &attrs, &nh, &prefixes, &mut out);
        let got = check_packed(&out, n, &ctx, &prefixes, |u| u.mp_reach.as_ref().unwrap().nlri.clone())?;
        let expected = Attributes { next_hop: None, ..attrs };
        for u in got {
            prop_assert_eq!(u.attributes.clone().unwrap_or_default(), expected.clone());
            prop_assert_eq!(&u.mp_reach.as_ref().unwrap().next_hops, &nh);
            prop_assert!(u.nlri.is_empty());
        }
    }

    #[test]
    fn packed_withdrawals_decode_to_the_input(
        ctx in contexts(),
        v4 in vec(prefix_v4(), 0..3000),
        v6 in vec(prefix_v6(), 0..2000),
    ) {
        let packer = UpdatePacker::new(ctx);
        let mut out = BytesMut::new();
        let n = packer.withdraw(Family::IPV4_UNICAST, &v4, &mut out);
        check_packed(&out, n, &ctx, &v4, |u| u.withdrawn.clone())?;
        let mut out = BytesMut::new();
        let n = packer.withdraw(Family::IPV6_UNICAST, &v6, &mut out);
        check_packed(&out, n, &ctx, &v6, |u| u.mp_unreach.as_ref().unwrap().withdrawn.clone())?;
    }
}
