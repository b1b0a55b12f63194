//! systemd's view of batond (`Type=notify`), on a `NOTIFY_SOCKET` the test owns, with a real
//! gobgpd peer: `READY=1` at start; for a reload or an upgrade `RELOADING=1` with
//! `MONOTONIC_USEC=` (one datagram, close to the test's own CLOCK_MONOTONIC) and `READY=1`
//! only once the new speaker has sent End-of-RIB; a failed upgrade named in `STATUS=` before
//! `READY=1`; `WATCHDOG=1` only while the speaker answers; `STOPPING=1` on SIGTERM. Also the
//! control socket's configured mode and group.

mod common;

use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, Instant};

use common::baton::{global_toml, peer_toml, second_build, Baton};
use common::gobgp::{GobgpConfig, Gobgpd};
use common::gr_lab::gr_toml;
use common::netns::Lab;
use common::notify::{Datagram, NotifySocket};
use common::{poll, Family};
use nix::sys::signal::Signal;

/// How far `MONOTONIC_USEC=` may be from the test's clock read just before the command.
const CLOCK_SLACK: Duration = Duration::from_secs(5);
/// systemd's watchdog interval given to batond: it pets every second.
const WATCHDOG_USEC: &str = "2000000";

/// CLOCK_MONOTONIC now, in µs, as systemd compares `MONOTONIC_USEC=` with it.
fn monotonic_usec() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000
}

/// The index of the first datagram from `from` on that has `line`, waiting up to `deadline`.
fn wait_line(notify: &NotifySocket, from: usize, line: &str, deadline: Duration) -> usize {
    poll::until(deadline, &format!("{line} on NOTIFY_SOCKET"), || {
        notify.datagrams()[from.min(notify.datagrams().len())..]
            .iter()
            .position(|d| d.lines.iter().any(|l| l == line))
            .map(|i| from + i)
    })
}

/// The `RELOADING=1` datagram from `from` on, and its `READY=1` after it: (reloading, ready).
fn reload_pair(notify: &NotifySocket, from: usize, clock: u64) -> (Datagram, Datagram) {
    let r = wait_line(notify, from, "RELOADING=1", Duration::from_secs(10));
    let ready = wait_line(notify, r + 1, "READY=1", Duration::from_secs(90));
    let all = notify.datagrams();
    let (reloading, ready_dgram) = (all[r].clone(), all[ready].clone());
    let usec: u64 = reloading
        .get("MONOTONIC_USEC")
        .unwrap_or_else(|| {
            panic!(
                "RELOADING=1 without MONOTONIC_USEC= in one datagram:\n{}",
                notify.dump()
            )
        })
        .parse()
        .expect("MONOTONIC_USEC is a number");
    let off = usec.abs_diff(clock);
    assert!(
        off < CLOCK_SLACK.as_micros() as u64,
        "MONOTONIC_USEC={usec} is {off} µs from the test's CLOCK_MONOTONIC {clock}"
    );
    // Nothing said ready between them.
    assert!(
        all[r + 1..ready].iter().all(|d| d.get("READY").is_none()),
        "{}",
        notify.dump()
    );
    (reloading, ready_dgram)
}

