//! Kernel routes (`baton::fib`) timed in this optimised build: how fast the installer puts N
//! routes into a kernel table, how long one reconciliation run over them takes, and how long
//! removing them all takes (what SIGTERM does).
//!
//! It drives the installer directly, no peer and no speaker: a thread of its own moves into a
//! fresh network namespace (`unshare(CLONE_NEWNET)`, root needed) with a veth pair, one end
//! holding 198.18.0.1/24, starts the installer there on a tokio runtime, and feeds it N best-path
//! changes at once, as the Loc-RIB does when a full table arrives: IPv4 /28s from 10.0.0.0/8,
//! all through 198.18.0.2. The kernel is watched by a netlink dump of our protocol's routes on
//! a second socket, repeated until it counts all N: "in kernel" is when the first such dump
//! started (its resolution is one dump: about a second at a million routes); "acked" is when
//! the kernel had answered every write. The reconciliation run is the next periodic one after
//! that (every [`INTERVAL`]), nothing to repair: dump, compare, no write.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::config::Fib;
use baton::fib::installer::{self, Options};
use baton::fib::netlink::Kernel;
use baton::metrics::Metrics;
use baton::rib::{BestPathChange, Candidate, PathAttrs, PeerRef, Source};
use baton::wire::Prefix;
use tokio::sync::{mpsc, watch};

use super::prefix_addr;

/// Seconds between reconciliation runs: longer than the install at a million routes takes on
/// a small machine, so that a run rarely overlaps it.
const INTERVAL: u32 = 20;
/// Give up on one step after this long.
const STEP: Duration = Duration::from_secs(600);
const PROTOCOL: u8 = 200;
const MAIN: u32 = 254;

/// What one run measured for N routes.
#[derive(Clone, Copy, Default)]
pub struct FibTimes {
    /// Feed to every write answered.
    pub acked: Option<Duration>,
    /// Feed to the start of the first dump counting all N.
    pub held: Option<Duration>,
    /// One reconciliation run over the N routes.
    pub reconcile: Option<Duration>,
    /// Removing them all (the deliberate stop).
    pub removed: Option<Duration>,
}

/// For each N of `counts`, `runs` runs (none unless `wanted`): N and each run's times.
pub fn bench_all(wanted: bool, counts: &[usize], runs: usize) -> Vec<(usize, Vec<FibTimes>)> {
    let counts = if wanted { counts } else { &[] };
    counts
        .iter()
        .map(|&n| {
            println!("  kernel routes, {n} routes");
            (n, (0..runs).map(|_| bench_fib(n)).collect())
        })
        .collect()
}

/// One run with `n` routes, in a namespace of its own.
pub fn bench_fib(n: usize) -> FibTimes {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("the fib bench needs root (unshare: {e})"));
        for args in [
            "link set lo up",
            "link add d0 type veth peer name d1",
            "addr add 198.18.0.1/24 dev d0",
            "link set d0 up",
            "link set d1 up",
        ] {
            let ok = Command::new("ip")
                .args(args.split_whitespace())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args} failed");
        }
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(run(n))
    })
    .join()
    .expect("the fib bench thread")
}

fn table(n: usize) -> Vec<BestPathChange> {
    let gateway = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
    let best = Candidate {
        source: Source::Peer(Arc::new(PeerRef {
            address: gateway,
            router_id: Ipv4Addr::new(198, 18, 0, 2),
            ibgp: false,
        })),
        attrs: Arc::new(PathAttrs {
            attrs: Default::default(),
            next_hop: Some(gateway),
        }),
    };
    (0..n)
        .map(|i| {
            let (addr, len) = prefix_addr(i);
            BestPathChange {
                prefix: Prefix::new(addr.into(), len).expect("a /28"),
                old: None,
                new: Some(best.clone()),
                equal: Vec::new(),
            }
        })
        .collect()
}

