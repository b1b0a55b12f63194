//! The project's benchmark, six tables in one run on this machine:
//!
//! 1. Start-up: how long until two real peers (a gobgpd and a bird2, each in its own network
//!    namespace) hold every one of N IPv4 and M IPv6 originated routes, for baton's first
//!    start, for its graceful restart after `kill -9`, and for bird2 and gobgpd doing the same
//!    work, side by side. Also the originator's peak RSS and CPU time.
//! 2. Replacing the speaker (`startup/upgrade.rs`): `batonctl upgrade` to another build and the
//!    speaker killed with SIGKILL, timed until both peers hold all routes fresh again, with the
//!    fewest routes the peers showed meanwhile; next to the `kill -9` restart of table 1.
//! 3. The state store (`startup/store.rs`): save and load times and file sizes of the intent and
//!    of a RIB snapshot, for 100,000 and 1,000,000 IPv4 routes and a tenth as many IPv6 besides;
//!    and loading the configuration with that many IPv4 routes as `[[route]]` tables and as a
//!    `routes_file` (`startup/config_parse.rs`).
//! 4. Announcing through an API (`startup/api.rs`): baton's `POST /v1/routes`, one IPv4 route
//!    per request, and N IPv4 + M IPv6 in batches, next to gobgpd's `gobgp global rib add` and
//!    gRPC AddPathStream; routes acknowledged per second, and the time until both peers hold
//!    them all, both families.
//! 5. Kernel routes (`startup/fib.rs`): the FIB installer in a network namespace, no peer:
//!    routes/s until the kernel holds 100k and 1M routes, a reconciliation run, removal.
//! 6. Receiving a full table (`startup/ingest.rs`): a wire-speed injector of our own
//!    (`startup/injector.rs`, UPDATEs encoded beforehand with `baton::wire`) writes 1M IPv4 and
//!    100k IPv6 routes in one burst to baton, bird2 and gobgpd in turn: seconds until each holds
//!    them all, routes/s, peak RSS and CPU of all its processes, how fast it answers a status
//!    query meanwhile, and baton's speaker RSS around the RIB snapshot save that follows.
//!
//! Run it with `bin/bench` (or `cargo bench --bench startup -- --routes N`); it needs root and
//! the Debian packages gobgpd and bird2, like the integration tests whose harness it reuses, and
//! python3-grpcio for the gobgpd originator (see `startup/gobgp_origin.rs`).
//!
//! This is a measurement, not a test: nothing here fails on a slow figure; a scenario that does
//! not finish within its deadline prints "timeout" and the run goes on.

#[path = "startup/api.rs"]
mod api;
#[path = "startup/api_client.rs"]
mod api_client;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "startup/config_parse.rs"]
mod config_parse;
#[path = "startup/fib.rs"]
mod fib;
#[path = "startup/figures.rs"]
mod figures;
#[path = "startup/gobgp_origin.rs"]
mod gobgp_origin;
#[path = "startup/ingest.rs"]
mod ingest;
#[path = "startup/ingest_report.rs"]
mod ingest_report;
#[path = "startup/injector.rs"]
mod injector;
#[path = "startup/machine.rs"]
mod machine;
#[path = "startup/options.rs"]
mod options;
#[path = "startup/report.rs"]
mod report;
#[path = "startup/store.rs"]
mod store;
#[path = "startup/upgrade.rs"]
mod upgrade;
#[path = "startup/watch.rs"]
mod watch;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::baton::{global_toml, second_build, Baton};
use common::bird::{Bird, BirdConfig, BirdPeer};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::netns::{Host, Lab};
use common::{poll, Family};
use config_parse::{bench_config, print_config_table};
use machine::{cpu_time, peak_rss_kib, wait_quiet, Machine};
use options::{parse_args, Options};
use report::print_startup_table;
use store::{bench_store, print_store_table, StoreTimes};
use upgrade::{
    bench_speaker_kill, bench_upgrade, print_replacement_table, with_monitors, Receivers,
    Replacement,
};
use watch::{
    bird_held, gobgp_held, gobgp_updates, originate_watched, receiver_stats, watch_receivers,
    Routes, Times,
};

