//! Prometheus metrics of a running batond, read the way Prometheus reads them: `GET /metrics`
//! on the REST API, parsed by a Prometheus text-format parser. Every family is there with its
//! HELP, the peer and RIB figures say what the peer holds, and a kernel route deleted by hand
//! counts exactly one reinstall.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::baton::{global_toml_on, peer_toml, Baton};
use common::gobgp::{GobgpConfig, Gobgpd};
use common::http::{exchange, API_PORT};
use common::kernel::{ip, routes};
use common::netns::{Host, Lab};
use common::poll;
use prometheus_parse::{Scrape, Value};

const SESSION_UP: Duration = Duration::from_secs(30);
const ROUTE_ARRIVES: Duration = Duration::from_secs(15);

/// Every family the speaker exports, by the name its HELP line gives (counters without
/// `_total`, which their samples carry).
const FAMILIES: [&str; 17] = [
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
    drop(baton);
}
