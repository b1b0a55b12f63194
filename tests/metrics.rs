//! Prometheus metrics of a running batond, read the way Prometheus reads them: `GET /metrics`
//! on the REST API, parsed by a Prometheus text-format parser. Every family is there with its
//! HELP, the peer and RIB figures say what the peer holds, messages are counted both ways, the
//! RIB snapshot's size shows once saved, and a kernel route deleted by hand counts exactly one
//! reinstall. The supervisor's figures are right in whichever speaker serves the scrape: after
//! an upgrade (the new one), a crash restart, and a failed upgrade (the old one carries on); and
//! routes added through the API show the intent's and its journal's save sizes.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::baton::{global_toml_on, peer_toml, script, second_build, Baton};
use common::gobgp::{GobgpConfig, Gobgpd};
use common::http::{exchange, http, API_PORT};
use common::kernel::{ip, routes};
use common::netns::{Host, Lab};
use common::poll;
use prometheus_parse::{Scrape, Value};

const SESSION_UP: Duration = Duration::from_secs(30);
const ROUTE_ARRIVES: Duration = Duration::from_secs(15);

/// Every family the speaker exports, by the name its HELP line gives (counters without
/// `_total`, which their samples carry).
const FAMILIES: [&str; 29] = [
    "baton_rib_prefixes",
    "baton_rib_best_path_changes",
    "baton_peer_session_state",
    "baton_peer_uptime_seconds",
    "baton_peer_established_sessions",
    "baton_peer_prefixes_received",
    "baton_peer_prefixes_accepted",
    "baton_peer_prefixes_advertised",
    "baton_api_requests",
    "baton_fib_routes",
    "baton_fib_installs",
    "baton_fib_deletes",
    "baton_route_reinstalls",
    "baton_route_install_failures",
    "baton_fib_reconcile_runs",
    "baton_fib_reconcile_duration_seconds",
    "baton_peer_martian_next_hops",
    "baton_peer_flaps",
    "baton_peer_updates_received",
    "baton_peer_updates_sent",
    "baton_peer_notifications_received",
    "baton_peer_notifications_sent",
    "baton_upgrades",
    "baton_speaker_restarts",
    "baton_generation",
    "baton_state_save_duration_seconds",
    "baton_state_save_bytes",
    "baton_state_written_bytes",
    "baton_state_save_failures",
];

/// `GET /metrics` from inside `host`: the reply must be 200 with the text format's content
/// type, and the body must parse.
fn scrape(host: &Host) -> Scrape {
    let request = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let raw = String::from_utf8(exchange(host, request.to_vec())).expect("UTF-8 metrics");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP reply");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("a Prometheus text body")
}

