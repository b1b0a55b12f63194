//! Table 1, start-up: the scenarios side by side, each one's details, and what the figures
//! mean.

use std::time::Duration;

use super::figures;
use super::gobgp_origin;
use super::options::Options;
use super::{Row, MAX_PAUSE, MIN_PAUSE, SCENARIOS};

/// Table 1: the start-up scenarios side by side, then each one's details and the legend.
pub fn print_startup_table(
    options: &Options,
    runs: &[Vec<Row>],
    gobgpd_unavailable: &Option<String>,
) {
    let (n, m) = (options.routes, options.v6);
    let column = |s: usize, f: &dyn Fn(&Row) -> Option<f64>| -> Vec<Option<f64>> {
        runs.iter().map(|r| f(&r[s])).collect()
    };
    let as_secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    let as_mib = |k: Option<u64>| k.map(|k| k as f64 / 1024.0);
    let table = figures::table("startup");
    let cell = |s: usize, name: &str, unit: &str, f: &dyn Fn(&Row) -> Option<f64>, precision| {
        table.figure(SCENARIOS[s], name, unit, &column(s, f), precision)
    };
    // A detail shown only where some run measured it (the others print nothing).
    let shown = |s: usize, name: &str, f: &dyn Fn(&Row) -> Option<f64>| {
        let measured = column(s, f).iter().any(Option::is_some);
        measured.then(|| cell(s, name, "s", f, 2))
    };

    println!("start-up, N = {n} IPv4 + M = {m} IPv6 routes:");
    let w = if options.runs > 1 { 20 } else { 12 };
    println!(
        "{:<28} {:>8} {:>7} {:>w$} {:>w$} {:>w$} {:>w$}",
        "scenario", "N", "M", "gobgpd s", "bird2 s", "orig RSS MiB", "orig CPU s"
    );
    for (s, name) in SCENARIOS.iter().enumerate() {
        let skipped = match s {
            0 | 1 => !options.parts.baton,
            2 => !options.parts.bird,
            _ => false,
        };
        if skipped {
            println!("{name:<28} {n:>8} {m:>7}  not run (--only)");
            continue;
        }
        if let (3, Some(why)) = (s, gobgpd_unavailable) {
            println!("{name:<28} {n:>8} {m:>7}  {why}");
            continue;
        }
        println!(
            "{name:<28} {n:>8} {m:>7} {:>w$} {:>w$} {:>w$} {:>w$}",
            cell(s, "gobgpd s", "s", &|r| as_secs(r.gobgpd), 2),
            cell(s, "bird2 s", "s", &|r| as_secs(r.bird), 2),
            cell(s, "orig RSS MiB", "MiB", &|r| as_mib(r.rss_kib), 1),
            cell(s, "orig CPU s", "s", &|r| as_secs(r.cpu), 2),
        );
    }
    if options.runs > 1 {
        println!("(median, then min–max over {} runs)", options.runs);
    }
    println!();
    for (s, name) in SCENARIOS.iter().enumerate() {
        let skipped = match s {
            0 | 1 => !options.parts.baton,
            2 => !options.parts.bird,
            _ => gobgpd_unavailable.is_some(),
        };
        if skipped {
            continue;
        }
        let mut details = vec![format!(
            "receivers' peak RSS gobgpd {} MiB, bird2 {} MiB",
            cell(s, "gobgpd RSS", "MiB", &|r| as_mib(r.gobgpd_rss_kib), 1),
            cell(s, "bird2 RSS", "MiB", &|r| as_mib(r.bird_rss_kib), 1)
        )];
        let updates = |r: &Row| r.gobgpd_updates.map(|u| u as f64);
        details.push(format!(
            "gobgpd got {} UPDATE messages",
            cell(s, "gobgpd UPDATEs", "messages", &updates, 0)
        ));
        details.push(format!(
            "Established at gobgpd {} s, bird2 {} s",
            cell(s, "gobgpd Established", "s", &|r| as_secs(r.gobgpd_up), 2),
            cell(s, "bird2 Established", "s", &|r| as_secs(r.bird_up), 2)
        ));
        let most = (
            shown(s, "gobgpd 99 % held", &|r| as_secs(r.gobgpd_99)),
            shown(s, "bird2 99 % held", &|r| as_secs(r.bird_99)),
        );
        if most.0.is_some() || most.1.is_some() {
            let [g, b] = [most.0, most.1].map(|c| c.unwrap_or_else(|| "-".into()));
            details.push(format!("99 % held at gobgpd {g} s, bird2 {b} s"));
        }
        if let Some(ready) = shown(s, "control socket up", &|r| as_secs(r.ready)) {
            details.push(format!("control socket up {ready} s after spawn"));
        }
        if let Some(injected) = shown(s, "API stream taken", &|r| as_secs(r.injected)) {
            details.push(format!("API stream of N + M paths taken by {injected} s"));
        }
        println!("{name}: {}", details.join("; "));
    }
    println!();
    println!(
        "seconds: from the originator's spawn until a receiver's query first shows all N IPv4 \
         and M IPv6 routes (fresh, for the restart), taken when that query returns; queries are \
         {}–{} ms apart (3x their own duration: gobgpd walks its table to count), so each \
         figure is an upper bound within one pause.",
        MIN_PAUSE.as_millis(),
        MAX_PAUSE.as_millis()
    );
    println!(
        "restart: batond is killed with SIGKILL and spawned again on the same state directory \
         once both receivers hold its routes as stale and gobgpd has left the 5 s idle hold it \
         imposes after any session loss. \"Fresh\": gobgpd has End-of-RIB on the new session, \
         every family (it then drops what is still stale), bird2 no longer shows \"graceful \
         restart active\"."
    );
    println!(
        "Every session is eBGP over IPv4, carrying IPv6 unicast as well when M > 0; the IPv6 \
         routes' next hop is the originator's address on the lab's link (2001:db8::1), named in \
         baton's routes file, chosen by bird2 from its interface, given to gobgpd's API."
    );
    println!(
        "bird2 connects out no sooner than 1 s after it starts (its least connect delay), \
         which is part of its figures. gobgpd cannot originate from its config: the N + M paths \
         are streamed into its gRPC API (AddPathStream, {} paths per request, encoded \
         beforehand) by benches/startup/gobgp_inject.py as soon as it answers; the injector's \
         CPU is not counted. CPU: the originator's user+system time when both receivers held \
         everything; RSS: its VmHWM (peak resident set); for baton, supervisor and speaker added \
         up.",
        gobgp_origin::PATHS_PER_REQUEST
    );
}
