//! baton against real gobgpd and bird2, each in its own network namespace: sessions (eBGP, iBGP,
//! IPv4, IPv6, 4-octet AS), the attributes peers receive, routes learned from peers, OPEN
//! errors both ways, hold timer expiry, and a martian next hop from a scripted peer ignored.
//! Every assertion reads what the peer holds (`gobgp -j`, `birdc`) or our state through
//! `batonctl`, never a log.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::baton::{global_toml, host_global_toml, peer_toml, Baton};
use common::bird::{Bird, BirdConfig, BirdPeer};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::netns::{Host, Lab};
use common::rawpeer::RawPeer;
use common::{poll, Family};

/// Session setup: gobgpd refuses connections for ~5 s after any loss, so be generous.
const SESSION_UP: Duration = Duration::from_secs(30);
const ROUTE_ARRIVES: Duration = Duration::from_secs(15);

/// Two routes, one per family, with every attribute an operator sets.
const ROUTES: &str = r#"
[[route]]
prefix = "192.0.2.0/24"
communities = ["65001:100", "65001:200"]
large_communities = ["65001:1:1"]
med = 10
local_pref = 200

[[route]]
prefix = "2001:db8:100::/48"
communities = ["65001:100"]
large_communities = ["65001:1:1"]
med = 10
local_pref = 200
"#;

/// baton on `host` with one IPv4 and one IPv6 peer at `peer`'s addresses.
fn start_baton(host: &Host, asn: u32, peer: &Host, peer_as: u32, extra: &str) -> Baton {
    let paths = Baton::paths(host);
    let mut toml = global_toml(
        &paths,
        asn,
        &host.ipv4.to_string(),
        &[format!("{}:179", host.ipv4), format!("[{}]:179", host.ipv6)],
    );
    toml += &peer_toml(peer.ipv4.into(), peer_as, "ipv4-unicast", extra);
    toml += &peer_toml(peer.ipv6.into(), peer_as, "ipv6-unicast", extra);
    toml += ROUTES;
    Baton::start(host, &toml)
}

fn gobgpd_for(host: &Host, asn: u32, baton: &Host, baton_as: u32) -> Gobgpd {
    Gobgpd::start(
        host,
        GobgpConfig {
            asn,
            neighbors: vec![
                GobgpNeighbor::new(baton.ipv4.into(), baton_as),
                GobgpNeighbor::new(baton.ipv6.into(), baton_as),
            ],
            ..GobgpConfig::default()
        },
    )
}

/// The route for `prefix` in gobgpd's Adj-RIB-In from `from`, once it arrives.
fn gobgp_route(gobgpd: &Gobgpd, from: IpAddr, prefix: &str) -> common::gobgp::GobgpRoute {
    let family = Family::of(prefix);
    poll::until(
        ROUTE_ARRIVES,
        &format!("gobgpd to hold {prefix} from {from}"),
        || {
            gobgpd
                .adj_in(from, family)
                .into_iter()
                .find(|r| r.prefix == prefix)
        },
    )
}