/// The value of the sample `name` whose labels include `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .find(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[test]
fn metrics_parse_with_help_for_every_family_and_a_deleted_kernel_route_counts_one_reinstall() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = Gobgpd::start(&g, GobgpConfig::both_families(65002, &a, 65001, None));
    let mut toml = global_toml_on(&Baton::paths(&a), &a, 65001);
    toml += "[fib]\nenabled = true\nreconcile_interval = 1\n\n";
    toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n\n");
    toml += &peer_toml(IpAddr::from(g.ipv4), 65002, "ipv4-unicast", "");
    toml += "[[route]]\nprefix = \"198.18.200.0/24\"\n\n";
    let baton = Baton::start(&a, &toml);
    baton.wait_established(g.ipv4.into(), SESSION_UP);
    for p in ["198.18.100.0/24", "198.18.101.0/24"] {
        gobgpd.global_rib_add(p, &[]);
    }
    let ours = || routes(&a, "main", "200");
    poll::until_true(ROUTE_ARRIVES, "gobgpd's routes in the kernel", || {
        ours().len() == 2
    });

    // A family with labels shows once it has a sample: the first scrape gives the API's.
    scrape(&a);
    let s = scrape(&a);
    for family in FAMILIES {
        let help = s.docs.get(family);
        assert!(
            help.is_some_and(|h| !h.is_empty()),
            "{family} has no HELP; families: {:?}",
            s.docs.keys()
        );
    }
    let peer = g.ipv4.to_string();
    let v4 = [("peer", peer.as_str()), ("family", "ipv4-unicast")];
    assert_eq!(
        value(
            &s,
            "baton_peer_session_state",
            &[("peer", &peer), ("state", "Established")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&s, "baton_peer_prefixes_received", &v4), Some(2.0));
    let by_peer = [("peer", peer.as_str())];
    for (name, at_least) in [
        // gobgpd's two routes (and its End-of-RIB), our route and End-of-RIB.
        ("baton_peer_updates_received_total", 2.0),
        ("baton_peer_updates_sent_total", 1.0),
    ] {
        let n = value(&s, name, &by_peer).unwrap_or(f64::NAN);
        assert!(n >= at_least, "{name} is {n}, at least {at_least} expected");
    }
    // And exactly as many as gobgpd counts, each way, once the table has gone through.
    poll::until_true(
        ROUTE_ARRIVES,
        "UPDATEs counted as gobgpd counts them",
        || {
            let s = scrape(&a);
            value(&s, "baton_peer_updates_received_total", &by_peer)
                == gobgpd_updates(&gobgpd, &a, "sent")
                && value(&s, "baton_peer_updates_sent_total", &by_peer)
                    == gobgpd_updates(&gobgpd, &a, "received")
        },
    );
    for name in [
        "baton_peer_flaps_total",
        "baton_peer_notifications_received_total",
        "baton_peer_notifications_sent_total",
    ] {
        assert_eq!(value(&s, name, &by_peer), Some(0.0), "{name}");
    }
    // The RIB changed: the saver writes a snapshot within its interval.
    let saved = poll::until(ROUTE_ARRIVES, "a RIB snapshot saved", || {
        let s = scrape(&a);
        value(&s, "baton_state_save_bytes", &[("kind", "rib")]).filter(|b| *b > 0.0)
    });
    let written = value(
        &scrape(&a),
        "baton_state_written_bytes_total",
        &[("kind", "rib")],
    );
    assert!(written.is_some_and(|w| w >= saved), "{written:?} < {saved}");
    assert_eq!(value(&s, "baton_peer_prefixes_advertised", &v4), Some(1.0));
    assert_eq!(
        value(&s, "baton_rib_prefixes", &[("family", "ipv4-unicast")]),
        Some(3.0),
        "two learned and one originated prefix"
    );
    assert_eq!(
        value(&s, "baton_fib_routes", &[("family", "ipv4-unicast")]),
        Some(2.0)
    );
    // The scrapes before this one were counted.
    assert!(
        value(
            &s,
            "baton_api_requests_total",
            &[("route", "/metrics"), ("status", "200")]
        )
        .is_some_and(|n| n >= 1.0),
        "scrapes are counted"
    );

    let reinstalls = value(&s, "baton_route_reinstalls_total", &[]).expect("the counter");
    let want = ours();
    ip(&a, "route del 198.18.100.0/24 proto 200");
    poll::until_true(Duration::from_secs(10), "the route reinstalled", || {
        ours() == want
    });
    // Two more reconciliation runs after the reinstall: none of them reinstalls again.
    let runs = value(&scrape(&a), "baton_fib_reconcile_runs_total", &[]).expect("runs");
    let after = poll::until(Duration::from_secs(10), "two more reconcile runs", || {
        let s = scrape(&a);
        (value(&s, "baton_fib_reconcile_runs_total", &[])? >= runs + 2.0).then_some(s)
    });
    assert_eq!(
        value(&after, "baton_route_reinstalls_total", &[]),
        Some(reinstalls + 1.0),
        "exactly one reinstall"
    );
    assert_eq!(
        value(&after, "baton_route_install_failures_total", &[]),
        Some(0.0)
    );

    // gobgpd resets the session: it sends a NOTIFICATION (Cease), and the Established session
    // going down is one flap.
    gobgpd.cli(&["neighbor", &a.ipv4.to_string(), "reset"]);
    let mut seen = Vec::new();
    let counted = poll::within(SESSION_UP, || {
        let s = scrape(&a);
        seen = [
            "baton_peer_flaps_total",
            "baton_peer_notifications_received_total",
        ]
        .map(|name| value(&s, name, &by_peer))
        .to_vec();
        (seen == [Some(1.0), Some(1.0)]).then_some(())
    });
    assert!(
        counted.is_some(),
        "flaps and NOTIFICATIONs received after gobgpd's reset: {seen:?}; {:?}",
        gobgpd.neighbor_json(a.ipv4.into())
    );
    assert_eq!(
        value(&scrape(&a), "baton_peer_notifications_sent_total", &by_peer),
        Some(0.0)
    );
    drop(baton);
}

