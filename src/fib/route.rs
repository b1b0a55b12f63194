//! A kernel route as baton sees it: the fields that make it one route rather than another.
//!
//! The kernel keeps a route per (table, destination, TOS, priority) and lets the rest vary; an
//! operator thinks of "the route to P via G from S". Reconciliation must not confuse two routes
//! that an operator would tell apart, so the identity here is (table, destination, next hop,
//! preferred source) — plus the metric, because the kernel itself files routes by it (a route
//! left by a speaker with another `metric` is another route, not this one with a detail off).
//! A multipath route (ECMP, `RTA_MULTIPATH`) is one kernel route whose next hop is the set of
//! its gateways: a route through {G1, G2} is another route than one through G1 alone.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::wire::Prefix;

/// One route in the kernel, or one baton wants there. Equality is identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KernelRoute {
    /// The routing table (254 is main).
    pub table: u32,
    /// The destination.
    pub prefix: Prefix,
    /// The gateway, or gateways.
    pub via: Via,
    /// The preferred source address (`src`), if any.
    pub src: Option<IpAddr>,
    /// The priority (metric).
    pub metric: u32,
}

impl fmt::Display for KernelRoute {
    /// As `ip route` writes it: `198.18.5.0/24 via 198.18.0.2 src 198.18.0.1 metric 20 table 254`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} via {}", self.prefix, self.via)?;
        if let Some(src) = self.src {
            write!(f, " src {src}")?;
        }
        write!(f, " metric {} table {}", self.metric, self.table)
    }
}

/// Where a route sends traffic: one gateway, or several with equal weight (ECMP).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    /// One gateway: a plain route (`RTA_GATEWAY`).
    One(IpAddr),
    /// At least two distinct gateways, sorted: a multipath route (`RTA_MULTIPATH`). Shared,
    /// so that the wanted table and the installed one hold the set once.
    Many(Arc<[IpAddr]>),
}

impl Via {
    /// The route through `gateways` (any order, repeats ignored); `None` when there is none.
    pub fn new(mut gateways: Vec<IpAddr>) -> Option<Via> {
        gateways.sort();
        gateways.dedup();
        match gateways.len() {
            0 => None,
            1 => Some(Via::One(gateways[0])),
            _ => Some(Via::Many(gateways.into())),
        }
    }

    /// The gateways, sorted.
    pub fn gateways(&self) -> &[IpAddr] {
        match self {
            Via::One(g) => std::slice::from_ref(g),
            Via::Many(gs) => gs,
        }
    }
}

impl From<IpAddr> for Via {
    fn from(gateway: IpAddr) -> Via {
        Via::One(gateway)
    }
}

impl fmt::Display for Via {
    /// `198.18.0.2`, or `198.18.0.2,198.18.0.3` for a multipath route.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.gateways().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{g}")?;
        }
        Ok(())
    }
}
