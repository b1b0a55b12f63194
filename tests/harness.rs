//! The test harness proves itself against real daemons, with no baton involved: gobgpd and bird2
//! peer across a lab, exchange routes whose attributes the harness reads back, labs of parallel
//! tests stay apart, and nothing is left behind.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::bird::parse_routes;
use common::netns::{existing_namespaces, namespace_owner};
use common::{
    poll, Bird, BirdConfig, BirdPeer, Family, GobgpConfig, GobgpNeighbor, Gobgpd, Host, Lab,
};

/// Session establishment: a second or two here; generous for a loaded CI machine.
const SESSION_UP: Duration = Duration::from_secs(30);
/// A route crossing one established session.
const PROPAGATION: Duration = Duration::from_secs(10);

/// gobgpd (AS 65001) on `a` and bird (AS 65002) on `b`, peering over `family`'s addresses.
fn gobgp_and_bird(
    a: &Host,
    b: &Host,
    v6: bool,
    bird_routes: &[&str],
    graceful_restart: Option<u16>,
) -> (Gobgpd, Bird) {
    let (a_addr, b_addr): (IpAddr, IpAddr) = if v6 {
        (a.ipv6.into(), b.ipv6.into())
    } else {
        (a.ipv4.into(), b.ipv4.into())
    };
    let gobgp = Gobgpd::start(
        a,
        GobgpConfig {
            asn: 65001,
            neighbors: vec![GobgpNeighbor {
                hold_time: Some(9),
                graceful_restart,
                ..GobgpNeighbor::new(b_addr, 65002)
            }],
            ..Default::default()
        },
    );
    let bird = Bird::start(
        b,
        BirdConfig {
            asn: 65002,
            protocols: vec![BirdPeer {
                hold_time: Some(9),
                graceful_restart,
                ..BirdPeer::new("gobgp", a_addr, 65001)
            }],
            static_routes: bird_routes.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        },
    );
    gobgp.wait_established(b_addr, SESSION_UP);
    bird.wait_established("gobgp", SESSION_UP);
    (gobgp, bird)
}

#[test]
fn gobgpd_and_bird_exchange_ipv4_routes_with_their_attributes() {
    let lab = Lab::new();
    let (a, b) = (lab.host("gobgp"), lab.host("bird"));
    let (gobgp, bird) = gobgp_and_bird(
        &a,
        &b,
        false,
        &["198.19.100.0/24 blackhole { bgp_community.add((65002,5)); \
           bgp_large_community.add((65002,1,2)); }"],
        None,
    );

    gobgp.global_rib_add(
        "192.0.2.0/24",
        &[
            "community",
            "65001:100,65001:200",
            "med",
            "50",
            "large-community",
            "65001:7:8",
        ],
    );
    let r = poll::until(PROPAGATION, "bird to learn 192.0.2.0/24", || {
        bird.routes("master4")
            .into_iter()
            .find(|r| r.prefix == "192.0.2.0/24")
    });
    assert_eq!(r.next_hop, Some(IpAddr::V4(a.ipv4)));
    assert_eq!(r.as_path, vec![65001]);
    assert_eq!(r.communities, vec![(65001, 100), (65001, 200)]);
    assert_eq!(r.large_communities, vec![(65001, 7, 8)]);
    assert_eq!(r.med, Some(50));
    assert_eq!(r.from_protocol, "gobgp");
    assert!(r.primary);

    let r = poll::until(PROPAGATION, "gobgpd to learn 198.19.100.0/24", || {
        gobgp
            .adj_in(b.ipv4.into(), Family::Ipv4Unicast)
            .into_iter()
            .find(|r| r.prefix == "198.19.100.0/24")
    });
    assert_eq!(r.next_hop, IpAddr::V4(b.ipv4));
    assert_eq!(r.as_path, vec![65002]);
    assert_eq!(r.communities, vec!["65002:5"]);
    assert_eq!(r.large_communities, vec!["65002:1:2"]);
    assert_eq!(r.med, None);
    assert_eq!(r.neighbor, Some(IpAddr::V4(b.ipv4)));
    assert!(!r.stale);
    assert_eq!(gobgp.received_count(b.ipv4.into(), Family::Ipv4Unicast), 1);
    let best = gobgp.global_rib(Family::Ipv4Unicast);
    assert!(
        best.iter().any(|r| r.prefix == "198.19.100.0/24" && r.best),
        "{best:?}"
    );

    gobgp.global_rib_del("192.0.2.0/24");
    poll::until_true(PROPAGATION, "bird to drop 192.0.2.0/24", || {
        bird.routes("master4")
            .iter()
            .all(|r| r.prefix != "192.0.2.0/24")
    });
    assert_eq!(bird.route_count("master4"), 1);
}

