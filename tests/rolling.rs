//! `batonctl upgrade --rolling`: three batond announcing one anycast prefix to one bird2 (a
//! graceful-restart helper) are upgraded one after the other and bird never loses the prefix;
//! a broken binary on the second stops the roll there.
//!
//! Each batond is started from a symlink of its own, as if from its machine's installed binary:
//! a plain `upgrade` (no `--binary`) starts whatever the symlink points at, so pointing the
//! second one at a script that exits 3 is a broken package on that machine only.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::baton::{host_global_toml, peer_toml, script, second_build};
use common::gr_lab::gr_toml;
use common::monitor::Monitor;
use common::{poll, Baton, Bird, BirdConfig, BirdPeer, Lab};
use serde_json::Value;

/// The anycast prefix every instance announces.
const ANYCAST: &str = "198.19.255.0/24";
/// Sessions up and the prefix at bird from all three.
const CONVERGE: Duration = Duration::from_secs(30);

/// Points `link` at `target`, replacing what it pointed at.
fn repoint(link: &Path, target: &Path) {
    let _ = std::fs::remove_file(link);
    symlink(target, link).expect("symlink batond");
}

/// bird's routes for the anycast prefix: how many sources it has.
fn sources(bird: &Bird) -> usize {
    bird.routes("master4")
        .iter()
        .filter(|r| r.prefix == ANYCAST)
        .count()
}

/// `batonctl upgrade --rolling SOCKETS… ARGS --json` from the root namespace (the control
/// sockets are files): its exit status, its lines, its report.
fn roll(sockets: &[PathBuf], args: &[&str]) -> (Output, Vec<Value>, Value) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_batonctl"));
    cmd.args(["--json", "upgrade", "--rolling"]).args(sockets);
    cmd.args(args);
    let out = cmd.output().expect("run batonctl");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let report = lines.pop().unwrap_or_default();
    (out, lines, report)
}

