//! A speaker that keeps dying: the supervisor's back-off as systemd (sd_notify `STATUS=`, on
//! a datagram socket the test owns as `NOTIFY_SOCKET`) and `batonctl status` report it, with
//! delays bounded by the shortest graceful-restart time we advertise.

mod common;

use std::time::Duration;

use common::baton::{global_toml, peer_toml, Baton};
use common::gr_lab::gr_toml;
use common::netns::Lab;
use common::notify::NotifySocket;
use common::poll;

/// The Restart Time we advertise: the back-off's ceiling is a quarter of it, 2 s.
const RESTART_TIME: u16 = 8;

#[test]
fn a_crash_loop_backs_off_to_a_quarter_of_the_restart_time_and_says_so() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("peer"));
    let paths = Baton::paths(&a);
    let notify = NotifySocket::bind(&paths.dir);
    // A peer that never answers is enough: the ceiling comes from what we advertise.
    let toml = global_toml(&paths, 65001, &a.ipv4.to_string(), &[])
        + &peer_toml(g.ipv4.into(), 65002, "ipv4-unicast", "")
        + &gr_toml(RESTART_TIME, "");
    let mut baton =
        Baton::spawn_with_env(&a, paths, &toml, &[], &[("NOTIFY_SOCKET", notify.path())]);
    baton.wait_ready(Duration::from_secs(10));
    // Crashes in a row: restarts at once, then after 0.5, 1, 2 and 2 s (the ceiling).
    for crash in 1..=5u64 {
        let (pid, generation) = poll::until(Duration::from_secs(15), "a speaker", || {
            let s = baton.ctl(&["status"]);
            s["speaker_pid"].as_u64().zip(s["generation"].as_u64())
        });
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        poll::until_true(Duration::from_secs(15), "the next speaker", || {
            let s = baton.ctl(&["status"]);
            s["generation"].as_u64() > Some(generation) && s["speaker_pid"].is_u64()
        });
        let s = baton.ctl(&["status"]);
        assert_eq!(s["crashes"], crash, "{s}");
        assert_eq!(s["consecutive_crashes"], crash, "{s}");
    }
    let s = baton.ctl(&["status"]);
    assert_eq!(s["crash_loop"], true, "{s}");
    assert_eq!(s["next_restart_delay_ms"], 2000, "{s}");
    let text = String::from_utf8_lossy(&baton.ctl_output(&["status"]).stdout).to_string();
    assert!(
        text.contains("5, 5 in a row (crash loop: restarts delayed)")
            && text.contains("2000 ms after the speaker dies"),
        "{text}"
    );
    poll::until_true(Duration::from_secs(5), "the last STATUS=", || {
        notify
            .statuses()
            .iter()
            .any(|l| l.contains("5 crashes (5 in a row), next restart"))
    });
    let seen = notify.statuses();
    for expected in [
        "no speaker running; 2 crashes (2 in a row), restarting in 500 ms",
        "no speaker running; 3 crashes (3 in a row), restarting in 1000 ms",
        "no speaker running; 4 crashes (4 in a row), restarting in 2000 ms",
        "no speaker running; 5 crashes (5 in a row), restarting in 2000 ms",
        "; 5 crashes (5 in a row), next restart delay 2000 ms",
    ] {
        assert!(
            seen.iter().any(|l| l.contains(expected)),
            "no STATUS= with {expected:?} in:\n{}",
            seen.join("\n")
        );
    }
    baton.stop();
}