#[test]
fn ebgp_with_gobgpd_over_ipv4_and_ipv6_with_a_four_octet_local_as() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = gobgpd_for(&b, 65002, &a, 4_200_000_001);
    let baton = start_baton(&a, 4_200_000_001, &b, 65002, "");
    for addr in [IpAddr::from(a.ipv4), IpAddr::from(a.ipv6)] {
        gobgpd.wait_established(addr, SESSION_UP);
    }
    baton.wait_established(b.ipv4.into(), SESSION_UP);
    baton.wait_established(b.ipv6.into(), SESSION_UP);

    let v4 = gobgp_route(&gobgpd, a.ipv4.into(), "192.0.2.0/24");
    poll::until_true(ROUTE_ARRIVES, "baton to report End-of-RIB sent", || {
        baton.neighbor(b.ipv4.into())["end_of_rib_sent_ms"].is_u64()
    });
    assert_eq!(v4.as_path, vec![4_200_000_001]);
    assert_eq!(v4.next_hop, IpAddr::from(a.ipv4));
    assert_eq!(v4.communities, vec!["65001:100", "65001:200"]);
    assert_eq!(v4.large_communities, vec!["65001:1:1"]);
    assert_eq!(v4.med, Some(10));
    assert_eq!(v4.local_pref, None, "no LOCAL_PREF over eBGP");
    assert_eq!(v4.origin, Some(0));

    let v6 = gobgp_route(&gobgpd, a.ipv6.into(), "2001:db8:100::/48");
    assert_eq!(v6.as_path, vec![4_200_000_001]);
    assert_eq!(v6.next_hop, IpAddr::from(a.ipv6));
    assert_eq!(v6.communities, vec!["65001:100"]);
    assert_eq!(v6.large_communities, vec!["65001:1:1"]);
    assert_eq!(v6.med, Some(10));
    // Each session carries only its own family.
    assert!(gobgpd
        .adj_in(a.ipv4.into(), Family::Ipv6Unicast)
        .iter()
        .all(|r| r.prefix != "2001:db8:100::/48"));

    // Routes gobgpd announces arrive in our Adj-RIB-In and Loc-RIB, and leave on withdraw.
    gobgpd.global_rib_add("203.0.113.0/24", &["community", "65002:7", "med", "5"]);
    gobgpd.global_rib_add("2001:db8:200::/48", &["community", "65002:8"]);
    let learned = poll::until(ROUTE_ARRIVES, "baton to learn 203.0.113.0/24", || {
        baton.adj_in_route(b.ipv4.into(), "203.0.113.0/24")
    });
    assert_eq!(learned["as_path"], serde_json::json!([65002]));
    assert_eq!(learned["communities"], serde_json::json!(["65002:7"]));
    assert_eq!(learned["med"], 5);
    assert_eq!(learned["next_hop"], b.ipv4.to_string());
    assert_eq!(learned["accepted"], true);
    let best = poll::until(ROUTE_ARRIVES, "203.0.113.0/24 in the Loc-RIB", || {
        baton.best_route("203.0.113.0/24")
    });
    assert_eq!(best["source"], b.ipv4.to_string());
    let learned6 = poll::until(ROUTE_ARRIVES, "baton to learn 2001:db8:200::/48", || {
        baton.adj_in_route(b.ipv6.into(), "2001:db8:200::/48")
    });
    assert_eq!(learned6["next_hop"], b.ipv6.to_string());
    assert_eq!(learned6["communities"], serde_json::json!(["65002:8"]));

    let counters = baton.neighbor(b.ipv4.into())["families"].clone();
    let v4c = counters
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == "ipv4-unicast")
        .unwrap()
        .clone();
    assert_eq!(
        (
            v4c["received"].as_u64(),
            v4c["accepted"].as_u64(),
            v4c["advertised"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );

    gobgpd.global_rib_del("203.0.113.0/24");
    gobgpd.global_rib_del("2001:db8:200::/48");
    poll::until_true(ROUTE_ARRIVES, "203.0.113.0/24 to leave our RIB", || {
        baton
            .adj_in_route(b.ipv4.into(), "203.0.113.0/24")
            .is_none()
            && baton.best_route("203.0.113.0/24").is_none()
    });
    poll::until_true(ROUTE_ARRIVES, "2001:db8:200::/48 to leave our RIB", || {
        baton
            .adj_in_route(b.ipv6.into(), "2001:db8:200::/48")
            .is_none()
            && baton.best_route("2001:db8:200::/48").is_none()
    });
}

#[test]
fn ibgp_with_gobgpd_carries_local_pref_and_an_empty_as_path() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("gobgp"));
    let asn = 4_200_000_001;
    let gobgpd = gobgpd_for(&b, asn, &a, asn);
    let baton = start_baton(&a, asn, &b, asn, "");
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    gobgpd.wait_established(a.ipv6.into(), SESSION_UP);
    let v4 = gobgp_route(&gobgpd, a.ipv4.into(), "192.0.2.0/24");
    assert_eq!(v4.as_path, Vec::<u32>::new());
    assert_eq!(v4.local_pref, Some(200));
    assert_eq!(v4.med, Some(10));
    assert_eq!(v4.next_hop, IpAddr::from(a.ipv4));
    let v6 = gobgp_route(&gobgpd, a.ipv6.into(), "2001:db8:100::/48");
    assert_eq!(v6.local_pref, Some(200));
    assert_eq!(v6.next_hop, IpAddr::from(a.ipv6));
    baton.wait_established(b.ipv4.into(), SESSION_UP);
}

