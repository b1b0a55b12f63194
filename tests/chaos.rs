//! Chaos: while an API client announces and withdraws routes without pause and a gobgpd and a
//! bird2 peer hold our table, the speaker is killed with SIGKILL 20 times and the supervisor 5
//! times (then started again, as systemd's `Restart=on-failure` would), and the speaker is
//! upgraded twice, each at a moment drawn from a seeded random generator.
//!
//! What must hold, checked against what the peers hold:
//! - no route meant to stay (the configuration's and a few pinned API routes) is ever missing
//!   at either peer (sampled throughout; stale copies count as held: that is graceful restart);
//! - afterwards every acknowledged change is in place at both peers, and a change whose request
//!   got no answer (the daemon died under it) is either wholly applied or not at all: both peers
//!   and baton's Loc-RIB agree about it;
//! - no process, descriptor or socket leaked: one supervisor and one speaker in the namespace,
//!   their descriptor counts as after the first start, one BGP session per peer, the same
//!   listening sockets.
//!
//! The seed is printed; `BATON_CHAOS_SEED=N cargo test --test chaos` replays a run's schedule
//! (the moments themselves still depend on the machine's timing).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;

use common::baton::{second_build, Baton};
use common::gr_lab::{v4_prefix, GrLab};
use common::http::{parse_reply, API_PORT};
use common::monitor::Monitor;
use common::netns::Host;
use common::{poll, Family};

/// Routes per family in the configuration.
const N: usize = 100;
const SPEAKER_KILLS: usize = 20;
const SUPERVISOR_KILLS: usize = 5;
const UPGRADES: usize = 2;
/// Speaker kills kept for the end of the schedule, after the last supervisor restart, so that
/// the last supervisor's descriptors are measured after it has replaced speakers.
const TAIL_KILLS: usize = 5;
/// Routes the client adds once before the chaos and never withdraws.
const PINNED: usize = 8;
/// Routes the client toggles at random.
const POOL: usize = 48;
const SETTLE: Duration = Duration::from_secs(90);
/// How long the client waits for one answer (the speaker may be down meanwhile: the
/// supervisor holds the API's listening socket, so the request waits in its backlog).
const ANSWER: Duration = Duration::from_secs(20);

fn pinned(i: usize) -> String {
    format!("198.18.65.{i}/32")
}

fn pooled(i: usize) -> String {
    format!("198.18.64.{i}/32")
}

/// splitmix64: small, seedable, good enough to draw a schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.below(high - low))
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    KillSpeaker,
    KillSupervisor,
    Upgrade,
}

/// The schedule: every event once per count, shuffled, then the tail of speaker kills.
fn schedule(rng: &mut Rng) -> Vec<Event> {
    let mut events = Vec::new();
    events.extend([Event::KillSpeaker].repeat(SPEAKER_KILLS - TAIL_KILLS));
    events.extend([Event::KillSupervisor].repeat(SUPERVISOR_KILLS));
    events.extend([Event::Upgrade].repeat(UPGRADES));
    rng.shuffle(&mut events);
    events.extend([Event::KillSpeaker].repeat(TAIL_KILLS));
    events
}

/// What the client knows of one pooled prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    /// The last answered request put it there (true) or took it away (false).
    Acked(bool),
    /// A request got no answer: either outcome is allowed, but one of them wholly.
    Unknown,
}

