//! Graceful restart against real gobgpd and bird2: what peers hold when baton is killed,
//! restarted, stopped on purpose or left down too long, and what baton holds when a peer does
//! the same. The "no withdrawal" checks poll the peers' tables continuously from before the
//! event until after End-of-RIB.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::baton::{host_global_toml, peer_toml, Baton};
use common::bird::{Bird, BirdConfig, BirdPeer};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::gr_lab::{gr_toml, GrLab};
use common::monitor::Monitor;
use common::netns::{Host, Lab};
use common::{poll, Family};

const SESSION_UP: Duration = Duration::from_secs(30);
/// Originated routes per family.
const N: usize = 200;
/// What baton originates in the N-bit tests.
const N_BIT_ROUTE: &str = "198.19.0.0/24";

#[test]
fn kill_9_keeps_our_routes_at_gobgpd_and_bird_and_the_restart_refreshes_them_without_a_withdrawal()
{
    let t = GrLab::new(N, 30, 30);
    let mut baton = t.start_baton_held(SESSION_UP);
    let monitor = Monitor::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            monitor.run(Duration::from_millis(50), || {
                let h = t.held();
                (!t.all_held(&h)).then(|| format!("{h:?}"))
            })
        });
        baton.kill();
        poll::until_true(SESSION_UP, "gobgpd to mark our routes stale", || {
            t.held_in_detail().gobgp_stale == 2 * N
        });
        assert!(t
            .bird
            .protocol_info("baton4")
            .contains("graceful restart active"));
        baton = t.restart_baton();
        poll::until_true(SESSION_UP, "peers to hold every route fresh again", || {
            t.all_fresh()
        });
        monitor.stop();
    });
    monitor.assert_no_gap("our routes at gobgpd and bird across kill -9 and restart");
}

#[test]
fn peers_withdraw_when_baton_stays_down_past_its_restart_time() {
    // The peers would wait 120 s; we advertise 8 s, and they must honour ours.
    let t = GrLab::new(N, 8, 120);
    let mut baton = t.start_baton_held(SESSION_UP);
    baton.kill();
    let killed = Instant::now();
    poll::always(
        Duration::from_secs(4),
        "routes held while within the restart time",
        || t.all_held(&t.held()),
    );
    poll::until_true(
        Duration::from_secs(20),
        "peers to withdraw our routes",
        || t.none_held(),
    );
    assert!(
        killed.elapsed() >= Duration::from_secs(7),
        "withdrawn before our restart time"
    );
}