#[test]
fn systemd_hears_ready_reloading_with_the_clock_failures_watchdog_and_stopping() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = Gobgpd::start(
        &g,
        GobgpConfig::one_gr_neighbor(65002, a.ipv4.into(), 65001, 120),
    );
    let paths = Baton::paths(&a);
    let notify = NotifySocket::bind(&paths.dir);
    let toml = global_toml(
        &paths,
        65001,
        &a.ipv4.to_string(),
        &[format!("{}:179", a.ipv4)],
    ) + "control_socket_mode = \"0660\"\ncontrol_socket_group = \"daemon\"\n\n"
        + &peer_toml(g.ipv4.into(), 65002, "ipv4-unicast", "")
        + &gr_toml(120, "")
        + "[[route]]\nprefix = \"198.19.0.0/24\"\n\n";
    let socket_path = paths.control_socket.clone();
    let mut baton = Baton::spawn_with_env(
        &a,
        paths,
        &toml,
        &[],
        &[
            ("NOTIFY_SOCKET", notify.path()),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
        ],
    );
    baton.wait_ready(Duration::from_secs(10));
    wait_line(&notify, 0, "READY=1", Duration::from_secs(10));
    let peer = IpAddr::from(a.ipv4);
    gobgpd.wait_established(peer, Duration::from_secs(30));
    poll::until_true(Duration::from_secs(30), "gobgpd to hold our route", || {
        gobgpd.adj_in_count(peer, Family::Ipv4Unicast) == 1
    });

    // The control socket as configured: 0660, group daemon (gid 1).
    let meta = std::fs::metadata(&socket_path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o660);
    assert_eq!(meta.gid(), 1, "group daemon");

    // STATUS= a human can read.
    poll::until_true(Duration::from_secs(30), "STATUS= with the peers up", || {
        notify.statuses().iter().any(|s| {
            s.contains("speaker generation 1")
                && s.contains("1/1 peers up")
                && s.contains("no upgrade yet")
        })
    });

    // The watchdog is petted while the speaker answers, and not while it is stopped.
    let pets = || {
        notify
            .datagrams()
            .iter()
            .filter(|d| d.get("WATCHDOG").is_some())
            .count()
    };
    poll::until_true(Duration::from_secs(10), "WATCHDOG=1", || pets() >= 2);
    let speaker = baton.ctl(&["status"])["speaker_pid"].as_u64().unwrap() as i32;
    let speaker = nix::unistd::Pid::from_raw(speaker);
    nix::sys::signal::kill(speaker, Signal::SIGSTOP).unwrap();
    // A pet already decided may still arrive; after that, none while the speaker is stopped.
    let settle = Instant::now() + Duration::from_millis(1500);
    poll::until_true(Duration::from_secs(3), "a pet in flight", || {
        Instant::now() > settle
    });
    let before = pets();
    let quiet = Instant::now() + Duration::from_secs(3);
    poll::until_true(Duration::from_secs(5), "3 s of a stopped speaker", || {
        assert_eq!(
            pets(),
            before,
            "petted while the speaker was stopped:\n{}",
            notify.dump()
        );
        Instant::now() > quiet
    });
    nix::sys::signal::kill(speaker, Signal::SIGCONT).unwrap();
    poll::until_true(Duration::from_secs(10), "WATCHDOG=1 again", || {
        pets() > before
    });

    // A reload that changes nothing: RELOADING=1 … READY=1.
    let from = notify.datagrams().len();
    let clock = monotonic_usec();
    baton.ctl(&["reload"]);
    reload_pair(&notify, from, clock);

    // SIGHUP after a new router_id: the speaker is replaced, READY=1 once it is back.
    let generation = baton.ctl(&["status"])["generation"].as_u64().unwrap();
    let config = baton.paths_of().config.clone();
    let text = std::fs::read_to_string(&config).unwrap();
    let new_id = text.replace(
        &format!("router_id = \"{}\"", a.ipv4),
        "router_id = \"198.18.255.1\"",
    );
    assert_ne!(text, new_id);
    std::fs::write(&config, new_id).unwrap();
    let from = notify.datagrams().len();
    let clock = monotonic_usec();
    baton.signal(Signal::SIGHUP);
    let (_, ready) = reload_pair(&notify, from, clock);
    let status = ready.get("STATUS").unwrap_or_default();
    assert!(
        status.contains(&format!("speaker generation {}", generation + 1))
            && status.contains("1/1 peers up")
            && status.contains("last upgrade ok"),
        "{}",
        notify.dump()
    );
    assert_eq!(baton.ctl(&["status"])["generation"], generation + 1);

    // An upgrade: READY=1 once the new speaker has sent End-of-RIB.
    let from = notify.datagrams().len();
    let next = second_build(lab.dir());
    let clock = monotonic_usec();
    let run = baton.upgrade(&["--binary", next.to_str().unwrap(), "--timeout", "60"]);
    assert!(run.ok, "{}", run.output);
    assert!(!run.steps("done").is_empty(), "{:#?}", run.events);
    let (reloading, ready) = reload_pair(&notify, from, clock);
    let eor_ms = run.report["peers"][0]["end_of_rib_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("no End-of-RIB in {}", run.report));
    let between = ready.at.duration_since(reloading.at);
    // Both read by the same thread as they came: a little jitter, never a whole handoff.
    assert!(
        between + Duration::from_millis(50) >= Duration::from_millis(eor_ms),
        "READY=1 {between:?} after RELOADING=1, End-of-RIB at {eor_ms} ms"
    );
    assert!(
        ready
            .get("STATUS")
            .is_some_and(|s| s.contains("last upgrade ok") && s.contains("1/1 peers up")),
        "{}",
        notify.dump()
    );
    assert_eq!(gobgpd.adj_in_count(peer, Family::Ipv4Unicast), 1);

    // A failed upgrade: STATUS= names it, in the datagram with READY=1.
    let from = notify.datagrams().len();
    let clock = monotonic_usec();
    let run = baton.upgrade(&["--binary", "/bin/false", "--timeout", "10"]);
    assert!(!run.ok, "{}", run.output);
    let (_, ready) = reload_pair(&notify, from, clock);
    let status = ready.get("STATUS").unwrap_or_default();
    assert!(
        status.contains("last upgrade FAILED") && status.contains("exit status: 1"),
        "{}",
        notify.dump()
    );
    let status_at = ready
        .lines
        .iter()
        .position(|l| l.starts_with("STATUS="))
        .unwrap();
    let ready_at = ready.lines.iter().position(|l| l == "READY=1").unwrap();
    assert!(status_at < ready_at, "{:?}", ready.lines);

    // SIGTERM: STOPPING=1.
    let from = notify.datagrams().len();
    baton.stop();
    wait_line(&notify, from, "STOPPING=1", Duration::from_secs(5));
}

#[test]
fn a_control_socket_mode_that_locks_the_owner_out_is_refused_with_its_line() {
    let lab = Lab::new();
    let a = lab.host("baton");
    let paths = Baton::paths(&a);
    let toml =
        global_toml(&paths, 65001, &a.ipv4.to_string(), &[]) + "control_socket_mode = \"0460\"\n";
    let mut baton = Baton::spawn_at(&a, paths, &toml, &[]);
    let status = baton.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    let log = baton.log();
    assert!(
        log.contains(":8:") && log.contains("global.control_socket_mode") && log.contains("owner"),
        "{log}"
    );
}