#[test]
fn gobgpd_and_bird_exchange_ipv6_routes() {
    let lab = Lab::new();
    let (a, b) = (lab.host("gobgp"), lab.host("bird"));
    let (gobgp, bird) = gobgp_and_bird(&a, &b, true, &["2001:db8:100::/48"], None);

    gobgp.global_rib_add("2001:db8:200::/48", &["community", "65001:6", "med", "5"]);
    let r = poll::until(PROPAGATION, "bird to learn 2001:db8:200::/48", || {
        bird.routes("master6")
            .into_iter()
            .find(|r| r.prefix == "2001:db8:200::/48")
    });
    assert_eq!(r.next_hop, Some(IpAddr::V6(a.ipv6)));
    assert_eq!(r.communities, vec![(65001, 6)]);
    assert_eq!(r.med, Some(5));

    let r = poll::until(PROPAGATION, "gobgpd to learn 2001:db8:100::/48", || {
        gobgp
            .adj_in(b.ipv6.into(), Family::Ipv6Unicast)
            .into_iter()
            .find(|r| r.prefix == "2001:db8:100::/48")
    });
    assert_eq!(r.next_hop, IpAddr::V6(b.ipv6));
    assert_eq!(r.as_path, vec![65002]);
    assert!(bird.routes("master4").is_empty());
}

#[test]
fn gobgpd_keeps_stale_routes_of_a_killed_graceful_restart_peer_and_it_comes_back() {
    let lab = Lab::new();
    let (a, b) = (lab.host("gobgp"), lab.host("bird"));
    let (gobgp, mut bird) = gobgp_and_bird(&a, &b, false, &["198.19.7.0/24"], Some(60));
    let peer = IpAddr::V4(b.ipv4);
    poll::until(PROPAGATION, "gobgpd to learn 198.19.7.0/24", || {
        gobgp
            .adj_in(peer, Family::Ipv4Unicast)
            .into_iter()
            .find(|r| r.prefix == "198.19.7.0/24")
    });

    bird.kill();
    let r = poll::until(PROPAGATION, "gobgpd to mark 198.19.7.0/24 stale", || {
        gobgp
            .adj_in(peer, Family::Ipv4Unicast)
            .into_iter()
            .find(|r| r.prefix == "198.19.7.0/24" && r.stale)
    });
    assert_ne!(gobgp.neighbor_state(peer).as_deref(), Some("established"));
    assert_eq!(r.as_path, vec![65002]);

    let restarted = Instant::now();
    bird.restart(true);
    gobgp.wait_established(peer, SESSION_UP);
    poll::until_true(PROPAGATION, "the route to be fresh again", || {
        gobgp
            .adj_in(peer, Family::Ipv4Unicast)
            .iter()
            .any(|r| r.prefix == "198.19.7.0/24" && !r.stale)
    });
    eprintln!(
        "bird killed and restarted: session and fresh route back after {:?}",
        restarted.elapsed()
    );
}

#[test]
fn two_labs_with_the_same_addresses_do_not_clash() {
    let (lab1, lab2) = (Lab::new(), Lab::new());
    let (a1, b1) = (lab1.host("gobgp"), lab1.host("bird"));
    let (a2, b2) = (lab2.host("gobgp"), lab2.host("bird"));
    assert_eq!((a1.ipv4, b1.ipv4), (a2.ipv4, b2.ipv4));
    assert_ne!(a1.ns, a2.ns);
    let (g1, _bird1) = gobgp_and_bird(&a1, &b1, false, &["198.19.1.0/24"], None);
    let (g2, _bird2) = gobgp_and_bird(&a2, &b2, false, &["198.19.2.0/24"], None);

    for (g, b, own) in [(&g1, &b1, "198.19.1.0/24"), (&g2, &b2, "198.19.2.0/24")] {
        let prefixes = poll::until(PROPAGATION, &format!("{} to learn {own}", a1.name), || {
            let routes = g.adj_in(b.ipv4.into(), Family::Ipv4Unicast);
            (!routes.is_empty()).then_some(routes)
        });
        let prefixes: Vec<String> = prefixes.into_iter().map(|r| r.prefix).collect();
        assert_eq!(prefixes, vec![own.to_string()]);
    }
}

