//! Session security against real peers: the prefix limit (`max_prefixes`, Cease 6/1 with the
//! RFC 4486 data as gobgpd receives it), TCP-MD5 (RFC 2385) with gobgpd and bird2, right and
//! wrong passwords, across `batonctl upgrade`, and GTSM (RFC 5082) refusing a peer one router
//! further away.

mod common;

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::baton::{global_toml_on, host_global_toml, peer_toml, second_build, Baton};
use common::bird::{Bird, BirdConfig, BirdPeer};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::monitor::Monitor;
use common::netns::{Host, Lab};
use common::{poll, Family};

/// Session setup: gobgpd refuses connections for ~5 s after any loss, so be generous.
const SESSION_UP: Duration = Duration::from_secs(30);
/// How long a session that must not come up is watched: several connect retries of both sides
/// (baton's 1 s, gobgpd's 2 s, bird's 5 s) and the hint's connect timeout.
const STAYS_DOWN: Duration = Duration::from_secs(15);

const BATON_AS: u32 = 65001;
const PEER_AS: u32 = 65002;

fn gobgpd_with(host: &Host, baton: &Host, f: impl FnOnce(&mut GobgpNeighbor)) -> Gobgpd {
    let mut n = GobgpNeighbor::new(baton.ipv4.into(), BATON_AS);
    f(&mut n);
    Gobgpd::start(
        host,
        GobgpConfig {
            asn: PEER_AS,
            neighbors: vec![n],
            ..GobgpConfig::default()
        },
    )
}

fn established(baton: &Baton, addr: IpAddr) -> bool {
    baton.neighbor(addr)["state"] == "Established"
}

/// The lines of baton's log containing `needle`.
fn log_lines(baton: &Baton, needle: &str) -> Vec<String> {
    baton
        .log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

fn prefix(i: u32) -> String {
    format!("198.19.{i}.0/24")
}

// ---------------------------------------------------------------------------------------------
// max-prefix

const WARNING_LINE: &str = "prefix count reached the max_prefixes warning threshold";

/// gobgpd announces prefixes one UPDATE at a time until `n` are held by baton.
fn announce_up_to(gobgp: &Gobgpd, baton: &Baton, addr: IpAddr, from: u32, n: u32) {
    for i in from..n {
        gobgp.global_rib_add(&prefix(i), &[]);
        poll::until_true(SESSION_UP, &format!("baton to hold {}", prefix(i)), || {
            baton.adj_in_route(addr, &prefix(i)).is_some()
        });
    }
}

#[test]
fn max_prefixes_the_n_plus_first_prefix_trips_cease_6_1_with_the_rfc_4486_data_at_gobgpd() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("gobgp"));
    let addr: IpAddr = b.ipv4.into();
    let limit = 4;
    let toml = host_global_toml(&a, BATON_AS)
        + &peer_toml(
            addr,
            PEER_AS,
            "ipv4-unicast",
            &format!("max_prefixes = {limit}\nmax_prefixes_warning = 50\n"),
        );
    let baton = Baton::start(&a, &toml);
    let gobgp = gobgpd_with(&b, &a, |_| {});
    gobgp.wait_established(a.ipv4.into(), SESSION_UP);

    // Up to the bound, one UPDATE each: the warning (at 2 = 50 %) is logged once, not at 3, 4.
    announce_up_to(&gobgp, &baton, addr, 0, limit);
    assert!(established(&baton, addr));
    assert_eq!(log_lines(&baton, WARNING_LINE).len(), 1, "{}", baton.log());
    let before = gobgp.neighbor_json(a.ipv4.into()).unwrap();
    let notifications =
        |v: &serde_json::Value| v["state"]["messages"]["received"]["notification"].as_u64();

    // The N+1st.
    gobgp.global_rib_add(&prefix(limit), &[]);
    let after = poll::until(SESSION_UP, "gobgpd to receive a NOTIFICATION", || {
        let v = gobgp.neighbor_json(a.ipv4.into())?;
        (notifications(&v) > notifications(&before)).then_some(v)
    });
    eprintln!("gobgpd's neighbor after the Cease: {after}");
    // gobgpd's own record of what it received: Cease (6), subcode 1, data AFI 1, SAFI 1,
    // upper bound 4 (`Data="[0 1 1 0 0 0 4]"` as Go prints a byte slice).
    poll::until_true(
        SESSION_UP,
        "gobgpd to log the NOTIFICATION it received",
        || {
            gobgp.log().lines().any(|l| {
                l.contains("received notification")
                    && l.contains("Code=6")
                    && l.contains("Subcode=1")
                    && l.contains("Data=\"[0 1 1 0 0 0 4]\"")
            })
        },
    );
    assert_ne!(
        gobgp.neighbor_state(a.ipv4.into()).as_deref(),
        Some("established")
    );
    // Stays down: no automatic reconnect, gobgpd's attempts refused.
    poll::always(
        STAYS_DOWN,
        "the session to stay down after the Cease",
        || {
            gobgp.neighbor_state(a.ipv4.into()).as_deref() != Some("established")
                && baton.neighbor(addr)["state"] == "Idle"
        },
    );
    let n = baton.neighbor(addr);
    let last_error = n["last_error"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("maximum number of prefixes reached"),
        "{n}"
    );
    assert_eq!(
        log_lines(&baton, WARNING_LINE).len(),
        1,
        "warning logged once"
    );

    // An operator's reset brings it back (and the limit trips again on the full table).
    baton.ctl(&["neighbor", "reset", &addr.to_string()]);
    poll::until(SESSION_UP, "a second Cease after the reset", || {
        let v = gobgp.neighbor_json(a.ipv4.into())?;
        (notifications(&v) > notifications(&after)).then_some(())
    });
}

