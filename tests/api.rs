//! The REST API of a running batond, against a real gobgpd: what a request announces reaches the
//! peer with exactly the attributes asked for, a withdrawal takes it away, a batch arrives
//! whole, a refused request changes nothing, and an acknowledged change survives kill -9 of
//! the whole daemon.
//!
//! Requests are plain HTTP/1.1 written by hand (`common::http`).

mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use common::api_lab::{ApiLab, CONFIG_PREFIX, OUR_AS, PEER_AS, ROUTE_ARRIVES, SESSION_UP};
use common::baton::{global_toml, host_global_toml_at, Baton};
use common::gobgp::{GobgpConfig, Gobgpd};
use common::http::{http, http_bytes, write_token_file, API_PORT};
use common::netns::Lab;
use common::{poll, Family};

/// A whole 10,000-route batch through a debug build and gobgpd.
const BATCH_ARRIVES: Duration = Duration::from_secs(90);

/// The i-th route of a batch: a /32 in 198.19.0.0/16 below the config's prefix.
fn batch_prefix(i: usize) -> String {
    format!("198.19.{}.{}/32", i / 256, i % 256)
}

#[test]
fn an_announced_route_reaches_gobgpd_with_exactly_its_attributes_and_a_delete_withdraws_it() {
    let t = ApiLab::new();
    let prefix = "198.18.200.0/24";
    let reply = t.request(
        "POST",
        "/v1/routes",
        Some(&json!({
            "prefix": prefix,
            "communities": ["65001:7", "65001:8"],
            "large_communities": ["65001:1:2"],
            "med": 77,
        })),
    );
    assert_eq!(
        (reply.status, &reply.body),
        (200, &json!({"added": 1, "replaced": 0}))
    );
    let route = t.route_at_gobgpd(prefix);
    assert_eq!(route.communities, vec!["65001:7", "65001:8"]);
    assert_eq!(route.large_communities, vec!["65001:1:2"]);
    assert_eq!(route.med, Some(77));
    assert_eq!(route.as_path, vec![OUR_AS]);
    assert_eq!(route.next_hop, IpAddr::from(t.a.ipv4));
    assert_eq!(route.origin, Some(0));
    assert_eq!(route.local_pref, None, "no LOCAL_PREF over eBGP");

    // Our view of it: the Loc-RIB names the source, the Adj-RIB-Out shows what was sent.
    let rib = t.get(&format!("/v1/rib/ipv4-unicast?prefix={prefix}"));
    assert_eq!(rib.status, 200, "{}", rib.body);
    assert_eq!(rib.body["routes"][0]["source"], "api", "{}", rib.body);
    assert_eq!(rib.body["routes"][0]["med"], 77);
    let all = t.get("/v1/rib/ipv4");
    let config_route = all.body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix"] == CONFIG_PREFIX)
        .cloned();
    assert_eq!(config_route.unwrap()["source"], "config", "{}", all.body);
    let out = t.get(&format!(
        "/v1/neighbors/{}/adj-out?prefix={prefix}",
        t.g.ipv4
    ));
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(
        out.body["routes"][0]["as_path"],
        json!([OUR_AS]),
        "{}",
        out.body
    );
    assert_eq!(out.body["routes"][0]["source"], "api");
    assert_eq!(
        out.body["routes"][0]["communities"],
        json!(["65001:7", "65001:8"])
    );
    let neighbor = t.get(&format!("/v1/neighbors/{}", t.g.ipv4));
    assert_eq!(neighbor.body["state"], "Established", "{}", neighbor.body);
    let status = t.get("/v1/status");
    assert_eq!(status.body["api_routes"], 1, "{}", status.body);
    assert_eq!(status.body["config_routes"], 1, "{}", status.body);
    assert_eq!(status.body["established"], 1, "{}", status.body);

    // Routes gobgpd sends us show in the Adj-RIB-In; a soft reset asks for them again.
    t.gobgpd
        .global_rib_add("203.0.113.0/24", &["community", "65002:9"]);
    let learned = poll::until(ROUTE_ARRIVES, "baton to learn 203.0.113.0/24", || {
        let r = t.get(&format!("/v1/neighbors/{}/adj-in", t.g.ipv4));
        r.body["routes"]
            .as_array()?
            .iter()
            .find(|r| r["prefix"] == "203.0.113.0/24")
            .cloned()
    });
    assert_eq!(learned["communities"], json!(["65002:9"]));
    let refreshes = || {
        t.gobgpd.neighbor_json(t.a.ipv4.into()).map_or(0, |n| {
            n["state"]["messages"]["received"]["refresh"]
                .as_u64()
                .unwrap_or(0)
        })
    };
    let before = refreshes();
    let reset = t.request(
        "POST",
        &format!("/v1/neighbors/{}/soft-reset", t.g.ipv4),
        None,
    );
    assert_eq!(reset.status, 200, "{}", reset.body);
    poll::until_true(ROUTE_ARRIVES, "gobgpd to receive a ROUTE-REFRESH", || {
        refreshes() > before
    });

    // Replacing keeps one route with the new attributes.
    let reply = t.request(
        "POST",
        "/v1/routes",
        Some(&json!({"routes": [{"prefix": prefix, "med": 78}]})),
    );
    assert_eq!(reply.body, json!({"added": 0, "replaced": 1}));
    poll::until_true(ROUTE_ARRIVES, "gobgpd to get the new MED", || {
        t.at_gobgpd(prefix)
            .is_some_and(|r| r.med == Some(78) && r.communities.is_empty())
    });

    let reply = t.request(
        "DELETE",
        "/v1/routes",
        Some(&json!({"prefixes": [prefix, "198.18.201.0/24"]})),
    );
    assert_eq!(
        (reply.status, &reply.body),
        (
            200,
            &json!({"withdrawn": 1, "not_found": ["198.18.201.0/24"]})
        )
    );
    poll::until_true(ROUTE_ARRIVES, "gobgpd to drop the withdrawn route", || {
        t.at_gobgpd(prefix).is_none()
    });
    assert!(t.at_gobgpd(CONFIG_PREFIX).is_some());
    let rib = t.get(&format!("/v1/rib/ipv4-unicast?prefix={prefix}"));
    assert_eq!(rib.body["routes"], json!([]));
}

