//! Declarative reload against real gobgpd peers: `batonctl reload` applies exactly the
//! difference between the running configuration and the file — a removed peer gets Cease
//! "peer de-configured", a peer whose hold time changed is reset, an added one comes up, the
//! untouched one keeps its session, a changed MED is one UPDATE — and a bad file changes
//! nothing and says where it is wrong.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

use common::baton::{global_toml, peer_toml, Baton};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::gr_lab::gr_toml;
use common::monitor::Monitor;
use common::netns::{Host, Lab};
use common::{poll, Family};

/// gobgpd refuses connections for ~5 s after any loss, so be generous.
const SESSION_UP: Duration = Duration::from_secs(30);
const ROUTE_ARRIVES: Duration = Duration::from_secs(20);
const OUR_AS: u32 = 65001;
const ROUTE_A: &str = "198.19.0.0/24";
const ROUTE_B: &str = "198.19.1.0/24";

/// baton on `a` and one gobgpd per name (AS 65002, 65003, … in order), each configured for
/// baton; baton's file names the peers of `configured`.
struct ReloadLab {
    // Dropped last: the daemons go first.
    _lab: Lab,
    a: Host,
    gobgpds: Vec<(String, Host, Gobgpd)>,
    baton: Baton,
}

impl ReloadLab {
    /// The lab, baton started with `peers` (name, extra keys) and `routes`.
    fn new(names: &[&str], peers: &[(&str, &str)], routes: &str) -> ReloadLab {
        let lab = Lab::new();
        let a = lab.host("baton");
        let gobgpds: Vec<(String, Host, Gobgpd)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let host = lab.host(name);
                let mut neighbor = GobgpNeighbor::new(a.ipv4.into(), OUR_AS);
                neighbor.graceful_restart = Some(120);
                let gobgpd = Gobgpd::start(
                    &host,
                    GobgpConfig {
                        asn: 65002 + i as u32,
                        neighbors: vec![neighbor],
                        ..GobgpConfig::default()
                    },
                );
                (name.to_string(), host, gobgpd)
            })
            .collect();
        let baton = Baton::start(&a, &config_toml(&a, &gobgpds, peers, routes));
        ReloadLab {
            _lab: lab,
            a,
            gobgpds,
            baton,
        }
    }

    fn gobgpd(&self, name: &str) -> &Gobgpd {
        &self.peer(name).2
    }

    fn addr(&self, name: &str) -> IpAddr {
        self.peer(name).1.ipv4.into()
    }

    fn peer(&self, name: &str) -> &(String, Host, Gobgpd) {
        self.gobgpds
            .iter()
            .find(|(n, _, _)| n == name)
            .expect("a gobgpd of the lab")
    }

    fn toml(&self, peers: &[(&str, &str)], routes: &str) -> String {
        config_toml(&self.a, &self.gobgpds, peers, routes)
    }

    /// What gobgpd `name` knows of its session with baton.
    fn session(&self, name: &str) -> Value {
        self.gobgpd(name)
            .neighbor_json(self.a.ipv4.into())
            .expect("gobgpd has baton as neighbor")
    }

    fn established(&self, name: &str) -> bool {
        self.gobgpd(name)
            .neighbor_state(self.a.ipv4.into())
            .as_deref()
            == Some("established")
    }

    fn wait_established(&self, name: &str) {
        self.gobgpd(name)
            .wait_established(self.a.ipv4.into(), SESSION_UP);
    }

    /// The MED gobgpd `name` holds for `prefix` from baton (`Some(None)`: held without MED).
    fn med_at(&self, name: &str, prefix: &str) -> Option<Option<u32>> {
        self.gobgpd(name)
            .adj_in(self.a.ipv4.into(), Family::Ipv4Unicast)
            .into_iter()
            .find(|r| r.prefix == prefix)
            .map(|r| r.med)
    }

    fn reload(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["reload"];
        all.extend_from_slice(args);
        self.baton.ctl_output(&all)
    }

    fn write_config(&self, toml: &str) {
        std::fs::write(&self.baton.paths_of().config, toml).unwrap();
    }
}

