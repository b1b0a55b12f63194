//! The state types: intent and RIB snapshot come back equal, attribute sets shared.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::*;
use crate::config::{self, Peer, Route};
use crate::rib::{PathAttrs, SharedAttrs};
use crate::store::file::{load, save};
use crate::store::{Intent, KernelRoute, RibSnapshot, SavedAttrs, SavedRoute, SavedRoutes, Source};
use crate::wire::{
    Aggregator, AsPath, AsSegment, Attributes, Community, ExtCommunity, LargeCommunity, Origin,
    Prefix, RawAttribute, SegmentType,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn example_config() -> config::Config {
    config::parse(include_str!("../../../config/example.toml"), "example.toml").unwrap()
}

/// Every attribute field set, as from a 2-octet peer (AS4_PATH kept apart).
fn rich_attrs() -> PathAttrs {
    PathAttrs {
        attrs: Attributes {
            origin: Some(Origin::Incomplete),
            as_path: Some(AsPath {
                segments: vec![
                    AsSegment {
                        kind: SegmentType::AsSequence,
                        asns: vec![65002, 23456, 65003],
                    },
                    AsSegment {
                        kind: SegmentType::AsSet,
                        asns: vec![64512, 64513],
                    },
                ],
            }),
            as4_path: Some(AsPath {
                segments: vec![AsSegment {
                    kind: SegmentType::AsSequence,
                    asns: vec![4_200_000_001, 65003],
                }],
            }),
            next_hop: Some(Ipv4Addr::new(198, 18, 0, 2)),
            med: Some(0),
            local_pref: Some(200),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 23456,
                address: Ipv4Addr::new(198, 18, 0, 9),
            }),
            as4_aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                address: Ipv4Addr::new(198, 18, 0, 9),
            }),
            communities: vec![Community(0xFDE9_0064), Community::NO_EXPORT],
            ext_communities: vec![ExtCommunity([0, 2, 0xfd, 0xe9, 0, 0, 0, 1])],
            large_communities: vec![LargeCommunity {
                global: 65001,
                local1: 1,
                local2: 2,
            }],
            unknown: vec![
                RawAttribute {
                    flags: 0xe0,
                    code: 99,
                    value: vec![0, 1, 0xab, 0xff],
                },
                RawAttribute {
                    flags: 0xd0,
                    code: 200,
                    value: vec![7; 300],
                },
            ],
        },
        next_hop: Some(ip("198.18.0.2")),
    }
}

fn plain_attrs(med: u32, next_hop: &str) -> PathAttrs {
    let mut p = PathAttrs::default();
    p.attrs.origin = Some(Origin::Igp);
    p.attrs.med = Some(med);
    p.next_hop = Some(ip(next_hop));
    p
}

