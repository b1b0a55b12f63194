//! How long a million-route snapshot takes to save and load. Ignored by default; run with
//! `cargo test --release --lib store::tests::timing -- --ignored --nocapture`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::rib::{PathAttrs, SharedAttrs};
use crate::store::{RibSnapshot, SavedRoute, StateDir};
use crate::wire::{AsPath, AsSegment, Community, Origin, Prefix, SegmentType};

/// `n` distinct attribute sets, like a full table's (paths of 2 to 6 ASes, a community).
fn attr_sets(n: u32) -> Vec<SharedAttrs> {
    (0..n)
        .map(|i| {
            let mut p = PathAttrs::default();
            p.attrs.origin = Some(Origin::Igp);
            p.attrs.as_path = Some(AsPath {
                segments: vec![AsSegment {
                    kind: SegmentType::AsSequence,
                    asns: (0..2 + i % 5).map(|k| 64512 + (i * 7 + k) % 1000).collect(),
                }],
            });
            p.attrs.med = Some(i);
            p.attrs.communities = vec![Community(0xFDE9_0000 | (i % 100))];
            p.next_hop = Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)));
            Arc::new(p)
        })
        .collect()
}

/// The `i`-th prefix: the first 2^17 are IPv4 /32s of 198.18.0.0/15, the rest IPv6 /64s of
/// 2001:db8::/32.
fn nth_prefix(i: u32) -> Prefix {
    if i < 1 << 17 {
        let a = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i;
        Prefix::new(IpAddr::V4(Ipv4Addr::from(a)), 32).unwrap()
    } else {
        let a = (0x2001_0db8u128 << 96) | (u128::from(i) << 64);
        Prefix::new(IpAddr::V6(Ipv6Addr::from(a)), 64).unwrap()
    }
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn million_route_snapshot_timing() {
    const ROUTES: u32 = 1_000_000;
    const PEERS: u32 = 4;
    let t = Instant::now();
    let sets = attr_sets(30_000);
    let mut rib = RibSnapshot::default();
    for peer in 0..PEERS {
        let routes: Vec<SavedRoute> = (peer..ROUTES)
            .step_by(PEERS as usize)
            .map(|i| SavedRoute {
                prefix: nth_prefix(i),
                attrs: Arc::clone(&sets[(i % 30_000) as usize]),
            })
            .collect();
        let addr = IpAddr::V4(Ipv4Addr::new(198, 18, 1, peer as u8 + 1));
        if peer % 2 == 0 {
            rib.adj_out.insert(addr, routes);
        } else {
            rib.adj_in.insert(addr, routes);
        }
    }
    assert_eq!(rib.route_count(), ROUTES as usize);
    let build = t.elapsed();

    let top = tempdir();
    let dir = StateDir::open(top.path()).unwrap();
    let t = Instant::now();
    dir.save_rib(&rib).unwrap();
    let first_save = t.elapsed();
    // The second save also checks the first file before keeping it as `.prev`.
    let t = Instant::now();
    dir.save_rib(&rib).unwrap();
    let second_save = t.elapsed();
    let size = std::fs::metadata(dir.rib_path()).unwrap().len();
    let t = Instant::now();
    let back = dir.load_rib().unwrap().unwrap().value;
    let load = t.elapsed();
    assert_eq!(back.route_count(), ROUTES as usize);
    let t = Instant::now();
    assert_eq!(back, rib);
    let compare = t.elapsed();
    println!(
        "{ROUTES} routes, 30000 attribute sets, {PEERS} peers: file {:.1} MB; \
         build {build:.2?}, save {first_save:.2?} (again, with .prev: {second_save:.2?}), \
         load {load:.2?}, compare {compare:.2?}",
        size as f64 / 1e6
    );
}
