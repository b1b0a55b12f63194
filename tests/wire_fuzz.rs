//! Fuzz-style robustness test of the wire codec, runnable as a plain test.
//!
//! Starts from valid encodings (the gobgpd/bird2 fixtures and messages built here), mutates them
//! with a fixed-seed RNG (bit flips, byte overwrites, inserts, deletes, truncation, splices), and
//! feeds every result to `frame_len` and `decode` under three contexts. Nothing may panic, and
//! every message that decodes must re-encode to something that decodes to the same value and
//! re-encodes to the same octets (`errors` aside: it records what the first decode tolerated,
//! e.g. a duplicate attribute that the re-encoding no longer has).

use std::net::{IpAddr, Ipv4Addr};

use baton::wire::*;
use bytes::BytesMut;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FIXTURES: &[&[u8]] = &[
    include_bytes!("fixtures/wire/gobgpd_open.bin"),
    include_bytes!("fixtures/wire/bird_open.bin"),
    include_bytes!("fixtures/wire/gobgpd_update_v4.bin"),
    include_bytes!("fixtures/wire/gobgpd_update_v6.bin"),
    include_bytes!("fixtures/wire/bird_update_v4.bin"),
    include_bytes!("fixtures/wire/bird_update_v6.bin"),
    include_bytes!("fixtures/wire/gobgpd_eor_v4.bin"),
    include_bytes!("fixtures/wire/gobgpd_eor_v6.bin"),
    include_bytes!("fixtures/wire/bird_eor_v4.bin"),
    include_bytes!("fixtures/wire/bird_eor_v6.bin"),
    include_bytes!("fixtures/wire/keepalive.bin"),
    include_bytes!("fixtures/wire/gobgpd_notification.bin"),
    include_bytes!("fixtures/wire/bird_route_refresh.bin"),
    include_bytes!("fixtures/wire/bird_route_refresh_2.bin"),
];

const TWO: CodecContext = CodecContext {
    four_octet_as: false,
    extended_message: false,
};
const FOUR: CodecContext = CodecContext {
    four_octet_as: true,
    extended_message: false,
};
const EXTENDED: CodecContext = CodecContext {
    four_octet_as: true,
    extended_message: true,
};
const CONTEXTS: [CodecContext; 3] = [TWO, FOUR, EXTENDED];

/// Mutated inputs per run; `WIRE_FUZZ_ITERATIONS` raises it for a longer local run.
const MUTATED: usize = 12_000;
const RANDOM: usize = 2_000;

fn mutated_count() -> usize {
    std::env::var("WIRE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MUTATED)
}

fn enc(msg: &Message, ctx: &CodecContext) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(msg, ctx, &mut out);
    out.to_vec()
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// Messages exercising what the fixtures do not: every attribute, AS4_PATH, link-local next
/// hops, withdrawals, unknown attributes and capabilities.
fn built_seeds() -> Vec<Vec<u8>> {
    let path = |asns: Vec<u32>| AsPath {
        segments: vec![
            AsSegment {
                kind: SegmentType::AsSequence,
                asns,
            },
            AsSegment {
                kind: SegmentType::AsSet,
                asns: vec![64512, 64513],
            },
        ],
    };
    let attrs = Attributes {
        origin: Some(Origin::Egp),
        as_path: Some(path(vec![65001, 4_200_000_001])),
        next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
        med: Some(5),
        local_pref: Some(200),
        atomic_aggregate: true,
        aggregator: Some(Aggregator {
            asn: 4_200_000_002,
            address: Ipv4Addr::new(198, 18, 0, 2),
        }),
        communities: vec![Community(1), Community::NO_EXPORT],
        ext_communities: vec![ExtCommunity([0, 2, 0, 1, 0, 0, 0, 1])],
        large_communities: vec![LargeCommunity {
            global: 1,
            local1: 2,
            local2: 3,
        }],
        unknown: vec![RawAttribute {
            flags: 0xc0,
            code: 99,
            value: vec![1, 2, 3],
        }],
        ..Attributes::default()
    };
    let v4 = Update {
        withdrawn: vec![p("198.18.1.0/24"), p("0.0.0.0/0")],
        attributes: Some(attrs.clone()),
        nlri: vec![p("192.0.2.0/24"), p("198.18.128.0/17"), p("198.18.0.1/32")],
        ..Update::default()
    };
    let v6 = Update {
        attributes: Some(Attributes {
            next_hop: None,
            ..attrs.clone()
        }),
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hops: vec![
                "2001:db8::1".parse::<IpAddr>().unwrap(),
                "fe80::1".parse().unwrap(),
            ],
            nlri: vec![p("2001:db8:1::/48"), p("::/0"), p("2001:db8::1/128")],
        }),
        mp_unreach: Some(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: vec![p("2001:db8:2::/64")],
        }),
        ..Update::default()
    };
    let open = Open {
        version: 4,
        my_as: AS_TRANS,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(198, 18, 0, 1),
        capabilities: vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedMessage,
            Capability::FourOctetAs(4_200_000_001),
            Capability::GracefulRestart(GracefulRestartCap {
                restart_state: true,
                notification: true,
                restart_time: 120,
                families: vec![GrFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding: true,
                }],
            }),
            Capability::LongLivedGracefulRestart(vec![LlgrFamily {
                family: Family::IPV6_UNICAST,
                forwarding: true,
                stale_time: 3600,
            }]),
            Capability::Unknown {
                code: 73,
                value: vec![2, b'h', b'i', 0],
            },
        ],
    };
    let mut seeds = Vec::new();
    for ctx in [TWO, FOUR] {
        seeds.push(enc(&Message::Update(v4.clone()), &ctx));
        seeds.push(enc(&Message::Update(v6.clone()), &ctx));
    }
    seeds.push(enc(&Message::Open(open), &TWO));
    seeds.push(enc(
        &Message::Notification(Notification::cease_with_message(2, "maintenance")),
        &TWO,
    ));
    seeds.push(enc(
        &Message::RouteRefresh(RouteRefresh {
            family: Family::IPV6_UNICAST,
            subtype: 1,
        }),
        &TWO,
    ));
    seeds
}