#[test]
fn attribute_mirror_round_trips_every_field() {
    for attrs in [
        rich_attrs(),
        PathAttrs::default(),
        plain_attrs(5, "2001:db8::1"),
    ] {
        let saved = SavedAttrs::from(&attrs);
        let json = serde_json::to_string(&saved).unwrap();
        let back: SavedAttrs = serde_json::from_str(&json).unwrap();
        assert_eq!(PathAttrs::from(back), attrs, "{json}");
    }
    let json = serde_json::to_string(&SavedAttrs::from(&rich_attrs())).unwrap();
    assert!(
        json.contains(r#""unknown":[{"flags":224,"code":99,"value":"0001abff"}"#),
        "{json}"
    );
    assert!(
        json.contains(r#"{"seq":[65002,23456,65003]},{"set":[64512,64513]}"#),
        "{json}"
    );
    for bad in [
        r#"{"unknown":[{"flags":1,"code":2,"value":"0g"}]}"#,
        r#"{"med":1,"x":2}"#,
    ] {
        assert!(serde_json::from_str::<SavedAttrs>(bad).is_err(), "{bad}");
    }
}

#[test]
fn intent_round_trips_through_a_file() {
    let dir = tempdir();
    let path = dir.path().join("intent.state");
    let mut intent = Intent::new(example_config());
    let mut route: Route = example_config().routes[0].clone();
    route.prefix = prefix("198.19.0.0/24");
    route.next_hop = None;
    route.communities.push(Community::NO_EXPORT);
    intent.api_routes.insert(route);
    let mut peer = Peer::new(ip("2001:db8::7"), 65007);
    peer.description = Some("added through the API".into());
    intent.api_peers.push(peer);
    intent.disabled_peers.push(ip("198.18.0.2"));
    save(&path, "intent", &intent).unwrap();
    let l = load::<Intent>(&path, "intent").unwrap().unwrap();
    assert!(
        !intent.config.routes.is_empty(),
        "the test needs configured routes"
    );
    assert_eq!((l.value, l.source), (as_saved(intent), Source::Current));

    let default = Intent::new(config::Config::default_config());
    save(&path, "intent", &default).unwrap();
    assert_eq!(
        load::<Intent>(&path, "intent").unwrap().unwrap().value,
        as_saved(default)
    );
}

fn routes(list: &[(&str, &SharedAttrs)]) -> SavedRoutes {
    list.iter().map(|(p, a)| (prefix(p), *a)).collect()
}

pub(super) fn sample_rib() -> RibSnapshot {
    let rich: SharedAttrs = Arc::new(rich_attrs());
    let plain: SharedAttrs = Arc::new(plain_attrs(10, "198.18.0.1"));
    // Equal to `plain` by value but another allocation: stored once all the same.
    let plain_again: SharedAttrs = Arc::new(plain_attrs(10, "198.18.0.1"));
    let v6: SharedAttrs = Arc::new(plain_attrs(20, "2001:db8::1"));
    let mut rib = RibSnapshot::default();
    rib.adj_in.insert(
        ip("198.18.0.2"),
        routes(&[
            ("198.18.1.0/24", &plain),
            ("0.0.0.0/0", &plain_again),
            ("198.18.2.0/24", &rich),
            ("198.18.3.0/24", &plain),
        ]),
    );
    rib.adj_in.insert(
        ip("2001:db8::2"),
        routes(&[("2001:db8:1::/48", &v6), ("::/0", &v6)]),
    );
    rib.adj_in.insert(ip("198.18.0.3"), SavedRoutes::default());
    rib.kernel_routes.push(KernelRoute {
        prefix: prefix("198.18.2.0/24"),
        gateway: Some(ip("198.18.0.2")),
        table: 254,
    });
    rib
}

#[test]
fn rib_snapshot_round_trips_and_shares_attribute_sets() {
    let dir = tempdir();
    let path = dir.path().join("rib.state");
    let rib = sample_rib();
    assert_eq!(rib.route_count(), 6);
    save(&path, "rib", &rib).unwrap();
    let back = load::<RibSnapshot>(&path, "rib").unwrap().unwrap().value;
    assert_eq!(back, rib);

    let json: serde_json::Value = serde_json::from_slice(&payload(&path)).unwrap();
    assert_eq!(json["attr_sets"].as_array().unwrap().len(), 3, "{json}");
    assert_eq!(
        json["adj_in"][0]["routes"][0],
        serde_json::json!(["198.18.1.0/24", 0])
    );
    // Kept for speakers that expect the field; nothing in it (see `RibSnapshot`).
    assert_eq!(json["adj_out"], serde_json::json!([]));

    let inn: Vec<SavedRoute> = back.adj_in[&ip("198.18.0.2")].iter().collect();
    let attrs = |p: &str| &inn.iter().find(|r| r.prefix == prefix(p)).unwrap().attrs;
    assert!(Arc::ptr_eq(attrs("198.18.1.0/24"), attrs("0.0.0.0/0")));
    assert!(Arc::ptr_eq(attrs("198.18.1.0/24"), attrs("198.18.3.0/24")));
    assert!(!Arc::ptr_eq(attrs("198.18.1.0/24"), attrs("198.18.2.0/24")));
}

#[test]
fn an_older_snapshot_with_adj_rib_out_loads_without_it() {
    let dir = tempdir();
    let path = dir.path().join("rib.state");
    let rib = sample_rib();
    save(&path, "rib", &rib).unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&payload(&path)).unwrap();
    json["adj_out"] = json["adj_in"].clone();
    let back: RibSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, rib);
}