/// Poll until `f` holds or [`STEP`] passed; false on a timeout.
async fn until(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + STEP;
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// (sum, count) of the reconcile duration histogram.
fn reconcile_seconds(metrics: &Metrics) -> (f64, f64) {
    let text = metrics.render();
    let read = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    (
        read("baton_fib_reconcile_duration_seconds_sum "),
        read("baton_fib_reconcile_duration_seconds_count "),
    )
}

async fn run(n: usize) -> FibTimes {
    let metrics = Arc::new(Metrics::new());
    let (feed, rx) = mpsc::unbounded_channel();
    let (_gate, deletes) = watch::channel(true);
    let fib = Fib {
        enabled: true,
        reconcile_interval: INTERVAL,
        ..Fib::default()
    };
    let handle = installer::spawn(
        Options {
            fib,
            metrics: metrics.clone(),
            deletes,
            hold: None,
        },
        rx,
    )
    .expect("open netlink");
    // The first batch is the (empty) table at start; the first run adopts nothing.
    feed.send(Vec::new().into()).expect("the installer runs");
    until(|| metrics.fib.reconcile_runs.get() >= 1).await;
    let watcher = Kernel::open(PROTOCOL).expect("open netlink");
    let changes = table(n);
    let mut times = FibTimes::default();

    let start = Instant::now();
    feed.send(changes.into()).expect("the installer runs");
    let acked = {
        let metrics = metrics.clone();
        tokio::spawn(async move {
            until(|| metrics.fib.installs.get() >= n as u64)
                .await
                .then(|| start.elapsed())
        })
    };
    while start.elapsed() < STEP {
        let at = start.elapsed();
        let held = watcher.dump(MAIN, true).await.map_or(0, |f| f.len());
        if held >= n {
            times.held = Some(at);
            break;
        }
    }
    times.acked = acked.await.ok().flatten();

    let (sum, count) = reconcile_seconds(&metrics);
    if until(|| reconcile_seconds(&metrics).1 > count).await {
        let (sum2, count2) = reconcile_seconds(&metrics);
        times.reconcile = Some(Duration::from_secs_f64((sum2 - sum) / (count2 - count)));
    }
    let start = Instant::now();
    handle.stop(true).await;
    let left = watcher.dump(MAIN, true).await.map_or(n, |f| f.len());
    times.removed = (left == 0).then(|| start.elapsed());
    times
}

/// The table: one line per N, medians (and ranges) over the runs.
pub fn print_fib_table(rows: &[(usize, Vec<FibTimes>)], runs: usize) {
    println!(
        "kernel routes (baton::fib installer driven directly in a network namespace, IPv4, one \
         next hop; no peer):"
    );
    let table = super::figures::table("fib");
    let w = if runs > 1 { 20 } else { 12 };
    println!(
        "{:>8} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$}",
        "routes", "acked s", "in kernel s", "routes/s", "reconcile s", "remove s"
    );
    for (n, times) in rows {
        let row = format!("N = {n}");
        let cell = |column: &str, unit: &str, f: &dyn Fn(&FibTimes) -> Option<f64>, precision| {
            let values: Vec<Option<f64>> = times.iter().map(f).collect();
            table.figure(&row, column, unit, &values, precision)
        };
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        println!(
            "{n:>8} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$}",
            cell("acked s", "s", &|t| secs(t.acked), 2),
            cell("in kernel s", "s", &|t| secs(t.held), 2),
            cell(
                "routes/s",
                "routes/s",
                &|t| secs(t.held).map(|s| *n as f64 / s),
                0
            ),
            cell("reconcile s", "s", &|t| secs(t.reconcile), 2),
            cell("remove s", "s", &|t| secs(t.removed), 2),
        );
    }
    println!(
        "acked: the feed to every write answered by the kernel and accounted (counted after \
         each pipelined batch of writes); in kernel: to the start of the \
         first dump of our protocol's routes that counts them all (routes/s from it); reconcile: \
         one periodic run over them (dump, compare, nothing to write); remove: deleting them \
         all, as SIGTERM does."
    );
}
