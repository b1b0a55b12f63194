//! Replacing a running speaker: `batonctl upgrade` to another build, and the speaker killed
//! with SIGKILL (the supervisor starts a new one), each timed from the event until both
//! receivers hold all N IPv4 and M IPv6 routes fresh again, while two monitors count what the
//! receivers hold, so that a withdrawal, however brief, shows as a count below N + M.
//!
//! "Fresh again" needs the receiver to have seen the old session go: a receiver still showing
//! the old session is as fresh as it was before. Each watcher notes an identity of the session
//! (gobgpd's flop count and uptime, bird2's protocol line and its "since" time, which wobbles by
//! a millisecond from one query to the next, so it is compared within 100 ms) and counts the
//! session as back only once it saw the old one lost (down, or held in graceful restart) or the
//! identity changed, and it is Established with no graceful restart pending.

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use baton::ctl::UpgradeView;
use serde_json::Value;

use super::common::baton::Baton;
use super::common::bird::Bird;
use super::common::gobgp::Gobgpd;
use super::common::Family;
use super::watch::{bird_protocol, bird_view, gobgp_view, Held, Routes};
use super::{BIRD_PROTOCOL, MAX_PAUSE, MIN_PAUSE};

/// What the watchers and monitors look at, and for how long.
pub struct Receivers<'a> {
    pub gobgpd: &'a Gobgpd,
    pub bird: &'a Bird,
    /// The originator's address, as the receivers know it.
    pub from: IpAddr,
    /// Routes the originator announces, per family.
    pub want: Routes,
    /// How long an event may take before it is reported as a timeout.
    pub deadline: Duration,
    /// Count the routes at gobgpd during events; each count walks its table, which at a
    /// million routes slows it down noticeably (`--no-gobgpd-count` turns it off).
    pub count_gobgpd: bool,
}

/// The three ways a speaker gets replaced, in the table's column order.
pub const EVENTS: [&str; 3] = ["batonctl upgrade", "speaker kill -9", "batond kill -9"];

/// What one replacement of the speaker measured; times from the event.
#[derive(Clone, Default)]
pub struct Replacement {
    /// The upgrade's JSON report.
    pub report: Option<UpgradeView>,
    /// `batonctl upgrade` returned.
    pub command: Option<Duration>,
    /// A new speaker runs (`batonctl status` shows a new generation with a pid).
    pub speaker: Option<Duration>,
    /// gobgpd and bird2: the old session seen lost, and all routes fresh again.
    pub gobgpd: Back,
    pub bird: Back,
    /// The fewest of our routes each receiver showed while it happened.
    pub gobgpd_low: Lowest,
    pub bird_low: Lowest,
}

/// When a receiver saw the old session lost and the new one complete.
#[derive(Clone, Copy, Default)]
pub struct Back {
    pub lost: Option<Duration>,
    pub fresh: Option<Duration>,
}

/// The fewest routes a count monitor saw, over how many answers (and failed queries).
#[derive(Clone, Copy, Default)]
pub struct Lowest {
    pub routes: Option<u64>,
    pub samples: usize,
    pub failed: usize,
}