/// baton's file: `[global]`, a `[[peer]]` with graceful restart for each of `peers` as (name
/// of its gobgpd, extra keys), then `routes` as TOML.
fn config_toml(
    a: &Host,
    gobgpds: &[(String, Host, Gobgpd)],
    peers: &[(&str, &str)],
    routes: &str,
) -> String {
    let paths = Baton::paths(a);
    let mut toml = global_toml(
        &paths,
        OUR_AS,
        &a.ipv4.to_string(),
        &[format!("{}:179", a.ipv4)],
    );
    for (name, extra) in peers {
        let i = gobgpds.iter().position(|(n, _, _)| n == name).unwrap();
        toml += &peer_toml(
            gobgpds[i].1.ipv4.into(),
            65002 + i as u32,
            "ipv4-unicast",
            extra,
        );
        toml += &gr_toml(120, "");
    }
    toml + routes
}

/// UPDATE messages gobgpd has received on its session with baton.
fn updates_received(session: &Value) -> u64 {
    session["state"]["messages"]["received"]["update"]
        .as_u64()
        .unwrap_or_else(|| panic!("no UPDATE counter in {session}"))
}

/// When gobgpd's session came up (its uptime timestamp): unchanged means never reset.
fn up_since(session: &Value) -> Value {
    let up = session["timers"]["state"]["uptime"].clone();
    assert!(up.is_object(), "no uptime in {session}");
    up
}

fn routes(med_a: u32) -> String {
    format!(
        "[[route]]\nprefix = \"{ROUTE_A}\"\nmed = {med_a}\n\n[[route]]\nprefix = \"{ROUTE_B}\"\n\n"
    )
}