#[test]
fn sigterm_makes_peers_withdraw_at_once_and_shows_our_shutdown_message() {
    let t = GrLab::new(N, 120, 120);
    let mut baton = t.start_baton_held(SESSION_UP);
    baton.stop();
    poll::until_true(Duration::from_secs(3), "peers to withdraw at once", || {
        t.none_held()
    });
    // bird keeps the RFC 9003 message it received ("Message: …") even after it has retried
    // the connection (which our closed listener now refuses).
    let info = t.bird.protocol_info("baton4");
    assert!(
        info.lines()
            .any(|l| l.trim() == "Message:        baton: administrative shutdown"),
        "{info}"
    );
    let text = t.gobgpd.cli(&["neighbor", &t.a.ipv4.to_string()]);
    let received: u64 = text
        .lines()
        .find(|l| l.trim_start().starts_with("Notifications:"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(received >= 1, "gobgpd received no NOTIFICATION:\n{text}");
    // gobgpd shows the RFC 9003 message only in its own record of what it received.
    let log = t.gobgpd.log();
    assert!(
        log.lines().any(|l| l.contains("received notification")
            && l.contains("Code=6")
            && l.contains("Subcode=2")
            && l.contains("Communicated-Reason=\"baton: administrative shutdown\"")),
        "gobgpd did not record our Cease/Administrative Shutdown with its message"
    );
}

#[test]
fn a_clean_stop_logs_no_warning_or_error() {
    let t = GrLab::new(N, 120, 120);
    let mut baton = t.start_baton_held(SESSION_UP);
    // A run-time route, so the intent is saved, and a RIB snapshot saved: the stop then has
    // everything a long-running daemon has to wind down.
    let out = baton.ctl_output(&["route", "add", "203.0.113.0/24"]);
    assert!(out.status.success(), "{out:?}");
    let snapshot = t.paths.state_dir.join("rib.state");
    poll::until_true(SESSION_UP, "a RIB snapshot saved", || snapshot.exists());
    baton.stop();
    poll::until_true(Duration::from_secs(3), "peers to withdraw at once", || {
        t.none_held()
    });
    let log = baton.log();
    assert!(
        log.contains("stopped: peers were told (Cease)")
            && log.contains("INFO baton::supervisor: stopped"),
        "batond did not log a complete stop"
    );
    let warnings = baton.warnings();
    assert!(
        warnings.is_empty(),
        "a clean stop logged {} WARN/ERROR lines:\n{}",
        warnings.len(),
        warnings.join("\n")
    );
}

/// baton with GR towards one gobgpd (IPv4) and optionally one bird (IPv4), learning routes.
fn helper_lab_baton(a: &Host, peers: &[(IpAddr, u32)], gr_extra: &str) -> Baton {
    let mut toml = host_global_toml(a, 65001);
    for (addr, asn) in peers {
        toml += &peer_toml(*addr, *asn, "ipv4-unicast", "");
        toml += &gr_toml(120, gr_extra);
    }
    Baton::start(a, &toml)
}

fn gobgpd_speaker(g: &Host, a: &Host, restart_time: u16, long_lived: Option<u32>) -> Gobgpd {
    let mut n = GobgpNeighbor::new(a.ipv4.into(), 65001);
    n.graceful_restart = Some(restart_time);
    n.long_lived = long_lived;
    Gobgpd::start(
        g,
        GobgpConfig {
            asn: 65002,
            neighbors: vec![n],
            ..GobgpConfig::default()
        },
    )
}

fn is_stale(route: &Option<serde_json::Value>) -> bool {
    route.as_ref().is_some_and(|r| r["stale"] == true)
}

#[test]
fn a_killed_gobgpd_s_routes_stay_stale_in_our_rib_and_are_refreshed_at_its_end_of_rib() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let mut gobgpd = gobgpd_speaker(&g, &a, 30, None);
    let peer = IpAddr::from(g.ipv4);
    let baton = helper_lab_baton(&a, &[(peer, 65002)], "");
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    gobgpd.global_rib_add("203.0.113.0/24", &["community", "65002:1"]);
    gobgpd.global_rib_add("198.51.100.0/24", &[]);
    poll::until_true(SESSION_UP, "baton to learn both routes", || {
        baton.adj_in_route(peer, "203.0.113.0/24").is_some()
            && baton.adj_in_route(peer, "198.51.100.0/24").is_some()
    });

    gobgpd.kill();
    poll::until_true(SESSION_UP, "both routes to turn stale", || {
        is_stale(&baton.adj_in_route(peer, "203.0.113.0/24"))
            && is_stale(&baton.adj_in_route(peer, "198.51.100.0/24"))
    });
    // Stale routes stay usable: still the best (only) route.
    let best = baton
        .best_route("203.0.113.0/24")
        .expect("stale route still in the Loc-RIB");
    assert_eq!(best["stale"], true);

    // gobgpd comes back as a restarting speaker and announces one of the two again.
    gobgpd.restart(true);
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    gobgpd.global_rib_add("203.0.113.0/24", &["community", "65002:1"]);
    poll::until_true(
        SESSION_UP,
        "the re-announced route fresh, the other purged",
        || {
            let kept = baton.adj_in_route(peer, "203.0.113.0/24");
            kept.is_some_and(|r| r["stale"] == false)
                && baton.adj_in_route(peer, "198.51.100.0/24").is_none()
        },
    );
    assert!(baton.best_route("198.51.100.0/24").is_none());
}

#[test]
fn a_gobgpd_that_never_comes_back_loses_its_routes_after_its_restart_time() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let mut gobgpd = gobgpd_speaker(&g, &a, 6, None);
    let peer = IpAddr::from(g.ipv4);
    let baton = helper_lab_baton(&a, &[(peer, 65002)], "");
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    gobgpd.global_rib_add("203.0.113.0/24", &[]);
    poll::until_true(SESSION_UP, "baton to learn the route", || {
        baton.adj_in_route(peer, "203.0.113.0/24").is_some()
    });
    gobgpd.kill();
    let killed = Instant::now();
    poll::until_true(SESSION_UP, "the route to turn stale", || {
        is_stale(&baton.adj_in_route(peer, "203.0.113.0/24"))
    });
    poll::always(
        Duration::from_secs(3),
        "stale route kept within the restart time",
        || baton.adj_in_route(peer, "203.0.113.0/24").is_some(),
    );
    poll::until_true(Duration::from_secs(20), "the route to be deleted", || {
        baton.adj_in_route(peer, "203.0.113.0/24").is_none()
            && baton.best_route("203.0.113.0/24").is_none()
    });
    assert!(
        killed.elapsed() >= Duration::from_secs(5),
        "deleted before gobgpd's restart time"
    );
}