/// Distinct /28s in 10.0.0.0/8 (and as many /64s of 2001:db8:1000::/36).
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
/// Up to this N + M the scenarios read gobgpd's routes once held, to count stale ones and see
/// the next hops ([`check_gobgpd`]).
const CHECK_STALE_UP_TO: usize = 200_000;
/// Deadline for setup steps (a daemon answering, a session noticing a kill).
const SETUP: Duration = Duration::from_secs(60);
/// How long to wait for the receivers to be idle before the speaker is replaced (gobgpd goes on
/// digesting a large table well after it shows every route).
const QUIET: Duration = Duration::from_secs(180);

/// What one scenario measured (`None` for a timeout or not measured).
#[derive(Default)]
struct Row {
    /// Spawn to all N + M routes at gobgpd.
    gobgpd: Option<Duration>,
    /// Spawn to all N + M routes at bird2.
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
    /// Spawn to baton's control socket accepting (the supervisor's: config parsed).
    ready: Option<Duration>,
    /// Spawn to gobgpd having taken the whole AddPathStream.
    injected: Option<Duration>,
    /// UPDATE messages gobgpd received in this scenario (End-of-RIB included).
    gobgpd_updates: Option<u64>,
    /// The receivers' peak RSS, KiB.
    gobgpd_rss_kib: Option<u64>,
    bird_rss_kib: Option<u64>,
}

impl Row {
    fn set_times(&mut self, gobgpd: Times, bird: Times) {
        (self.gobgpd, self.gobgpd_99, self.gobgpd_up) = (gobgpd.all, gobgpd.most, gobgpd.up);
        (self.bird, self.bird_99, self.bird_up) = (bird.all, bird.most, bird.up);
    }
}

/// The scenarios, in the order of the table.
const SCENARIOS: [&str; 4] = [
    "baton first start",
    "baton restart (kill -9, GR)",
    "bird2 originating",
    "gobgpd originating (gRPC)",
];

