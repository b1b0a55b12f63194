//! Kernel routes against a real gobgpd, in network namespaces: what gobgpd announces appears
//! in baton's kernel table with its next hop and goes on withdrawal; a route deleted by hand
//! comes back within one reconcile interval; kill -9 of the speaker or an upgrade never
//! removes a route and leaves the table exact after End-of-RIB; SIGTERM removes ours unless
//! keep_on_stop; routes of other protocols and tables are never touched; a bad [fib] stops
//! batond before anything; `batonctl fib` tells what is missing. Every check reads the kernel with `ip -n NS route show table T
//! proto P`.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::baton::{global_toml_on, peer_toml, Baton};
use common::gobgp::{GobgpConfig, Gobgpd};
use common::gr_lab::gr_toml;
use common::kernel::{ip, routes};
use common::monitor::Monitor;
use common::netns::{Host, Lab};
use common::poll;

const SESSION_UP: Duration = Duration::from_secs(30);
const ROUTE_ARRIVES: Duration = Duration::from_secs(15);
/// Our protocol number in these tests (the default).
const PROTO: &str = "200";

/// baton on `a` and gobgpd on `g`, an IPv4 and an IPv6 session, graceful restart on both
/// sides when `gr`.
struct FibLab {
    a: Host,
    g: Host,
    gobgpd: Gobgpd,
    toml: String,
    /// Last: dropped after the daemons, which it cleans up after (held, never read).
    _lab: Lab,
}

impl FibLab {
    fn new(fib: &str, gr: bool) -> FibLab {
        let lab = Lab::new();
        let (a, g) = (lab.host("baton"), lab.host("gobgp"));
        let gobgpd = Gobgpd::start(
            &g,
            GobgpConfig::both_families(65002, &a, 65001, gr.then_some(60)),
        );
        let mut toml = global_toml_on(&Baton::paths(&a), &a, 65001);
        toml += &format!("[fib]\n{fib}\n\n");
        for (addr, family) in [
            (IpAddr::from(g.ipv4), "ipv4-unicast"),
            (IpAddr::from(g.ipv6), "ipv6-unicast"),
        ] {
            toml += &peer_toml(addr, 65002, family, "");
            if gr {
                toml += &gr_toml(60, "selection_deferral_time = 60");
            }
        }
        // Originated: ours, never installed.
        toml += "[[route]]\nprefix = \"198.18.200.0/24\"\n\n";
        FibLab {
            a,
            g,
            gobgpd,
            toml,
            _lab: lab,
        }
    }

    fn start(&self) -> Baton {
        let baton = Baton::start(&self.a, &self.toml);
        baton.wait_established(self.g.ipv4.into(), SESSION_UP);
        baton.wait_established(self.g.ipv6.into(), SESSION_UP);
        baton
    }

    /// The line `ip route` prints for a route of ours through gobgpd's address.
    fn line(&self, prefix: &str) -> String {
        let via = if prefix.contains(':') {
            self.g.ipv6.to_string()
        } else {
            self.g.ipv4.to_string()
        };
        format!("{prefix} via {via} dev eth0 metric 20")
    }

    fn lines(&self, prefixes: &[String]) -> Vec<String> {
        let mut v: Vec<String> = prefixes.iter().map(|p| self.line(p)).collect();
        v.sort();
        v
    }

    /// Has gobgpd announce `prefixes(n)` and waits until baton's kernel holds exactly them;
    /// returns the prefixes and their `ip route` lines.
    fn announce(&self, n: usize) -> (Vec<String>, Vec<String>) {
        let all = prefixes(n);
        for p in &all {
            self.gobgpd.global_rib_add(p, &[]);
        }
        let want = self.lines(&all);
        self.wait_exactly(&want, "gobgpd's routes in baton's kernel table");
        (all, want)
    }

    fn ours(&self) -> Vec<String> {
        routes(&self.a, "main", PROTO)
    }

    fn wait_exactly(&self, want: &[String], what: &str) {
        poll::until_true(ROUTE_ARRIVES, what, || self.ours() == want);
    }
}

fn prefixes(n: usize) -> Vec<String> {
    (0..n)
        .flat_map(|i| {
            [
                format!("198.18.{}.0/24", 100 + i),
                format!("2001:db8:{:x}::/48", 0x100 + i),
            ]
        })
        .collect()
}