#[test]
fn long_lived_stale_routes_outlive_the_restart_time_marked_and_depreferenced() {
    let lab = Lab::new();
    let (a, g, r) = (lab.host("baton"), lab.host("gobgp"), lab.host("bird"));
    // gobgpd: restart time 3 s, long-lived stale time 120 s.
    let mut gobgpd = gobgpd_speaker(&g, &a, 3, Some(120));
    // bird announces the same prefix: same path length, higher router id, so it loses while
    // gobgpd's route is fresh.
    let mut p = BirdPeer::new("baton4", a.ipv4.into(), 65001);
    p.ipv6 = false;
    let _bird = Bird::start(
        &r,
        BirdConfig {
            router_id: None,
            asn: 65003,
            protocols: vec![p],
            static_routes: vec!["203.0.113.0/24".into()],
            extra_config: String::new(),
        },
    );
    let (gp, bp) = (IpAddr::from(g.ipv4), IpAddr::from(r.ipv4));
    let baton = helper_lab_baton(
        &a,
        &[(gp, 65002), (bp, 65003)],
        "long_lived_stale_time = 120",
    );
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    // gobgp's default ORIGIN is incomplete; bird's is IGP.
    gobgpd.global_rib_add("203.0.113.0/24", &["origin", "igp"]);
    gobgpd.global_rib_add("198.51.100.0/24", &["community", "65535:7"]); // NO_LLGR
    poll::until_true(SESSION_UP, "gobgpd's route to be the best", || {
        baton
            .best_route("203.0.113.0/24")
            .is_some_and(|b| b["source"] == gp.to_string())
            && baton.adj_in_route(gp, "198.51.100.0/24").is_some()
    });

    gobgpd.kill();
    let killed = Instant::now();
    let llgr = poll::until(
        Duration::from_secs(20),
        "gobgpd's route to become LLGR-stale",
        || {
            baton
                .adj_in_route(gp, "203.0.113.0/24")
                .filter(|r| r["communities"].to_string().contains("llgr-stale"))
        },
    );
    assert!(
        killed.elapsed() >= Duration::from_secs(2),
        "LLGR before the restart time"
    );
    assert_eq!(llgr["stale"], true);
    // Depreferenced: bird's route wins now.
    let best = baton.best_route("203.0.113.0/24").unwrap();
    assert_eq!(best["source"], bp.to_string());
    // NO_LLGR routes are not kept past the restart time.
    assert!(baton.adj_in_route(gp, "198.51.100.0/24").is_none());
    // And the long-lived stale route outlives the restart time by far.
    poll::always(Duration::from_secs(5), "LLGR-stale route kept", || {
        baton.adj_in_route(gp, "203.0.113.0/24").is_some()
    });
}

/// baton originating [`N_BIT_ROUTE`] to one gobgpd, both sides sending the N bit (RFC 8538),
/// once gobgpd holds the route.
struct NBitLab {
    // Dropped last: the daemons go first.
    _lab: Lab,
    a: Host,
    g: Host,
    gobgpd: Gobgpd,
    baton: Baton,
}

impl NBitLab {
    fn new() -> NBitLab {
        let lab = Lab::new();
        let (a, g) = (lab.host("baton"), lab.host("gobgp"));
        let mut n = GobgpNeighbor::new(a.ipv4.into(), 65001);
        n.graceful_restart = Some(120);
        n.notification = true;
        let gobgpd = Gobgpd::start(
            &g,
            GobgpConfig {
                asn: 65002,
                neighbors: vec![n],
                ..GobgpConfig::default()
            },
        );
        let mut toml = host_global_toml(&a, 65001);
        toml += &peer_toml(g.ipv4.into(), 65002, "ipv4-unicast", "");
        toml += &gr_toml(120, "notification = true");
        toml += &format!("[[route]]\nprefix = \"{N_BIT_ROUTE}\"\n");
        let baton = Baton::start(&a, &toml);
        let t = NBitLab {
            _lab: lab,
            a,
            g,
            gobgpd,
            baton,
        };
        poll::until_true(SESSION_UP, "gobgpd to hold our route, fresh", || {
            t.held().is_some_and(|stale| !stale)
        });
        t
    }