fn main() {
    if let Some(path) = std::env::var_os(config_parse::LOAD_ONLY) {
        config_parse::load_only(std::path::Path::new(&path));
        return;
    }
    // `cargo test --all-targets` (bin/test) builds and runs bench targets too, without
    // `--bench`: figures are for bin/bench, not for the test suite.
    // The injector's bytes are checked there, though (decoded back with baton's decoder).
    // So are the figures' recorder and its JSON.
    if !std::env::args().any(|a| a == "--bench") {
        let messages = injector::self_check();
        figures::self_check();
        println!(
            "startup bench: not run by cargo test (use bin/bench); the injector's {messages} \
             UPDATEs decode as encoded, the figures' JSON holds their median and range"
        );
        return;
    }
    let options = parse_args();
    // Created now, so that a path it cannot write to fails before the run rather than after.
    let json_file = options.json.as_ref().map(|path| {
        std::fs::File::create(path).unwrap_or_else(|e| {
            eprintln!("bench: --json {}: {e}", path.display());
            std::process::exit(2)
        })
    });
    let (n, m) = (options.routes, options.v6);
    println!(
        "baton benchmark: N = {n} originated IPv4 routes, distinct /28s from 10.0.0.0/8, and \
         M = {m} IPv6, distinct /64s from 2001:db8:1000::/36 (route data only, never on an \
         interface), {} run(s) of each scenario",
        options.runs
    );
    let machine = Machine::read();
    machine.print();
    println!(
        "receivers: a gobgpd and a bird2, each in its own network namespace, eBGP from the \
         originator, graceful-restart helpers (restart time {RESTART_TIME} s)\n"
    );

    let parts = options.parts;
    let gobgpd_unavailable = if parts.gobgpd {
        gobgp_origin::unavailable()
    } else {
        Some("not run (--only)".into())
    };
    // runs[r][s]: run r of scenario s; replacements[r]: run r of the replacement events.
    let mut runs: Vec<Vec<Row>> = Vec::new();
    let mut replacements: Vec<[Replacement; 3]> = Vec::new();
    let mut receivers = None;
    for run in 1..=options.runs {
        if !(parts.baton || parts.bird || parts.gobgpd) {
            break;
        }
        println!("run {run}/{}", options.runs);
        let (first, restart) = if parts.baton {
            let (first, restart, replaced, at) = bench_baton(&options);
            replacements.push(replaced);
            receivers = Some(at);
            (first, restart)
        } else {
            (Row::default(), Row::default())
        };
        let bird = if parts.bird {
            bench_bird(&options)
        } else {
            Row::default()
        };
        let gobgpd = match &gobgpd_unavailable {
            None => gobgp_origin::bench_gobgpd(&options),
            Some(_) => Row::default(),
        };
        runs.push(vec![first, restart, bird, gobgpd]);
    }
    // store_runs[k]: the k-th N's routes (N IPv4, N / 10 IPv6), and each run's (intent, RIB
    // snapshot) times.
    let mut store_runs: Vec<(Routes, Vec<(StoreTimes, StoreTimes)>)> = Vec::new();
    if parts.store {
        for &n in &options.store_routes {
            let routes = store::stored(n);
            println!("  state store, {} + {} routes", routes.v4, routes.v6);
            let times = (0..options.runs).map(|_| bench_store(routes)).collect();
            store_runs.push((routes, times));
        }
    }
    // config_runs[k]: N, and each run's ([[route]] tables, routes file) load times.
    let mut config_runs = Vec::new();
    if parts.store {
        for &routes in &options.store_routes {
            println!("  configuration load, {routes} routes");
            let times = (0..options.runs).map(|_| bench_config(routes)).collect();
            config_runs.push((routes, times));
        }
    }
    // api_runs[r]: run r of every API scenario.
    let mut api_runs = Vec::new();
    let grpc_unavailable = if parts.api {
        gobgp_origin::unavailable()
    } else {
        None
    };
    let fib_runs = fib::bench_all(parts.fib, &options.fib_routes, options.runs);
    if parts.api {
        for run in 1..=options.runs {
            println!("API run {run}/{}", options.runs);
            api_runs.push(api::bench_api(&options, &grpc_unavailable));
        }
    }
    let (ingest_runs, burst) = ingest::bench_all(&options);
    println!();
    if !runs.is_empty() {
        print_startup_table(&options, &runs, &gobgpd_unavailable);
    }
    if let Some(at) = receivers {
        println!();
        print_replacement_table(options.originated(), &replacements, at);
    }
    if !store_runs.is_empty() {
        println!();
        print_store_table(&store_runs, options.runs);
    }
    if !config_runs.is_empty() {
        println!();
        print_config_table(&config_runs, options.runs);
    }
    if !api_runs.is_empty() {
        println!();
        api::print_api_table(&options, &api_runs, &grpc_unavailable);
    }
    if !fib_runs.is_empty() {
        println!();
        fib::print_fib_table(&fib_runs, options.runs);
    }
    if let Some(burst) = burst {
        println!();
        ingest_report::print_ingest_table(&ingest_runs, options.ingest, &burst);
    }
    if let Some(mut file) = json_file {
        let text = figures::document(&machine, &options.to_json());
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write the --json file");
    }
}

/// `n` with its thousands grouped by commas: 1,000,000.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 4 / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The i-th originated prefix as address and length: consecutive /28s from 10.0.0.0.
fn prefix_addr(i: usize) -> (Ipv4Addr, u8) {
    let base = 0x0a00_0000u32 + u32::try_from(i).expect("i < 2^20") * 16;
    (Ipv4Addr::from(base), 28)
}

/// The i-th originated IPv6 prefix: consecutive /64s from 2001:db8:1000::/64, clear of the
/// lab's link (2001:db8::/64) and of the ingest table's 2001:db8:1::/48 on.
fn prefix6_addr(i: usize) -> (Ipv6Addr, u8) {
    let i = u32::try_from(i).expect("i < 2^20");
    let hi = u16::try_from(0x1000 + (i >> 16)).expect("i < 2^20");
    (Ipv6Addr::new(0x2001, 0xdb8, hi, i as u16, 0, 0, 0, 0), 64)
}

