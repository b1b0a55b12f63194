//! Start-up benchmark: how long until two real peers (a gobgpd and a bird2, each in its own
//! network namespace) hold every one of N originated routes, for baton's first start, for its
//! graceful restart after `kill -9`, and for bird2 and gobgpd doing the same work, side by side
//! in one run on this machine. Also the originator's peak RSS and CPU time.
//!
//! Run it with `bin/bench` (or `cargo bench --bench startup -- --routes N`); it needs root and
//! the Debian packages gobgpd and bird2, like the integration tests whose harness it reuses, and
//! python3-grpcio for the gobgpd originator (see `startup/gobgp_origin.rs`).
//!
//! This is a measurement, not a test: nothing here fails on a slow figure; a scenario that does
//! not finish within its deadline prints "timeout" and the run goes on.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "startup/gobgp_origin.rs"]
mod gobgp_origin;
#[path = "startup/machine.rs"]
mod machine;
#[path = "startup/watch.rs"]
mod watch;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::baton::{global_toml, peer_toml, Baton};
use common::bird::{Bird, BirdConfig, BirdPeer};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::netns::{Host, Lab};
use common::{poll, Family};
use machine::{cpu_time, peak_rss_kib, print_machine};
use watch::{bird_held, gobgp_held, gobgp_updates, receiver_stats, watch_receivers, Times};

/// Routes originated when `--routes` is not given.
const DEFAULT_ROUTES: usize = 100_000;
/// Distinct /28s in 10.0.0.0/8.
const MAX_ROUTES: usize = 1 << 20;
/// The originator's AS (baton or bird2), and the receivers'.
const ORIGIN_AS: u32 = 65001;
const GOBGP_AS: u32 = 65002;
const BIRD_AS: u32 = 65003;
/// Graceful-restart time everyone advertises: far longer than any restart measured here.
const RESTART_TIME: u16 = 120;
/// bird2's name for its session with the originator.
const BIRD_PROTOCOL: &str = "origin";
/// Bounds on the pause between two queries of one receiver (see [`watch`]).
const MIN_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_millis(1000);
/// Up to this N the restart scenario reads gobgpd's routes to count stale ones.
const CHECK_STALE_UP_TO: usize = 200_000;
/// Deadline for setup steps (a daemon answering, a session noticing a kill).
const SETUP: Duration = Duration::from_secs(60);

impl Row {
    fn set_times(&mut self, gobgpd: Times, bird: Times) {
        (self.gobgpd, self.gobgpd_99, self.gobgpd_up) = (gobgpd.all, gobgpd.most, gobgpd.up);
        (self.bird, self.bird_99, self.bird_up) = (bird.all, bird.most, bird.up);
    }
}

/// Command-line options.
struct Options {
    /// N: how many routes the originator announces.
    routes: usize,
    /// How many times to run every scenario (each time in a fresh lab).
    runs: usize,
    /// How long one scenario may take before it is reported as a timeout.
    deadline: Duration,
}

/// The scenarios, in the order of the table.
const SCENARIOS: [&str; 4] = [
    "baton first start",
    "baton restart (kill -9, GR)",
    "bird2 originating",
    "gobgpd originating (gRPC)",
];

