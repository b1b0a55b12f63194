//! Table 6's printout: the three receivers of the ingest side by side, baton's ratios to the
//! other two, and baton's REST answer times and RSS around its RIB snapshot.

use std::time::Duration;

use super::figures::{self, summary};
use super::ingest::{Ingest, RECEIVERS};
use super::injector::Burst;

/// Median and longest of answer times, ms.
fn answers(times: &[Duration]) -> (Option<f64>, Option<f64>) {
    let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    (ms.get(ms.len() / 2).copied(), ms.last().copied())
}

/// The columns: title, unit, precision, value of one receiver in one run.
type Column = (
    &'static str,
    &'static str,
    usize,
    fn(&Ingest, u64) -> Option<f64>,
);

const COLUMNS: [Column; 7] = [
    ("held s", "s", 2, |r, _| r.held.map(|d| d.as_secs_f64())),
    ("routes/s", "routes/s", 0, |r, total| {
        r.held.map(|d| total as f64 / d.as_secs_f64())
    }),
    ("taken s", "s", 2, |r, _| r.taken.map(|d| d.as_secs_f64())),
    ("RSS MiB", "MiB", 1, |r, _| {
        r.rss_kib.map(|k| k as f64 / 1024.0)
    }),
    ("CPU s", "s", 2, |r, _| r.cpu.map(|d| d.as_secs_f64())),
    ("status med ms", "ms", 1, |r, _| answers(&r.status).0),
    ("status max ms", "ms", 1, |r, _| answers(&r.status).1),
];

/// Table 6, from `runs[r][receiver]`.
pub fn print_ingest_table(runs: &[[Ingest; 3]], (v4, v6): (usize, usize), burst: &Burst) {
    let total = (v4 + v6) as u64;
    let w = if runs.len() > 1 { 22 } else { 13 };
    println!(
        "receiving a full table from a wire-speed injector: N = {v4} IPv4 /32s + M = {v6} IPv6 \
         /64s, {} UPDATEs ({:.1} MB) written in one burst on one eBGP session:",
        burst.messages,
        burst.bytes.len() as f64 / 1e6
    );
    print!("{:<14}", "receiver");
    let table = figures::table("ingest");
    for (title, _, _, _) in COLUMNS {
        print!(" {title:>w$}");
    }
    println!();
    let column = |i: usize, f: fn(&Ingest, u64) -> Option<f64>| -> Vec<Option<f64>> {
        runs.iter().map(|run| f(&run[i], total)).collect()
    };
    for (i, name) in RECEIVERS.iter().enumerate() {
        print!("{name:<14}");
        for (title, unit, precision, f) in COLUMNS {
            let text = table.figure(name, title, unit, &column(i, f), precision);
            print!(" {text:>w$}");
        }
        println!();
    }
    for (i, name) in RECEIVERS.iter().enumerate().skip(1) {
        let row = format!("baton/{name}");
        print!("{row:<14}");
        let median = |values: &[Option<f64>]| summary(values).map(|s| s.0);
        for (title, _, _, f) in COLUMNS {
            let text = table.ratio(&row, title, median(&column(0, f)), median(&column(i, f)));
            print!(" {text:>w$}");
        }
        println!();
    }
    if runs.len() > 1 {
        println!("(median, then min–max over {} runs)", runs.len());
    }
    let rest = |what: &str, unit: &str, f: fn(&Ingest) -> Option<f64>| {
        let values: Vec<Option<f64>> = runs.iter().map(|r| f(&r[0])).collect();
        table.figure(RECEIVERS[0], what, unit, &values, 1)
    };
    println!(
        "baton's REST API during the ingest: GET /v1/neighbors answered in {} ms median, {} ms \
         at most",
        rest("REST median ms", "ms", |r| answers(&r.rest).0),
        rest("REST max ms", "ms", |r| answers(&r.rest).1)
    );
    println!(
        "baton's speaker peak RSS: {} MiB holding all routes, {} MiB after the next RIB \
         snapshot save ({} % more)",
        rest("speaker RSS holding all", "MiB", |r| r
            .snapshot_rss_kib
            .map(|(held, _)| held as f64 / 1024.0)),
        rest("speaker RSS after snapshot", "MiB", |r| r
            .snapshot_rss_kib
            .map(|(_, saved)| saved as f64 / 1024.0)),
        rest("speaker RSS growth", "%", |r| r.snapshot_rss_kib.map(
            |(held, saved)| (saved as f64 / held as f64 - 1.0) * 100.0
        ))
    );
    println!();
    println!(
        "held: from the first UPDATE octet written until the receiver's counters first show all \
         N + M routes (baton: Loc-RIB prefixes, metrics on the control socket, every 50 ms; bird2: imported, birdc; \
         gobgpd: accepted, gobgp -j neighbor), upper bounds within one poll. taken: until its \
         socket had taken the burst's last octet. RSS: peak (VmHWM) of all its processes \
         (baton: supervisor + speaker); CPU: user+system during the ingest. status: a thread \
         asks again and again during the ingest, 50 ms apart (baton: neighbors on the control \
         socket, as batonctl neighbor; bird2: birdc show protocols; gobgpd: gobgp neighbor, both \
         a process per query). One receiver at a time, the others stopped."
    );
}
