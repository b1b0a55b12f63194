//! Routes: `batonctl rib`, `neighbor ADDR adj-in|adj-out`, `route add|del`.

use super::{count, table};
use crate::ctl::{RibView, RouteAddView, RouteDelView, RouteView};

const HEADER: [&str; 6] = ["", "Network", "Next Hop", "AS_PATH", "Source", "Attrs"];

/// The first column: `*` a usable route, `x` one refused by the acceptance checks, `>` the best
/// of its prefix, `S` kept stale from a session that ended gracefully.
fn marker(r: &RouteView) -> String {
    let mut m = String::new();
    if r.stale {
        m.push('S');
    }
    m.push(if r.accepted == Some(false) { 'x' } else { '*' });
    if r.best == Some(true) {
        m.push('>');
    }
    m
}

fn route_row(r: &RouteView) -> Vec<String> {
    let mut attrs = Vec::new();
    if let Some(o) = &r.origin {
        attrs.push(format!("origin {o}"));
    }
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
        marker(r),
        r.prefix.clone(),
        r.next_hop.clone().unwrap_or_else(|| "self".into()),
        r.as_path_text.clone(),
        r.source.clone(),
        attrs.join(" "),
    ]
}

/// `batonctl rib`: the Loc-RIB, `*>` marking the best route of each prefix.
pub fn rib(view: &RibView) -> String {
    routes(&view.loc_rib)
}

/// `batonctl neighbor ADDR adj-in|adj-out`, and the Loc-RIB: one route a line.
pub fn routes(routes: &[RouteView]) -> String {
    table(&HEADER, routes.iter().map(route_row).collect())
}

/// `batonctl route add`.
pub fn route_add(v: &RouteAddView) -> String {
    format!("announced {}\n", count(v.announced, "route"))
}

/// `batonctl route del`.
pub fn route_del(v: &RouteDelView) -> String {
    format!("withdrew {}\n", count(v.withdrawn, "route"))
}
