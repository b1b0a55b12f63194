//! Kernel routes: `batonctl fib`.

use std::collections::BTreeMap;

use super::table;
use crate::ctl::{FibRouteView, FibView};

const HEADER: [&str; 5] = ["Network", "Installs", "Kernel holds", "Peer", "State"];

/// `via G[,G2] [src S] metric M`.
fn route(r: &FibRouteView) -> String {
    let via: Vec<String> = r.via.iter().map(|g| g.to_string()).collect();
    let mut out = format!("via {}", via.join(","));
    if let Some(src) = r.src {
        out += &format!(" src {src}");
    }
    out + &format!(" metric {}", r.metric)
}

fn routes(list: &[&FibRouteView]) -> String {
    let texts: Vec<String> = list.iter().map(|r| route(r)).collect();
    texts.join(" + ")
}

/// `batonctl fib`: one line per prefix, what baton installs beside what the kernel holds of
/// ours, the state (ok, missing, unexpected, differing) last; a summary line first.
pub fn fib(v: &FibView) -> String {
    // Prefix -> (wanted, kernel routes); prefixes sorted as text, like the lists.
    let mut rows: BTreeMap<&str, (Option<&FibRouteView>, Vec<&FibRouteView>)> = BTreeMap::new();
    for w in &v.wanted {
        rows.entry(&w.prefix).or_default().0 = Some(w);
    }
    for k in &v.kernel {
        rows.entry(&k.prefix).or_default().1.push(k);
    }
    let state = |prefix: &str| {
        let is = |l: &[FibRouteView]| l.iter().any(|r| r.prefix == prefix);
        if is(&v.missing) {
            "missing"
        } else if is(&v.unexpected) {
            "unexpected"
        } else if v.differing.iter().any(|d| d.wanted.prefix == prefix) {
            "differing"
        } else {
            "ok"
        }
    };
    let body = rows
        .iter()
        .map(|(prefix, (wanted, kernel))| {
            vec![
                prefix.to_string(),
                wanted.map_or_else(|| "-".into(), route),
                if kernel.is_empty() {
                    "-".into()
                } else {
                    routes(kernel)
                },
                wanted
                    .and_then(|w| w.peer)
                    .map_or_else(|| "-".into(), |p| p.to_string()),
                state(prefix).into(),
            ]
        })
        .collect();
    format!(
        "table {} protocol {}: {} installed, {} in the kernel; {} missing, {} unexpected, {} differing\n{}",
        v.table,
        v.protocol,
        v.wanted.len(),
        v.kernel.len(),
        v.missing.len(),
        v.unexpected.len(),
        v.differing.len(),
        table(&HEADER, body)
    )
}