#[test]
fn a_batch_of_10000_routes_arrives_whole_and_leaves_whole() {
    let t = ApiLab::new();
    let n = 10_000;
    let routes: Vec<Value> = (0..n)
        .map(|i| json!({"prefix": batch_prefix(i), "communities": ["65001:100"]}))
        .collect();
    let reply = t.request("POST", "/v1/routes", Some(&json!({ "routes": routes })));
    assert_eq!(
        (reply.status, &reply.body),
        (200, &json!({"added": n, "replaced": 0}))
    );
    // The config's route plus the whole batch.
    poll::until_true(BATCH_ARRIVES, "gobgpd to hold the whole batch", || {
        t.count_at_gobgpd() == n + 1
    });
    let status = t.get("/v1/status");
    assert_eq!(status.body["api_routes"], n, "{}", status.body);
    let sample = t.at_gobgpd(&batch_prefix(n - 1)).expect("the last route");
    assert_eq!(sample.communities, vec!["65001:100"]);

    let prefixes: Vec<String> = (0..n).map(batch_prefix).collect();
    let reply = t.request(
        "DELETE",
        "/v1/routes",
        Some(&json!({ "prefixes": prefixes })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["withdrawn"], n);
    poll::until_true(BATCH_ARRIVES, "gobgpd to drop the whole batch", || {
        t.count_at_gobgpd() == 1
    });
}

#[test]
fn a_refused_request_names_the_field_and_changes_nothing() {
    let t = ApiLab::new();
    // One bad value in a batch: the whole batch is refused.
    let bad = json!({"routes": [
        {"prefix": "198.18.210.0/24"},
        {"prefix": "198.18.211.0/24", "med": 5},
        {"prefix": "198.18.212.0/24", "communities": ["65536:1"]},
    ]});
    let reply = t.request("POST", "/v1/routes", Some(&bad));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        reply.body["field"], "routes[2].communities[0]",
        "{}",
        reply.body
    );
    assert!(
        reply.body["error"]
            .as_str()
            .unwrap()
            .contains("65536 is larger than 65535"),
        "{}",
        reply.body
    );
    // A prefix the configuration file originates cannot be taken over, nor withdrawn.
    let reply = t.request(
        "POST",
        "/v1/routes",
        Some(&json!({"routes": [{"prefix": "198.18.213.0/24"}, {"prefix": CONFIG_PREFIX}]})),
    );
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.body["field"], "routes[1].prefix", "{}", reply.body);
    let reply = t.request(
        "DELETE",
        "/v1/routes",
        Some(&json!({"prefix": CONFIG_PREFIX})),
    );
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.body["field"], "prefix");
    // Malformed JSON names its position.
    let reply = http_bytes(&t.a, "POST", "/v1/routes", Some(b"{\"prefix\": "), None);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["line"], 1, "{}", reply.body);

    let status = t.get("/v1/status");
    assert_eq!(status.body["api_routes"], 0, "{}", status.body);
    let rib = t.get("/v1/rib/ipv4-unicast");
    let prefixes: Vec<&str> = rib.body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["prefix"].as_str())
        .collect();
    assert_eq!(prefixes, vec![CONFIG_PREFIX], "{}", rib.body);
    // UPDATEs reach gobgpd in order: once a later route is there, none of the refused ones
    // was ever sent.
    let marker = "198.18.220.0/24";
    let reply = t.request("POST", "/v1/routes", Some(&json!({ "prefix": marker })));
    assert_eq!(reply.status, 200, "{}", reply.body);
    t.route_at_gobgpd(marker);
    for refused in ["198.18.210.0/24", "198.18.211.0/24", "198.18.213.0/24"] {
        assert!(t.at_gobgpd(refused).is_none(), "{refused} reached gobgpd");
    }
    assert_eq!(t.count_at_gobgpd(), 2);
}

