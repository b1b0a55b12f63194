//! A state directory that cannot be written under a running batond, against real gobgpd and
//! bird2 helpers: a speaker killed then must still come back and serve from the state it can
//! read (peers keep every route, our own and those added at run time), refuse changes with a
//! 503 that says why, and take them again once the directory is writable, without a restart.
//!
//! Root ignores permission bits, so the directory is made read-only with a read-only bind
//! mount. `ip netns exec` gives batond a mount namespace of its own (and the root namespace's
//! mounts are private here), so the mount is made inside batond's with `nsenter`; it goes away
//! with that namespace if the test dies, and [`ReadOnly`] unmounts it on drop anyway.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};

use common::baton::Baton;
use common::gr_lab::GrLab;
use common::http::{http, API_PORT};
use common::monitor::Monitor;
use common::{poll, tool};

/// Originated routes per family (from the configuration file).
const N: usize = 200;
/// Routes added at run time before the directory goes read-only.
const RUN_TIME: [&str; 2] = ["203.0.113.0/24", "198.51.100.0/24"];
const TABLE_ARRIVES: Duration = Duration::from_secs(60);

/// The state directory mounted read-only in batond's mount namespace until dropped.
struct ReadOnly {
    /// batond (the supervisor): its speakers share its mount namespace.
    pid: u32,
    dir: PathBuf,
    mounted: bool,
}

impl ReadOnly {
    fn new(pid: u32, dir: &Path) -> ReadOnly {
        let mut ro = ReadOnly {
            pid,
            dir: dir.to_path_buf(),
            mounted: false,
        };
        let d = ro.dir.display().to_string();
        ro.run(&["mount", "--bind", &d, &d]);
        ro.mounted = true;
        ro.run(&["mount", "-o", "remount,bind,ro", &d]);
        // As batond sees it: no file can be created there.
        let probe = format!("{d}/probe");
        let out = ro.nsenter(&["touch", &probe]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("Read-only file system"),
            "the bind mount did not make {d} read-only for batond: {err}"
        );
        ro
    }

    /// Writable again.
    fn undo(&mut self) {
        if self.mounted {
            let d = self.dir.display().to_string();
            self.run(&["umount", &d]);
            self.mounted = false;
        }
    }

    fn nsenter(&self, args: &[&str]) -> Output {
        Command::new(tool("nsenter"))
            .args(["-t", &self.pid.to_string(), "-m", "--"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run nsenter (util-linux) {args:?}: {e}"))
    }

    fn run(&self, args: &[&str]) {
        let out = self.nsenter(args);
        assert!(
            out.status.success(),
            "{args:?} in batond's mount namespace: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.mounted {
            let d = self.dir.display().to_string();
            let _ = self.nsenter(&["umount", "-l", &d]);
        }
    }
}

fn post_route(t: &GrLab, prefix: &str) -> common::http::Reply {
    http(
        &t.a,
        "POST",
        "/v1/routes",
        Some(&json!({ "prefix": prefix })),
        None,
    )
}

fn gobgp_holds(t: &GrLab, prefix: &str) -> bool {
    t.gobgpd
        .adj_in(t.a.ipv4.into(), common::Family::Ipv4Unicast)
        .iter()
        .any(|r| r.prefix == prefix && !r.stale)
}

#[test]
fn a_speaker_restarted_on_a_read_only_state_directory_serves_and_peers_keep_every_route() {
    let mut t = GrLab::new(N, 120, 120);
    t.toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n");
    let baton = t.start_baton();
    for p in RUN_TIME {
        let out = baton.ctl_output(&["route", "add", p]);
        assert!(out.status.success(), "route add {p}: {out:?}");
    }
    // Everything, the run-time routes included: N + 2 IPv4 routes at each peer.
    let full = |h: &common::gr_lab::Held| {
        h.gobgp_v4 >= N + RUN_TIME.len() && h.gobgp_v6 >= N && h.bird_v4 >= N + RUN_TIME.len()
    };
    poll::until_true(TABLE_ARRIVES, "peers to hold every route", || {
        full(&t.held())
    });
    let before = baton.ctl(&["status"]);
    let speaker = before["speaker_pid"].as_u64().unwrap() as i32;
    // Declared after the lab and the daemons: dropped (unmounted) before them.
    let mut ro = ReadOnly::new(baton.pid(), &t.paths.state_dir);

    let monitor = Monitor::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            monitor.run(Duration::from_millis(100), || {
                let h = t.held();
                (!full(&h)).then(|| format!("{h:?}"))
            })
        });
        let _stop = monitor.stopper();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(speaker),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        poll::until_true(Duration::from_secs(15), "a new speaker", || {
            let s = baton.ctl(&["status"]);
            s["generation"].as_u64() > before["generation"].as_u64() && s["speaker_pid"].is_u64()
        });
        // It serves: sessions back, End-of-RIB sent, the peers' copies fresh again.
        poll::until_true(TABLE_ARRIVES, "peers to hold every route fresh", || {
            t.all_fresh() && RUN_TIME.iter().all(|p| gobgp_holds(&t, p))
        });
        for n in baton.ctl(&["neighbor"]).as_array().unwrap() {
            assert_eq!(n["state"], "Established", "{n}");
            assert!(n["end_of_rib_sent_ms"].is_u64(), "no End-of-RIB: {n}");
        }
        let status = baton.ctl(&["status"]);
        assert_eq!(
            status["crashes"], 1,
            "the new speaker did not stay up: {status}"
        );
        let why = status["state_not_writable"].as_str().unwrap_or_default();
        assert!(why.contains("Read-only file system"), "{status}");
        let text = String::from_utf8_lossy(&baton.ctl_output(&["status"]).stdout).to_string();
        assert!(text.contains("state not writable: "), "{text}");
        let rest = http(&t.a, "GET", "/v1/status", None, None);
        assert!(
            rest.body["state_not_writable"]
                .as_str()
                .is_some_and(|w| w.contains("Read-only file system")),
            "{rest:?}"
        );

