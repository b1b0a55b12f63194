//! The on-disk state store (`baton::store`) timed in this optimised build: how long the intent
//! (the configuration and N routes added at run time, saved whole when its journal of changes
//! is compacted; the configured routes are not in it, the configuration file holds them) and a
//! RIB snapshot of N routes take to save durably and to load back, and how large their files
//! are. No daemon and no root needed; the files go to the build's scratch directory, on the same
//! disk as the build (not a tmpfs, so the fsyncs are real).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::config::{self, Route};
use baton::rib::{PathAttrs, SharedAttrs};
use baton::store::{Intent, RibSnapshot, SavedRoutes, StateDir};
use baton::wire::{AsPath, AsSegment, Community, Origin, Prefix, SegmentType};

use super::prefix_addr;

/// Distinct attribute sets in the RIB snapshot: about a full Internet table's.
const ATTR_SETS: u32 = 30_000;
/// Peers whose Adj-RIB-In the snapshot's routes are spread over.
const PEERS: u32 = 4;

/// What one save/load round of one kind of state measured.
#[derive(Clone, Copy, Default)]
pub struct StoreTimes {
    /// Size of the state file, bytes.
    pub bytes: u64,
    /// First save (no previous file to keep).
    pub save: Duration,
    /// Second save: also checks the current file and keeps it as `.prev`.
    pub save_again: Duration,
    /// Load (checksum, decode).
    pub load: Duration,
}

/// Times of both kinds of state for `n` routes: (intent, RIB snapshot).
pub fn bench_store(n: usize) -> (StoreTimes, StoreTimes) {
    let dir = scratch_dir(n);
    let state = StateDir::open(&dir).expect("open the state directory");

    let intent = intent(n);
    let t = Instant::now();
    state.save_intent(&intent).expect("save the intent");
    let save = t.elapsed();
    let t = Instant::now();
    state.save_intent(&intent).expect("save the intent again");
    let save_again = t.elapsed();
    let t = Instant::now();
    let back = state.load_intent().expect("load the intent");
    let load = t.elapsed();
    let back = back.expect("an intent was saved").value;
    assert_eq!(back.api_routes.len(), n, "the intent read back");
    let intent_times = StoreTimes {
        bytes: file_size(&state.intent_path()),
        save,
        save_again,
        load,
    };
    drop((intent, back));

    let rib = rib_snapshot(n);
    let t = Instant::now();
    state.save_rib(&rib).expect("save the RIB snapshot");
    let save = t.elapsed();
    let t = Instant::now();
    state.save_rib(&rib).expect("save the RIB snapshot again");
    let save_again = t.elapsed();
    let t = Instant::now();
    let back = state.load_rib().expect("load the RIB snapshot");
    let load = t.elapsed();
    let back = back.expect("a snapshot was saved").value;
    assert_eq!(back.route_count(), n, "the RIB snapshot read back");
    let rib_times = StoreTimes {
        bytes: file_size(&state.rib_path()),
        save,
        save_again,
        load,
    };
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
    (intent_times, rib_times)
}

/// Where the files go, and the file system it is on (`findmnt`), for the table's legend.
pub fn scratch_place() -> (PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let fs = Command::new("findmnt")
        .args(["-n", "-o", "FSTYPE", "-T"])
        .arg(&dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        });
    (dir, fs)
}