#[test]
fn a_reload_changes_exactly_what_the_file_changed() {
    let t = ReloadLab::new(
        &["kept", "removed", "retimed", "added"],
        &[("kept", ""), ("removed", ""), ("retimed", "")],
        &routes(10),
    );
    for name in ["kept", "removed", "retimed"] {
        t.wait_established(name);
    }
    poll::until_true(ROUTE_ARRIVES, "the kept peer to hold both routes", || {
        t.med_at("kept", ROUTE_A) == Some(Some(10)) && t.med_at("kept", ROUTE_B).is_some()
    });
    let kept_before = t.session("kept");
    let retimed_before = t.session("retimed");

    let new = t.toml(
        &[("kept", ""), ("retimed", "hold_time = 30\n"), ("added", "")],
        &routes(20),
    );
    t.write_config(&new);

    // The plan first: it names every change and changes nothing.
    let out = t.reload(&["--dry-run", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["applied"], false);
    let peers: Vec<(String, String, bool)> = plan["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["address"].as_str().unwrap().to_string(),
                p["action"].as_str().unwrap().to_string(),
                p["session_reset"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        peers,
        vec![
            (t.addr("removed").to_string(), "remove".into(), true),
            (t.addr("retimed").to_string(), "update".into(), true),
            (t.addr("added").to_string(), "add".into(), false),
        ]
    );
    assert_eq!(
        plan["peers"][1]["changes"],
        serde_json::json!(["hold_time"])
    );
    assert_eq!(plan["update"][0]["prefix"], ROUTE_A);
    assert_eq!(plan["update"][0]["changes"], serde_json::json!(["med"]));
    assert_eq!(plan["routes_unchanged"], 1);
    assert!(plan["restart_speaker"].as_array().unwrap().is_empty());
    let human = t.reload(&["--dry-run"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("would change"), "{text}");
    assert!(t.established("removed"), "a dry run removed a peer");
    assert_eq!(t.med_at("kept", ROUTE_A), Some(Some(10)));

    // Now for real.
    let out = t.reload(&["--json"]);
    assert!(out.status.success(), "{out:?}");
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["applied"], true);

    poll::until_true(ROUTE_ARRIVES, "the new MED at the kept peer", || {
        t.med_at("kept", ROUTE_A) == Some(Some(20))
    });
    t.wait_established("added");
    poll::until_true(
        SESSION_UP,
        "the retimed peer back with hold time 30",
        || {
            let s = t.session("retimed");
            t.established("retimed") && s["timers"]["state"]["negotiated_hold_time"] == 30
        },
    );
    assert_ne!(
        up_since(&t.session("retimed")),
        up_since(&retimed_before),
        "the retimed peer's session was not reset"
    );
    assert!(!t.established("removed"));
    let log = t.gobgpd("removed").log();
    assert!(
        log.lines().any(|l| l.contains("received notification")
            && l.contains("Code=6")
            && l.contains("Subcode=3")),
        "the removed peer did not receive Cease / Peer De-configured:\n{log}"
    );
    // The untouched peer: same session all along, and the MED change was one UPDATE.
    let kept_after = t.session("kept");
    assert_eq!(up_since(&kept_after), up_since(&kept_before));
    assert_eq!(
        updates_received(&kept_after) - updates_received(&kept_before),
        1,
        "UPDATEs for one MED change"
    );
    assert_eq!(t.med_at("kept", ROUTE_B), Some(None));
    // The removed peer stays removed: its reconnections are refused.
    assert!(!t.established("removed"));

    // Reloading the same file again changes nothing.
    let out = t.reload(&[]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing to change"), "{text}");
    assert_eq!(up_since(&t.session("kept")), up_since(&kept_before));
}

#[test]
fn a_bad_file_is_refused_with_file_line_and_field_and_changes_nothing() {
    let t = ReloadLab::new(&["g"], &[("g", "")], &routes(10));
    t.wait_established("g");
    poll::until_true(ROUTE_ARRIVES, "gobgpd to hold our routes", || {
        t.med_at("g", ROUTE_A) == Some(Some(10))
    });
    let before = t.session("g");
    let good = t.toml(&[("g", "")], &routes(10));
    let file = t.baton.paths_of().config.display().to_string();
    // (file, what the error must name)
    let cases: Vec<(String, &str)> = vec![
        // A syntax error: no field to name, but the line and column of the mistake.
        (
            t.toml(&[("g", "")], &routes(20))
                .replace("med = 20", "med = = 20"),
            "invalid string",
        ),
        // An invalid value.
        (
            t.toml(&[("g", "hold_time = 2\n")], &routes(20)),
            "peer[0].hold_time",
        ),
        // What only a restart of batond can change.
        (
            good.lines()
                .map(|l| match l.starts_with("control_socket") {
                    true => "control_socket = \"/tmp/elsewhere.sock\"",
                    false => l,
                })
                .collect::<Vec<_>>()
                .join("\n"),
            "global.control_socket",
        ),
    ];
    for (text, field) in cases {
        t.write_config(&text);
        let out = t.reload(&[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{field}: reload succeeded");
        assert!(
            err.contains(&format!("{file}:")),
            "{field}: no file in {err}"
        );
        assert!(err.contains(field), "{field}: not named in {err}");
        let line = err
            .split(&format!("{file}:"))
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|l| l.parse::<usize>().ok());
        assert!(line.is_some_and(|l| l > 0), "{field}: no line in {err}");
    }
    // Nothing changed: same session, same MED, no UPDATE.
    let after = t.session("g");
    assert_eq!(up_since(&after), up_since(&before));
    assert_eq!(updates_received(&after), updates_received(&before));
    assert_eq!(t.med_at("g", ROUTE_A), Some(Some(10)));
    // And the daemon still reloads a good file.
    t.write_config(&t.toml(&[("g", "")], &routes(30)));
    let out = t.reload(&[]);
    assert!(out.status.success(), "{out:?}");
    poll::until_true(ROUTE_ARRIVES, "the new MED", || {
        t.med_at("g", ROUTE_A) == Some(Some(30))
    });
}

#[test]
fn sighup_with_a_new_router_id_restarts_the_speaker_without_a_withdrawal() {
    let t = ReloadLab::new(&["g"], &[("g", "")], &routes(10));
    t.wait_established("g");
    poll::until_true(ROUTE_ARRIVES, "gobgpd to hold our routes", || {
        t.med_at("g", ROUTE_A) == Some(Some(10))
    });
    let generation = t.baton.ctl(&["status"])["generation"].as_u64().unwrap();
    let new_id = "198.18.0.99";
    let text = t.toml(&[("g", "")], &routes(20)).replace(
        &format!("router_id = \"{}\"", t.a.ipv4),
        &format!("router_id = \"{new_id}\""),
    );
    t.write_config(&text);

    let dry = t.reload(&["--dry-run", "--json"]);
    let plan: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(
        plan["restart_speaker"],
        serde_json::json!(["global.router_id"])
    );

    let monitor = Monitor::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            monitor.run(Duration::from_millis(100), || {
                let held = t.med_at("g", ROUTE_A).is_some() && t.med_at("g", ROUTE_B).is_some();
                (!held).then(|| "a route missing at gobgpd".to_string())
            })
        });
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(t.baton.pid() as i32),
            nix::sys::signal::Signal::SIGHUP,
        )
        .unwrap();
        poll::until_true(SESSION_UP, "gobgpd to see our new router id", || {
            t.established("g") && t.session("g")["state"]["router_id"] == new_id
        });
        poll::until_true(ROUTE_ARRIVES, "the new MED", || {
            t.med_at("g", ROUTE_A) == Some(Some(20))
        });
        monitor.stop();
    });
    monitor.assert_no_gap("our routes while a reload restarted the speaker");
    // The restart is over once the new speaker has sent End-of-RIB to every peer.
    let status = poll::until(SESSION_UP, "the restart to complete", || {
        let s = t.baton.ctl(&["status"]);
        s["last_upgrade"].is_object().then_some(s)
    });
    assert_eq!(status["last_upgrade"]["ok"], true, "{status}");
    assert_eq!(status["generation"].as_u64(), Some(generation + 1));
}