#[test]
fn gobgpd_routes_are_installed_with_their_next_hop_and_removed_on_withdrawal() {
    let t = FibLab::new("enabled = true", false);
    let baton = t.start();
    let all = prefixes(1);
    for p in &all {
        t.gobgpd.global_rib_add(p, &[]);
    }
    // A third router's next hop on the same link, announced by gobgpd.
    t.gobgpd
        .global_rib_add("198.18.150.0/24", &["nexthop", "198.18.0.77"]);
    let third = "198.18.150.0/24 via 198.18.0.77 dev eth0 metric 20".to_string();
    let mut want = t.lines(&all);
    want.push(third.clone());
    want.sort();
    t.wait_exactly(&want, "gobgpd's routes in baton's kernel table");
    assert!(
        !routes(&t.a, "main", "all")
            .iter()
            .any(|r| r.starts_with("198.18.200.0/24")),
        "an originated route was installed"
    );

    for p in &all {
        t.gobgpd.global_rib_del(p);
    }
    t.wait_exactly(&[third], "withdrawn routes gone from the kernel");
    drop(baton);
}

#[test]
fn a_route_deleted_by_hand_is_back_within_one_reconcile_interval() {
    let t = FibLab::new("enabled = true\nreconcile_interval = 1", false);
    let _baton = t.start();
    let (_, want) = t.announce(2);

    for victim in ["198.18.101.0/24", "2001:db8:100::/48"] {
        ip(&t.a, &format!("route del {victim} proto {PROTO}"));
        let deleted = Instant::now();
        assert!(!t.ours().contains(&t.line(victim)));
        poll::until_true(Duration::from_secs(5), "the route reinstalled", || {
            t.ours() == want
        });
        let back = deleted.elapsed();
        eprintln!("{victim}: back after {back:?} (interval 1 s)");
        // One interval, plus the run itself and polling on a loaded machine.
        assert!(back < Duration::from_millis(2500), "back after {back:?}");
    }
}

#[test]
fn batonctl_fib_shows_a_route_deleted_by_hand_as_missing() {
    // A long interval: the deleted route stays missing while we look.
    let t = FibLab::new("enabled = true\nreconcile_interval = 3600", false);
    let baton = t.start();
    let (all, _) = t.announce(2);
    let victim = "198.18.101.0/24";
    ip(&t.a, &format!("route del {victim} proto {PROTO}"));
    // Another route of ours that nobody wants (under our protocol, by hand).
    ip(
        &t.a,
        &format!(
            "route add 198.18.222.0/24 via {} proto {PROTO} metric 20",
            t.g.ipv4
        ),
    );

    let v = baton.ctl(&["fib"]);
    let prefixes = |key: &str| -> Vec<String> {
        let mut p: Vec<String> = v[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in {v}"))
            .iter()
            .map(|r| r["prefix"].as_str().unwrap().to_string())
            .collect();
        p.sort();
        p
    };
    let mut wanted = all.clone();
    wanted.sort();
    assert_eq!(prefixes("wanted"), wanted, "{v}");
    assert_eq!(prefixes("missing"), [victim], "{v}");
    assert_eq!(prefixes("unexpected"), ["198.18.222.0/24"], "{v}");
    assert!(prefixes("differing").is_empty(), "{v}");
    let mut held: Vec<String> = all.iter().filter(|p| *p != victim).cloned().collect();
    held.push("198.18.222.0/24".into());
    held.sort();
    assert_eq!(prefixes("kernel"), held, "{v}");
    let missing = &v["missing"][0];
    assert_eq!(missing["via"][0], t.g.ipv4.to_string(), "{v}");
    assert_eq!(missing["peer"], t.g.ipv4.to_string(), "{v}");
    assert_eq!(
        (v["table"].as_u64(), v["protocol"].as_u64()),
        (Some(254), Some(200))
    );

    let out = baton.ctl_output(&["fib"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(victim) && l.ends_with("missing")),
        "{text}"
    );
}

#[test]
fn kill_9_of_the_speaker_never_removes_a_route_and_the_table_is_exact_after_end_of_rib() {
    let t = FibLab::new("enabled = true\nreconcile_interval = 1", true);
    let baton = t.start();
    let (all, _) = t.announce(20);
    let status = baton.ctl(&["status"]);
    let speaker = status["speaker_pid"].as_u64().expect("speaker pid") as i32;

    // Gone while the speaker is down: one prefix gobgpd withdraws, and a route of ours that a
    // previous speaker left and nobody announces.
    let (gone, kept): (Vec<String>, Vec<String>) =
        all.iter().cloned().partition(|p| p == "198.18.105.0/24");
    let kept_lines = t.lines(&kept);
    let monitor = Monitor::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            monitor.run(Duration::from_millis(20), || {
                let now = t.ours();
                let missing: Vec<&String> =
                    kept_lines.iter().filter(|l| !now.contains(l)).collect();
                (!missing.is_empty()).then(|| format!("missing {missing:?}"))
            })
        });
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(speaker),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        t.gobgpd.global_rib_del(&gone[0]);
        ip(
            &t.a,
            &format!(
                "route add 198.18.222.0/24 via {} proto {PROTO} metric 20",
                t.g.ipv4
            ),
        );
        poll::until_true(Duration::from_secs(15), "a new speaker", || {
            baton.ctl(&["status"])["speaker_pid"].as_u64() != Some(speaker as u64)
        });
        baton.wait_established(t.g.ipv4.into(), SESSION_UP);
        baton.wait_established(t.g.ipv6.into(), SESSION_UP);
        t.wait_exactly(&kept_lines, "exactly the announced routes after End-of-RIB");
        monitor.stop();
    });
    monitor.assert_no_gap("our kernel routes across kill -9 of the speaker");
}