/// An empty directory for one round.
fn scratch_dir(n: usize) -> PathBuf {
    let dir = scratch_place()
        .0
        .join(format!("store-bench-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The benchmark's own intent: its configuration (two graceful-restart peers) and the N
/// originated /28s as routes added at run time, the part of the intent that grows.
fn intent(n: usize) -> Intent {
    let toml = "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\n\
                listen = [\"198.18.0.1:179\"]\nstate_dir = \"/var/lib/baton\"\n\n\
                [[peer]]\naddress = \"198.18.0.2\"\nremote_as = 65002\n\
                [peer.graceful_restart]\nenabled = true\nrestart_time = 120\n\n\
                [[peer]]\naddress = \"198.18.0.3\"\nremote_as = 65003\n\
                [peer.graceful_restart]\nenabled = true\nrestart_time = 120\n";
    let config = config::parse(toml, "bench.toml").expect("the bench's config parses");
    let mut intent = Intent::new(config);
    intent.announce(
        (0..n)
            .map(|i| {
                let (addr, len) = prefix_addr(i);
                Route::new(Prefix::new(IpAddr::V4(addr), len).expect("a /28 without host bits"))
            })
            .collect(),
    );
    intent
}

/// N routes shaped like a full table: spread over [`PEERS`] peers' Adj-RIB-In,
/// [`ATTR_SETS`] distinct attribute sets (AS paths of 2 to 6 ASes, a MED, a community).
fn rib_snapshot(n: usize) -> RibSnapshot {
    let sets: Vec<SharedAttrs> = (0..ATTR_SETS)
        .map(|i| {
            let mut p = PathAttrs::default();
            p.attrs.origin = Some(Origin::Igp);
            p.attrs.as_path = Some(AsPath {
                segments: vec![AsSegment {
                    kind: SegmentType::AsSequence,
                    asns: (0..2 + i % 5).map(|k| 64512 + (i * 7 + k) % 1000).collect(),
                }],
            });
            p.attrs.med = Some(i);
            p.attrs.communities = vec![Community(0xFDE9_0000 | (i % 100))];
            p.next_hop = Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)));
            Arc::new(p)
        })
        .collect();
    let n = u32::try_from(n).expect("at most 2^20 routes");
    let mut rib = RibSnapshot::default();
    for peer in 0..PEERS {
        let routes: SavedRoutes = (peer..n)
            .step_by(PEERS as usize)
            .map(|i| (snapshot_prefix(i), &sets[(i % ATTR_SETS) as usize]))
            .collect();
        let addr = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1 + peer as u8));
        rib.adj_in.insert(addr, routes);
    }
    rib
}

/// The i-th route of the snapshot: IPv4 /32s of 198.18.0.0/15 first, then IPv6 /64s of
/// 2001:db8::/32.
fn snapshot_prefix(i: u32) -> Prefix {
    if i < 1 << 17 {
        let a = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i;
        Prefix::new(IpAddr::V4(Ipv4Addr::from(a)), 32).expect("a /32")
    } else {
        let a = (0x2001_0db8u128 << 96) | (u128::from(i) << 64);
        Prefix::new(IpAddr::V6(Ipv6Addr::from(a)), 64).expect("a /64 without host bits")
    }
}

/// The store table: one row per kind of state and N, each a list of runs.
pub fn print_store_table(rows: &[(usize, Vec<(StoreTimes, StoreTimes)>)], runs: usize) {
    let table = super::figures::table("store");
    let (dir, fs) = scratch_place();
    println!(
        "state store (baton::store, this optimised build; files in {}, {fs}):",
        dir.display()
    );
    let w = if runs > 1 { 20 } else { 10 };
    println!(
        "{:<34} {:>8} {:>9} {:>w$} {:>w$} {:>w$}",
        "state", "routes", "file MB", "save s", "again s", "load s"
    );
    for (n, times) in rows {
        for (kind, pick) in [
            (
                "intent (config, N run-time routes)",
                (|t: &(StoreTimes, StoreTimes)| t.0) as fn(&_) -> StoreTimes,
            ),
            ("RIB snapshot (4 peers)", |t: &(StoreTimes, StoreTimes)| t.1),
        ] {
            let row = format!("{kind}, N = {n}");
            let cell = |column: &str, unit: &str, f: &dyn Fn(StoreTimes) -> f64, precision| {
                let values: Vec<Option<f64>> = times.iter().map(|t| Some(f(pick(t)))).collect();
                table.figure(&row, column, unit, &values, precision)
            };
            println!(
                "{kind:<34} {n:>8} {:>9} {:>w$} {:>w$} {:>w$}",
                cell("file MB", "MB", &|t| t.bytes as f64 / 1e6, 1),
                cell("save s", "s", &|t| t.save.as_secs_f64(), 3),
                cell("again s", "s", &|t| t.save_again.as_secs_f64(), 3),
                cell("load s", "s", &|t| t.load.as_secs_f64(), 3),
            );
        }
    }
    println!(
        "save: encode (JSON), write, fsync, rename, fsync the directory; \"again\": a second save \
         of the same state, which also checks the current file and keeps it as .prev; load: \
         read, checksum, decode. The intent (here N routes added at run time; the configured routes are \
         not in it) is saved whole when its journal of run-time changes is compacted; the \
         RIB snapshot's routes spread over {PEERS} peers' Adj-RIB-In and \
         {ATTR_SETS} distinct attribute sets, as a full table's (one per route below that)."
    );
}
