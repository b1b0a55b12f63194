//! Table 6's printout: the three receivers of the ingest side by side, baton's ratios to the
//! other two, and baton's REST answer times and RSS around its RIB snapshot.

use std::time::Duration;

use super::ingest::{Ingest, RECEIVERS};
use super::injector::Burst;
use super::report::cell;

/// Median of the values measured (`None` if any run missed it).
fn median(values: &[Option<f64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().collect::<Option<_>>()?;
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Median and longest of answer times, ms.
fn answers(times: &[Duration]) -> (Option<f64>, Option<f64>) {
    let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    (ms.get(ms.len() / 2).copied(), ms.last().copied())
}

/// The columns: title, precision, value of one receiver in one run.
type Column = (&'static str, usize, fn(&Ingest, u64) -> Option<f64>);

const COLUMNS: [Column; 7] = [
    ("held s", 2, |r, _| r.held.map(|d| d.as_secs_f64())),
    ("routes/s", 0, |r, total| {
        r.held.map(|d| total as f64 / d.as_secs_f64())
    }),
    ("taken s", 2, |r, _| r.taken.map(|d| d.as_secs_f64())),
    ("RSS MiB", 1, |r, _| r.rss_kib.map(|k| k as f64 / 1024.0)),
    ("CPU s", 2, |r, _| r.cpu.map(|d| d.as_secs_f64())),
    ("status med ms", 1, |r, _| answers(&r.status).0),
    ("status max ms", 1, |r, _| answers(&r.status).1),
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
    for (title, _, _) in COLUMNS {
        print!(" {title:>w$}");
    }
    println!();
    let column = |i: usize, f: fn(&Ingest, u64) -> Option<f64>| -> Vec<Option<f64>> {
        runs.iter().map(|run| f(&run[i], total)).collect()
    };
    for (i, name) in RECEIVERS.iter().enumerate() {
        print!("{name:<14}");
        for (_, precision, f) in COLUMNS {
            print!(" {:>w$}", cell(&column(i, f), precision));
        }
        println!();
    }
    for (i, name) in RECEIVERS.iter().enumerate().skip(1) {
        print!("{:<14}", format!("baton/{name}"));
        for (_, _, f) in COLUMNS {
            let ratio = median(&column(0, f)).zip(median(&column(i, f)).filter(|&o| o > 0.0));
            let text = ratio.map_or("-".into(), |(b, o)| format!("{:.2}", b / o));
            print!(" {text:>w$}");
        }
        println!();
    }
    if runs.len() > 1 {
        println!("(median, then min–max over {} runs)", runs.len());
    }
    let rest =
        |f: fn(&Ingest) -> Option<f64>| cell(&runs.iter().map(|r| f(&r[0])).collect::<Vec<_>>(), 1);
    println!(
        "baton's REST API during the ingest: GET /v1/neighbors answered in {} ms median, {} ms \
         at most",
        rest(|r| answers(&r.rest).0),
        rest(|r| answers(&r.rest).1)
    );
    println!(
        "baton's speaker peak RSS: {} MiB holding all routes, {} MiB after the next RIB \
         snapshot save ({} % more)",
        rest(|r| r.snapshot_rss_kib.map(|(held, _)| held as f64 / 1024.0)),
        rest(|r| r.snapshot_rss_kib.map(|(_, saved)| saved as f64 / 1024.0)),
        rest(|r| r
            .snapshot_rss_kib
            .map(|(held, saved)| (saved as f64 / held as f64 - 1.0) * 100.0))
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