#[test]
fn max_prefixes_warn_keeps_the_session_and_restart_after_connects_again() {
    let lab = Lab::new();
    let (a, b, c) = (lab.host("baton"), lab.host("warned"), lab.host("restarted"));
    let (warned, restarted): (IpAddr, IpAddr) = (b.ipv4.into(), c.ipv4.into());
    let toml = host_global_toml(&a, BATON_AS)
        + &peer_toml(
            warned,
            PEER_AS,
            "ipv4-unicast",
            "max_prefixes = 2\nmax_prefixes_action = \"warn\"\n",
        )
        + &peer_toml(
            restarted,
            PEER_AS,
            "ipv4-unicast",
            "max_prefixes = 2\nmax_prefixes_restart_after = 2\n",
        );
    let baton = Baton::start(&a, &toml);
    let g_warned = gobgpd_with(&b, &a, |_| {});
    let g_restarted = gobgpd_with(&c, &a, |_| {});
    g_warned.wait_established(a.ipv4.into(), SESSION_UP);
    g_restarted.wait_established(a.ipv4.into(), SESSION_UP);

    // warn: all 4 prefixes held, the session stays, "over max_prefixes" logged once.
    announce_up_to(&g_warned, &baton, warned, 0, 4);
    assert!(established(&baton, warned));
    assert_eq!(
        g_warned.neighbor_state(a.ipv4.into()).as_deref(),
        Some("established")
    );
    let over = log_lines(
        &baton,
        "prefix count over max_prefixes: keeping the session",
    );
    assert_eq!(over.len(), 1, "{over:?}");

    // restart_after: Cease, then baton connects again by itself and the session comes back
    // (to be ceased again by the same table).
    for i in 0..3 {
        g_restarted.global_rib_add(&prefix(i), &[]);
    }
    let count = |g: &Gobgpd| {
        g.neighbor_json(a.ipv4.into())
            .and_then(|v| v["state"]["messages"]["received"]["notification"].as_u64())
            .unwrap_or(0)
    };
    poll::until_true(
        SESSION_UP * 2,
        "two Ceases: restart_after connected again",
        || count(&g_restarted) >= 2,
    );
    let downs = log_lines(
        &baton,
        "max_prefixes_restart_after passed: connecting again",
    );
    assert!(!downs.is_empty(), "{}", baton.log());
}

// ---------------------------------------------------------------------------------------------
// TCP-MD5

const MD5_HINT: &str = "TCP-MD5 is configured for this peer: check the password on both sides";

