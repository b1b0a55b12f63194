//! The on-disk state store (`baton::store`) timed in this optimised build: how long the intent
//! (the configuration and N IPv4 + N / 10 IPv6 routes added at run time, saved whole when its
//! journal of changes is compacted; the configured routes are not in it, the configuration file
//! holds them) and a RIB snapshot of as many routes take to save durably and to load back, and
//! how large their files are. No daemon and no root needed; the files go to the build's scratch directory, on the same
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

use super::watch::Routes;
use super::{grouped, originated};

/// Distinct attribute sets in the RIB snapshot: about a full Internet table's.
const ATTR_SETS: u32 = 30_000;
/// Peers whose Adj-RIB-In the snapshot's routes are spread over.
const PEERS: u32 = 4;
/// Next hop of the IPv6 routes, in the intent and in the snapshot's IPv6 attribute sets.
const NEXT_HOP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// The routes of each state at one N of `--store-routes`: N IPv4 and N / 10 IPv6, the
/// proportions of a full table (and of tables 1 and 2 when `--v6` is not given).
pub fn stored(n: usize) -> Routes {
    Routes {
        v4: n as u64,
        v6: n as u64 / 10,
    }
}

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

/// Times of both kinds of state holding `routes` (IPv4 and IPv6): (intent, RIB snapshot).
pub fn bench_store(routes: Routes) -> (StoreTimes, StoreTimes) {
    let n = routes.total() as usize;
    let dir = scratch_dir(n);
    let state = StateDir::open(&dir).expect("open the state directory");

    let intent = intent(routes);
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

    let rib = rib_snapshot(routes);
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

/// The benchmark's own intent: its configuration (two graceful-restart peers) and the
/// originated prefixes of tables 1 and 2 (`routes`: /28s of 10.0.0.0/8, /64s of
/// 2001:db8:1000::/36 with a next hop of their family) as routes added at run time, the part of
/// the intent that grows.
fn intent(routes: Routes) -> Intent {
    let toml = "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\n\
                listen = [\"198.18.0.1:179\"]\nstate_dir = \"/var/lib/baton\"\n\n\
                [[peer]]\naddress = \"198.18.0.2\"\nremote_as = 65002\n\
                [peer.graceful_restart]\nenabled = true\nrestart_time = 120\n\n\
                [[peer]]\naddress = \"198.18.0.3\"\nremote_as = 65003\n\
                [peer.graceful_restart]\nenabled = true\nrestart_time = 120\n";
    let config = config::parse(toml, "bench.toml").expect("the bench's config parses");
    let mut intent = Intent::new(config);
    intent.announce(
        originated(routes)
            .map(|(addr, len)| {
                let mut route =
                    Route::new(Prefix::new(addr, len).expect("a prefix without host bits"));
                if addr.is_ipv6() {
                    route.next_hop = Some(NEXT_HOP6.into());
                }
                route
            })
            .collect(),
    );
    intent
}

/// `routes` shaped like a full table, the prefixes of [`intent`]: spread over [`PEERS`] peers'
/// Adj-RIB-In, [`ATTR_SETS`] distinct attribute sets per family (AS paths of 2 to 6 ASes, a
/// MED, a community; a next hop of the family).
fn rib_snapshot(routes: Routes) -> RibSnapshot {
    let sets = |next_hop: IpAddr| -> Vec<SharedAttrs> {
        (0..ATTR_SETS)
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
                p.next_hop = Some(next_hop);
                Arc::new(p)
            })
            .collect()
    };
    let sets = [
        sets(Ipv4Addr::new(198, 18, 0, 2).into()),
        sets(NEXT_HOP6.into()),
    ];
    let prefixes: Vec<Prefix> = originated(routes)
        .map(|(addr, len)| Prefix::new(addr, len).expect("a prefix without host bits"))
        .collect();
    let mut rib = RibSnapshot::default();
    for peer in 0..PEERS {
        let saved: SavedRoutes = (peer as usize..prefixes.len())
            .step_by(PEERS as usize)
            .map(|i| {
                let family = usize::from(prefixes[i].addr().is_ipv6());
                (prefixes[i], &sets[family][i % ATTR_SETS as usize])
            })
            .collect();
        let addr = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1 + peer as u8));
        rib.adj_in.insert(addr, saved);
    }
    rib
}

/// The store table: one row per kind of state and route count (N IPv4 + N / 10 IPv6), each a
/// list of runs.
pub fn print_store_table(rows: &[(Routes, Vec<(StoreTimes, StoreTimes)>)], runs: usize) {
    let table = super::figures::table("store");
    let (dir, fs) = scratch_place();
    let counts: Vec<String> = rows
        .iter()
        .map(|(r, _)| format!("{} + {}", grouped(r.v4), grouped(r.v6)))
        .collect();
    println!(
        "state store (baton::store, this optimised build; files in {}, {fs}), N IPv4 + N / 10 \
         IPv6 routes in each state: {}",
        dir.display(),
        counts.join("; ")
    );
    let w = if runs > 1 { 20 } else { 10 };
    println!(
        "{:<34} {:>8} {:>7} {:>9} {:>w$} {:>w$} {:>w$}",
        "state", "IPv4", "IPv6", "file MB", "save s", "again s", "load s"
    );
    for (routes, times) in rows {
        for (kind, pick) in [
            (
                "intent (config, run-time routes)",
                (|t: &(StoreTimes, StoreTimes)| t.0) as fn(&_) -> StoreTimes,
            ),
            ("RIB snapshot (4 peers)", |t: &(StoreTimes, StoreTimes)| t.1),
        ] {
            let row = format!("{kind}, N = {} + {}", routes.v4, routes.v6);
            let cell = |column: &str, unit: &str, f: &dyn Fn(StoreTimes) -> f64, precision| {
                let values: Vec<Option<f64>> = times.iter().map(|t| Some(f(pick(t)))).collect();
                table.figure(&row, column, unit, &values, precision)
            };
            println!(
                "{kind:<34} {:>8} {:>7} {:>9} {:>w$} {:>w$} {:>w$}",
                cell("IPv4", "routes", &|_| routes.v4 as f64, 0),
                cell("IPv6", "routes", &|_| routes.v6 as f64, 0),
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
         read, checksum, decode. Both states hold the prefixes tables 1 and 2 originate: /28s of \
         10.0.0.0/8 and /64s of 2001:db8:1000::/36 (N / 10 of these whatever --v6 says; their \
         next hop {NEXT_HOP6}). The intent (here the routes added at run time; the configured \
         routes are not in it) is saved whole when its journal of run-time changes is \
         compacted; the RIB snapshot's routes spread over {PEERS} peers' Adj-RIB-In and \
         {ATTR_SETS} distinct attribute sets per family, as a full table's (one per route below \
         that)."
    );
}