/// `batonctl upgrade --binary NEXT`, timed from the command's start.
pub fn bench_upgrade(baton: &Baton, next: &Path, rx: &Receivers) -> Replacement {
    let socket = baton.paths_of().control_socket.clone();
    let deadline = rx.deadline;
    let ((command, report), mut r) = replace(rx, |start| {
        let out = Command::new(env!("CARGO_BIN_EXE_batonctl"))
            .arg("--socket")
            .arg(&socket)
            .arg("upgrade")
            .arg("--binary")
            .arg(next)
            .args(["--timeout", &deadline.as_secs().to_string(), "--json"])
            .output();
        let took = start.elapsed();
        match out {
            Ok(out) => {
                // The report is the last of the JSON lines (the steps come first).
                let stdout = String::from_utf8_lossy(&out.stdout);
                let last = stdout.lines().last().unwrap_or_default();
                let report = serde_json::from_str::<UpgradeView>(last).ok();
                if !out.status.success() || report.is_none() {
                    eprintln!(
                        "batonctl upgrade failed ({}): {}{}",
                        out.status,
                        String::from_utf8_lossy(&out.stdout).trim(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                (Some(took), report)
            }
            Err(e) => {
                eprintln!("cannot run batonctl: {e}");
                (None, None)
            }
        }
    });
    r.command = command;
    r.report = report;
    r
}

/// The running speaker killed with SIGKILL; the supervisor starts another.
pub fn bench_speaker_kill(baton: &Baton, rx: &Receivers) -> Replacement {
    let deadline = rx.deadline;
    let before = status(baton);
    let (Some(pid), Some(generation)) = (
        before["speaker_pid"].as_u64(),
        before["generation"].as_u64(),
    ) else {
        eprintln!("no running speaker to kill: {before}");
        return Replacement::default();
    };
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid"));
    let (speaker, mut r) = replace(rx, |start| {
        if let Err(e) = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL) {
            eprintln!("cannot kill the speaker {pid}: {e}");
            return None;
        }
        // Bounded by the deadline; each status query is a batonctl run.
        while start.elapsed() < deadline {
            let now = status(baton);
            if now["generation"].as_u64() > Some(generation) && now["speaker_pid"].is_u64() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    });
    r.speaker = speaker;
    r
}

/// `batonctl status --json`, or `Null` if it does not answer.
pub fn status(baton: &Baton) -> Value {
    let out = baton.ctl_output(&["status", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Runs `event` (given the start instant) while watchers wait for both receivers to be back
/// with all routes fresh and monitors count what they hold; returns when both are back or
/// at the deadline.
fn replace<R>(rx: &Receivers, event: impl FnOnce(Instant) -> R) -> (R, Replacement) {
    let Receivers {
        gobgpd,
        bird,
        from,
        want,
        deadline,
        ..
    } = *rx;
    let g_before = gobgp_session(gobgpd, from);
    let b_before = bird_session(bird);
    let mut r = Replacement::default();
    let ((out, g, b), g_low, b_low) = with_monitors(rx, || {
        let start = Instant::now();
        std::thread::scope(|s| {
            let g = s.spawn(|| {
                watch_back("gobgpd", start, deadline, want, &g_before, || {
                    gobgp_session(gobgpd, from)
                })
            });
            let b = s.spawn(|| {
                watch_back("bird2", start, deadline, want, &b_before, || {
                    bird_session(bird)
                })
            });
            let out = event(start);
            let g = g.join().expect("gobgpd watcher");
            let b = b.join().expect("bird2 watcher");
            (out, g, b)
        })
    });
    (r.gobgpd, r.bird, r.gobgpd_low, r.bird_low) = (g, b, g_low, b_low);
    (out, r)
}

/// Runs `f` while two monitors count our routes at the receivers, as often as the queries
/// allow without hogging the receivers (a pause twice as long as the last query took, within
/// [`MIN_PAUSE`], [`MAX_PAUSE`]: gobgpd walks its table to count); they stop when `f` returns,
/// or after the deadline plus a minute. gobgpd's count is skipped unless `rx.count_gobgpd`.
pub fn with_monitors<R>(rx: &Receivers, f: impl FnOnce() -> R) -> (R, Lowest, Lowest) {
    let stop = AtomicBool::new(false);
    let until = Instant::now() + rx.deadline + Duration::from_secs(60);
    std::thread::scope(|s| {
        let g = s.spawn(|| {
            if !rx.count_gobgpd {
                return Lowest::default();
            }
            let families = rx.want.families();
            monitor(&stop, until, || gobgp_count(rx.gobgpd, rx.from, families))
        });
        let b = s.spawn(|| monitor(&stop, until, || bird_count(rx.bird)));
        let out = f();
        stop.store(true, Ordering::SeqCst);
        (
            out,
            g.join().expect("gobgpd monitor"),
            b.join().expect("bird2 monitor"),
        )
    })
}

fn monitor(stop: &AtomicBool, until: Instant, mut count: impl FnMut() -> Option<u64>) -> Lowest {
    let mut low = Lowest::default();
    while !stop.load(Ordering::SeqCst) && Instant::now() < until {
        let asked = Instant::now();
        match count() {
            Some(c) => {
                low.routes = Some(low.routes.map_or(c, |l| l.min(c)));
                low.samples += 1;
            }
            None => low.failed += 1,
        }
        std::thread::sleep((asked.elapsed() * 2).clamp(MIN_PAUSE, MAX_PAUSE));
    }
    low
}

/// `gobgp neighbor ADDR adj-in summary -a FAMILY`: "Destination: N, Path: N" (stale routes
/// included), summed over `families`; `None` if an answer is not that.
pub fn gobgp_count(gobgpd: &Gobgpd, from: IpAddr, families: &[Family]) -> Option<u64> {
    families
        .iter()
        .map(|family| gobgp_family_count(gobgpd, from, family))
        .sum()
}

fn gobgp_family_count(gobgpd: &Gobgpd, from: IpAddr, family: &Family) -> Option<u64> {
    let family = match family {
        Family::Ipv4Unicast => "ipv4",
        Family::Ipv6Unicast => "ipv6",
    };
    let out = gobgpd.gobgp(&[
        "neighbor",
        &from.to_string(),
        "adj-in",
        "summary",
        "-a",
        family,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("Destination:")
        .nth(1)?
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// `birdc show route count`: "N of M routes for K networks in table T", summed over the tables
/// it lists (the receiver holds nothing but our routes); `None` if there is no such line.
pub fn bird_count(bird: &Bird) -> Option<u64> {
    let out = bird.birdc(&["show", "route", "count"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<u64> = text
        .lines()
        .filter(|l| l.contains(" routes for "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    (!counts.is_empty()).then(|| counts.iter().sum())
}

/// A receiver's session with the originator, as one query shows it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Session {
    /// Our routes it holds (stale ones included); fresh: Established, and not holding our
    /// routes for a restart not yet complete (End-of-RIB received on this session).
    held: Held,
    /// Changes when the session is replaced.
    id: String,
    /// When the session last changed state, ms into the day, if the receiver says (bird2).
    since_ms: Option<u64>,
}

impl Session {
    /// Whether this is not the session `before` was.
    fn replaces(&self, before: &Session) -> bool {
        let moved = match (self.since_ms, before.since_ms) {
            (Some(a), Some(b)) => a.abs_diff(b) > 100,
            _ => false,
        };
        self.id != before.id || moved
    }
}

/// Waits until the receiver's session is a new one, Established, with all `want` routes and
/// no restart pending. Set `BENCH_TRACE=1` to print every change it sees.
fn watch_back(
    name: &str,
    start: Instant,
    deadline: Duration,
    want: Routes,
    before: &Option<Session>,
    mut query: impl FnMut() -> Option<Session>,
) -> Back {
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    let mut back = Back::default();
    let mut last = None;
    loop {
        let asked = Instant::now();
        let now = query();
        let at = start.elapsed();
        if trace && now != last {
            eprintln!("  {at:>8.3?} {name}: {now:?}");
        }
        if let Some(s) = &now {
            let replaced = before.as_ref().is_some_and(|b| s.replaces(b));
            if back.lost.is_none() && (!s.held.fresh || replaced) {
                back.lost = Some(at);
            }
            if back.lost.is_some() && s.held.fresh && s.held.routes == want {
                back.fresh = Some(at);
                return back;
            }
        }
        if at >= deadline {
            eprintln!("timeout: {name} still shows {now:?} after {at:.1?}");
            return back;
        }
        last = now;
        std::thread::sleep((asked.elapsed() * 2).clamp(MIN_PAUSE / 2, MAX_PAUSE / 4));
    }
}

/// gobgpd's view, from `gobgp -j neighbor ADDR` ([`gobgp_view`]); flops and uptime as the
/// session's identity.
fn gobgp_session(gobgpd: &Gobgpd, from: IpAddr) -> Option<Session> {
    let v = gobgpd.neighbor_json(from)?;
    Some(Session {
        held: gobgp_view(&v),
        id: format!(
            "flops {} up {}",
            v["state"]["flops"], v["timers"]["state"]["uptime"]
        ),
        since_ms: None,
    })
}

/// bird2's view, from `birdc show protocols all origin` ([`bird_view`]); the protocol's line
/// (state, since when, info) as the session's identity.
fn bird_session(bird: &Bird) -> Option<Session> {
    let text = bird_protocol(bird, BIRD_PROTOCOL);
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(BIRD_PROTOCOL))?;
    // The line is "origin BGP --- up 13:48:35.590 Established": the time of day apart.
    let (times, words): (Vec<&str>, Vec<&str>) = line
        .split_whitespace()
        .partition(|w| time_of_day_ms(w).is_some());
    Some(Session {
        held: bird_view(&text),
        id: words.join(" "),
        since_ms: times.first().and_then(|t| time_of_day_ms(t)),
    })
}

/// "13:48:35.590" (or "13:48:35") as milliseconds into the day.
fn time_of_day_ms(word: &str) -> Option<u64> {
    let (hms, frac) = word.split_once('.').unwrap_or((word, "0"));
    let mut parts = hms.split(':');
    let mut ms = 0;
    for _ in 0..3 {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        ms = ms * 60 + part.parse::<u64>().ok()?;
    }
    if parts.next().is_some() || frac.is_empty() || frac.len() > 3 {
        return None;
    }
    let frac_ms = frac.parse::<u64>().ok()? * 10u64.pow(3 - frac.len() as u32);
    Some(ms * 1000 + frac_ms)
}

/// The replacement table: one column per event, one row per quantity.
pub fn print_replacement_table(want: Routes, runs: &[[Replacement; 3]], from: [IpAddr; 2]) {
    let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    let ms = |m: Option<u64>| m.map(|m| m as f64 / 1000.0);
    let table = super::figures::table("replacement");
    let values = |e: usize, f: &dyn Fn(&Replacement) -> Option<f64>| -> Vec<Option<f64>> {
        runs.iter().map(|r| f(&r[e])).collect()
    };
    let peer = |r: &Replacement, at: IpAddr, eor: bool| -> Option<f64> {
        let p = r.report.as_ref()?.peers.iter().find(|p| p.peer == at)?;
        ms(if eor {
            p.end_of_rib_ms
        } else {
            p.established_ms
        })
    };
    let both =
        |r: &Replacement| -> Option<f64> { Some(secs(r.gobgpd.fresh)?.max(secs(r.bird.fresh)?)) };
    let low = |label: &str, e: usize, pick: &dyn Fn(&Replacement) -> Lowest| -> String {
        let lows: Vec<Lowest> = runs.iter().map(|r| pick(&r[e])).collect();
        let each_run: Vec<Option<f64>> = lows.iter().map(|l| l.routes.map(|m| m as f64)).collect();
        if lows.iter().any(|l| l.samples > 0) {
            table.record(label, EVENTS[e], "routes", &each_run);
        }
        let samples: usize = lows.iter().map(|l| l.samples).sum();
        let failed: usize = lows.iter().map(|l| l.failed).sum();
        match lows.iter().filter_map(|l| l.routes).min() {
            None if samples + failed == 0 => "not counted".into(),
            None => format!("- (0, {failed} failed)"),
            Some(m) if failed > 0 => format!("{m} ({samples}, {failed} failed)"),
            Some(m) => format!("{m} ({samples})"),
        }
    };
    let withdrawn = |e: usize| -> String {
        let seen = runs.iter().any(|r| {
            [r[e].gobgpd_low, r[e].bird_low]
                .iter()
                .any(|l| l.routes.is_some_and(|m| m < want.total()))
        });
        let measured = runs
            .iter()
            .any(|r| r[e].gobgpd_low.samples + r[e].bird_low.samples > 0);
        match (measured, seen) {
            (false, _) => "not counted".into(),
            (true, true) => "YES".into(),
            (true, false) => "no".into(),
        }
    };
    let [g, b] = from;
    let w = if runs.len() > 1 { 22 } else { 18 };
    println!(
        "replacing the speaker, N = {} IPv4 + M = {} IPv6 routes (\"all N\": both families in \
         full; seconds from the event):",
        want.v4, want.v6
    );
    println!(
        "{:<40} {:>w$} {:>w$} {:>w$}",
        "", EVENTS[0], EVENTS[1], EVENTS[2]
    );
    let row = |label: &str, cells: [String; 3]| {
        println!(
            "{label:<40} {:>w$} {:>w$} {:>w$}",
            cells[0], cells[1], cells[2]
        );
    };
    // A row of times: each event's cell, recorded.
    let timed = |label: &str, f: &dyn Fn(&Replacement) -> Option<f64>| {
        row(
            label,
            [0, 1, 2].map(|e| table.figure(label, EVENTS[e], "s", &values(e, f), 2)),
        );
    };
    row(
        "clock starts at",
        ["command start", "the kill", "the new spawn"].map(String::from),
    );
    timed("report: duration_ms (last End-of-RIB)", &|r| {
        ms(r.report.as_ref().map(|v| v.duration_ms))
    });
    timed("report: gobgpd Established", &|r| peer(r, g, false));
    timed("report: gobgpd End-of-RIB", &|r| peer(r, g, true));
    timed("report: bird2 Established", &|r| peer(r, b, false));
    timed("report: bird2 End-of-RIB", &|r| peer(r, b, true));
    timed("batonctl upgrade returned", &|r| secs(r.command));
    timed("new speaker running", &|r| secs(r.speaker));
    timed("gobgpd: old session seen lost", &|r| secs(r.gobgpd.lost));
    timed("bird2: old session seen lost", &|r| secs(r.bird.lost));
    timed("gobgpd: all N fresh again", &|r| secs(r.gobgpd.fresh));
    timed("bird2: all N fresh again", &|r| secs(r.bird.fresh));
    timed("both receivers: all N fresh again", &both);
    for (label, pick) in [
        (
            "fewest routes at gobgpd",
            (|r: &Replacement| r.gobgpd_low) as fn(&Replacement) -> Lowest,
        ),
        ("fewest routes at bird2", |r: &Replacement| r.bird_low),
    ] {
        row(
            &format!("{label} (samples)"),
            [0, 1, 2].map(|e| low(label, e, &pick)),
        );
    }
    row("any withdrawal seen", [0, 1, 2].map(withdrawn));
    if runs.len() > 1 {
        println!("(median, then min–max over {} runs)", runs.len());
    }
    let versions: Vec<String> = runs
        .iter()
        .filter_map(|r| r[0].report.as_ref())
        .map(|v| {
            format!(
                "generation {} -> {}, {} -> {}",
                v.from_generation,
                v.to_generation,
                v.from_version.as_deref().unwrap_or("?"),
                v.to_version.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if let Some(v) = versions.first() {
        println!("upgrade: {v}");
    }
    println!(
        "Before each event the bench waits until gobgpd and bird2 are idle (under a tenth of \
         a core over a second). report: `batonctl upgrade --json` (the supervisor follows the new \
         speaker's events: the upgrade ends at its last End-of-RIB sent). \
         \"Fresh again\": the receiver saw the old session go, then shows the new one \
         Established, all N + M routes, End-of-RIB received on every family (gobgpd) / no \
         \"graceful restart active\" (bird2); a query every 25–250 ms. \"Fewest routes\": the \
         lowest count `gobgp neighbor ADDR adj-in summary -a ipv4` (plus `-a ipv6`) and `birdc \
         show route count` showed from the event until both were fresh again, each query twice \
         its own duration after the last (stale routes count: a withdrawal shows as fewer than \
         N + M; gobgpd walks its table to count, which at a million routes delays it markedly: \
         --no-gobgpd-count). gobgpd stays Idle for a hard-coded 5 s after any session loss, \
         refusing connections, so it cannot be back sooner than that after an upgrade or a \
         crash; bird2 takes the new session at once. batond kill -9: the supervisor and its \
         speaker killed, batond spawned again on the same state once both receivers hold the \
         routes as stale and gobgpd has left that idle hold, so the 5 s are not in its figures \
         (the start-up table's restart row; its routes were counted from the kill)."
    );
}
