//! Human-readable tables for `batonctl`, aligned like the gobgp CLI's.

use super::{NeighborView, RibView, RouteView};

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
