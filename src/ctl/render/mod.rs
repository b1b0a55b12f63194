//! What `batonctl` prints: each reply as aligned text, like the gobgp CLI's, or as JSON.
//!
//! A reply's shape follows from its request, so [`reply`] takes both and is the only place that
//! knows which view each command answers with. The functions are pure: the snapshot tests feed
//! them fixed views and compare with `tests/snapshots/`.

mod daemon;
mod fib;
mod neighbor;
mod reload;
mod rib;

pub use daemon::{event_output, speaker_info, status, upgrade, upgrade_event};
pub use fib::fib;
pub use neighbor::{neighbor_added, neighbor_changed, neighbor_detail, neighbors};
pub use reload::reload;
pub use rib::{rib, route_add, route_del, routes};

use serde_json::Value;

use super::Request;

/// The text `batonctl` prints for `value`, the daemon's answer to `request`: JSON (exactly
/// what the daemon said; pretty, but one line for `upgrade`, whose steps came as JSON lines
/// before it) with `json`, a table or sentence without. Fails if the answer is not the view the
/// request asks for.
pub fn output(request: &Request, value: Value, json: bool) -> Result<String, serde_json::Error> {
    match request {
        Request::Upgrade { .. } if json => Ok(serde_json::to_string(&value)? + "\n"),
        _ if json => Ok(serde_json::to_string_pretty(&value)? + "\n"),
        _ => reply(request, value),
    }
}

/// The human-readable text for `value`, the daemon's answer to `request`.
pub fn reply(request: &Request, value: Value) -> Result<String, serde_json::Error> {
    use serde_json::from_value as view;
    Ok(match request {
        Request::Neighbors => neighbors(&view::<Vec<_>>(value)?),
        Request::Neighbor { .. } => neighbor_detail(&view(value)?),
        Request::AdjIn { .. } | Request::AdjOut { .. } => routes(&view::<Vec<_>>(value)?),
        Request::NeighborAdd { .. } => neighbor_added(&view(value)?),
        Request::NeighborDel { .. }
        | Request::NeighborEnable { .. }
        | Request::NeighborDisable { .. }
        | Request::NeighborReset { .. } => neighbor_changed(&view(value)?),
        Request::Rib { .. } => rib(&view(value)?),
        Request::RouteAdd { .. } => route_add(&view(value)?),
        Request::RouteDel { .. } => route_del(&view(value)?),
        Request::SpeakerInfo => speaker_info(&view(value)?),
        Request::Metrics => view::<String>(value)?,
        Request::Fib => fib(&view(value)?),
        Request::Reload { .. } => reload(&view(value)?),
        Request::Status => status(&view(value)?),
        Request::Upgrade { .. } => upgrade(&view(value)?),
    })
}

/// Left-aligned columns separated by two spaces, under a header.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// `label  value` lines, the values aligned, no header.
fn fields(rows: Vec<(&str, String)>) -> String {
    let rows = rows
        .into_iter()
        .map(|(label, value)| vec![label.to_string(), value])
        .collect();
    table(&["", ""], rows)
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `HH:MM:SS`, or `never`.
fn uptime(secs: Option<u64>) -> String {
    match secs {
        None => "never".into(),
        Some(s) => format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60),
    }
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or("-".to_string(), |x| x.to_string())
}

/// `1 route`, `2 routes`.
fn count(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_space() {
        let t = table(
            &["A", "Long header", "C"],
            vec![vec!["wide cell".into(), "x".into(), String::new()]],
        );
        assert_eq!(t, "A          Long header  C\nwide cell  x\n");
    }

    #[test]
    fn uptime_is_hours_minutes_seconds() {
        assert_eq!(uptime(Some(3 * 3600 + 25 * 60 + 7)), "03:25:07");
        assert_eq!(uptime(Some(100 * 3600)), "100:00:00");
        assert_eq!(uptime(None), "never");
    }

    #[test]
    fn a_reply_of_another_shape_is_an_error() {
        let e = reply(&Request::Status, serde_json::json!({"announced": 1}));
        assert!(e.is_err());
    }
}