#[test]
fn inconsistent_snapshots_do_not_decode() {
    let base = r#""adj_out":[],"kernel_routes":[]"#;
    let cases = [
        // An index past the attribute sets.
        format!(
            r#"{{"attr_sets":[{{}}],"adj_in":[{{"peer":"198.18.0.2","routes":[["198.18.1.0/24",1]]}}],{base}}}"#
        ),
        // Host bits set.
        format!(
            r#"{{"attr_sets":[{{}}],"adj_in":[{{"peer":"198.18.0.2","routes":[["198.18.1.1/24",0]]}}],{base}}}"#
        ),
        // The same peer twice.
        format!(
            r#"{{"attr_sets":[],"adj_in":[{{"peer":"198.18.0.2","routes":[]}},{{"peer":"198.18.0.2","routes":[]}}],{base}}}"#
        ),
    ];
    let expected = [
        "refers to attribute set 1, but there are 1",
        "host bits",
        "twice",
    ];
    for (case, want) in cases.iter().zip(expected) {
        let err = serde_json::from_str::<RibSnapshot>(case)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}");
    }
    let empty = format!(r#"{{"attr_sets":[],"adj_in":[],{base}}}"#);
    let rib: RibSnapshot = serde_json::from_str(&empty).unwrap();
    assert_eq!(rib, RibSnapshot::default());
}

#[test]
fn run_time_routes_read_back_keyed_by_prefix_the_last_of_a_prefix_winning() {
    let mut intent = Intent::new(config::Config::default_config());
    intent.announce(vec![Route::new(prefix("198.19.0.0/24"))]);
    let json = serde_json::to_string(&intent).unwrap();
    let listed = r#""api_routes":[{"prefix":"198.19.1.0/24","med":1,"as_path_prepend":0},{"prefix":"198.19.0.0/24","as_path_prepend":0},{"prefix":"198.19.1.0/24","med":2,"as_path_prepend":0}]"#;
    let json = json.replace(
        r#""api_routes":[{"prefix":"198.19.0.0/24","as_path_prepend":0}]"#,
        listed,
    );
    let back: Intent = serde_json::from_str(&json).unwrap();
    let meds: Vec<_> = back.api_routes.iter().map(|(p, r)| (*p, r.med)).collect();
    assert_eq!(
        meds,
        [
            (prefix("198.19.0.0/24"), None),
            (prefix("198.19.1.0/24"), Some(2))
        ]
    );
    let not_a_list = json.replace(listed, r#""api_routes":{}"#);
    assert!(serde_json::from_str::<Intent>(&not_a_list).is_err());
}

#[test]
fn the_hand_written_snapshot_encoder_writes_serde_s_bytes() {
    // Enough routes to be handed to the file in several pieces (a MiB each).
    let shared: Vec<SharedAttrs> = (0..7)
        .map(|i| Arc::new(plain_attrs(i, "198.18.0.1")))
        .collect();
    let many: SavedRoutes = (0..120_000u32)
        .map(|i| {
            let addr = Ipv4Addr::from(0x0a00_0000 + (i << 4));
            let p = crate::wire::Prefix::new(IpAddr::V4(addr), 28).unwrap();
            (p, &shared[i as usize % 7])
        })
        .collect();
    let mut big = sample_rib();
    big.adj_in.insert(ip("198.18.0.9"), many);
    for rib in [sample_rib(), RibSnapshot::default(), big] {
        let by_serde = serde_json::to_vec(&rib).unwrap();
        let mut by_hand = Vec::new();
        crate::store::rib_json::write_rib(&rib, &mut by_hand).unwrap();
        let differ = (by_hand.iter().zip(&by_serde)).position(|(a, b)| a != b);
        let at = differ.unwrap_or(by_hand.len().min(by_serde.len()));
        let near = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(40)..])
                .chars()
                .take(80)
                .collect::<String>()
        };
        assert!(
            by_hand == by_serde,
            "differ at byte {at}: by hand …{} / by serde …{}",
            near(&by_hand),
            near(&by_serde)
        );
    }
}