/// The prefixes gobgpd `name` holds from baton, sorted.
fn held_prefixes(t: &ReloadLab, name: &str) -> Vec<String> {
    let mut v: Vec<String> = t
        .gobgpd(name)
        .adj_in(t.a.ipv4.into(), Family::Ipv4Unicast)
        .into_iter()
        .map(|r| r.prefix)
        .collect();
    v.sort();
    v
}

#[test]
fn a_routes_file_is_read_at_each_reload_and_a_bad_line_changes_nothing() {
    let t = ReloadLab::new(&["peer"], &[("peer", "")], "");
    t.wait_established("peer");
    let file = t.baton.dir().join("routes.txt");
    let with_file = t.toml(&[("peer", "")], "").replacen(
        "\n\n",
        &format!("\nroutes_file = {:?}\n\n", file.display().to_string()),
        1,
    );
    t.write_config(&with_file);
    let reload_ok = |what: &str| {
        let out = t.reload(&[]);
        assert!(
            out.status.success(),
            "reload with {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    std::fs::write(&file, format!("{ROUTE_A} med 5\n# a comment\n{ROUTE_B}\n")).unwrap();
    reload_ok("two routes in the file");
    poll::until_true(ROUTE_ARRIVES, "gobgpd to hold the file's routes", || {
        held_prefixes(&t, "peer") == [ROUTE_A, ROUTE_B]
    });
    assert_eq!(t.med_at("peer", ROUTE_A), Some(Some(5)));

    std::fs::write(&file, format!("{ROUTE_A} med 6\n198.19.2.0/24\n")).unwrap();
    reload_ok("one route changed, one replaced");
    poll::until_true(ROUTE_ARRIVES, "gobgpd to hold the new set", || {
        held_prefixes(&t, "peer") == [ROUTE_A, "198.19.2.0/24"]
            && t.med_at("peer", ROUTE_A) == Some(Some(6))
    });

    std::fs::write(&file, format!("{ROUTE_A}\n198.19.3.0/24 med x\n")).unwrap();
    let out = t.reload(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    let at = format!("{}:2:", file.display());
    assert!(
        !out.status.success() && err.contains(&at) && err.contains("med"),
        "a bad line must be refused naming {at}: {err}"
    );
    // Nothing applied: the peer still holds the previous set, MED 6 included.
    assert_eq!(held_prefixes(&t, "peer"), [ROUTE_A, "198.19.2.0/24"]);
    assert_eq!(t.med_at("peer", ROUTE_A), Some(Some(6)));

    // An upgrade reads the file too (the supervisor checks it while the new speaker reads
    // it): refused naming the line, the running speaker left as it was.
    let run = t.baton.upgrade(&["--timeout", "30"]);
    let reason = run.report["reason"].as_str().unwrap_or_default();
    assert!(
        !run.ok && reason.contains(&at) && reason.contains("untouched"),
        "an upgrade with a bad routes file must fail naming {at}: {}",
        run.output
    );
    assert_eq!(run.report["to_generation"], run.report["from_generation"]);
    assert_eq!(held_prefixes(&t, "peer"), [ROUTE_A, "198.19.2.0/24"]);
    std::fs::write(&file, format!("{ROUTE_A}\n198.19.3.0/24 med 7\n")).unwrap();
    let run = t.baton.upgrade(&["--timeout", "60"]);
    assert!(run.ok, "the upgrade with the file mended: {}", run.output);
    poll::until_true(
        ROUTE_ARRIVES,
        "gobgpd to hold the mended file's routes",
        || held_prefixes(&t, "peer") == [ROUTE_A, "198.19.3.0/24"],
    );
}
