//! Neighbors: the list, one in detail, and what `neighbor add|del|enable|disable|reset` did.

use super::{fields, or_dash, table, uptime};
use crate::ctl::{
    FamilyCountersView, NeighborChange, NeighborChangeView, NeighborDetailView, NeighborView,
};

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
                n.state.to_string(),
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

/// `batonctl neighbor ADDR`: status, settings, then the route counters per family.
pub fn neighbor_detail(d: &NeighborDetailView) -> String {
    let (n, c) = (&d.status, &d.config);
    let mut out = format!("BGP neighbor is {}, remote AS {}\n", n.address, n.remote_as);
    let state = match n.uptime_secs {
        Some(s) => format!("{}, up for {}", n.state, uptime(Some(s))),
        None => n.state.to_string(),
    };
    let hold_time = match d.negotiated_hold_time {
        Some(h) => format!("{h} s negotiated ({} s configured)", c.hold_time),
        None => format!("{} s configured", c.hold_time),
    };
    let gr = &c.graceful_restart;
    let graceful_restart = if gr.enabled {
        format!(
            "enabled, restart time {} s; helper {}",
            gr.restart_time, n.graceful_restart
        )
    } else {
        format!("disabled; helper {}", n.graceful_restart)
    };
    let families: Vec<String> = c.families.iter().map(|f| f.to_string()).collect();
    let rows = vec![
        ("Description:", or_dash(n.description.clone())),
        (
            "Configured by:",
            match d.source.as_str() {
                "config" => "the configuration file".to_string(),
                "api" => "run time (batonctl or the REST API)".to_string(),
                other => other.to_string(),
            },
        ),
        (
            "Admin state:",
            if d.enabled { "enabled" } else { "disabled" }.to_string(),
        ),
        ("BGP state:", state),
        ("Remote router ID:", or_dash(n.remote_id.clone())),
        ("Hold time:", hold_time),
        (
            "Port:",
            format!(
                "{}{}",
                c.port,
                if c.passive {
                    " (passive: never connects out)"
                } else {
                    ""
                }
            ),
        ),
        ("Local address:", or_dash(c.local_address)),
        ("Connect retry:", format!("{} s", c.connect_retry)),
        ("Families:", families.join(", ")),
        ("Graceful restart:", graceful_restart),
        ("Sessions:", format!("{} established", n.established_count)),
        (
            "Martian routes:",
            match n.martian_next_hops {
                0 => "none".to_string(),
                routes => format!("{routes} ignored as withdrawn, next hop unusable (see the log)"),
            },
        ),
        (
            "End-of-RIB sent:",
            or_dash(
                n.end_of_rib_sent_ms
                    .map(|m| format!("{m} ms after Established")),
            ),
        ),
        ("Last error:", or_dash(n.last_error.clone())),
    ];
    out.push_str(&indent(&fields(rows)));
    out.push('\n');
    out.push_str(&indent(&counters(&n.families)));
    out
}

fn counters(families: &[FamilyCountersView]) -> String {
    let rows = families
        .iter()
        .map(|f| {
            vec![
                f.family.clone(),
                f.received.to_string(),
                f.accepted.to_string(),
                f.advertised.to_string(),
            ]
        })
        .collect();
    table(&["Family", "Received", "Accepted", "Advertised"], rows)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// `batonctl neighbor add`: the new neighbor. (Its state is left out: it is whatever the new
/// session reached in the moment before the reply, `Idle` or `Active`.)
pub fn neighbor_added(n: &NeighborView) -> String {
    format!("added neighbor {}, remote AS {}\n", n.address, n.remote_as)
}

/// `batonctl neighbor del|enable|disable|reset`.
pub fn neighbor_changed(v: &NeighborChangeView) -> String {
    let a = v.address;
    match v.change {
        NeighborChange::Deleted => format!("deleted neighbor {a} (Cease / Peer De-configured)\n"),
        NeighborChange::Enabled => format!("enabled neighbor {a}: its session starts\n"),
        NeighborChange::Disabled => {
            format!("disabled neighbor {a} (Cease / Administrative Shutdown)\n")
        }
        NeighborChange::Reset => {
            format!("reset neighbor {a} (Cease / Administrative Reset): a new session starts\n")
        }
        NeighborChange::SoftReset => {
            format!("soft reset of neighbor {a}: ROUTE-REFRESH asked, our routes sent again\n")
        }
    }
}
