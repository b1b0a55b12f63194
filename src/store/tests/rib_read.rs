//! The RIB snapshot's reader by hand reads what its writer by hand writes, and leaves
//! everything else to serde: odd but valid payloads come back as serde reads them, damaged
//! ones are refused with serde's message.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::types::sample_rib;
use crate::rib::{PathAttrs, SharedAttrs};
use crate::store::rib_json::write_rib;
use crate::store::rib_read::{read_rib, read_usual};
use crate::store::{RibSnapshot, SavedRoutes};
use crate::wire::Prefix;

fn by_hand(rib: &RibSnapshot) -> Vec<u8> {
    let mut out = Vec::new();
    write_rib(rib, &mut out).unwrap();
    out
}

/// A snapshot with many routes over a few sets, both families, several peers.
fn larger_rib() -> RibSnapshot {
    let sets: Vec<SharedAttrs> = (0..5u32)
        .map(|i| {
            let mut a = PathAttrs::default();
            a.attrs.med = Some(i);
            Arc::new(a)
        })
        .collect();
    let mut rib = sample_rib();
    let routes: SavedRoutes = (0..20_000u32)
        .map(|i| {
            let prefix = if i % 4 == 0 {
                let addr = std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i) << 64);
                Prefix::new(IpAddr::V6(addr), 64).unwrap()
            } else {
                Prefix::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8))), 24).unwrap()
            };
            (prefix, &sets[(i / 7 % 5) as usize])
        })
        .collect();
    rib.adj_in.insert("198.18.0.7".parse().unwrap(), routes);
    rib
}

#[test]
fn what_the_writer_writes_is_read_by_hand_as_serde_reads_it() {
    for rib in [sample_rib(), RibSnapshot::default(), larger_rib()] {
        let bytes = by_hand(&rib);
        let by_serde: RibSnapshot = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(by_serde, rib);
        assert_eq!(read_usual(&bytes), Ok(rib.clone()));
        assert_eq!(read_rib(&bytes).unwrap(), rib);
    }
}

#[test]
fn odd_but_valid_payloads_go_to_serde_and_read_the_same() {
    let rib = sample_rib();
    let pretty = serde_json::to_vec_pretty(&rib).unwrap();
    assert!(
        read_usual(&pretty).is_err(),
        "whitespace is not the writer's shape"
    );
    assert_eq!(read_rib(&pretty).unwrap(), rib);

    // An older speaker's file: its Adj-RIB-Out too, skipped.
    let mut older: serde_json::Value = serde_json::from_slice(&by_hand(&rib)).unwrap();
    older["adj_out"] = older["adj_in"].clone();
    let older = serde_json::to_vec(&older).unwrap();
    assert!(read_usual(&older).is_err());
    assert_eq!(read_rib(&older).unwrap(), rib);

    // Trailing whitespace, which serde allows.
    let mut spaced = by_hand(&rib);
    spaced.extend_from_slice(b" \n");
    assert!(read_usual(&spaced).is_err());
    assert_eq!(read_rib(&spaced).unwrap(), rib);
}

#[test]
fn damaged_payloads_are_refused_with_serde_s_message() {
    let base = r#""adj_out":[],"adj_in":[{"peer":"198.18.0.2","routes":"#;
    let cases = [
        (
            format!(r#"{{"attr_sets":[{{}}],{base}[["198.18.1.0/24",1]]}}],"kernel_routes":[]}}"#),
            "refers to attribute set 1, but there are 1",
        ),
        (
            format!(r#"{{"attr_sets":[{{}}],{base}[["198.18.1.1/24",0]]}}],"kernel_routes":[]}}"#),
            "host bits",
        ),
        (
            format!(
                r#"{{"attr_sets":[{{}}],{base}[]}},{{"peer":"198.18.0.2","routes":[]}}],"kernel_routes":[]}}"#
            ),
            "twice",
        ),
        (
            format!(r#"{{"attr_sets":[{{}}],{base}[["198.18.1.0/24",0]]}}],"kernel_routes":[]"#),
            "EOF",
        ),
        (
            format!(
                r#"{{"attr_sets":[{{}}],{base}[["198.18.1.0/24",0]]}}],"colour":1,"kernel_routes":[]}}"#
            ),
            "unknown field `colour`",
        ),
    ];
    for (case, want) in cases {
        assert!(read_usual(case.as_bytes()).is_err(), "{case}");
        let err = read_rib(case.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(want), "{case}: {err}");
    }
}
