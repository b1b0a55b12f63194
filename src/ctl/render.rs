//! Human-readable tables for `batonctl`, aligned like the gobgp CLI's.

use super::{NeighborView, ReloadView, RibView, RouteView, StatusView, UpgradeView};

/// Left-aligned columns separated by two spaces.
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

fn uptime(secs: Option<u64>) -> String {
    match secs {
        None => "never".into(),
        Some(s) => format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60),
    }
}

/// `batonctl neighbor`.
pub fn neighbors(views: &[NeighborView]) -> String {
    let rows = views
        .iter()
        .map(|n| {
            let counts = |f: &str| {
                n.families
                    .iter()
                    .find(|c| c.family == f)
                    .map_or("-".to_string(), |c| {
                        format!("{}/{}/{}", c.received, c.accepted, c.advertised)
                    })
            };
            vec![
                n.address.to_string(),
                n.remote_as.to_string(),
                uptime(n.uptime_secs),
                n.state.clone(),
                counts("ipv4-unicast"),
                counts("ipv6-unicast"),
            ]
        })
        .collect();
    table(
        &[
            "Peer",
            "AS",
            "Up/Down",
            "State",
            "IPv4 Rcvd/Acc/Adv",
            "IPv6 Rcvd/Acc/Adv",
        ],
        rows,
    )
}

fn route_row(marker: &str, r: &RouteView) -> Vec<String> {
    let mut attrs = Vec::new();
    if let Some(m) = r.med {
        attrs.push(format!("med {m}"));
    }
    if let Some(lp) = r.local_pref {
        attrs.push(format!("local-pref {lp}"));
    }
    if !r.communities.is_empty() {
        attrs.push(format!("community {}", r.communities.join(",")));
    }
    if !r.large_communities.is_empty() {
        attrs.push(format!("large-community {}", r.large_communities.join(",")));
    }
    vec![
        marker.to_string(),
        r.prefix.clone(),
        r.next_hop.clone().unwrap_or_else(|| "self".into()),
        r.as_path_text.clone(),
        r.source.clone(),
        attrs.join(" "),
    ]
}

/// `batonctl rib`: the Loc-RIB, `*>` marking the best route of each prefix.
pub fn rib(view: &RibView) -> String {
    let rows = view
        .loc_rib
        .iter()
        .map(|r| route_row(if r.best == Some(true) { "*>" } else { "*" }, r))
        .collect();
    table(
        &["", "Network", "Next Hop", "AS_PATH", "Source", "Attrs"],
        rows,
    )
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or("-".to_string(), |x| x.to_string())
}

/// `batonctl status`.
pub fn status(s: &StatusView) -> String {
    let mut out = table(
        &["", ""],
        vec![
            vec!["supervisor pid".into(), s.supervisor_pid.to_string()],
            vec!["supervisor version".into(), s.supervisor_version.clone()],
            vec!["uptime".into(), uptime(Some(s.uptime_secs))],
            vec!["speaker pid".into(), or_dash(s.speaker_pid)],
            vec!["generation".into(), s.generation.to_string()],
            vec!["version".into(), or_dash(s.version.clone())],
            vec!["speaker uptime".into(), uptime(s.speaker_uptime_secs)],
            vec![
                "crashes".into(),
                format!(
                    "{}{}",
                    s.crashes,
                    if s.crash_loop {
                        " (crash loop: restarts delayed)"
                    } else {
                        ""
                    }
                ),
            ],
            vec!["upgrading".into(), s.upgrading.to_string()],
        ],
    );
    out = out.lines().skip(1).map(|l| format!("{l}\n")).collect();
    if let Some(u) = &s.last_upgrade {
        out.push_str(&format!(
            "last upgrade: {} ({} ms){}\n",
            if u.ok { "ok" } else { "FAILED" },
            u.duration_ms,
            u.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    out
}

/// `batonctl upgrade`: the outcome and per-peer timings.
pub fn upgrade(u: &UpgradeView) -> String {
    let mut out = format!(
        "upgrade {}: generation {} ({}) -> {} ({}) in {} ms{}\n",
        if u.ok { "complete" } else { "FAILED" },
        u.from_generation,
        or_dash(u.from_version.clone()),
        u.to_generation,
        or_dash(u.to_version.clone()),
        u.duration_ms,
        u.reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    if !u.peers.is_empty() {
        let rows = u
            .peers
            .iter()
            .map(|p| {
                vec![
                    p.peer.to_string(),
                    or_dash(p.established_ms.map(|m| format!("{m} ms"))),
                    or_dash(p.end_of_rib_ms.map(|m| format!("{m} ms"))),
                ]
            })
            .collect();
        out.push_str(&table(&["Peer", "Established", "End-of-RIB sent"], rows));
    }
    out
}

/// How many prefixes of each kind a reload plan lists before it says "and N more".
const PLAN_LIST: usize = 10;

/// A reload: what changes (or would, for a dry run), and the speaker restart if there was one.
pub fn reload(r: &ReloadView) -> String {
    let p = &r.plan;
    let verb = if r.dry_run {
        "would change"
    } else if r.applied {
        "applied"
    } else {
        "NOT applied"
    };
    if p.is_empty() {
        return format!("reload of {}: nothing to change\n", r.file);
    }
    let mut out = format!("reload of {} {verb}:\n", r.file);
    if !p.restart_speaker.is_empty() {
        out += &format!(
            "  restart the speaker gracefully (peers keep our routes): {}\n",
            p.restart_speaker.join(", ")
        );
    }
    if !p.peers.is_empty() {
        let rows = p
            .peers
            .iter()
            .map(|n| {
                vec![
                    n.address.to_string(),
                    format!("{:?}", n.action).to_lowercase(),
                    if n.changes.is_empty() {
                        "-".into()
                    } else {
                        n.changes.join(", ")
                    },
                    if n.session_reset { "yes" } else { "no" }.into(),
                ]
            })
            .collect();
        out += &table(&["Peer", "Action", "Changes", "Session reset"], rows);
    }
    let list = |name: &str, items: Vec<String>| -> String {
        if items.is_empty() {
            return String::new();
        }
        let more = items.len().saturating_sub(PLAN_LIST);
        let shown = items[..items.len().min(PLAN_LIST)].join(", ");
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!("  {name} {}: {shown}{more}\n", items.len())
    };
    out += &list("advertise", p.advertise.clone());
    out += &list("withdraw", p.withdraw.clone());
    out += &list(
        "update",
        p.update
            .iter()
            .map(|u| format!("{} ({})", u.prefix, u.changes.join(", ")))
            .collect(),
    );
    out += &format!(
        "  unchanged: {} peers, {} routes\n",
        p.peers_unchanged, p.routes_unchanged
    );
    if let Some(u) = &r.restart {
        out += &upgrade(u);
    }
    out
}
