//! The intent's hand-written encoder writes the very bytes of its serde derive, so that files
//! written by either one read back in both old and new batons.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::config::{self, Peer, Route};
use crate::store::intent_json::write_intent;
use crate::store::intent_read::read_usual;
use crate::store::{Intent, StateDir};
use crate::wire::{Community, LargeCommunity, Prefix};

fn route(prefix: &str) -> Route {
    Route::new(prefix.parse().unwrap())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Routes with every field set and unset, of both families, with extreme values.
fn varied_routes() -> Vec<Route> {
    let mut routes = vec![
        route("0.0.0.0/0"),
        route("::/0"),
        route("255.255.255.255/32"),
        route("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
        route("10.0.0.0/8"),
    ];
    let mut r = route("192.0.2.0/24");
    r.next_hop = Some(ip("198.18.0.1"));
    r.communities = vec![
        Community::NO_EXPORT,
        Community::NO_ADVERTISE,
        Community::LLGR_STALE,
        Community(0),
        Community(0xFFFF_FFFF),
        Community(65001 << 16 | 100),
    ];
    r.large_communities = vec![
        LargeCommunity {
            global: 65001,
            local1: 1,
            local2: 1,
        },
        LargeCommunity {
            global: u32::MAX,
            local1: 0,
            local2: 4_200_000_000,
        },
    ];
    r.med = Some(0);
    r.local_pref = Some(u32::MAX);
    r.as_path_prepend = 10;
    routes.push(r);
    let mut r = route("2001:db8:1::/48");
    r.next_hop = Some(ip("2001:db8::1"));
    r.large_communities = vec![LargeCommunity {
        global: 0,
        local1: 0,
        local2: 0,
    }];
    r.med = Some(1_000_000);
    routes.push(r);
    let mut r = route("2001:db8:2::/64");
    r.next_hop = Some(ip("::ffff:198.18.0.1"));
    r.communities = vec![Community(1)];
    r.local_pref = Some(0);
    r.as_path_prepend = 1;
    routes.push(r);
    let mut r = route("198.51.100.128/25");
    r.next_hop = Some(ip("fe80::1"));
    r.local_pref = Some(100);
    routes.push(r);
    routes
}

pub(super) fn varied_intent() -> Intent {
    let config = config::parse(include_str!("../../../config/example.toml"), "example.toml");
    let mut intent = Intent::new(config.unwrap());
    intent.announce(varied_routes());
    let mut peer = Peer::new(ip("2001:db8::7"), 65007);
    peer.description = Some("added \"through\" the API\n".into());
    intent.api_peers.push(peer);
    intent.api_peers.push(Peer::new(ip("198.18.0.9"), 65009));
    intent.disabled_peers = vec![ip("198.18.0.2"), ip("2001:db8::2")];
    intent
}

pub(super) fn encoded(intent: &Intent) -> Vec<u8> {
    let mut out = Vec::new();
    write_intent(intent, &mut out).unwrap();
    out
}

/// Both encoders' bytes, and what serde and the hand-written reader read back from the
/// hand-written ones.
fn assert_same_as_serde(intent: &Intent) {
    let by_serde = serde_json::to_vec(intent).unwrap();
    let by_hand = encoded(intent);
    assert_eq!(
        String::from_utf8_lossy(&by_hand),
        String::from_utf8_lossy(&by_serde)
    );
    let back: Intent = serde_json::from_slice(&by_hand).unwrap();
    assert_eq!(back, as_saved(intent.clone()));
    assert_eq!(read_usual(&by_hand), Ok(back), "read by hand");
}

#[test]
fn routes_of_every_shape_encode_as_serde_does() {
    assert_same_as_serde(&varied_intent());
    for r in varied_routes() {
        let mut one = Intent::new(config::Config::default_config());
        one.announce(vec![r]);
        assert_same_as_serde(&one);
    }
}

#[test]
fn an_intent_without_run_time_changes_encodes_as_serde_does() {
    assert_same_as_serde(&Intent::new(config::Config::default_config()));
}

#[test]
fn routes_spanning_many_chunks_encode_as_serde_does() {
    let mut intent = varied_intent();
    intent.announce(
        (0..40_000u32)
            .map(|i| {
                let addr = Ipv4Addr::from(0x0a00_0000 + i * 16);
                let mut r = Route::new(Prefix::new(IpAddr::V4(addr), 28).unwrap());
                if i % 3 == 0 {
                    r.next_hop = Some(ip("198.18.0.1"));
                    r.communities = vec![Community(i)];
                    r.med = Some(i);
                }
                r
            })
            .collect(),
    );
    assert!(encoded(&intent).len() > 2 << 20, "the test needs chunks");
    assert_same_as_serde(&intent);
}

#[test]
fn an_intent_saved_by_the_state_directory_reads_back() {
    let dir = tempdir();
    let state = StateDir::open(dir.path()).unwrap();
    let intent = varied_intent();
    state.save_intent(&intent).unwrap();
    let payload = payload(&state.intent_path());
    assert_eq!(payload, serde_json::to_vec(&intent).unwrap());
    let back = state.load_intent().unwrap().unwrap().value;
    assert_eq!(back, as_saved(intent));
}