fn bird_for(host: &Host, asn: u32, baton: &Host, baton_as: u32) -> Bird {
    let mut v4 = BirdPeer::new("baton4", baton.ipv4.into(), baton_as);
    v4.ipv4 = true;
    v4.ipv6 = false;
    let mut v6 = BirdPeer::new("baton6", baton.ipv6.into(), baton_as);
    v6.ipv4 = false;
    v6.ipv6 = true;
    Bird::start(
        host,
        BirdConfig {
            router_id: None,
            asn,
            protocols: vec![v4, v6],
            static_routes: vec!["198.19.1.0/24".into()],
            extra_config: String::new(),
        },
    )
}

fn bird_route(bird: &Bird, table: &str, prefix: &str, protocol: &str) -> common::bird::BirdRoute {
    poll::until(
        ROUTE_ARRIVES,
        &format!("bird to hold {prefix} from {protocol}"),
        || {
            bird.routes_from(table, protocol)
                .into_iter()
                .find(|r| r.prefix == prefix)
        },
    )
}

#[test]
fn ebgp_with_bird_over_ipv4_and_ipv6_with_a_four_octet_peer_as() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("bird"));
    let bird = bird_for(&b, 4_200_000_002, &a, 65001);
    let baton = start_baton(&a, 65001, &b, 4_200_000_002, "");
    bird.wait_established("baton4", SESSION_UP);
    bird.wait_established("baton6", SESSION_UP);

    let v4 = bird_route(&bird, "master4", "192.0.2.0/24", "baton4");
    assert_eq!(v4.as_path, vec![65001]);
    assert_eq!(v4.next_hop, Some(IpAddr::from(a.ipv4)));
    assert_eq!(v4.communities, vec![(65001, 100), (65001, 200)]);
    assert_eq!(v4.large_communities, vec![(65001, 1, 1)]);
    assert_eq!(v4.med, Some(10));
    let v6 = bird_route(&bird, "master6", "2001:db8:100::/48", "baton6");
    assert_eq!(v6.as_path, vec![65001]);
    assert_eq!(v6.next_hop, Some(IpAddr::from(a.ipv6)));
    assert_eq!(v6.med, Some(10));

    // bird's static route arrives in our RIB with its 4-octet AS.
    let learned = poll::until(
        ROUTE_ARRIVES,
        "baton to learn 198.19.1.0/24 from bird",
        || baton.adj_in_route(b.ipv4.into(), "198.19.1.0/24"),
    );
    assert_eq!(learned["as_path"], serde_json::json!([4_200_000_002u32]));
}

#[test]
fn ibgp_with_bird_carries_local_pref() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("bird"));
    let bird = bird_for(&b, 65001, &a, 65001);
    let _baton = start_baton(&a, 65001, &b, 65001, "");
    bird.wait_established("baton4", SESSION_UP);
    let v4 = bird_route(&bird, "master4", "192.0.2.0/24", "baton4");
    assert_eq!(v4.local_pref, Some(200));
    assert_eq!(v4.as_path, Vec::<u32>::new());
    assert_eq!(v4.med, Some(10));
    bird.wait_established("baton6", SESSION_UP);
    let v6 = bird_route(&bird, "master6", "2001:db8:100::/48", "baton6");
    assert_eq!(v6.local_pref, Some(200));
}

