//! The upgrade as `batonctl upgrade` reports it, step by step, against real gobgpd and bird2
//! peers (the [`GrLab`]): the steps the supervisor received from both speakers, in the order
//! they happened, per peer and family; and upgrades that fail — a binary that exits at startup,
//! one that hangs before Ready — said with their cause within the deadline, while the running
//! speaker keeps serving.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::baton::{script, second_build, Baton, UpgradeRun};
use common::gr_lab::GrLab;
use common::monitor::Monitor;
use common::poll;
use serde_json::{json, Value};

const N: usize = 10_000;
const TABLE_ARRIVES: Duration = Duration::from_secs(90);

fn table_held(t: &GrLab) {
    poll::until_true(TABLE_ARRIVES, "peers to hold every route", || {
        t.all_held(&t.held())
    });
}

/// `(event, generation)` of every step but the peers' progress and the old speaker's exit
/// (whose place depends on how fast the kernel reaps it).
fn supervisor_steps(run: &UpgradeRun) -> Vec<(String, u64)> {
    run.events
        .iter()
        .filter(|e| e["event"] != "progress" && e["event"] != "exited")
        .map(|e| {
            let event = e["event"].as_str().unwrap_or("?").to_string();
            (event, e["generation"].as_u64().unwrap_or(0))
        })
        .collect()
}

/// Where the first progress step `kind` of `peer` in `family` is among the events, and its ms.
fn progress_at(run: &UpgradeRun, peer: IpAddr, family: &str, kind: &str) -> (usize, u64) {
    run.events
        .iter()
        .enumerate()
        .find(|(_, e)| {
            e["event"] == "progress"
                && e["peer"] == peer.to_string()
                && e["family"] == family
                && e["kind"] == kind
        })
        .map(|(i, e)| (i, e["ms"].as_u64().unwrap()))
        .unwrap_or_else(|| panic!("no {kind} for {peer} {family} in {:#?}", run.events))
}

fn index_of(run: &UpgradeRun, event: &str) -> usize {
    run.events
        .iter()
        .position(|e| e["event"] == event)
        .unwrap_or_else(|| panic!("no {event} in {:#?}", run.events))
}

