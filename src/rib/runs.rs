//! Originated routes grouped into runs of equal attributes: how a large route set travels from
//! the intent to the RIB.
//!
//! A full table in the configuration is a million prefixes and a handful of attribute sets,
//! mostly in prefix order. Sent as a `Vec<Route>`, it was a second copy of every route (about
//! 136 bytes each with its community list) alive beside the intent's while the RIB took it in:
//! the speaker's peak memory at start-up. As runs it is 18 bytes a prefix, and the RIB makes
//! each run's attribute set once.

use super::same_attributes;
use crate::config::Route;
use crate::wire::Prefix;

/// Routes as runs: each run is the attributes of its first route and the prefixes that share
/// them, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRuns {
    runs: Vec<(Route, Vec<Prefix>)>,
}

impl RouteRuns {
    /// Group `routes`, consecutive routes with equal attributes (and family) into one run.
    pub fn new<'a>(routes: impl IntoIterator<Item = &'a Route>) -> RouteRuns {
        let mut runs = RouteRuns::default();
        runs.extend(routes);
        runs
    }

    /// Add `routes` after those held, as [`new`](Self::new) groups them.
    pub fn extend<'a>(&mut self, routes: impl IntoIterator<Item = &'a Route>) {
        for route in routes {
            self.push(route.prefix, route);
        }
    }

    /// Add the route of `prefix` with the attributes of `attrs` (whose own prefix only gives
    /// the family) after those held.
    pub fn push(&mut self, prefix: Prefix, attrs: &Route) {
        match self.runs.last_mut() {
            Some((first, prefixes)) if same_attributes(first, attrs) => prefixes.push(prefix),
            _ => self.runs.push((
                Route {
                    prefix,
                    ..attrs.clone()
                },
                vec![prefix],
            )),
        }
    }

    /// Every route, whole (a copy of each: for small sets and tests).
    pub fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.iter().map(|(attrs, prefix)| Route {
            prefix,
            ..attrs.clone()
        })
    }

    /// Every route, as (attributes, prefix): the attributes are those of the run's first route,
    /// whose own prefix is to be ignored.
    pub fn iter(&self) -> impl Iterator<Item = (&Route, Prefix)> {
        self.runs
            .iter()
            .flat_map(|(route, prefixes)| prefixes.iter().map(move |p| (route, *p)))
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.runs.iter().map(|(_, p)| p.len()).sum()
    }

    /// True when there is no route.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Number of runs.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, med: Option<u32>) -> Route {
        Route {
            prefix: prefix.parse().unwrap(),
            next_hop: None,
            communities: vec![],
            large_communities: vec![],
            med,
            local_pref: None,
            as_path_prepend: 0,
        }
    }

    #[test]
    fn consecutive_equal_routes_share_a_run_and_every_route_comes_back_with_its_attributes() {
        let routes = vec![
            route("198.18.0.0/24", None),
            route("198.18.1.0/24", None),
            route("198.18.2.0/24", Some(5)),
            route("198.18.3.0/24", None),
            // Equal attributes, other family: a run of its own.
            route("2001:db8::/32", None),
        ];
        let runs = RouteRuns::new(&routes);
        assert_eq!((runs.len(), runs.runs()), (5, 4));
        assert_eq!(runs.routes().collect::<Vec<_>>(), routes);
        let mut more = RouteRuns::new(&routes[..2]);
        more.extend(&routes[2..]);
        assert_eq!(more, runs);
        assert!(RouteRuns::new(&[]).is_empty());
    }
}