#[test]
fn dropping_a_lab_kills_its_processes_and_deletes_its_namespaces() {
    let lab = Lab::new();
    let host = lab.host("h");
    lab.host("other");
    let mut sleeper = host.spawn("sleep", &["600"]);
    // `ip netns exec` enters the namespace a moment after spawn returns.
    poll::until_true(PROPAGATION, "the sleeper to be in its namespace", || {
        host.pids() == vec![sleeper.id()]
    });
    let names = lab.namespaces();
    assert_eq!(names.len(), 3);
    assert!(names.iter().all(|n| existing_namespaces().contains(n)));

    drop(lab);

    let status = sleeper.wait().expect("wait for the sleeper");
    assert!(!status.success(), "killed, not finished: {status}");
    let left = existing_namespaces();
    assert!(
        names.iter().all(|n| !left.contains(n)),
        "left behind: {left:?}"
    );
}

#[test]
fn namespaces_and_directories_of_a_dead_test_process_are_swept() {
    // A pid that is not running: the highest ones are practically never in use.
    let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("read pid_max")
        .trim()
        .parse()
        .expect("pid_max is a number");
    let dead = (pid_max - 1000..pid_max)
        .rev()
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        .expect("a free pid");
    let stale = format!("bt-{dead}-0-stale");
    assert_eq!(namespace_owner(&stale), Some(dead));
    common::check_output(
        std::process::Command::new(common::tool("ip")).args(["netns", "add", &stale]),
    );

    let stale_dir = std::env::temp_dir().join(format!("bt-{dead}-0-XXXXXX"));
    std::fs::create_dir_all(stale_dir.join("host")).expect("create a stale lab directory");

    let _lab = Lab::new();

    assert!(!existing_namespaces().contains(&stale));
    assert!(!stale_dir.exists());
}

#[test]
fn hosts_are_addressed_in_order_and_reach_each_other() {
    let lab = Lab::new();
    let hosts: Vec<Host> = ["a", "b", "c"].iter().map(|n| lab.host(n)).collect();
    assert_eq!(hosts[2].ipv4.to_string(), "198.18.0.3");
    assert_eq!(hosts[2].ipv6.to_string(), "2001:db8::3");
    // Reachability in both families without ping (not installed everywhere): a TCP connect
    // to a closed port of a reachable host is refused at once; an unreachable one would end in
    // "No route to host" after address resolution gives up.
    for addr in [hosts[1].ipv4.to_string(), hosts[1].ipv6.to_string()] {
        let out = hosts[0]
            .command("bash")
            .args(["-c", &format!("exec 3<>/dev/tcp/{addr}/9")])
            .output()
            .expect("run bash");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("Connection refused"), "{addr}: {text}");
    }
}

#[test]
#[should_panic(expected = "timed out waiting for the impossible")]
fn poll_until_names_what_timed_out() {
    poll::until(Duration::from_millis(50), "the impossible", || None::<()>);
}

#[test]
fn bird_route_dump_parses_every_route_and_attribute() {
    let text = "BIRD 2.0.12 ready.
Table master4:
192.0.2.0/24         unicast [gobgp 12:05:56.148] * (100) [AS65001?]
\tvia 198.18.0.1 on eth0
\tType: BGP univ
\tBGP.origin: Incomplete
\tBGP.as_path: 65001 {65010 65011}
\tBGP.next_hop: 198.18.0.1
\tBGP.med: 50
\tBGP.local_pref: 100
\tBGP.community: (65001,100) (65001,200)
\tBGP.large_community: (65001, 1, 2)
                     unreachable [s2 12:09:56.842] (200)
\tType: static univ
198.19.1.0/24        blackhole [static4 12:09:56.842] * (200)
\tType: static univ
";
    let routes = parse_routes(text);
    assert_eq!(routes.len(), 3);
    let r = &routes[0];
    assert_eq!(r.prefix, "192.0.2.0/24");
    assert_eq!(r.kind, "unicast");
    assert_eq!(r.from_protocol, "gobgp");
    assert!(r.primary);
    assert_eq!(r.as_path, vec![65001, 65010, 65011]);
    assert_eq!(r.next_hop, Some("198.18.0.1".parse().unwrap()));
    assert_eq!(r.med, Some(50));
    assert_eq!(r.local_pref, Some(100));
    assert_eq!(r.communities, vec![(65001, 100), (65001, 200)]);
    assert_eq!(r.large_communities, vec![(65001, 1, 2)]);
    assert_eq!(routes[1].prefix, "192.0.2.0/24");
    assert_eq!(routes[1].kind, "unreachable");
    assert_eq!(routes[1].from_protocol, "s2");
    assert!(!routes[1].primary);
    assert_eq!(routes[2].prefix, "198.19.1.0/24");
    assert_eq!(routes[2].next_hop, None);
}