    /// Whether gobgpd holds our route, and if so whether as stale.
    fn held(&self) -> Option<bool> {
        self.gobgpd
            .adj_in(self.a.ipv4.into(), Family::Ipv4Unicast)
            .iter()
            .find(|r| r.prefix == N_BIT_ROUTE)
            .map(|r| r.stale)
    }

    /// gobgpd's log lines recording a NOTIFICATION received with `Code=6` and `Subcode=9`.
    fn hard_resets_received(&self) -> Vec<String> {
        self.gobgpd
            .log()
            .lines()
            .filter(|l| {
                l.contains("received notification")
                    && l.contains("Code=6")
                    && l.contains("Subcode=9")
            })
            .map(str::to_string)
            .collect()
    }
}

#[test]
fn with_the_n_bit_a_deliberate_stop_is_a_hard_reset_and_peers_still_withdraw_at_once() {
    let mut t = NBitLab::new();
    t.baton.stop();
    poll::until_true(Duration::from_secs(3), "gobgpd to withdraw at once", || {
        t.held().is_none()
    });
    assert!(
        !t.hard_resets_received().is_empty(),
        "gobgpd did not receive a Hard Reset"
    );
}

#[test]
fn with_the_n_bit_neighbor_reset_sends_an_rfc_8538_hard_reset_and_gobgpd_withdraws_then_recovers() {
    let t = NBitLab::new();
    let gobgp: IpAddr = t.g.ipv4.into();
    let reset = t
        .baton
        .ctl_output(&["neighbor", "reset", &gobgp.to_string()]);
    assert!(
        reset.status.success(),
        "batonctl neighbor reset: {}",
        String::from_utf8_lossy(&reset.stderr)
    );
    // Gone, never kept as stale: a Cease that is not a Hard Reset would leave it stale for the
    // 120 s restart time.
    let mut seen_stale = false;
    poll::until_true(Duration::from_secs(3), "gobgpd to withdraw at once", || {
        let held = t.held();
        seen_stale |= held == Some(true);
        held.is_none()
    });
    assert!(!seen_stale, "gobgpd kept our route as stale");
    // What gobgpd received: Cease/Hard Reset whose data is the Cease/Administrative Reset we
    // meant, code and subcode (RFC 8538 §3): gobgpd logs that data as `Data="[6 4]"`.
    let received = t.hard_resets_received();
    assert!(
        received.iter().any(|l| l.contains("Data=\"[6 4]\"")),
        "gobgpd did not record a Hard Reset of 6/4: {received:#?}"
    );
    t.gobgpd.wait_established(t.a.ipv4.into(), SESSION_UP);
    poll::until_true(SESSION_UP, "gobgpd to hold our route again, fresh", || {
        t.held() == Some(false)
    });
    t.baton.wait_established(gobgp, SESSION_UP);
}

#[test]
fn after_a_restart_we_keep_what_peers_had_sent_as_stale_until_their_end_of_rib() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = gobgpd_speaker(&g, &a, 30, None);
    let peer = IpAddr::from(g.ipv4);
    let mut baton = helper_lab_baton(&a, &[(peer, 65002)], "");
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    gobgpd.global_rib_add("203.0.113.0/24", &["community", "65002:1"]);
    poll::until_true(SESSION_UP, "baton to learn the route", || {
        baton.adj_in_route(peer, "203.0.113.0/24").is_some()
    });
    let paths = baton.paths_of().clone();
    let snapshot = paths.state_dir.join("rib.state");
    poll::until_true(SESSION_UP, "the RIB snapshot to be saved", || {
        std::fs::read_to_string(&snapshot).is_ok_and(|s| s.contains("203.0.113.0/24"))
    });
    baton.kill();
    let toml = std::fs::read_to_string(&paths.config).unwrap();
    let mut baton = Baton::spawn_at(&a, paths, &toml, &[]);
    baton.wait_ready(SESSION_UP);
    // gobgpd keeps a lost session idle for 5 s: until it is back, we hold its route as stale.
    let restored = poll::until(Duration::from_secs(5), "the restored route", || {
        baton.adj_in_route(peer, "203.0.113.0/24")
    });
    assert_eq!(restored["stale"], true, "{restored}");
    assert!(
        baton.best_route("203.0.113.0/24").is_some(),
        "stale routes stay usable"
    );
    poll::until_true(
        SESSION_UP,
        "the route fresh after gobgpd's End-of-RIB",
        || {
            baton
                .adj_in_route(peer, "203.0.113.0/24")
                .is_some_and(|r| r["stale"] == false)
        },
    );
}
