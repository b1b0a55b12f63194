//! What `batonctl fib` shows: the wanted table beside a dump of our routes from the kernel,
//! and where they disagree. Pure: the installer hands over its wanted routes, the caller dumps
//! the kernel (outside the installer task, which never waits on it), this compares.

use std::collections::BTreeMap;

use super::diff::{Found, Owner};
use super::want::Wanted;
use super::KernelRoute;
use crate::ctl::{FibDifferView, FibRouteView, FibView};
use crate::wire::Prefix;

fn view(route: &KernelRoute, peer: Option<std::net::IpAddr>) -> FibRouteView {
    FibRouteView {
        prefix: route.prefix.to_string(),
        via: route.via.gateways().to_vec(),
        src: route.src,
        metric: route.metric,
        peer,
    }
}

/// Compare `wanted` with `found`, a dump of `owner`'s table (routes of other protocols or
/// tables in it are left out).
pub fn compare(wanted: &[Wanted], found: &[Found], owner: Owner) -> FibView {
    let mut kernel: BTreeMap<Prefix, Vec<&KernelRoute>> = BTreeMap::new();
    for f in found.iter().filter(|f| owner.owns(f)) {
        kernel.entry(f.route.prefix).or_default().push(&f.route);
    }
    let mut wanted: Vec<&Wanted> = wanted.iter().collect();
    wanted.sort_by(|a, b| a.route.cmp(&b.route));
    let mut out = FibView {
        table: owner.table,
        protocol: owner.protocol,
        ..FibView::default()
    };
    for w in &wanted {
        let wanted_view = view(&w.route, Some(w.peer));
        match kernel.get(&w.route.prefix) {
            None => out.missing.push(wanted_view.clone()),
            Some(held) if held.contains(&&w.route) => {}
            Some(held) => out.differing.push(FibDifferView {
                wanted: wanted_view.clone(),
                kernel: held.iter().map(|r| view(r, None)).collect(),
            }),
        }
        out.wanted.push(wanted_view);
    }
    let wanted_prefixes: std::collections::HashSet<Prefix> =
        wanted.iter().map(|w| w.route.prefix).collect();
    for (prefix, held) in &kernel {
        for r in held {
            out.kernel.push(view(r, None));
            if !wanted_prefixes.contains(prefix) {
                out.unexpected.push(view(r, None));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Fib;
    use crate::fib::testutil::wanted;
    use crate::fib::Via;

    #[test]
    fn missing_unexpected_and_differing_routes_are_told_apart() {
        let (_, w) = wanted(
            &Fib::default(),
            &[
                ("198.18.5.0/24", "198.18.0.2"),
                ("198.18.6.0/24", "198.18.0.2"),
                ("198.18.7.0/24", "198.18.0.2"),
            ],
        );
        let wanted: Vec<Wanted> = w.iter().cloned().collect();
        let route = |prefix: &str, via: &str| KernelRoute {
            table: 254,
            prefix: prefix.parse().unwrap(),
            via: Via::One(via.parse().unwrap()),
            src: None,
            metric: 20,
        };
        let found = |route, protocol| Found { route, protocol };
        let owner = Owner {
            table: 254,
            protocol: 200,
        };
        let kernel = [
            found(route("198.18.5.0/24", "198.18.0.2"), 200),
            found(route("198.18.6.0/24", "198.18.0.3"), 200),
            found(route("198.18.8.0/24", "198.18.0.2"), 200),
            // Another protocol's route for the missing prefix: not ours, not shown.
            found(route("198.18.7.0/24", "198.18.0.2"), 4),
        ];
        let v = compare(&wanted, &kernel, owner);
        let prefixes = |l: &[FibRouteView]| -> Vec<String> {
            l.iter().map(|r| r.prefix.to_string()).collect()
        };
        assert_eq!(
            prefixes(&v.wanted),
            ["198.18.5.0/24", "198.18.6.0/24", "198.18.7.0/24"]
        );
        assert_eq!(
            prefixes(&v.kernel),
            ["198.18.5.0/24", "198.18.6.0/24", "198.18.8.0/24"]
        );
        assert_eq!(prefixes(&v.missing), ["198.18.7.0/24"]);
        assert_eq!(prefixes(&v.unexpected), ["198.18.8.0/24"]);
        assert_eq!(v.differing.len(), 1);
        assert_eq!(v.differing[0].kernel[0].via[0].to_string(), "198.18.0.3");
    }
}