        // Changes are refused, and say why; nothing changes at the peers.
        let refused = post_route(&t, "198.18.222.0/24");
        assert_eq!(refused.status, 503, "{refused:?}");
        assert_refused(&refused.body);
        let delete = http(
            &t.a,
            "DELETE",
            "/v1/routes",
            Some(&json!({ "prefix": RUN_TIME[0] })),
            None,
        );
        assert_eq!(delete.status, 503, "{delete:?}");
        assert_refused(&delete.body);
        let out = baton.ctl_output(&["route", "add", "198.18.223.0/24"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("state not writable"),
            "{err}"
        );
        let out = baton.ctl_output(&["neighbor", "add", "198.18.0.99", "as", "65099"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("state not writable"),
            "{err}"
        );
        assert!(gobgp_holds(&t, RUN_TIME[0]));

        // Writable again: the same change goes through, no restart needed.
        ro.undo();
        let accepted = post_route(&t, "198.18.222.0/24");
        assert!(accepted.status / 100 == 2, "{accepted:?}");
        poll::until_true(TABLE_ARRIVES, "gobgpd to hold the new route", || {
            gobgp_holds(&t, "198.18.222.0/24")
        });
    });
    monitor.assert_no_gap("our routes while a speaker restarted on a read-only state directory");
    let status = baton.ctl(&["status"]);
    assert_eq!(status["state_not_writable"], Value::Null, "{status}");
    assert_eq!(status["crashes"], 1, "{status}");
    assert_logged_once(&baton);
}

/// A 503 body in the API's error shape that names the cause.
fn assert_refused(body: &Value) {
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("state not writable: ") && error.contains("Read-only file system"),
        "{body}"
    );
    assert_eq!(body["field"], Value::Null, "{body}");
}

/// Each speaker says once that the directory is not writable (not once per failed save), and
/// that it is writable again.
fn assert_logged_once(baton: &Baton) {
    let warnings = baton.warnings();
    let not_writable = warnings
        .iter()
        .filter(|l| l.contains("state not writable"))
        .count();
    assert!(
        (1..=2).contains(&not_writable),
        "{not_writable} warnings about the state directory:\n{}",
        warnings.join("\n")
    );
    assert!(
        !warnings.iter().any(|l| l.contains("cannot save")),
        "{}",
        warnings.join("\n")
    );
    assert!(baton.log().contains("state writable again"));
}