/// A session with one side expecting the wrong AS: `error` shows in our neighbor view (the
/// NOTIFICATION we sent or received), and the session stays down on both sides.
fn wrong_as(gobgp_expects: u32, we_expect: u32, error: &str) {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = gobgpd_for(&b, 65002, &a, gobgp_expects);
    let baton = start_baton(&a, 65001, &b, we_expect, "");
    let peer = IpAddr::from(b.ipv4);
    poll::until_true(SESSION_UP, &format!("baton to show {error}"), || {
        baton.neighbor(peer)["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(error))
    });
    poll::always(Duration::from_secs(3), "session stays down", || {
        baton.neighbor(peer)["state"] != "Established"
            && gobgpd.neighbor_state(a.ipv4.into()).as_deref() != Some("established")
    });
}

#[test]
fn wrong_peer_as_in_their_open_makes_us_send_bad_peer_as() {
    // We expect AS 65099; gobgpd is 65002.
    wrong_as(65001, 65099, "sent NOTIFICATION 2/2");
}

#[test]
fn wrong_as_in_our_open_is_refused_by_the_peer_and_recognised() {
    // gobgpd expects AS 65099 from us; we are 65001.
    wrong_as(65099, 65002, "received NOTIFICATION 2/2");
}

#[test]
fn hold_timer_expiry_sends_hold_timer_expired_and_drops_the_session() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = gobgpd_for(&b, 65002, &a, 65001);
    let baton = start_baton(&a, 65001, &b, 65002, "hold_time = 3");
    let peer = IpAddr::from(b.ipv4);
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    baton.wait_established(peer, SESSION_UP);

    // A peer that stops sending: freeze gobgpd (its TCP connection stays open).
    let pid = nix::unistd::Pid::from_raw(gobgpd.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll::until_true(
            Duration::from_secs(15),
            "baton to expire its hold timer",
            || {
                let n = baton.neighbor(peer);
                n["state"] != "Established"
                    && n["last_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("sent NOTIFICATION 4/0"))
            },
        );
    }));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    // Once it runs again, the session comes back.
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    baton.wait_established(peer, SESSION_UP);
    assert_eq!(baton.neighbor(peer)["established_count"].as_u64(), Some(2));
}

#[test]
fn a_silent_peer_receives_hold_timer_expired_then_the_connection_closes() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("silent"));
    let paths = Baton::paths(&a);
    let mut toml = global_toml(
        &paths,
        65001,
        &a.ipv4.to_string(),
        &[format!("{}:179", a.ipv4)],
    );
    toml += &peer_toml(
        b.ipv4.into(),
        65002,
        "ipv4-unicast",
        "passive = true\nhold_time = 3",
    );
    toml += ROUTES;
    let baton = Baton::start(&a, &toml);

    let mut peer = RawPeer::connect(&b, (a.ipv4, 179).into(), SESSION_UP);
    peer.send_open(65002, 3, b.ipv4);
    let open = peer.read(Duration::from_secs(15)).expect("baton's OPEN");
    assert_eq!(open.kind, 1);
    peer.send_keepalive();
    // From now on the peer says nothing. Read what baton sends until the NOTIFICATION.
    let silent_since = std::time::Instant::now();
    let notification = loop {
        let m = peer
            .read(Duration::from_secs(10))
            .expect("a NOTIFICATION before the connection closes");
        if m.kind == 3 {
            break m;
        }
    };
    let waited = silent_since.elapsed();
    assert_eq!(&notification.body[..2], &[4, 0], "Hold Timer Expired");
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(6),
        "sent after {waited:?}, hold time 3 s"
    );
    assert_eq!(peer.read(Duration::from_secs(5)), None, "connection closed");
    let n = baton.neighbor(b.ipv4.into());
    assert_ne!(n["state"], "Established");
    assert!(n["last_error"]
        .as_str()
        .unwrap()
        .contains("sent NOTIFICATION 4/0"));
}