/// One request to the API from inside the namespace: the status, or `None` when no answer
/// came (refused, reset, timed out).
fn request(method: &str, prefix: &str) -> Option<u16> {
    let body = serde_json::to_vec(&json!({ "prefix": prefix })).unwrap();
    let head = format!(
        "{method} /v1/routes HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], API_PORT));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(ANSWER)).ok()?;
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(&body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    parse_reply(&raw).ok().map(|r| r.status)
}

/// The client: toggles pooled prefixes until stopped, keeping what it was told.
/// Returns (answered, refused, unanswered) requests.
fn client(
    seed: u64,
    stop: &AtomicBool,
    ledger: &Mutex<BTreeMap<String, Known>>,
) -> (usize, usize, usize) {
    let mut rng = Rng(seed ^ 0x5eed);
    let start = Instant::now();
    let (mut answered, mut refused, mut unanswered) = (0, 0, 0);
    while !stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(600) {
        let prefix = pooled(rng.below(POOL as u64) as usize);
        let present = ledger.lock().unwrap().get(&prefix).copied() == Some(Known::Acked(true));
        let method = if present { "DELETE" } else { "POST" };
        let now = match request(method, &prefix) {
            Some(200..=299) => {
                answered += 1;
                Known::Acked(method == "POST")
            }
            // Refused with a reason (the speaker stopping, say): nothing applied.
            Some(_) => {
                refused += 1;
                continue;
            }
            None => {
                unanswered += 1;
                Known::Unknown
            }
        };
        ledger.lock().unwrap().insert(prefix, now);
        std::thread::sleep(rng.millis(5, 60));
    }
    (answered, refused, unanswered)
}

fn speaker_pid(baton: &Baton) -> Option<i32> {
    baton.ctl(&["status"])["speaker_pid"]
        .as_u64()
        .map(|p| p as i32)
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

/// Waits for a speaker other than `old` to run.
fn new_speaker(baton: &Baton, old: i32) -> i32 {
    poll::until(Duration::from_secs(30), "a new speaker", || {
        speaker_pid(baton).filter(|&p| p != old && alive(p))
    })
}

fn all_established(baton: &Baton) -> bool {
    let n = baton.ctl(&["neighbor"]);
    let peers = n.as_array().cloned().unwrap_or_default();
    peers.len() == 3 && peers.iter().all(|p| p["state"] == "Established")
}

/// Prefixes (IPv4) each peer holds from us, stale or not.
fn held_v4(t: &GrLab) -> (BTreeSet<String>, BTreeSet<String>) {
    let g = t
        .gobgpd
        .adj_in(t.a.ipv4.into(), Family::Ipv4Unicast)
        .into_iter()
        .map(|r| r.prefix)
        .collect();
    let b = t
        .bird
        .routes("master4")
        .into_iter()
        .map(|r| r.prefix)
        .collect();
    (g, b)
}

/// The routes meant to stay: the configuration's and the pinned ones, IPv4, and the IPv6 count.
fn missing_meant_to_stay(t: &GrLab) -> Option<String> {
    let (g, b) = held_v4(t);
    let v6 = t.gobgpd.adj_in_count(t.a.ipv6.into(), Family::Ipv6Unicast);
    let stay = (0..N).map(v4_prefix).chain((0..PINNED).map(pinned));
    let missing: Vec<String> = stay
        .filter(|p| !g.contains(p) || !b.contains(p))
        .take(3)
        .collect();
    (!missing.is_empty() || v6 < N).then(|| format!("missing {missing:?}, gobgpd IPv6 {v6}"))
}

/// Descriptors a process holds.
fn fds(pid: u32) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .map(|e| {
                    std::fs::read_link(e.path())
                        .map(|t| t.display().to_string())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// batond processes in the namespace.
fn batond_pids(host: &Host) -> Vec<u32> {
    host.pids()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim_end().starts_with("batond"))
        })
        .collect()
}

/// TCP sockets in the namespace: (established BGP sessions, listening sockets).
fn sockets(host: &Host) -> (usize, usize) {
    let est = host.run(
        "ss",
        &[
            "-Htn",
            "state",
            "established",
            "( sport = :179 or dport = :179 )",
        ],
    );
    let listen = host.run("ss", &["-Htln"]);
    (est.lines().count(), listen.lines().count())
}

/// What the process tree looks like when everything is settled.
#[derive(Debug, PartialEq)]
struct Footprint {
    supervisor_fds: usize,
    speaker_fds: usize,
    sessions: usize,
    listeners: usize,
}

fn footprint(baton: &Baton) -> (Footprint, Vec<String>, Vec<String>) {
    let s = baton.ctl(&["status"]);
    let sup = s["supervisor_pid"].as_u64().expect("supervisor pid") as u32;
    let spk = s["speaker_pid"].as_u64().expect("speaker pid") as u32;
    let (sup_fds, spk_fds) = (fds(sup), fds(spk));
    let (sessions, listeners) = sockets(baton.host());
    (
        Footprint {
            supervisor_fds: sup_fds.len(),
            speaker_fds: spk_fds.len(),
            sessions,
            listeners,
        },
        sup_fds,
        spk_fds,
    )
}

fn settle(t: &GrLab, baton: &Baton, what: &str) {
    poll::until_true(SETTLE, what, || all_established(baton) && t.all_fresh());
}

#[test]
fn chaos_kills_and_upgrades_under_api_churn_lose_no_acknowledged_change_and_leak_nothing() {
    let seed = std::env::var("BATON_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("chaos seed: {seed} (replay with BATON_CHAOS_SEED={seed})");
    let mut rng = Rng(seed);
    let events = schedule(&mut rng);

    let mut t = GrLab::new(N, 120, 120);
    t.toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n");
    let next = second_build(t.lab.dir());
    let mut baton = t.start_baton();
    settle(&t, &baton, "the first start to settle");
    for i in 0..PINNED {
        let out = baton.ctl_output(&["route", "add", &pinned(i)]);
        assert!(out.status.success(), "route add {}: {out:?}", pinned(i));
    }
    poll::until_true(SETTLE, "the pinned routes at both peers", || {
        missing_meant_to_stay(&t).is_none()
    });
    let (before, sup_before, spk_before) = footprint(&baton);

    let monitor = Monitor::new();
    let stop = AtomicBool::new(false);
    let ledger = Mutex::new(BTreeMap::new());
    let mut done = Vec::new();
    let (answered, refused, unanswered) = std::thread::scope(|s| {
        s.spawn(|| monitor.run(Duration::from_millis(200), || missing_meant_to_stay(&t)));
        let client_thread = {
            let (stop, ledger) = (&stop, &ledger);
            let host = t.a.clone();
            s.spawn(move || {
                // The client's sockets live in baton's namespace.
                let file = std::fs::File::open(format!("/var/run/netns/{}", host.ns)).unwrap();
                nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                client(seed, stop, ledger)
            })
        };
        let _stop_monitor = monitor.stopper();
        for (i, event) in events.iter().enumerate() {
            std::thread::sleep(rng.millis(200, 2500));
            let at = format!("event {i} ({event:?}, seed {seed})");
            match event {
                Event::KillSpeaker => {
                    let old = poll::until(Duration::from_secs(30), &at, || speaker_pid(&baton));
                    kill(Pid::from_raw(old), Signal::SIGKILL).unwrap();
                    new_speaker(&baton, old);
                }
                Event::KillSupervisor => {
                    let old = speaker_pid(&baton);
                    baton.kill();
                    if let Some(old) = old {
                        poll::until_true(Duration::from_secs(10), &at, || !alive(old));
                    }
                    // systemd's RestartSec=1, shortened.
                    std::thread::sleep(rng.millis(100, 1000));
                    baton = t.restart_baton();
                    poll::until(Duration::from_secs(30), &at, || speaker_pid(&baton));
                }
                Event::Upgrade => {
                    // An upgrade is an operator's act: on a daemon whose sessions are up.
                    poll::until_true(SETTLE, &at, || all_established(&baton));
                    let run =
                        baton.upgrade(&["--binary", next.to_str().unwrap(), "--timeout", "90"]);
                    assert!(run.ok, "{at}: upgrade failed: {}", run.output);
                }
            }
            done.push(*event);
        }
        settle(&t, &baton, "the peers to settle after the chaos");
        stop.store(true, Ordering::SeqCst);
        client_thread.join().expect("the API client")
    });
    let count = |e: Event| done.iter().filter(|&&d| d == e).count();
    assert_eq!(count(Event::KillSpeaker), SPEAKER_KILLS);
    assert_eq!(count(Event::KillSupervisor), SUPERVISOR_KILLS);
    assert_eq!(count(Event::Upgrade), UPGRADES);
    monitor.assert_no_gap(&format!("routes meant to stay (seed {seed})"));
    assert!(answered >= 50, "the API client got only {answered} answers");

    // Every acknowledged change in place; every unanswered one wholly applied or not at all.
    settle(&t, &baton, "the peers to settle after the client stopped");
    let (g, b) = held_v4(&t);
    let ledger = ledger.into_inner().unwrap();
    let mut unknown = 0;
    for (prefix, known) in &ledger {
        let ours = baton.best_route(prefix).is_some();
        let (at_g, at_b) = (g.contains(prefix), b.contains(prefix));
        match known {
            Known::Acked(want) => assert!(
                at_g == *want && at_b == *want && ours == *want,
                "{prefix} acknowledged {}: gobgpd {at_g}, bird {at_b}, baton {ours} (seed {seed})",
                if *want { "added" } else { "withdrawn" }
            ),
            Known::Unknown => {
                unknown += 1;
                assert!(
                    at_g == ours && at_b == ours,
                    "{prefix} half-applied: gobgpd {at_g}, bird {at_b}, baton {ours} (seed {seed})"
                );
            }
        }
    }
    eprintln!(
        "chaos: {answered} requests answered, {refused} refused, {unanswered} unanswered; \
         {} prefixes touched, {unknown} left unanswered at the end",
        ledger.len()
    );

    // Nothing leaked.
    let pids = batond_pids(&t.a);
    assert_eq!(pids.len(), 2, "batond processes in the namespace: {pids:?}");
    let (after, sup_after, spk_after) = footprint(&baton);
    eprintln!("chaos: before {before:?}, after {after:?}");
    assert!(
        after.supervisor_fds <= before.supervisor_fds + 1
            && after.speaker_fds <= before.speaker_fds + 1
            && after.sessions == 3
            && after.listeners == before.listeners,
        "before {before:?}, after {after:?}\nsupervisor before {sup_before:?}\n\
         supervisor after {sup_after:?}\nspeaker before {spk_before:?}\nspeaker after {spk_after:?}"
    );
}