/// A password file holding `password`, readable by its owner only.
fn password_file(host: &Host, name: &str, password: &str) -> String {
    let path = host.dir().join(name);
    std::fs::write(&path, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

#[test]
fn md5_with_gobgpd_comes_up_with_the_right_password_and_stays_down_with_a_wrong_one() {
    let lab = Lab::new();
    let (a, b, c) = (lab.host("baton"), lab.host("right"), lab.host("wrong"));
    let (right, wrong): (IpAddr, IpAddr) = (b.ipv4.into(), c.ipv4.into());
    let file = password_file(&a, "md5.key", "s3cret-right");
    let toml = host_global_toml(&a, BATON_AS)
        + &peer_toml(
            right,
            PEER_AS,
            "ipv4-unicast",
            "password = \"s3cret-right\"\n",
        )
        + &peer_toml(
            wrong,
            PEER_AS,
            "ipv4-unicast",
            &format!("password_file = \"{file}\"\n"),
        );
    let baton = Baton::start(&a, &toml);
    let g_right = gobgpd_with(&b, &a, |n| n.auth_password = Some("s3cret-right".into()));
    let g_wrong = gobgpd_with(&c, &a, |n| n.auth_password = Some("s3cret-WRONG".into()));
    g_right.wait_established(a.ipv4.into(), SESSION_UP);
    baton.wait_established(right, SESSION_UP);
    poll::always(
        STAYS_DOWN,
        "the session with a wrong password to stay down",
        || {
            !established(&baton, wrong)
                && g_wrong.neighbor_state(a.ipv4.into()).as_deref() != Some("established")
        },
    );
    // The log and the status say why; the password is nowhere.
    assert!(!log_lines(&baton, MD5_HINT).is_empty(), "{}", baton.log());
    let n = baton.neighbor(wrong);
    assert!(
        n["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains(MD5_HINT),
        "{n}"
    );
    let shown = [
        baton.log(),
        baton.ctl(&["neighbor"]).to_string(),
        baton.ctl(&["status"]).to_string(),
    ];
    for s in shown {
        assert!(!s.contains("s3cret"), "the password is shown: {s}");
    }
}

#[test]
fn md5_over_ipv6_with_gobgpd_comes_up_with_the_right_password_and_not_a_wrong_one() {
    let lab = Lab::new();
    let (a, b, c) = (lab.host("baton"), lab.host("right"), lab.host("wrong"));
    let paths = Baton::paths(&a);
    let toml = global_toml_on(&paths, &a, BATON_AS)
        + &peer_toml(
            b.ipv6.into(),
            PEER_AS,
            "ipv6-unicast",
            "password = \"six-pw\"\n",
        )
        + &peer_toml(
            c.ipv6.into(),
            PEER_AS,
            "ipv6-unicast",
            "password = \"six-pw\"\n",
        );
    let baton = Baton::start(&a, &toml);
    let gobgp = |host: &Host, password: &str| {
        Gobgpd::start(
            host,
            GobgpConfig {
                asn: PEER_AS,
                neighbors: vec![GobgpNeighbor {
                    auth_password: Some(password.into()),
                    ..GobgpNeighbor::new(a.ipv6.into(), BATON_AS)
                }],
                ..GobgpConfig::default()
            },
        )
    };
    let (g_right, g_wrong) = (gobgp(&b, "six-pw"), gobgp(&c, "not-six-pw"));
    g_right.wait_established(a.ipv6.into(), SESSION_UP);
    baton.wait_established(b.ipv6.into(), SESSION_UP);
    poll::always(
        STAYS_DOWN,
        "the IPv6 session with a wrong password to stay down",
        || {
            !established(&baton, c.ipv6.into())
                && g_wrong.neighbor_state(a.ipv6.into()).as_deref() != Some("established")
        },
    );
}

#[test]
fn md5_with_bird_comes_up_with_the_right_password_and_stays_down_with_a_wrong_one() {
    let lab = Lab::new();
    let (a, b, c) = (lab.host("baton"), lab.host("right"), lab.host("wrong"));
    let (right, wrong): (IpAddr, IpAddr) = (b.ipv4.into(), c.ipv4.into());
    let toml = host_global_toml(&a, BATON_AS)
        + &peer_toml(right, PEER_AS, "ipv4-unicast", "password = \"bird-pw\"\n")
        + &peer_toml(wrong, PEER_AS, "ipv4-unicast", "password = \"bird-pw\"\n");
    let baton = Baton::start(&a, &toml);
    let bird = |host: &Host, password: &str| {
        Bird::start(
            host,
            BirdConfig {
                asn: PEER_AS,
                protocols: vec![BirdPeer {
                    extra_config: format!("password \"{password}\";"),
                    ..BirdPeer::new("baton", a.ipv4.into(), BATON_AS)
                }],
                ..BirdConfig::default()
            },
        )
    };
    let b_right = bird(&b, "bird-pw");
    let b_wrong = bird(&c, "not-bird-pw");
    b_right.wait_established("baton", SESSION_UP);
    baton.wait_established(right, SESSION_UP);
    poll::always(
        STAYS_DOWN,
        "the session with a wrong password to stay down",
        || !established(&baton, wrong) && b_wrong.protocol_state("baton") != "Established",
    );
    assert!(!log_lines(&baton, MD5_HINT).is_empty(), "{}", baton.log());
}

#[test]
fn md5_session_with_gobgpd_survives_batonctl_upgrade() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("gobgp"));
    let addr: IpAddr = b.ipv4.into();
    let toml = host_global_toml(&a, BATON_AS)
        + &peer_toml(
            addr,
            PEER_AS,
            "ipv4-unicast",
            "password = \"upgrade-pw\"\n[peer.graceful_restart]\nenabled = true\n",
        )
        + "[[route]]\nprefix = \"198.19.200.0/24\"\n";
    let baton = Baton::start(&a, &toml);
    let gobgp = gobgpd_with(&b, &a, |n| {
        n.auth_password = Some("upgrade-pw".into());
        n.graceful_restart = Some(120);
    });
    let from: IpAddr = a.ipv4.into();
    gobgp.wait_established(from, SESSION_UP);
    let held = |g: &Gobgpd| {
        g.adj_in(from, Family::Ipv4Unicast)
            .iter()
            .any(|r| r.prefix == "198.19.200.0/24")
    };
    poll::until_true(SESSION_UP, "gobgpd to hold our route", || held(&gobgp));

    // gobgpd holds the route throughout (graceful restart), sampled while the upgrade runs.
    let next = second_build(lab.dir());
    let monitor = Monitor::new();
    let run = std::thread::scope(|s| {
        s.spawn(|| {
            monitor.run(Duration::from_millis(200), || {
                (!held(&gobgp)).then(|| "198.19.200.0/24 missing at gobgpd".to_string())
            })
        });
        let _stop = monitor.stopper();
        baton.upgrade(&["--binary", next.to_str().unwrap(), "--timeout", "90"])
    });
    assert!(run.ok, "{}", run.output);
    assert_eq!(run.report["ok"], true, "{}", run.output);
    monitor.assert_no_gap("our route at gobgpd during the upgrade");
    // The new speaker's MD5 session (through the same listener and its keys, or a new signed
    // connect) is up, and the route fresh again.
    gobgp.wait_established(from, SESSION_UP);
    baton.wait_established(addr, SESSION_UP);
    poll::until_true(SESSION_UP, "gobgpd to hold our route fresh", || {
        gobgp
            .adj_in(from, Family::Ipv4Unicast)
            .iter()
            .any(|r| r.prefix == "198.19.200.0/24" && !r.stale)
    });
    let status = baton.ctl(&["status"]);
    assert_eq!(status["generation"], 2, "{status}");
}

// ---------------------------------------------------------------------------------------------
// GTSM

/// Make `far` one router away from `baton` on the lab's shared segment: host routes through
/// `router` both ways, the router forwarding (and not redirecting) between them, so that what
/// `far` sends with TTL 255 reaches `baton` with 254.
fn behind_router(router: &Host, far: &Host, baton: &Host) {
    router.run(
        "sysctl",
        &[
            "-qw",
            "net.ipv4.ip_forward=1",
            "net.ipv4.conf.all.send_redirects=0",
            "net.ipv4.conf.eth0.send_redirects=0",
        ],
    );
    for (host, to) in [(far, baton), (baton, far)] {
        host.run("sysctl", &["-qw", "net.ipv4.conf.all.accept_redirects=0"]);
        host.run(
            "ip",
            &[
                "route",
                "add",
                &format!("{}/32", to.ipv4),
                "via",
                &router.ipv4.to_string(),
            ],
        );
    }
}

/// The kernel's count of segments dropped for a TTL under IP_MINTTL, in `host`'s namespace.
fn min_ttl_drops(host: &Host) -> u64 {
    let netstat = host.run("cat", &["/proc/net/netstat"]);
    let tcp: Vec<&str> = netstat
        .lines()
        .filter(|l| l.starts_with("TcpExt:"))
        .collect();
    let (names, values) = (tcp[0].split_whitespace(), tcp[1].split_whitespace());
    names
        .zip(values)
        .find(|(n, _)| *n == "TCPMinTTLDrop")
        .map(|(_, v)| v.parse().unwrap())
        .expect("TcpExt TCPMinTTLDrop in /proc/net/netstat")
}

#[test]
fn gtsm_refuses_a_peer_one_router_further_away_and_accepts_a_direct_one() {
    gtsm_case("", true);
}

/// With a peer without GTSM on the same address family, the listener checks no TTL: the far
/// peer's connection is accepted and gets its minimum TTL when its peer task takes it, before
/// reading (closed if data was already waiting), so it never reaches Established. (No control
/// step here: gobgpd, left in OpenConfirm by a connection whose segments we drop, refuses
/// new connections until its hold timer ends that one.)
#[test]
fn gtsm_on_a_listener_shared_with_a_peer_without_it_still_refuses_the_far_peer() {
    gtsm_case(
        &peer_toml(
            "198.18.0.200".parse().unwrap(),
            PEER_AS,
            "ipv4-unicast",
            "passive = true\n",
        ),
        false,
    );
}

/// baton with two GTSM peers, `near` on its segment and `far` one router away, and the
/// `[[peer]]` tables in `other_peers`; with `control`, the far peer allowed two hops then
/// comes up.
fn gtsm_case(other_peers: &str, control: bool) {
    let lab = Lab::new();
    let (a, near, router, far) = (
        lab.host("baton"),
        lab.host("near"),
        lab.host("router"),
        lab.host("far"),
    );
    behind_router(&router, &far, &a);
    let (near_addr, far_addr): (IpAddr, IpAddr) = (near.ipv4.into(), far.ipv4.into());
    let config = |far_hops: &str| {
        host_global_toml(&a, BATON_AS)
            + &peer_toml(near_addr, PEER_AS, "ipv4-unicast", "ttl_security = true\n")
            + &peer_toml(
                far_addr,
                PEER_AS,
                "ipv4-unicast",
                &format!("ttl_security = {far_hops}\n"),
            )
            + other_peers
    };
    let baton = Baton::start(&a, &config("true"));
    // Both gobgpds send with TTL 255 (ttl-security); the far one accepts our 255 arriving as 254.
    let gtsm = |ttl_min: u8| {
        move |n: &mut GobgpNeighbor| {
            n.extra_toml = format!(
                "  [neighbors.ttl-security.config]\n    enabled = true\n    ttl-min = {ttl_min}\n"
            );
        }
    };
    let g_near = gobgpd_with(&near, &a, gtsm(255));
    let g_far = gobgpd_with(&far, &a, gtsm(254));
    g_near.wait_established(a.ipv4.into(), SESSION_UP);
    baton.wait_established(near_addr, SESSION_UP);
    let drops_before = min_ttl_drops(&a);
    poll::always(
        STAYS_DOWN,
        "the peer one router away to stay refused",
        || {
            !established(&baton, far_addr)
                && g_far.neighbor_state(a.ipv4.into()).as_deref() != Some("established")
        },
    );
    // Refused by the kernel for its TTL, not for anything else.
    assert!(
        min_ttl_drops(&a) > drops_before,
        "no segment dropped for its TTL"
    );

    if !control {
        return;
    }
    // Control: allowing two hops for it, the same peer comes up (so TTL was the only reason).
    std::fs::write(&baton.paths_of().config, config("2")).unwrap();
    baton.ctl(&["reload"]);
    g_far.wait_established(a.ipv4.into(), SESSION_UP * 2);
    baton.wait_established(far_addr, SESSION_UP);
    assert!(established(&baton, near_addr));
}