/// gobgpd's own count of the UPDATE messages it `way` ("sent", "received") with baton.
fn gobgpd_updates(gobgpd: &Gobgpd, baton: &Host, way: &str) -> Option<f64> {
    let n = gobgpd.neighbor_json(baton.ipv4.into())?;
    n["state"]["messages"][way]["update"].as_f64()
}

/// The sample of `name` (no labels asked), or why there is none.
fn one(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(s, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in the scrape"))
}

/// The supervisor's figures as the speaker that serves the scrape says them: generation,
/// restarts, completed, failed, incomplete upgrades.
fn figures(s: &Scrape) -> [f64; 5] {
    let upgrades = |outcome| one(s, "baton_upgrades_total", &[("outcome", outcome)]);
    [
        one(s, "baton_generation", &[]),
        one(s, "baton_speaker_restarts_total", &[]),
        upgrades("completed"),
        upgrades("failed"),
        upgrades("incomplete"),
    ]
}

#[test]
fn upgrades_restarts_and_the_generation_are_right_in_whichever_speaker_serves_the_scrape() {
    let lab = Lab::new();
    let a = lab.host("baton");
    let mut toml = global_toml_on(&Baton::paths(&a), &a, 65001);
    toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n\n");
    let baton = Baton::start(&a, &toml);
    let pid = |b: &Baton| b.ctl(&["status"])["speaker_pid"].as_u64();
    assert_eq!(figures(&scrape(&a)), [1.0, 0.0, 0.0, 0.0, 0.0]);
    // `batonctl metrics` prints the same text, through the supervisor.
    let out = baton.ctl_output(&["metrics"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let by_ctl = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("a text body");
    assert_eq!(figures(&by_ctl), [1.0, 0.0, 0.0, 0.0, 0.0]);

    // Two routes added through the API: the first change saves the whole intent, the second
    // is appended to its journal; each save's bytes show.
    for prefix in ["198.18.210.0/24", "198.18.211.0/24"] {
        let route = serde_json::json!({ "prefix": prefix });
        let reply = http(&a, "POST", "/v1/routes", Some(&route), None);
        assert!(
            reply.status < 300,
            "{prefix}: {} {}",
            reply.status,
            reply.body
        );
    }
    let s = scrape(&a);
    for kind in ["intent", "journal"] {
        let bytes = value(&s, "baton_state_save_bytes", &[("kind", kind)]);
        assert!(bytes.is_some_and(|b| b > 0.0), "{kind}: {bytes:?}");
    }

    // An upgrade: the new speaker says it completed, as generation 2.
    let next = second_build(lab.dir());
    let run = baton.upgrade(&["--binary", next.to_str().unwrap(), "--timeout", "30"]);
    assert!(run.ok, "{}", run.output);
    let upgraded = pid(&baton);
    poll::until_true(Duration::from_secs(10), "the new speaker's metrics", || {
        figures(&scrape(&a)) == [2.0, 0.0, 1.0, 0.0, 0.0]
    });

    // kill -9: the speaker started in its place counts itself as a restart, and still knows
    // the upgrade.
    let killed = upgraded.expect("a speaker pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(killed),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 the speaker");
    poll::until_true(SESSION_UP, "a new speaker", || {
        pid(&baton).is_some_and(|p| p != killed as u64)
    });
    poll::until_true(
        Duration::from_secs(10),
        "the restarted speaker's metrics",
        || figures(&scrape(&a)) == [3.0, 1.0, 1.0, 0.0, 0.0],
    );

    // A failed upgrade: the speaker that carries on counts it.
    let running = pid(&baton);
    let broken = script(lab.dir(), "batond-broken", "exit 3");
    let run = baton.upgrade(&["--binary", broken.to_str().unwrap(), "--timeout", "10"]);
    assert!(!run.ok, "{}", run.output);
    assert_eq!(pid(&baton), running, "the old speaker carries on");
    poll::until_true(
        Duration::from_secs(10),
        "the failure counted by the speaker that carries on",
        || figures(&scrape(&a)) == [3.0, 1.0, 1.0, 1.0, 0.0],
    );
    drop(baton);
}