fn main() {
    // `cargo test --all-targets` (bin/test) builds and runs bench targets too, without
    // `--bench`: figures are for bin/bench, not for the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("startup bench: not run by cargo test; use bin/bench");
        return;
    }
    let options = parse_args();
    let n = options.routes;
    println!(
        "baton start-up benchmark: N = {n} originated routes, distinct /28s from 10.0.0.0/8 \
         (route data only, never on an interface), {} run(s) of each scenario",
        options.runs
    );
    print_machine();
    println!(
        "receivers: a gobgpd and a bird2, each in its own network namespace, eBGP from the \
         originator, graceful-restart helpers (restart time {RESTART_TIME} s)\n"
    );

    let gobgpd_unavailable = gobgp_origin::unavailable();
    // runs[r][s]: run r of scenario s.
    let mut runs: Vec<Vec<Row>> = Vec::new();
    for run in 1..=options.runs {
        println!("run {run}/{}", options.runs);
        let (first, restart) = bench_baton(&options);
        let bird = bench_bird(&options);
        let gobgpd = match &gobgpd_unavailable {
            None => gobgp_origin::bench_gobgpd(&options),
            Some(_) => Row::default(),
        };
        runs.push(vec![first, restart, bird, gobgpd]);
    }
    let column = |s: usize, f: &dyn Fn(&Row) -> Option<f64>| -> Vec<Option<f64>> {
        runs.iter().map(|r| f(&r[s])).collect()
    };
    let as_secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    let as_mib = |k: Option<u64>| k.map(|k| k as f64 / 1024.0);

    println!();
    let w = if options.runs > 1 { 20 } else { 12 };
    println!(
        "{:<28} {:>8} {:>w$} {:>w$} {:>w$} {:>w$}",
        "scenario", "N", "gobgpd s", "bird2 s", "orig RSS MiB", "orig CPU s"
    );
    for (s, name) in SCENARIOS.iter().enumerate() {
        if let (3, Some(why)) = (s, &gobgpd_unavailable) {
            println!("{name:<28} {n:>8}  {why}");
            continue;
        }
        println!(
            "{name:<28} {n:>8} {:>w$} {:>w$} {:>w$} {:>w$}",
            cell(&column(s, &|r| as_secs(r.gobgpd)), 2),
            cell(&column(s, &|r| as_secs(r.bird)), 2),
            cell(&column(s, &|r| as_mib(r.rss_kib)), 1),
            cell(&column(s, &|r| as_secs(r.cpu)), 2),
        );
    }
    if options.runs > 1 {
        println!("(median, then min–max over {} runs)", options.runs);
    }
    println!();
    for (s, name) in SCENARIOS.iter().enumerate() {
        if s == 3 && gobgpd_unavailable.is_some() {
            continue;
        }
        let mut details = vec![format!(
            "receivers' peak RSS gobgpd {} MiB, bird2 {} MiB",
            cell(&column(s, &|r| as_mib(r.gobgpd_rss_kib)), 1),
            cell(&column(s, &|r| as_mib(r.bird_rss_kib)), 1)
        )];
        details.push(format!(
            "gobgpd got {} UPDATE messages",
            cell(&column(s, &|r| r.gobgpd_updates.map(|u| u as f64)), 0)
        ));
        details.push(format!(
            "Established at gobgpd {} s, bird2 {} s",
            cell(&column(s, &|r| as_secs(r.gobgpd_up)), 2),
            cell(&column(s, &|r| as_secs(r.bird_up)), 2)
        ));
        let most = (
            cell(&column(s, &|r| as_secs(r.gobgpd_99)), 2),
            cell(&column(s, &|r| as_secs(r.bird_99)), 2),
        );
        if most != ("-".into(), "-".into()) {
            details.push(format!(
                "99 % held at gobgpd {} s, bird2 {} s",
                most.0, most.1
            ));
        }
        let ready = cell(&column(s, &|r| as_secs(r.ready)), 2);
        if ready != "-" {
            details.push(format!("control socket up {ready} s after spawn"));
        }
        let injected = cell(&column(s, &|r| as_secs(r.injected)), 2);
        if injected != "-" {
            details.push(format!("API stream of N paths taken by {injected} s"));
        }
        println!("{name}: {}", details.join("; "));
    }
    println!();
    println!(
        "seconds: from the originator's spawn until a receiver's query first shows all N routes \
         (fresh, for the restart), taken when that query returns; queries are {}–{} ms apart \
         (3x their own duration: gobgpd walks its table to count), so each figure is an upper \
         bound within one pause.",
        MIN_PAUSE.as_millis(),
        MAX_PAUSE.as_millis()
    );
    println!(
        "restart: batond is killed with SIGKILL and spawned again on the same state directory \
         once both receivers hold its routes as stale and gobgpd has left the 5 s idle hold it \
         imposes after any session loss. \"Fresh\": gobgpd has End-of-RIB on the new session \
         (it then drops what is still stale), bird2 no longer shows \"graceful restart active\"."
    );
    println!(
        "bird2 connects out no sooner than 1 s after it starts (its least connect delay), \
         which is part of its figures. gobgpd cannot originate from its config: the N paths are \
         streamed into its gRPC API (AddPathStream, {} paths per request, encoded beforehand) by \
         benches/startup/gobgp_inject.py as soon as it answers; the injector's CPU is not \
         counted. CPU: the originator's user+system time when both receivers held everything; \
         RSS: its VmHWM (peak resident set).",
        gobgp_origin::PATHS_PER_REQUEST
    );
}

