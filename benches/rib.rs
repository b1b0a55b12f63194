//! The RIB's share of receiving a full table, in one process: no socket, no session, no task.
//!
//! `bin/bench`'s ingest table times a whole speaker against bird2 and gobgpd; this one takes
//! the speaker apart so that a change to the RIB can be measured in seconds, and profiled
//! (`perf record`, `valgrind --tool=callgrind`, `--tool=dhat`) without a lab. It encodes N IPv4
//! /32s and M IPv6 /64s as packed 4096-octet UPDATEs with one attribute set (the injector's
//! shape), then times, over the same bytes:
//!   1. decoding alone;
//!   2. decoding and applying each UPDATE to a [`Rib`] as one peer's (the speaker's RIB task);
//!   3. a restart's restore: the RIB's snapshot given to a new RIB as stale routes;
//!   4. the peer's table sent again to that RIB, each route replacing its stale one.
//!
//! It prints seconds, routes per second, and the memory the RIB holds afterwards (RSS growth)
//! and at its peak (the process's high-water mark).
//!
//!   cargo bench --bench rib -- [--routes N] [--v6 M]     (default 1,000,000 and 100,000)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use baton::rib::{PeerRef, Rib};
use baton::store::RibSnapshot;
use baton::wire::{
    self, AsPath, AsSegment, Attributes, CodecContext, Family, Message, Origin, Prefix,
    SegmentType, UpdatePacker,
};
use bytes::BytesMut;

const CTX: CodecContext = CodecContext {
    four_octet_as: true,
    extended_message: false,
};

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (mut v4, mut v6) = (1_000_000, 100_000);
    if !bench {
        // `cargo test --all-targets` runs this too: a small table, checked, no figures.
        (v4, v6) = (3000, 1000);
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || -> usize {
            let v = args.next().unwrap_or_default().replace('_', "");
            v.parse().unwrap_or_else(|_| {
                eprintln!("rib bench: {arg} needs a number, not {v:?}");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--routes" => v4 = number(),
            "--v6" => v6 = number(),
            "--bench" => {}
            other => {
                eprintln!("usage: cargo bench --bench rib -- [--routes N] [--v6 M] ({other:?})");
                std::process::exit(2)
            }
        }
    }
    let frames = encode(v4, v6);
    let bytes: usize = frames.iter().map(|f| f.len()).sum();
    let decode = time(|| {
        let mut prefixes = 0;
        for frame in &frames {
            if let Ok(Message::Update(u)) = wire::decode(frame, &CTX) {
                prefixes += u.nlri.len() + u.mp_reach.map_or(0, |m| m.nlri.len());
            }
        }
        assert_eq!(prefixes, v4 + v6, "every prefix decodes");
    });
    let rss_before = status_kib("VmRSS");
    let peer = PeerRef {
        address: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
        router_id: Ipv4Addr::new(198, 18, 0, 1),
        ibgp: false,
    };
    let mut rib = Rib::new(65001);
    let apply = time(|| {
        for frame in &frames {
            if let Ok(Message::Update(u)) = wire::decode(frame, &CTX) {
                rib.apply_update(peer, u);
            }
        }
    });
    let counts = rib.loc().counts();
    assert_eq!((counts.ipv4, counts.ipv6), (v4, v6), "every route is held");
    let held = status_kib("VmRSS").saturating_sub(rss_before);
    let peak = status_kib("VmHWM");
    // A restarted speaker: the snapshot taken, then given to a new RIB as stale routes.
    let snapshot = RibSnapshot::of(&rib);
    let snapshot_kib = status_kib("VmRSS").saturating_sub(rss_before + held);
    let mut restarted = Rib::new(65001);
    let restore = time(|| {
        assert_eq!(snapshot.restore_into(&mut restarted), v4 + v6, "restored");
    });
    let counts = restarted.loc().counts();
    assert_eq!(
        (counts.ipv4, counts.ipv6),
        (v4, v6),
        "every route is restored"
    );
    // The peer's new session sends the table again: every route replaces a stale one.
    let resend = time(|| {
        for frame in &frames {
            if let Ok(Message::Update(u)) = wire::decode(frame, &CTX) {
                restarted.apply_update(peer, u);
            }
        }
    });
    let counts = restarted.loc().counts();
    assert_eq!(
        (counts.ipv4, counts.ipv6),
        (v4, v6),
        "every route is held once"
    );
    drop((snapshot, restarted));
    let routes = (v4 + v6) as f64;
    if !bench {
        println!(
            "rib bench: not run by cargo test (cargo bench --bench rib); {v4} + {v6} routes held"
        );
        return;
    }
    println!(
        "RIB ingest, one peer, {v4} IPv4 + {v6} IPv6 routes in {} UPDATEs ({:.1} MB)",
        frames.len(),
        bytes as f64 / 1e6
    );
    println!(
        "  decode alone       {decode:>7.3} s  {:>6.2}M routes/s",
        routes / decode / 1e6
    );
    println!(
        "  decode + RIB       {apply:>7.3} s  {:>6.2}M routes/s  ({:.0} ns a route in the RIB)",
        routes / apply / 1e6,
        (apply - decode).max(0.0) / routes * 1e9
    );
    println!(
        "  snapshot copy      {:>7.1} MiB ({:.1} % of what the RIB holds)",
        snapshot_kib as f64 / 1024.0,
        snapshot_kib as f64 * 100.0 / held.max(1) as f64
    );
    println!(
        "  restore            {restore:>7.3} s  {:>6.2}M routes/s  (a snapshot into a new RIB)",
        routes / restore / 1e6
    );
    println!(
        "  resent             {resend:>7.3} s  {:>6.2}M routes/s  (each replacing its stale route)",
        routes / resend / 1e6
    );
    println!(
        "  RIB holds          {:>7.1} MiB ({:.0} bytes a route); process peak {:.1} MiB",
        held as f64 / 1024.0,
        held as f64 * 1024.0 / routes,
        peak as f64 / 1024.0
    );
}

/// The table as UPDATE messages, one buffer each.
fn encode(v4: usize, v6: usize) -> Vec<Vec<u8>> {
    let attrs = Attributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::AsSequence,
                asns: vec![65010],
            }],
        }),
        next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
        ..Attributes::default()
    };
    let packer = UpdatePacker::new(CTX);
    let mut out = BytesMut::new();
    let prefixes: Vec<Prefix> = (0..v4)
        .map(|i| Prefix::new(Ipv4Addr::from(0x0b00_0000 + i as u32).into(), 32).expect("a /32"))
        .collect();
    packer.announce(Family::IPV4_UNICAST, &attrs, &[], &prefixes, &mut out);
    let prefixes: Vec<Prefix> = (0..v6)
        .map(|i| {
            let (hi, lo) = (1 + (i >> 16) as u16, i as u16);
            let addr = Ipv6Addr::new(0x2001, 0xdb8, hi, lo, 0, 0, 0, 0);
            Prefix::new(addr.into(), 64).expect("a /64")
        })
        .collect();
    let hop = [IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))];
    packer.announce(Family::IPV6_UNICAST, &attrs, &hop, &prefixes, &mut out);
    let mut frames = Vec::new();
    let mut rest = &out[..];
    while !rest.is_empty() {
        let len = wire::frame_len(rest, &CTX)
            .expect("a valid header")
            .expect("a whole message");
        frames.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    frames
}

fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
