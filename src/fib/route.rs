//! A kernel route as baton sees it: the fields that make it one route rather than another.
//!
//! The kernel keeps a route per (table, destination, TOS, priority) and lets the rest vary; an
//! operator thinks of "the route to P via G from S". Reconciliation must not confuse two routes
//! that an operator would tell apart, so the identity here is (table, destination, next hop,
//! preferred source) — plus the metric, because the kernel itself files routes by it (a route
//! left by a speaker with another `metric` is another route, not this one with a detail off).

use std::fmt;
use std::net::IpAddr;

use crate::wire::Prefix;

/// One route in the kernel, or one baton wants there. Equality is identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KernelRoute {
    /// The routing table (254 is main).
    pub table: u32,
    /// The destination.
    pub prefix: Prefix,
    /// The gateway.
    pub next_hop: IpAddr,
    /// The preferred source address (`src`), if any.
    pub src: Option<IpAddr>,
    /// The priority (metric).
    pub metric: u32,
}

impl fmt::Display for KernelRoute {
    /// As `ip route` writes it: `198.18.5.0/24 via 198.18.0.2 src 198.18.0.1 metric 20 table 254`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} via {}", self.prefix, self.next_hop)?;
        if let Some(src) = self.src {
            write!(f, " src {src}")?;
        }
        write!(f, " metric {} table {}", self.metric, self.table)
    }
}