#[test]
fn an_acknowledged_announce_survives_kill_9_of_the_whole_daemon() {
    let mut t = ApiLab::new();
    let prefix = "198.18.230.0/24";
    let speaker = t.baton.ctl(&["status"])["speaker_pid"]
        .as_u64()
        .expect("speaker pid") as i32;
    let reply = t.request(
        "POST",
        "/v1/routes",
        Some(&json!({"prefix": prefix, "communities": ["65001:30"], "med": 30})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Killed right after the reply, whether or not the route went out.
    t.baton.kill();
    poll::until_true(
        Duration::from_secs(5),
        "the speaker to die with its supervisor",
        || nix::sys::signal::kill(nix::unistd::Pid::from_raw(speaker), None).is_err(),
    );
    // No graceful restart here: gobgpd drops everything once the session is gone.
    poll::until_true(SESSION_UP, "gobgpd to lose the session", || {
        t.gobgpd.neighbor_state(t.a.ipv4.into()).as_deref() != Some("established")
    });
    assert!(t.at_gobgpd(prefix).is_none());

    let paths = Baton::paths(&t.a);
    t.baton = Baton::spawn_at(&t.a, paths, &t.toml, &[]);
    t.baton.wait_ready(Duration::from_secs(30));
    t.gobgpd.wait_established(t.a.ipv4.into(), SESSION_UP);
    let route = t.route_at_gobgpd(prefix);
    assert_eq!(route.communities, vec!["65001:30"]);
    assert_eq!(route.med, Some(30));
    let rib = t.get(&format!("/v1/rib/ipv4-unicast?prefix={prefix}"));
    assert_eq!(rib.body["routes"][0]["source"], "api", "{}", rib.body);
}

#[test]
fn with_a_token_file_requests_need_the_bearer_token() {
    let lab = Lab::new();
    let a = lab.host("baton");
    let paths = Baton::paths(&a);
    let token_file = paths.dir.join("api-token");
    write_token_file(&token_file, "tok-123");
    let mut toml = global_toml(&paths, OUR_AS, &a.ipv4.to_string(), &[]);
    toml += &format!(
        "[api]\nlisten = \"127.0.0.1:{API_PORT}\"\ntoken_file = \"{}\"\n",
        token_file.display()
    );
    let _baton = Baton::start(&a, &toml);
    let none = http(&a, "GET", "/v1/status", None, None);
    assert_eq!(none.status, 401, "{}", none.body);
    let wrong = http(&a, "GET", "/v1/status", None, Some("tok-124"));
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let right = http(&a, "GET", "/v1/status", None, Some("tok-123"));
    assert_eq!(right.status, 200, "{}", right.body);
    assert_eq!(right.body["asn"], OUR_AS);
    let doc = http(&a, "GET", "/v1/openapi.json", None, None);
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/v1/routes"].is_object());

    // An unreadable token file is refused at start, naming the key and its line.
    let other = Baton::paths_named(&a, "other");
    let mut bad = global_toml(&other, OUR_AS, &a.ipv4.to_string(), &[]);
    bad += "[api]\nlisten = \"127.0.0.1:8180\"\ntoken_file = \"/nonexistent/token\"\n";
    let mut failed = Baton::spawn_at(&a, other.clone(), &bad, &[]);
    let status = failed.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    let log = failed.log();
    let expected = format!("{}:10:", other.config.display());
    assert!(
        log.lines().any(|l| l.starts_with(&expected)
            && l.contains("api.token_file: cannot read the token file /nonexistent/token")),
        "{log}"
    );
}

#[test]
fn a_neighbor_added_disabled_enabled_changed_and_deleted_through_the_api() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = Gobgpd::start(
        &g,
        GobgpConfig::one_neighbor(PEER_AS, a.ipv4.into(), OUR_AS),
    );
    let paths = Baton::paths(&a);
    let mut toml = host_global_toml_at(&paths, OUR_AS, &a);
    toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n\n");
    toml += &format!("[[route]]\nprefix = \"{CONFIG_PREFIX}\"\n\n");
    let mut baton = Baton::start(&a, &toml);
    let api = |method: &str, path: &str, body: Option<&Value>| http(&a, method, path, body, None);
    let neighbor = format!("/v1/neighbors/{}", g.ipv4);
    let holds_ours = |gobgpd: &Gobgpd| {
        gobgpd
            .adj_in(a.ipv4.into(), Family::Ipv4Unicast)
            .iter()
            .any(|r| r.prefix == CONFIG_PREFIX)
    };
    let established =
        |gobgpd: &Gobgpd| gobgpd.neighbor_state(a.ipv4.into()).as_deref() == Some("established");

    assert_eq!(api("GET", &neighbor, None).status, 404);
    let added = api(
        "POST",
        "/v1/neighbors",
        Some(&json!({"address": g.ipv4.to_string(), "remote_as": PEER_AS, "connect_retry": 1})),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["families"][0]["family"], "ipv4-unicast");
    let again = api(
        "POST",
        "/v1/neighbors",
        Some(&json!({"address": g.ipv4.to_string(), "remote_as": PEER_AS})),
    );
    assert_eq!(again.status, 409, "{}", again.body);
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    poll::until_true(ROUTE_ARRIVES, "gobgpd to hold our route", || {
        holds_ours(&gobgpd)
    });

    // Disabled: a Cease with our message, no session, and it stays so across kill -9.
    let disabled = api("POST", &format!("{neighbor}/disable"), None);
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    poll::until_true(SESSION_UP, "gobgpd to lose the session", || {
        !established(&gobgpd)
    });
    let view = api("GET", &neighbor, None);
    assert_eq!(view.body["state"], "Idle", "{}", view.body);
    assert_eq!(view.body["last_error"], "administratively disabled");
    // gobgpd shows the RFC 9003 message only in its own record of what it received.
    let log = gobgpd.log();
    assert!(
        log.lines().any(|l| l.contains("received notification")
            && l.contains("Subcode=2")
            && l.contains("Communicated-Reason=\"baton: neighbor disabled\"")),
        "gobgpd did not record our Cease/Administrative Shutdown with its message"
    );
    baton.kill();
    baton = Baton::spawn_at(&a, paths.clone(), &toml, &[]);
    baton.wait_ready(Duration::from_secs(30));
    let view = api("GET", &neighbor, None);
    assert_eq!(
        view.status, 200,
        "the added neighbor is kept: {}",
        view.body
    );
    assert_eq!(view.body["last_error"], "administratively disabled");

    let enabled = api("POST", &format!("{neighbor}/enable"), None);
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    poll::until_true(ROUTE_ARRIVES, "gobgpd to hold our route again", || {
        holds_ours(&gobgpd)
    });

    // A change restarts the session with the new settings.
    let changed = api(
        "PATCH",
        &neighbor,
        Some(&json!({"description": "changed", "hold_time": 30})),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["description"], "changed");
    poll::until_true(SESSION_UP, "the session back with hold time 30", || {
        gobgpd.neighbor_json(a.ipv4.into()).is_some_and(|n| {
            n["state"]["session_state"].as_u64() == Some(6)
                && n["timers"]["state"]["negotiated_hold_time"].as_u64() == Some(30)
        })
    });

    let deleted = api("DELETE", &neighbor, None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    poll::until_true(SESSION_UP, "gobgpd to lose the session for good", || {
        !established(&gobgpd)
    });
    assert_eq!(api("GET", &neighbor, None).status, 404);
    assert_eq!(
        api("GET", "/v1/neighbors", None).body["neighbors"],
        json!([])
    );
}

#[test]
fn during_an_upgrade_api_requests_wait_for_the_new_speaker_and_no_acknowledged_change_is_lost() {
    let t = ApiLab::with(true);
    // A second build, which reports another version.
    let next = common::baton::second_build(t.a.dir());
    let old_version = t.get("/v1/status").body["version"].clone();

    let stop = AtomicBool::new(false);
    let (upgrade, acknowledged, versions) = std::thread::scope(|s| {
        let client = s.spawn(|| {
            let (mut acknowledged, mut versions) = (Vec::new(), Vec::new());
            // Bounded: stops when told, or after 5,000 routes.
            for i in 0..5_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let prefix = format!("198.19.{}.{}/32", 128 + i / 256, i % 256);
                let reply = t.request("POST", "/v1/routes", Some(&json!({ "prefix": prefix })));
                assert_eq!(reply.status, 200, "route {i}: {}", reply.body);
                acknowledged.push(prefix);
                let status = t.get("/v1/status");
                assert_eq!(status.status, 200, "{}", status.body);
                versions.push(status.body["version"].clone());
            }
            (acknowledged, versions)
        });
        // Let the client get going on the old speaker first.
        poll::until_true(
            ROUTE_ARRIVES,
            "the client to announce through the old speaker",
            || t.get("/v1/status").body["api_routes"].as_u64() >= Some(3),
        );
        let out = t
            .baton
            .upgrade(&["--binary", next.to_str().unwrap(), "--timeout", "90"]);
        // A few more requests on the new speaker, then stop.
        let served = t.get("/v1/status").body["api_routes"].as_u64().unwrap_or(0);
        poll::until_true(
            ROUTE_ARRIVES,
            "the client to announce through the new speaker",
            || t.get("/v1/status").body["api_routes"].as_u64() >= Some(served + 3),
        );
        stop.store(true, Ordering::SeqCst);
        let (acknowledged, versions) = client.join().expect("the API client");
        (out, acknowledged, versions)
    });
    let report = upgrade.report;
    assert_eq!(
        report["ok"], true,
        "upgrade failed: {report} {}",
        upgrade.output
    );
    let new_version = t.get("/v1/status").body["version"].clone();
    assert_ne!(new_version, old_version);
    assert!(
        versions.contains(&old_version) && versions.contains(&new_version),
        "{versions:?}"
    );

    // Every acknowledged route is there, in the new speaker and at gobgpd.
    let status = t.get("/v1/status");
    assert_eq!(
        status.body["api_routes"],
        acknowledged.len(),
        "{}",
        status.body
    );
    let rib = t.get("/v1/rib/ipv4-unicast");
    let api: Vec<&str> = rib.body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "api")
        .filter_map(|r| r["prefix"].as_str())
        .collect();
    assert_eq!(api.len(), acknowledged.len());
    poll::until_true(
        ROUTE_ARRIVES,
        "gobgpd to hold every acknowledged route",
        || t.count_at_gobgpd() == acknowledged.len() + 1,
    );
    eprintln!(
        "{} routes announced across the upgrade: {report}",
        acknowledged.len()
    );
}
