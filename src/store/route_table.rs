//! The routes added at run time, by prefix, with their attributes shared.
//!
//! An operator who announces a million routes through the API usually gives most of them the
//! same attributes (none, or one next hop, one community). A `BTreeMap<Prefix, Route>` held
//! each one whole: about 120 bytes a route, and loading the intent spent most of its time moving
//! them into the tree. Here an entry is its prefix and a pointer (26 bytes), and routes with
//! equal attributes share one copy of them: those of a batch that follow each other, and a
//! route added next to a prefix that already has its attributes.
//!
//! The attributes are kept as a [`Route`] to its family's default route (`0.0.0.0/0`, `::/0`),
//! so that two sets compare equal exactly when the routes' attributes and family are equal, and
//! a field added to [`Route`] is shared and compared with no change here.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::config::Route;
use crate::wire::Prefix;

/// Routes by prefix; a prefix has at most one route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    by_prefix: BTreeMap<Prefix, Attrs>,
}

/// A route's attributes: the route, moved to its family's default prefix.
type Attrs = Arc<Route>;

impl RouteTable {
    /// How many routes.
    pub fn len(&self) -> usize {
        self.by_prefix.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }

    /// Whether `prefix` has a route.
    pub fn contains_key(&self, prefix: &Prefix) -> bool {
        self.by_prefix.contains_key(prefix)
    }

    /// The route of `prefix`, if any (a copy).
    pub fn get(&self, prefix: &Prefix) -> Option<Route> {
        let attrs = self.by_prefix.get(prefix)?;
        Some(whole(*prefix, attrs))
    }

    /// Add or replace `route`; returns the route it replaced.
    pub fn insert(&mut self, route: Route) -> Option<Route> {
        let prefix = route.prefix;
        let attrs = self.share(attrs_of(route), &prefix);
        self.by_prefix
            .insert(prefix, attrs)
            .map(|old| whole(prefix, &old))
    }

    /// Add or replace `routes`, in order (a prefix given twice: the last one wins).
    pub fn extend(&mut self, routes: impl IntoIterator<Item = Route>) {
        let mut last: Option<Attrs> = None;
        for route in routes {
            let prefix = route.prefix;
            let attrs = attrs_of(route);
            let attrs = match last.take() {
                Some(l) if *l == attrs => l,
                _ => self.share(attrs, &prefix),
            };
            last = Some(attrs.clone());
            self.by_prefix.insert(prefix, attrs);
        }
    }

    /// Remove the route of `prefix`; returns it.
    pub fn remove(&mut self, prefix: &Prefix) -> Option<Route> {
        let attrs = self.by_prefix.remove(prefix)?;
        Some(whole(*prefix, &attrs))
    }

    /// The prefixes, in order.
    pub fn keys(&self) -> impl Iterator<Item = &Prefix> + '_ {
        self.by_prefix.keys()
    }

    /// Each prefix, in order, with its attributes: a route whose own prefix is its family's
    /// default route, not this one (see [`routes`](Self::routes) for whole routes).
    pub fn iter(&self) -> impl Iterator<Item = (&Prefix, &Route)> + '_ {
        self.by_prefix.iter().map(|(p, a)| (p, &**a))
    }

    /// Every route whole, in prefix order (a copy of each).
    pub fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.by_prefix.iter().map(|(p, a)| whole(*p, a))
    }

    /// `attrs`, or an equal set a neighbouring prefix already holds (so that routes added one
    /// at a time next to each other share their attributes as a batch's do).
    fn share(&self, attrs: Route, prefix: &Prefix) -> Attrs {
        let before = self.by_prefix.range(..prefix).next_back();
        let after = self.by_prefix.range(prefix..).next();
        match [before, after]
            .into_iter()
            .flatten()
            .find(|(_, a)| ***a == attrs)
        {
            Some((_, a)) => a.clone(),
            None => Arc::new(attrs),
        }
    }
}

impl FromIterator<Route> for RouteTable {
    fn from_iter<I: IntoIterator<Item = Route>>(routes: I) -> RouteTable {
        let mut builder = Builder::default();
        routes.into_iter().for_each(|r| builder.push(r));
        builder.finish()
    }
}

/// A table built from routes given one by one, in one pass at the end: consecutive routes
/// with equal attributes share them (the intent file lists routes in prefix order, so those of
/// a batch sit together). A prefix given twice: the last one wins.
#[derive(Debug, Default)]
pub struct Builder {
    keyed: Vec<(Prefix, Attrs)>,
    last: Option<Attrs>,
}

impl Builder {
    /// Add `route`.
    pub fn push(&mut self, route: Route) {
        let prefix = route.prefix;
        let attrs = attrs_of(route);
        let attrs = match self.last.take() {
            Some(l) if *l == attrs => l,
            _ => Arc::new(attrs),
        };
        self.last = Some(attrs.clone());
        self.keyed.push((prefix, attrs));
    }

    /// The table of the routes given.
    pub fn finish(self) -> RouteTable {
        RouteTable {
            by_prefix: self.keyed.into_iter().collect(),
        }
    }
}

/// `route`'s attributes: the route moved to its family's default prefix.
fn attrs_of(route: Route) -> Route {
    let any = match route.prefix.addr() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    Route {
        prefix: Prefix::new(any, 0).expect("a default route has no host bits"),
        ..route
    }
}

/// The route of `prefix` with `attrs`.
fn whole(prefix: Prefix, attrs: &Route) -> Route {
    Route {
        prefix,
        ..attrs.clone()
    }
}