#[test]
fn bad_opens_get_the_right_notification_on_the_wire() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("raw"));
    let paths = Baton::paths(&a);
    let mut toml = global_toml(
        &paths,
        65001,
        &a.ipv4.to_string(),
        &[format!("{}:179", a.ipv4)],
    );
    toml += &peer_toml(b.ipv4.into(), 65002, "ipv4-unicast", "passive = true");
    let baton = Baton::start(&a, &toml);
    let zero = std::net::Ipv4Addr::UNSPECIFIED;
    // (version, AS, hold time, identifier) → (code, subcode, data)
    type Open = (u8, u32, u16, std::net::Ipv4Addr);
    type Expected = (u8, u8, &'static [u8]);
    let cases: [(Open, Expected); 4] = [
        ((4, 65099, 90, b.ipv4), (2, 2, &[])),
        ((3, 65002, 90, b.ipv4), (2, 1, &[0, 4])),
        ((4, 65002, 2, b.ipv4), (2, 6, &[])),
        ((4, 65002, 90, zero), (2, 3, &[])),
    ];
    for ((version, asn, hold, id), (code, subcode, data)) in cases {
        let mut peer = RawPeer::connect(&b, (a.ipv4, 179).into(), SESSION_UP);
        peer.send_open_version(version, asn, hold, id);
        let notification = loop {
            let m = peer.read(Duration::from_secs(10)).unwrap_or_else(|| {
                panic!("no NOTIFICATION for version {version} AS {asn} hold {hold} id {id}")
            });
            if m.kind == 3 {
                break m;
            }
        };
        assert_eq!(
            (
                notification.body[0],
                notification.body[1],
                &notification.body[2..]
            ),
            (code, subcode, data),
            "version {version} AS {asn} hold {hold} id {id}"
        );
        assert_eq!(peer.read(Duration::from_secs(5)), None, "connection closed");
        assert_ne!(baton.neighbor(b.ipv4.into())["state"], "Established");
    }
}

#[test]
fn a_loopback_next_hop_is_ignored_counted_and_the_session_stays_up() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("raw"));
    let mut toml = host_global_toml(&a, 65001);
    toml += &peer_toml(b.ipv4.into(), 65002, "ipv4-unicast", "passive = true");
    let baton = Baton::start(&a, &toml);
    let raw: IpAddr = b.ipv4.into();
    let mut peer = RawPeer::connect(&b, (a.ipv4, 179).into(), SESSION_UP);
    peer.send_open(65002, 90, b.ipv4);
    assert_eq!(
        peer.read(Duration::from_secs(15))
            .expect("baton's OPEN")
            .kind,
        1
    );
    peer.send_keepalive();
    baton.wait_established(raw, SESSION_UP);
    let net = |third: u8| (std::net::Ipv4Addr::new(198, 19, third, 0), 24);
    let loopback = std::net::Ipv4Addr::LOCALHOST;
    // A good route, then the same prefix again with next hop 127.0.0.1 and a second martian
    // prefix, then a good route again: once that one is in, the UPDATEs before it were handled.
    peer.send_update_v4(65002, b.ipv4, &[net(10)]);
    poll::until_true(ROUTE_ARRIVES, "the good route in the Loc-RIB", || {
        baton.best_route("198.19.10.0/24").is_some()
    });
    peer.send_update_v4(65002, loopback, &[net(10), net(11)]);
    peer.send_update_v4(65002, b.ipv4, &[net(12)]);
    poll::until_true(ROUTE_ARRIVES, "the route after the martian one", || {
        baton.best_route("198.19.12.0/24").is_some()
    });
    for prefix in ["198.19.10.0/24", "198.19.11.0/24"] {
        assert!(
            baton.best_route(prefix).is_none(),
            "{prefix} in the Loc-RIB"
        );
        assert!(
            baton.adj_in_route(raw, prefix).is_none(),
            "{prefix} in the Adj-RIB-In"
        );
    }
    // Still the first session: no NOTIFICATION was sent (the raw peer never reconnects).
    let detail = baton.ctl(&["neighbor", &raw.to_string()]);
    assert_eq!(detail["martian_next_hops"], 2, "{detail}");
    assert_eq!(detail["state"], "Established", "{detail}");
    assert_eq!(detail["established_count"], 1, "{detail}");
}
