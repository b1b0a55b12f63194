//! The supervisor upgrades itself: a reload with a new build of batond on disk re-executes the
//! supervisor in place (same pid) with its sockets, lock and speaker, then hands the speaker
//! over to the new build; a new binary that cannot adopt the supervisor's state is refused
//! before anything changes. Against real gobgpd and bird2 peers holding our routes throughout.

mod common;

use std::time::Duration;

use common::baton::{installed_copy, replace_binary, script, second_build, Baton};
use common::gr_lab::GrLab;
use common::monitor::Monitor;
use common::poll;
use serde_json::Value;

const N: usize = 2_000;
const TABLE_ARRIVES: Duration = Duration::from_secs(90);

/// `batonctl reload --json`: whether it exited 0, and its answer.
fn reload(baton: &Baton) -> (bool, Value, String) {
    let out = baton.ctl_output(&["reload", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.success(), value, text)
}

#[test]
fn a_reload_with_a_new_build_on_disk_reexecutes_the_supervisor_in_place_without_a_flap() {
    let t = GrLab::new(N, 120, 120);
    let installed = installed_copy(t.lab.dir());
    let baton = Baton::start_binary(&t.a, t.paths.clone(), &t.toml, &installed);
    poll::until_true(TABLE_ARRIVES, "peers to hold every route", || {
        t.all_held(&t.held())
    });
    let before = baton.ctl(&["status"]);
    assert_eq!(before["supervisor_version"], before["version"], "{before}");

    // A new build: the supervisor re-executes itself, then the speaker is handed over.
    let next = second_build(t.lab.dir());
    replace_binary(&next, &installed);
    let monitor = Monitor::new();
    let (ok, answer, text) = std::thread::scope(|s| {
        s.spawn(|| t.monitor_held(&monitor));
        let answer = reload(&baton);
        poll::until_true(TABLE_ARRIVES, "peers to hold every route fresh", || {
            t.all_fresh()
        });
        monitor.stop();
        answer
    });
    assert!(ok, "reload failed: {text}");
    assert_eq!(answer["applied"], true, "{answer}");
    assert!(answer.get("supervisor_not_replaced").is_none(), "{answer}");
    assert_eq!(answer["restart"]["ok"], true, "{answer}");
    let after = baton.ctl(&["status"]);
    assert_eq!(after["supervisor_pid"], before["supervisor_pid"], "{after}");
    assert_ne!(after["supervisor_version"], before["supervisor_version"]);
    assert_eq!(after["supervisor_version"], after["version"], "{after}");
    assert_eq!(
        after["generation"],
        before["generation"].as_u64().unwrap() + 1,
        "{after}"
    );
    assert_eq!(after["binary"], installed.display().to_string());
    monitor.assert_no_gap("our routes at gobgpd and bird during the supervisor's re-exec");
    assert!(t.all_fresh(), "stale routes at the end");
    eprintln!("reload answer: {answer}");

    // Then a binary that cannot adopt the (re-executed) supervisor's state: refused before
    // exec, and the supervisor carries on.
    let refusing = script(
        t.lab.dir(),
        "refusing",
        r#"case "$1" in --reexec-check) echo "no: state version $2 is unknown here"; exit 1;; *) exit 3;; esac"#,
    );
    replace_binary(&refusing, &installed);
    let (_, refused, text) = reload(&baton);
    let why = refused["supervisor_not_replaced"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains("cannot adopt") && why.contains("state version 1 is unknown here"),
        "the reload does not say why the supervisor stayed: {text}"
    );
    let same = baton.ctl(&["status"]);
    assert_eq!(same["supervisor_pid"], after["supervisor_pid"]);
    assert_eq!(same["supervisor_version"], after["supervisor_version"]);
    assert_eq!(same["generation"], after["generation"], "{same}");
    assert_eq!(same["speaker_pid"], after["speaker_pid"], "{same}");
}