#[test]
fn an_upgrade_reports_each_step_as_it_happens_and_ends_at_the_last_end_of_rib() {
    let t = GrLab::new(N, 120, 120);
    let baton = t.start_baton();
    table_held(&t);
    let old = baton.ctl(&["status"])["generation"].as_u64().unwrap();
    let new = old + 1;
    let next = second_build(t.lab.dir());
    let run = baton.upgrade(&["--binary", next.to_str().unwrap(), "--timeout", "90"]);
    assert!(run.ok, "{}", run.output);
    assert_eq!(run.report["ok"], true, "{}", run.report);

    // The supervisor's side of the sequence, exactly.
    let expected: Vec<(String, u64)> = [
        ("started", new),
        ("hello", new),
        ("ready", new),
        ("quiesce", old),
        ("quiesced", old),
        ("activated", new),
        ("done", new),
    ]
    .into_iter()
    .map(|(e, g)| (e.to_string(), g))
    .collect();
    assert_eq!(supervisor_steps(&run), expected, "{:#?}", run.events);
    // Two builds of this tree agree on its newest protocol version.
    assert_eq!(
        run.steps("hello")[0]["protocol"],
        baton::handoff::PROTOCOL_VERSION
    );
    // Ready lists the sessions the new speaker holds: none, the old one still has them.
    assert_eq!(run.steps("ready")[0]["peers_up"], json!([]));
    let peers = [
        (IpAddr::from(t.g.ipv4), "ipv4-unicast"),
        (IpAddr::from(t.g.ipv6), "ipv6-unicast"),
        (IpAddr::from(t.r.ipv4), "ipv4-unicast"),
    ];
    let mut expect: Vec<String> = peers.iter().map(|(p, _)| p.to_string()).collect();
    expect.sort();
    let sorted = |v: &Value| {
        let mut list: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        list.sort();
        list
    };
    assert_eq!(sorted(&run.steps("activated")[0]["expect"]), expect);
    assert_eq!(sorted(&run.steps("done")[0]["peers_up"]), expect);

    // Per peer and family, between the activation and Done: Established, then our
    // End-of-RIB (after the whole table).
    let (activated, done) = (index_of(&run, "activated"), index_of(&run, "done"));
    let mut last_eor = 0;
    for (peer, family) in peers {
        let (up, up_ms) = progress_at(&run, peer, family, "established");
        let (eor, eor_ms) = progress_at(&run, peer, family, "end-of-rib-sent");
        assert!(activated < up && up < eor && eor < done, "{peer} {family}");
        assert!(up_ms <= eor_ms);
        last_eor = last_eor.max(eor_ms);
        let row = run.report["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["peer"] == peer.to_string())
            .unwrap_or_else(|| panic!("{peer} in {}", run.report));
        assert_eq!(row["end_of_rib_ms"].as_u64(), Some(eor_ms));
    }
    // No polling: the upgrade is complete as soon as the last End-of-RIB is sent.
    let done_ms = run.steps("done")[0]["ms"].as_u64().unwrap();
    let duration = run.report["duration_ms"].as_u64().unwrap();
    assert!(
        duration - last_eor < 1000,
        "{duration} ms for the upgrade, the last End-of-RIB at {last_eor} ms"
    );
    eprintln!(
        "upgrade with {N} routes per family: last End-of-RIB sent at {last_eor} ms, Done at \
         {done_ms} ms, report at {duration} ms; steps: {}",
        serde_json::to_string(&run.events).unwrap()
    );
    poll::until_true(TABLE_ARRIVES, "peers to hold every route fresh", || {
        t.all_fresh()
    });
}

/// gobgpd's view of its two sessions with baton: state, flaps, uptime.
fn gobgp_sessions(t: &GrLab) -> Vec<(String, Value, Value)> {
    [IpAddr::from(t.a.ipv4), IpAddr::from(t.a.ipv6)]
        .into_iter()
        .map(|a| {
            let n = t.gobgpd.neighbor_json(a).expect("gobgpd knows baton");
            let state = t.gobgpd.neighbor_state(a).unwrap_or_default();
            (
                state,
                n["state"]["flops"].clone(),
                n["timers"]["state"]["uptime"].clone(),
            )
        })
        .collect()
}

/// `batonctl upgrade --binary SCRIPT --timeout TIMEOUT_S`, SCRIPT a shell script `name` with
/// `body` standing in for a broken batond, fails within `within`, its output saying every one
/// of `says`; the running speaker, its sessions and the peers' routes are untouched throughout.
fn a_failed_upgrade_changes_nothing(
    (name, body): (&str, &str),
    timeout_s: u64,
    within: Duration,
    says: &[&str],
) {
    let t = GrLab::new(100, 120, 120);
    let binary = script(t.lab.dir(), name, body);
    let baton = t.start_baton();
    table_held(&t);
    poll::until_true(TABLE_ARRIVES, "fresh routes before", || t.all_fresh());
    let before = baton.ctl(&["status"]);
    let established = |b: &Baton| -> Vec<Value> {
        let n = b.ctl(&["neighbor"]);
        n.as_array()
            .unwrap()
            .iter()
            .map(|n| n["established_count"].clone())
            .collect()
    };
    let sessions = established(&baton);
    let at_gobgpd = gobgp_sessions(&t);
    assert!(
        at_gobgpd.iter().all(|(state, _, _)| state == "established"),
        "{at_gobgpd:?}"
    );

    let monitor = Monitor::new();
    let (out, took) = std::thread::scope(|s| {
        s.spawn(|| t.monitor_held(&monitor));
        let started = Instant::now();
        let timeout = timeout_s.to_string();
        let out = baton.ctl_output(&[
            "upgrade",
            "--binary",
            binary.to_str().unwrap(),
            "--timeout",
            &timeout,
        ]);
        let took = started.elapsed();
        // Nothing follows either: the sessions stay up (the monitor watching the routes).
        poll::always(
            Duration::from_secs(2),
            "gobgpd's sessions with baton",
            || gobgp_sessions(&t) == at_gobgpd,
        );
        monitor.stop();
        (out, took)
    });
    monitor.assert_no_gap("our routes at gobgpd and bird while the upgrade failed");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("upgrade FAILED"), "{text}");
    for words in says {
        assert!(text.contains(words), "the output lacks {words:?}:\n{text}");
    }
    assert!(took < within, "reported after {took:?}:\n{text}");
    eprintln!("{binary:?} reported after {took:?}:\n{text}");

    let now = baton.ctl(&["status"]);
    assert_eq!(now["speaker_pid"], before["speaker_pid"]);
    assert_eq!(now["generation"], before["generation"]);
    assert_eq!(now["last_upgrade"]["ok"], false);
    assert_eq!(established(&baton), sessions, "baton's sessions");
    assert_eq!(gobgp_sessions(&t), at_gobgpd, "gobgpd's sessions went down");
    let held = t.held_in_detail();
    assert!(t.all_held(&held) && held.gobgp_stale == 0, "{held:?}");
}

#[test]
fn a_new_binary_that_exits_at_startup_is_reported_with_what_it_said() {
    let broken = "echo 'batond-broken: cannot open /etc/baton/baton.toml: permission denied' >&2
exit 3";
    a_failed_upgrade_changes_nothing(
        ("batond-broken", broken),
        10,
        Duration::from_secs(10),
        &[
            "exited during startup (exit status: 3",
            "cannot open /etc/baton/baton.toml: permission denied",
            "the running speaker was left untouched",
        ],
    );
}

#[test]
fn a_new_binary_that_hangs_before_ready_is_killed_at_the_deadline_and_said_so() {
    let hangs = "echo 'batond-hangs: loading the state' >&2
exec sleep 600";
    a_failed_upgrade_changes_nothing(
        ("batond-hangs", hangs),
        3,
        Duration::from_secs(3 + 2),
        &[
            "generation 2 started: speaker pid",
            "did not answer the handoff within 3 s: killed (signal: 9 (SIGKILL)",
            "batond-hangs: loading the state",
            "the running speaker was left untouched",
        ],
    );
}