/// Every originated prefix of tables 1 and 2 (and of the state store's and the API's batches):
/// the `routes.v4` IPv4 ones, then the `routes.v6` IPv6 ones.
fn originated(routes: Routes) -> impl Iterator<Item = (IpAddr, u8)> {
    let v4 = (0..routes.v4 as usize)
        .map(prefix_addr)
        .map(|(a, l)| (a.into(), l));
    let v6 = (0..routes.v6 as usize)
        .map(prefix6_addr)
        .map(|(a, l)| (a.into(), l));
    v4.chain(v6)
}

/// A `[[peer]]` table of baton's: fast reconnects, graceful restart, IPv4 unicast and, with
/// `v6`, IPv6 unicast.
fn baton_peer(address: IpAddr, remote_as: u32, v6: bool) -> String {
    let families = if v6 {
        r#""ipv4-unicast", "ipv6-unicast""#
    } else {
        r#""ipv4-unicast""#
    };
    format!(
        "[[peer]]\naddress = \"{address}\"\nremote_as = {remote_as}\nfamilies = [{families}]\n\
         connect_retry = 1\n\n[peer.graceful_restart]\nenabled = true\n\
         restart_time = {RESTART_TIME}\n\n"
    )
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// baton's first start, its graceful restart after `kill -9`, then in the same lab an upgrade
/// to another build and a `kill -9` of the speaker alone: the start-up rows, the replacement
/// events (upgrade, speaker kill, batond kill), and the receivers' addresses (gobgpd, bird2).
fn bench_baton(options: &Options) -> (Row, Row, [Replacement; 3], [IpAddr; 2]) {
    let want = options.originated();
    let lab = Lab::new();
    let origin = lab.host("origin");
    let (gobgpd, bird) = start_receivers(&lab, &origin, want.families());
    let from = IpAddr::from(origin.ipv4);
    let receivers = [gobgpd.host().ipv4.into(), bird.host().ipv4.into()];
    let rx = Receivers {
        gobgpd: &gobgpd,
        bird: &bird,
        from,
        want,
        deadline: options.deadline,
        count_gobgpd: options.count_gobgpd,
    };
    let mut replaced: [Replacement; 3] = Default::default();

    let paths = Baton::paths(&origin);
    let mut toml = global_toml(
        &paths,
        ORIGIN_AS,
        &origin.ipv4.to_string(),
        &[format!("{}:179", origin.ipv4)],
    );
    // The routes go in a `routes_file`, the form this project recommends at scale (the
    // configuration-load table compares it with `[[route]]` tables).
    std::fs::create_dir_all(&paths.dir).expect("create the instance directory");
    let routes_file = paths.dir.join("routes.txt");
    std::fs::write(&routes_file, routes_file_text(want, origin.ipv6))
        .expect("write the routes file");
    toml = format!(
        "{}routes_file = {:?}\n\n",
        toml.trim_end_matches('\n').to_string() + "\n",
        routes_file.display().to_string()
    );
    toml += &baton_peer(gobgpd.host().ipv4.into(), GOBGP_AS, want.v6 > 0);
    toml += &baton_peer(bird.host().ipv4.into(), BIRD_AS, want.v6 > 0);

    // First start: nothing in the state directory.
    println!("  baton first start");
    let start = Instant::now();
    let mut baton = Baton::spawn_at(&origin, paths.clone(), &toml, &[]);
    let deadline = options.deadline;
    let mut first = measure_baton(start, deadline, &mut baton, (&gobgpd, &bird), want, false);
    receiver_stats(&mut first, &gobgpd, &bird, from, 0);
    if first.gobgpd.is_none() || first.bird.is_none() {
        return (first, Row::default(), replaced, receivers);
    }
    check_gobgpd(&gobgpd, from, want, "the first start");

    let quiet = || match wait_quiet(&[gobgpd.pid(), bird.pid()], QUIET) {
        Some(d) if d > Duration::from_secs(2) => println!("  receivers idle after {d:.1?}"),
        Some(_) => {}
        None => println!("  receivers still busy after {QUIET:?}; going on"),
    };
    quiet();
    println!("  baton restart (kill -9)");
    // Restart: kill -9 leaves the marker, so the next start sets the Restart bit. The monitors
    // count the receivers' routes from the kill until they are fresh again.
    let (restarted, gobgpd_low, bird_low) = with_monitors(&rx, || {
        baton.kill();
        poll::until_true(
            SETUP,
            "the receivers to hold baton's routes as stale",
            || {
                let g = gobgp_held(&gobgpd, from);
                let b = bird_held(&bird);
                !g.fresh && !b.fresh && b.routes == want
            },
        );
        poll::until_true(SETUP, "gobgpd to leave its idle hold", || {
            gobgpd.neighbor_state(from).as_deref() == Some("active")
        });
        let updates_before = gobgp_updates(&gobgpd, from).unwrap_or(0);
        let start = Instant::now();
        let mut baton = Baton::spawn_at(&origin, paths.clone(), &toml, &[]);
        let mut restart = measure_baton(start, deadline, &mut baton, (&gobgpd, &bird), want, true);
        receiver_stats(&mut restart, &gobgpd, &bird, from, updates_before);
        (baton, restart)
    });
    let (baton, restart) = restarted;
    replaced[2] = Replacement {
        gobgpd: upgrade::Back {
            lost: None,
            fresh: restart.gobgpd,
        },
        bird: upgrade::Back {
            lost: None,
            fresh: restart.bird,
        },
        gobgpd_low,
        bird_low,
        ..Replacement::default()
    };
    let check_stale = |after: &str| check_gobgpd(&gobgpd, from, want, &format!("the {after}"));
    if restart.gobgpd.is_none() || restart.bird.is_none() {
        return (first, restart, replaced, receivers);
    }
    check_stale("restart");

    quiet();
    println!("  baton upgrade");
    let next = second_build(lab.dir());
    replaced[0] = bench_upgrade(&baton, &next, &rx);
    if replaced[0].gobgpd.fresh.is_none() || replaced[0].bird.fresh.is_none() {
        baton.dump_logs();
        return (first, restart, replaced, receivers);
    }
    check_stale("upgrade");

    quiet();
    println!("  baton speaker kill -9");
    replaced[1] = bench_speaker_kill(&baton, &rx);
    if replaced[1].gobgpd.fresh.is_none() || replaced[1].bird.fresh.is_none() {
        baton.dump_logs();
    } else {
        check_stale("speaker kill");
    }
    (first, restart, replaced, receivers)
}

/// The counters say "all N + M and End-of-RIB"; this reads what gobgpd holds from `from`
/// once, untimed, where that is affordable (gobgp prints ~0.5 KB of JSON per route), and says
/// how many routes, how many stale, and the IPv6 ones' next hops.
fn check_gobgpd(gobgpd: &Gobgpd, from: IpAddr, want: Routes, after: &str) {
    if want.total() > CHECK_STALE_UP_TO as u64 {
        return;
    }
    let routes: Vec<_> = want
        .families()
        .iter()
        .flat_map(|&f| gobgpd.adj_in(from, f))
        .collect();
    let stale = routes.iter().filter(|r| r.stale).count();
    let mut hops: Vec<IpAddr> = routes.iter().map(|r| r.next_hop).collect();
    hops.sort();
    hops.dedup();
    let hops: Vec<String> = hops.iter().map(IpAddr::to_string).collect();
    println!(
        "  check after {after}: gobgpd holds {} routes from the originator, {stale} of them \
         stale, next hops {}",
        routes.len(),
        hops.join(" ")
    );
}

/// baton's routes file: the originated prefixes, the IPv6 ones with next hop `next_hop6` (our
/// address on the lab's link: baton has no IPv6 address of its own on an IPv4 session).
fn routes_file_text(routes: Routes, next_hop6: Ipv6Addr) -> String {
    let mut lines = String::with_capacity(routes.total() as usize * 24);
    for (addr, len) in originated(routes) {
        let _ = match addr {
            IpAddr::V4(_) => writeln!(lines, "{addr}/{len}"),
            IpAddr::V6(_) => writeln!(lines, "{addr}/{len} nexthop {next_hop6}"),
        };
    }
    lines
}

/// Measures a batond spawned at `start`: receivers' times, when its control socket accepts,
/// and its CPU time and peak RSS once both receivers hold everything.
fn measure_baton(
    start: Instant,
    deadline: Duration,
    baton: &mut Baton,
    (gobgpd, bird): (&Gobgpd, &Bird),
    want: Routes,
    fresh: bool,
) -> Row {
    let from = IpAddr::from(baton.host().ipv4);
    let socket = baton.paths_of().control_socket.clone();
    let abort = AtomicBool::new(false);
    let mut row = Row::default();
    let (g, b) = std::thread::scope(|s| {
        let watchers =
            s.spawn(|| watch_receivers(start, deadline, gobgpd, bird, from, want, fresh, &abort));
        // Bounded by the watchers' own deadline.
        while !watchers.is_finished() {
            if !baton.is_running() {
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
    // batond is a supervisor and its speaker: count both.
    let mut pids = vec![baton.pid()];
    if let Some(speaker) = upgrade::status(baton)["speaker_pid"].as_u64() {
        pids.push(u32::try_from(speaker).expect("a pid"));
    }
    row.cpu = pids.iter().map(|&p| cpu_time(p)).sum();
    row.rss_kib = pids.iter().map(|&p| peak_rss_kib(p)).sum();
    if g.all.is_none() || b.all.is_none() {
        baton.dump_logs();
    }
    row
}

/// bird2 originating N IPv4 and M IPv6 static routes to the same two receivers.
fn bench_bird(options: &Options) -> Row {
    let want = options.originated();
    let lab = Lab::new();
    let origin = lab.host("origin");
    let (gobgpd, bird) = start_receivers(&lab, &origin, want.families());
    let from = IpAddr::from(origin.ipv4);

    let statics = bird_statics(want);
    let mut peers = Vec::new();
    for (name, host, asn) in [
        ("to_gobgp", gobgpd.host(), GOBGP_AS),
        ("to_bird", bird.host(), BIRD_AS),
    ] {
        let mut p = BirdPeer::new(name, host.ipv4.into(), asn);
        p.graceful_restart = Some(RESTART_TIME);
        p.ipv6 = want.v6 > 0;
        peers.push(p);
    }
    let config = BirdConfig {
        router_id: None,
        asn: ORIGIN_AS,
        protocols: peers,
        static_routes: Vec::new(),
        extra_config: statics,
    };

    println!("  bird2 originating");
    let mut row = Row::default();
    originate_watched(
        &mut row,
        (Instant::now(), options.deadline),
        (&gobgpd, &bird),
        (from, want),
        // Bird::start returns once birdc answers; the clock has been running since the call.
        |_| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Bird::start(&origin, config)
            }))
            .ok()
        },
    );
    receiver_stats(&mut row, &gobgpd, &bird, from, 0);
    row
}

/// bird2's static protocols for the originated routes: `static4`, and `static6` when there are
/// IPv6 ones. Rendered here rather than through `static_routes`, so that the timed part is
/// bird's.
fn bird_statics(routes: Routes) -> String {
    let mut statics = String::new();
    let (v4, v6): (Vec<_>, Vec<_>) = originated(routes).partition(|(a, _)| a.is_ipv4());
    for (name, channel, prefixes) in [("static4", "ipv4", v4), ("static6", "ipv6", v6)] {
        if prefixes.is_empty() {
            continue;
        }
        let _ = writeln!(statics, "protocol static {name} {{\n  {channel};");
        for (addr, len) in prefixes {
            let _ = writeln!(statics, "  route {addr}/{len} blackhole;");
        }
        statics.push_str("}\n");
    }
    statics
}

/// A gobgpd and a bird2 in namespaces of their own, each with one eBGP session to `origin`
/// over IPv4, carrying `families`, both graceful-restart helpers; returns once both answer
/// their CLI.
fn start_receivers(lab: &Lab, origin: &Host, families: &[Family]) -> (Gobgpd, Bird) {
    let (g, r) = (lab.host("gobgp"), lab.host("bird"));
    let mut neighbor = GobgpNeighbor::new(origin.ipv4.into(), ORIGIN_AS);
    neighbor.graceful_restart = Some(RESTART_TIME);
    neighbor.families = families.to_vec();
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
    peer.ipv6 = families.contains(&Family::Ipv6Unicast);
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