/// One table cell: the value of a single run, or the median and range of several; "-" if
/// nothing was measured, "timeout" if any run missed its deadline.
fn cell(values: &[Option<f64>], precision: usize) -> String {
    if values.iter().all(Option::is_none) {
        return "-".into();
    }
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    if v.len() < values.len() {
        return format!("timeout ({}/{})", values.len() - v.len(), values.len());
    }
    v.sort_by(f64::total_cmp);
    let median = v[v.len() / 2];
    if v.len() == 1 {
        format!("{median:.precision$}")
    } else {
        format!(
            "{median:.precision$} ({:.precision$}–{:.precision$})",
            v[0],
            v[v.len() - 1]
        )
    }
}

/// What one scenario measured (`None` for a timeout or not measured).
#[derive(Default)]
struct Row {
    /// Spawn to all N routes at gobgpd.
    gobgpd: Option<Duration>,
    /// Spawn to all N routes at bird2.
    bird: Option<Duration>,
    /// Spawn to 99 % of the routes at gobgpd and at bird2 (not for the restart).
    gobgpd_99: Option<Duration>,
    bird_99: Option<Duration>,
    /// Spawn to the session Established, as gobgpd and bird2 show it.
    gobgpd_up: Option<Duration>,
    bird_up: Option<Duration>,
    /// The originator's peak RSS (VmHWM), KiB.
    rss_kib: Option<u64>,
    /// The originator's CPU time (user + system) once both receivers held everything.
    cpu: Option<Duration>,
    /// Spawn to baton's control socket accepting (config parsed, speaker running).
    ready: Option<Duration>,
    /// Spawn to gobgpd having taken the whole AddPathStream.
    injected: Option<Duration>,
    /// UPDATE messages gobgpd received in this scenario (End-of-RIB included).
    gobgpd_updates: Option<u64>,
    /// The receivers' peak RSS, KiB.
    gobgpd_rss_kib: Option<u64>,
    bird_rss_kib: Option<u64>,
}

fn parse_args() -> Options {
    let mut routes = DEFAULT_ROUTES;
    let mut runs = 1;
    let mut deadline = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> u64 {
            let v = args
                .next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")));
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| usage(&format!("{name} {v}: not a number")))
        };
        match arg.as_str() {
            "--routes" => routes = usize::try_from(value("--routes")).expect("fits"),
            "--runs" => runs = usize::try_from(value("--runs")).expect("fits").max(1),
            "--timeout" => deadline = Some(Duration::from_secs(value("--timeout"))),
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if routes == 0 || routes > MAX_ROUTES {
        usage(&format!(
            "--routes must be 1..={MAX_ROUTES} (the /28s of 10.0.0.0/8)"
        ));
    }
    // Generous: the point is to measure, not to give up. 100k: 170 s, 1M: 620 s.
    let deadline = deadline.unwrap_or(Duration::from_secs(
        120 + u64::try_from(routes / 2000).expect("fits"),
    ));
    Options {
        routes,
        runs,
        deadline,
    }
}

fn usage(error: &str) -> ! {
    if !error.is_empty() {
        eprintln!("startup bench: {error}");
    }
    eprintln!(
        "usage: cargo bench --bench startup -- [--routes N] [--runs R] [--timeout SECONDS]\n  \
         --routes N     routes to originate (default {DEFAULT_ROUTES}, at most {MAX_ROUTES})\n  \
         --runs R       run every scenario R times, each in a fresh lab; print the median \
         and range (default 1)\n  \
         --timeout S    give up on a scenario after S seconds (default 120 + N/2000)"
    );
    std::process::exit(if error.is_empty() { 0 } else { 2 });
}