#[test]
fn an_upgrade_never_removes_a_route_and_the_new_speaker_keeps_the_table_exact() {
    let t = FibLab::new("enabled = true\nreconcile_interval = 1", true);
    let baton = t.start();
    let (_, want) = t.announce(20);
    let generation = baton.ctl(&["status"])["generation"].as_u64();
    let monitor = Monitor::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            monitor.run(Duration::from_millis(20), || {
                let now = t.ours();
                (now != want).then(|| format!("kernel held {now:?}"))
            })
        });
        let out = baton.ctl_output(&["upgrade"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(baton.ctl(&["status"])["generation"].as_u64(), generation);
        baton.wait_established(t.g.ipv4.into(), SESSION_UP);
        baton.wait_established(t.g.ipv6.into(), SESSION_UP);
        // A few reconciliation runs of the new speaker, past the peers' End-of-RIB.
        poll::always(Duration::from_secs(3), "the table stays exact", || {
            t.ours() == want
        });
        monitor.stop();
    });
    monitor.assert_no_gap("our kernel routes across batonctl upgrade");
}

#[test]
fn sigterm_removes_our_routes_unless_keep_on_stop_and_never_touches_others() {
    let t = FibLab::new(
        "enabled = true\nreconcile_interval = 1\nkeep_on_stop = true",
        false,
    );
    // Someone else's routes: another protocol in our table, our protocol in another table.
    ip(
        &t.a,
        &format!(
            "route add 198.18.50.0/24 via {} proto static metric 20",
            t.g.ipv4
        ),
    );
    ip(
        &t.a,
        &format!(
            "route add 198.18.51.0/24 via {} table 100 proto {PROTO}",
            t.g.ipv4
        ),
    );
    let others = || (routes(&t.a, "main", "static"), routes(&t.a, "100", PROTO));
    let before = others();
    let mut baton = t.start();
    let (_, want) = t.announce(2);
    baton.stop();
    assert_eq!(t.ours(), want, "keep_on_stop keeps them");
    assert_eq!(others(), before);

    // Started again without keep_on_stop: it adopts them; SIGTERM removes them.
    let toml = t
        .toml
        .replace("keep_on_stop = true", "keep_on_stop = false");
    let paths = Baton::paths(&t.a);
    let mut baton = Baton::spawn_at(&t.a, paths, &toml, &[]);
    baton.wait_ready(Duration::from_secs(10));
    baton.wait_established(t.g.ipv4.into(), SESSION_UP);
    t.wait_exactly(&want, "the routes, adopted");
    baton.stop();
    assert!(t.ours().is_empty(), "left after SIGTERM: {:?}", t.ours());
    assert_eq!(
        others(),
        before,
        "another protocol's or table's routes were touched"
    );
}

#[test]
fn an_invalid_fib_section_is_refused_with_file_and_line_and_nothing_is_applied() {
    let t = FibLab::new("enabled = true\nreconcile_interval = 0", false);
    let paths = Baton::paths(&t.a);
    let mut baton = Baton::spawn_at(&t.a, paths.clone(), &t.toml, &[]);
    let status = baton.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    let log = baton.log();
    let line = t
        .toml
        .lines()
        .position(|l| l.starts_with("reconcile_interval"))
        .unwrap()
        + 1;
    let at = format!("{}:{line}:", paths.config.display());
    assert!(
        log.contains(&at) && log.contains("fib.reconcile_interval: reconcile interval 0"),
        "{log}"
    );
    assert!(t.ours().is_empty());
    assert_ne!(
        t.gobgpd.neighbor_state(t.a.ipv4.into()).as_deref(),
        Some("established")
    );
}