const INTERESTING: [u8; 8] = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x10, 0xff, 0x40];

fn mutate(rng: &mut StdRng, seed: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = m.len();
        match rng.gen_range(0..8) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                m[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                m[i] = rng.gen();
            }
            2 if len > 0 => {
                let i = rng.gen_range(0..len);
                m[i] = INTERESTING[rng.gen_range(0..INTERESTING.len())];
            }
            3 => {
                let i = rng.gen_range(0..=len);
                let n = rng.gen_range(1..8);
                for _ in 0..n {
                    m.insert(i, rng.gen());
                }
            }
            4 if len > 0 => {
                let i = rng.gen_range(0..len);
                let n = rng.gen_range(1..=(len - i).min(8));
                m.drain(i..i + n);
            }
            5 if len > 0 => m.truncate(rng.gen_range(0..len)),
            6 if len > 0 => {
                // Duplicate a slice of the message in place (repeats an attribute, say).
                let i = rng.gen_range(0..len);
                let n = rng.gen_range(1..=(len - i).min(16));
                let piece: Vec<u8> = m[i..i + n].to_vec();
                let at = rng.gen_range(0..=len);
                m.splice(at..at, piece);
            }
            _ => {
                // Splice in a piece of another seed.
                let other = &seeds[rng.gen_range(0..seeds.len())];
                let i = rng.gen_range(0..other.len());
                let n = rng.gen_range(1..=(other.len() - i).min(24));
                let at = rng.gen_range(0..=len);
                m.splice(at..at, other[i..i + n].iter().copied());
            }
        }
    }
    // Mostly keep the header valid, so the mutations reach the bodies.
    if m.len() >= 19 && rng.gen_bool(0.9) {
        m[..16].fill(0xff);
        if rng.gen_bool(0.85) {
            let len = m.len().min(usize::from(u16::MAX)) as u16;
            m[16..18].copy_from_slice(&len.to_be_bytes());
        }
    }
    m
}

fn random_message(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.gen_range(0..120);
    let mut m: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    if m.len() >= 19 && rng.gen_bool(0.8) {
        m[..16].fill(0xff);
        let len = m.len() as u16;
        m[16..18].copy_from_slice(&len.to_be_bytes());
        m[18] = rng.gen_range(1..=5);
    }
    m
}

#[derive(Default, Debug)]
struct Stats {
    inputs: usize,
    decoded: usize,
    updates_with_errors: usize,
    session_resets: usize,
}

fn check(input: &[u8], stats: &mut Stats) {
    stats.inputs += 1;
    for ctx in &CONTEXTS {
        match check_round_trip(input, ctx) {
            Ok(Message::Update(u)) if !u.errors.is_empty() => {
                stats.decoded += 1;
                stats.updates_with_errors += 1;
            }
            Ok(_) => stats.decoded += 1,
            Err(_) => stats.session_resets += 1,
        }
    }
}

#[test]
fn mutated_and_random_messages_never_panic_and_round_trip() {
    let mut seeds: Vec<Vec<u8>> = FIXTURES.iter().map(|f| f.to_vec()).collect();
    seeds.extend(built_seeds());
    let seed = std::env::var("WIRE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6261_746f_6e21);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut stats = Stats::default();
    for seed in &seeds {
        check(seed, &mut stats);
    }
    for _ in 0..mutated_count() {
        let seed = &seeds[rng.gen_range(0..seeds.len())];
        let input = mutate(&mut rng, seed, &seeds);
        check(&input, &mut stats);
        // Prefixes of the input too, as a stream reader would see them.
        let cut = rng.gen_range(0..=input.len());
        for ctx in &CONTEXTS {
            let _ = frame_len(&input[..cut], ctx);
        }
    }
    for _ in 0..RANDOM {
        let input = random_message(&mut rng);
        check(&input, &mut stats);
    }
    eprintln!("{stats:?}");
    assert!(stats.inputs >= 14_000);
    // The mutations must reach the decoders, not only the header check.
    assert!(stats.decoded > stats.inputs / 5, "{stats:?}");
    assert!(stats.updates_with_errors > 100, "{stats:?}");
}