/// The i-th originated prefix: consecutive /28s from 10.0.0.0.
fn prefix(i: usize) -> String {
    let (addr, len) = prefix_addr(i);
    format!("{addr}/{len}")
}

/// The i-th originated prefix as address and length.
fn prefix_addr(i: usize) -> (Ipv4Addr, u8) {
    let base = 0x0a00_0000u32 + u32::try_from(i).expect("i < 2^20") * 16;
    (Ipv4Addr::from(base), 28)
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// baton's first start, then its graceful restart after `kill -9`.
fn bench_baton(options: &Options) -> (Row, Row) {
    let n = options.routes;
    let lab = Lab::new();
    let origin = lab.host("origin");
    let (gobgpd, bird) = start_receivers(&lab, &origin);
    let from = IpAddr::from(origin.ipv4);

    let paths = Baton::paths(&origin);
    let mut toml = global_toml(
        &paths,
        ORIGIN_AS,
        &origin.ipv4.to_string(),
        &[format!("{}:179", origin.ipv4)],
    );
    let gr = format!("[peer.graceful_restart]\nenabled = true\nrestart_time = {RESTART_TIME}\n");
    toml += &peer_toml(gobgpd.host().ipv4.into(), GOBGP_AS, "ipv4-unicast", &gr);
    toml += &peer_toml(bird.host().ipv4.into(), BIRD_AS, "ipv4-unicast", &gr);
    for i in 0..n {
        let _ = write!(toml, "[[route]]\nprefix = \"{}\"\n\n", prefix(i));
    }

    // First start: nothing in the state directory.
    println!("  baton first start");
    let start = Instant::now();
    let mut baton = Baton::spawn_at(&origin, paths.clone(), &toml, &[]);
    let deadline = options.deadline;
    let mut first = measure_baton(start, deadline, &mut baton, &gobgpd, &bird, n, false);
    receiver_stats(&mut first, &gobgpd, &bird, from, 0);
    if first.gobgpd.is_none() || first.bird.is_none() {
        return (first, Row::default());
    }

    println!("  baton restart");
    // Restart: kill -9 leaves the marker, so the next start sets the Restart bit.
    baton.kill();
    poll::until_true(
        SETUP,
        "the receivers to hold baton's routes as stale",
        || {
            let g = gobgp_held(&gobgpd, from);
            let b = bird_held(&bird);
            !g.fresh && !b.fresh && b.routes == n as u64
        },
    );
    poll::until_true(SETUP, "gobgpd to leave its idle hold", || {
        gobgpd.neighbor_state(from).as_deref() == Some("active")
    });
    let updates_before = gobgp_updates(&gobgpd, from).unwrap_or(0);
    let start = Instant::now();
    let mut baton = Baton::spawn_at(&origin, paths, &toml, &[]);
    let mut restart = measure_baton(start, deadline, &mut baton, &gobgpd, &bird, n, true);
    receiver_stats(&mut restart, &gobgpd, &bird, from, updates_before);
    // The counters say "all N and End-of-RIB"; read the routes themselves once, untimed, where
    // that is affordable (gobgp prints ~0.5 KB of JSON per route).
    if restart.gobgpd.is_some() && n <= CHECK_STALE_UP_TO {
        let routes = gobgpd.adj_in(from, Family::Ipv4Unicast);
        let stale = routes.iter().filter(|r| r.stale).count();
        println!(
            "  check after the restart: gobgpd holds {} routes from baton, {stale} of them stale",
            routes.len()
        );
    }
    (first, restart)
}

/// Measures a batond spawned at `start`: receivers' times, when its control socket accepts,
/// and its CPU time and peak RSS once both receivers hold everything.
fn measure_baton(
    start: Instant,
    deadline: Duration,
    baton: &mut Baton,
    gobgpd: &Gobgpd,
    bird: &Bird,
    n: usize,
    fresh: bool,
) -> Row {
    let from = IpAddr::from(baton.host().ipv4);
    let socket = baton.paths_of().control_socket.clone();
    let abort = AtomicBool::new(false);
    let mut row = Row::default();
    let (g, b) = std::thread::scope(|s| {
        let watchers =
            s.spawn(|| watch_receivers(start, deadline, gobgpd, bird, from, n, fresh, &abort));
        // Bounded by the watchers' own deadline.
        while !watchers.is_finished() {
            if !baton.daemon().is_running() {
                abort.store(true, Ordering::SeqCst);
                break;
            }
            if row.ready.is_none() && UnixStream::connect(&socket).is_ok() {
                row.ready = Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        watchers.join().expect("receiver watchers")
    });
    row.set_times(g, b);
    row.cpu = cpu_time(baton.pid());
    row.rss_kib = peak_rss_kib(baton.pid());
    if g.all.is_none() || b.all.is_none() {
        baton.dump_logs();
    }
    row
}

/// bird2 originating N static routes to the same two receivers.
fn bench_bird(options: &Options) -> Row {
    let n = options.routes;
    let lab = Lab::new();
    let origin = lab.host("origin");
    let (gobgpd, bird) = start_receivers(&lab, &origin);
    let from = IpAddr::from(origin.ipv4);

    // Rendered here rather than through `static_routes`, so that the timed part is bird's.
    let mut statics = String::from("protocol static static4 {\n  ipv4;\n");
    for i in 0..n {
        let _ = writeln!(statics, "  route {} blackhole;", prefix(i));
    }
    statics.push_str("}\n");
    let mut peers = Vec::new();
    for (name, host, asn) in [
        ("to_gobgp", gobgpd.host(), GOBGP_AS),
        ("to_bird", bird.host(), BIRD_AS),
    ] {
        let mut p = BirdPeer::new(name, host.ipv4.into(), asn);
        p.graceful_restart = Some(RESTART_TIME);
        peers.push(p);
    }
    let config = BirdConfig {
        router_id: None,
        asn: ORIGIN_AS,
        protocols: peers,
        static_routes: Vec::new(),
        extra_config: statics,
    };

    let abort = AtomicBool::new(false);
    println!("  bird2 originating");
    let start = Instant::now();
    let (g, b, originator) = std::thread::scope(|s| {
        let watchers = s.spawn(|| {
            watch_receivers(
                start,
                options.deadline,
                &gobgpd,
                &bird,
                from,
                n,
                false,
                &abort,
            )
        });
        // Bird::start returns once birdc answers; the clock has been running since `start`.
        let originator = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Bird::start(&origin, config)
        }));
        if originator.is_err() {
            abort.store(true, Ordering::SeqCst);
        }
        let (g, b) = watchers.join().expect("receiver watchers");
        (g, b, originator)
    });
    let mut row = Row::default();
    row.set_times(g, b);
    if let Ok(origin_bird) = originator {
        row.cpu = cpu_time(origin_bird.pid());
        row.rss_kib = peak_rss_kib(origin_bird.pid());
        if g.all.is_none() || b.all.is_none() {
            origin_bird.dump_logs();
        }
    }
    receiver_stats(&mut row, &gobgpd, &bird, from, 0);
    row
}

/// A gobgpd and a bird2 in namespaces of their own, each with one eBGP session to `origin`,
/// both graceful-restart helpers; returns once both answer their CLI.
fn start_receivers(lab: &Lab, origin: &Host) -> (Gobgpd, Bird) {
    let (g, r) = (lab.host("gobgp"), lab.host("bird"));
    let mut neighbor = GobgpNeighbor::new(origin.ipv4.into(), ORIGIN_AS);
    neighbor.graceful_restart = Some(RESTART_TIME);
    let gobgpd = Gobgpd::start(
        &g,
        GobgpConfig {
            asn: GOBGP_AS,
            neighbors: vec![neighbor],
            ..GobgpConfig::default()
        },
    );
    let mut peer = BirdPeer::new(BIRD_PROTOCOL, origin.ipv4.into(), ORIGIN_AS);
    peer.graceful_restart = Some(RESTART_TIME);
    let bird = Bird::start(
        &r,
        BirdConfig {
            router_id: None,
            asn: BIRD_AS,
            protocols: vec![peer],
            static_routes: Vec::new(),
            extra_config: String::new(),
        },
    );
    (gobgpd, bird)
}