fn outcomes(report: &Value) -> Vec<String> {
    report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["outcome"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_rolling_upgrade_goes_one_at_a_time_and_never_loses_the_anycast_prefix() {
    let lab = Lab::new();
    let r = lab.host("bird");
    let hosts: Vec<_> = (1..=3).map(|i| lab.host(&format!("b{i}"))).collect();
    let next = second_build(lab.dir());
    let protocols = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut p = BirdPeer::new(&format!("baton{}", i + 1), h.ipv4.into(), 65001);
            p.graceful_restart = Some(120);
            p
        })
        .collect();
    let bird = Bird::start(
        &r,
        BirdConfig {
            asn: 65003,
            protocols,
            ..BirdConfig::default()
        },
    );
    let batons: Vec<(Baton, PathBuf)> = hosts
        .iter()
        .map(|h| {
            let link = h.dir().join("batond");
            repoint(&link, Path::new(env!("CARGO_BIN_EXE_batond")));
            let mut toml = host_global_toml(h, 65001);
            toml += &peer_toml(r.ipv4.into(), 65003, "ipv4-unicast", "");
            toml += &gr_toml(120, "");
            toml += &format!("[[route]]\nprefix = \"{ANYCAST}\"\n");
            (Baton::start_from(h, &link, &toml), link)
        })
        .collect();
    let sockets: Vec<PathBuf> = batons
        .iter()
        .map(|(b, _)| b.paths_of().control_socket.clone())
        .collect();
    poll::until_true(CONVERGE, "the prefix at bird from all three", || {
        sources(&bird) == 3
    });
    let watch = |monitor: &Monitor| {
        monitor.run(Duration::from_millis(100), || {
            let text = bird.cli(&["show", "route", "for", ANYCAST]);
            (!text.contains(ANYCAST)).then(|| text.trim().to_string())
        })
    };

    // The roll to the second build: all three upgraded, one after the other.
    for (_, link) in &batons {
        repoint(link, &next);
    }
    let monitor = Monitor::new();
    let (out, lines, report) = std::thread::scope(|s| {
        let _stop = monitor.stopper();
        s.spawn(|| watch(&monitor));
        roll(&sockets, &["--settle", "1", "--peer-timeout", "60"])
    });
    monitor.assert_no_gap("the anycast prefix at bird during the roll");
    eprintln!("the roll: {report}");
    let text = format!("{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert_eq!(report["ok"], true, "{text}");
    assert_eq!(outcomes(&report), ["upgraded"; 3], "{text}");
    let targets = report["targets"].as_array().unwrap();
    for pair in targets.windows(2) {
        let (done, started) = (&pair[0]["finished_ms"], &pair[1]["started_ms"]);
        assert!(
            done.as_u64().unwrap() <= started.as_u64().unwrap(),
            "overlapping upgrades: {text}"
        );
    }
    for t in targets {
        assert_ne!(t["from_version"], t["to_version"], "{text}");
    }
    // Every instance's steps came, each under its target, upgrading to healthy.
    for socket in &sockets {
        let target = socket.display().to_string();
        let phases: Vec<&str> = lines
            .iter()
            .filter(|l| l["target"] == target.as_str())
            .filter_map(|l| l["phase"].as_str())
            .collect();
        assert_eq!(phases, ["upgrading", "upgraded", "healthy"], "{target}");
    }
    for (b, _) in &batons {
        assert_eq!(b.ctl(&["status"])["generation"], 2);
    }
    poll::until_true(CONVERGE, "the prefix at bird from all three again", || {
        sources(&bird) == 3
    });

    // The second instance's binary is broken: the roll stops there.
    let broken = script(
        lab.dir(),
        "batond-broken",
        "echo 'batond-broken: no' >&2\nexit 3",
    );
    repoint(&batons[0].1, Path::new(env!("CARGO_BIN_EXE_batond")));
    repoint(&batons[1].1, &broken);
    repoint(&batons[2].1, Path::new(env!("CARGO_BIN_EXE_batond")));
    let monitor = Monitor::new();
    let (out, _, report) = std::thread::scope(|s| {
        let _stop = monitor.stopper();
        s.spawn(|| watch(&monitor));
        roll(
            &sockets,
            &["--settle", "1", "--peer-timeout", "60", "--timeout", "20"],
        )
    });
    monitor.assert_no_gap("the anycast prefix at bird during the failed roll");
    eprintln!("the failed roll: {report}");
    let text = format!("{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(report["ok"], false, "{text}");
    assert_eq!(
        outcomes(&report),
        ["upgraded", "rolled-back", "untouched"],
        "{text}"
    );
    let reason = report["targets"][1]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("exit status: 3"), "{text}");
    assert_eq!(report["targets"][2]["started_ms"], Value::Null, "{text}");
    let generations: Vec<Value> = batons
        .iter()
        .map(|(b, _)| b.ctl(&["status"])["generation"].clone())
        .collect();
    assert_eq!(generations, [3, 2, 2], "{text}");
    assert_eq!(sources(&bird), 3, "{text}");
}

#[test]
fn the_dry_run_prints_the_plan_and_touches_nothing() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_batonctl"))
        .args([
            "upgrade",
            "--rolling",
            "/nonexistent/a.sock",
            "ssh://ops@edge1:2222/run/baton/batond.sock",
            "--dry-run",
            "--timeout",
            "90",
        ])
        .output()
        .expect("run batonctl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("rolling upgrade of 2 target(s), 1 at a time"));
    assert_eq!(
        lines[1],
        "  1. /nonexistent/a.sock: batonctl --json --socket /nonexistent/a.sock upgrade --timeout 90"
    );
    assert_eq!(
        lines[2],
        "  2. ssh://ops@edge1:2222/run/baton/batond.sock: ssh -o BatchMode=yes -p 2222 ops@edge1 'batonctl --json --socket /run/baton/batond.sock upgrade --timeout 90'"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_batonctl"))
        .args(["upgrade", "--rolling", "ssh://h:http", "--dry-run"])
        .output()
        .expect("run batonctl");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("port is not a number"));
}
