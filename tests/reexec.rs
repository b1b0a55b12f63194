//! The supervisor upgrades itself: a reload with a new build of batond on disk re-executes the
//! supervisor in place (same pid) with its sockets, lock and speaker, then hands the speaker
//! over to the new build; a new binary that cannot adopt the supervisor's state is refused
//! before anything changes. Against real gobgpd and bird2 peers holding our routes throughout.

mod common;

use std::os::unix::fs::PermissionsExt;
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

    // SIGHUP (systemctl reload) with a third build does the same, with no client waiting.
    let third = build(t.lab.dir(), "3");
    replace_binary(&third, &installed);
    let monitor = Monitor::new();
    let hupped = std::thread::scope(|s| {
        s.spawn(|| t.monitor_held(&monitor));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(baton.pid() as i32),
            nix::sys::signal::Signal::SIGHUP,
        )
        .unwrap();
        let hupped = poll::until(
            TABLE_ARRIVES,
            "the speaker handed over after SIGHUP",
            || {
                // A request in flight at the moment of exec is dropped (batonctl says so):
                // ask again.
                let out = baton.ctl_output(&["status", "--json"]);
                let now: Value = serde_json::from_slice(&out.stdout).ok()?;
                (now["generation"] != same["generation"]
                    && !now["upgrading"].as_bool().unwrap_or(true))
                .then_some(now)
            },
        );
        poll::until_true(TABLE_ARRIVES, "peers to hold every route fresh", || {
            t.all_fresh()
        });
        monitor.stop();
        hupped
    });
    assert_eq!(
        hupped["supervisor_pid"], before["supervisor_pid"],
        "{hupped}"
    );
    assert_ne!(hupped["supervisor_version"], same["supervisor_version"]);
    assert_eq!(hupped["supervisor_version"], hupped["version"], "{hupped}");
    let last = &hupped["last_upgrade"];
    assert_eq!(last["ok"], true, "{hupped}");
    assert_eq!(last["from_generation"], same["generation"], "{hupped}");
    assert_eq!(last["to_generation"], hupped["generation"], "{hupped}");
    monitor.assert_no_gap("our routes at gobgpd and bird after SIGHUP");

    // `batonctl upgrade` (of the binary on disk) with a fourth build: the same, answered by
    // the new supervisor.
    let fourth = build(t.lab.dir(), "4");
    replace_binary(&fourth, &installed);
    let run = baton.upgrade(&["--timeout", "90"]);
    assert!(run.ok, "{}", run.output);
    assert_eq!(run.report["ok"], true, "{}", run.output);
    let upgraded = baton.ctl(&["status"]);
    assert_eq!(
        upgraded["supervisor_pid"], before["supervisor_pid"],
        "{upgraded}"
    );
    assert_ne!(upgraded["supervisor_version"], hupped["supervisor_version"]);
    assert_eq!(
        upgraded["supervisor_version"], upgraded["version"],
        "{upgraded}"
    );
    assert_eq!(
        upgraded["generation"],
        hupped["generation"].as_u64().unwrap() + 1,
        "{upgraded}"
    );
    poll::until_true(TABLE_ARRIVES, "peers to hold every route fresh", || {
        t.all_fresh()
    });
}

/// Another build of batond in `dir`: the same program with bytes appended (`tag` makes it
/// differ from the others).
fn build(dir: &std::path::Path, tag: &str) -> std::path::PathBuf {
    let path = dir.join(format!("batond-{tag}"));
    let mut bytes = std::fs::read(env!("CARGO_BIN_EXE_batond")).expect("read batond");
    bytes.extend_from_slice(format!("\nbaton test build {tag}\n").as_bytes());
    std::fs::write(&path, bytes).expect("write the build");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
