//! `batonctl fib`: the kernel routes baton wants, those the kernel holds under our protocol in
//! our table, and their difference, as the speaker reports them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One kernel route, as wanted or as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibRouteView {
    /// The destination.
    pub prefix: String,
    /// The gateways (several: a multipath route).
    pub via: Vec<IpAddr>,
    /// The preferred source, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// The metric.
    pub metric: u32,
    /// The peer whose best route it is (wanted routes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
}

/// A prefix for which the kernel holds a route of ours, but not the one baton wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibDifferView {
    /// What baton wants.
    pub wanted: FibRouteView,
    /// What the kernel holds of ours for the prefix.
    pub kernel: Vec<FibRouteView>,
}

/// The whole comparison, each list sorted by prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FibView {
    /// Our routing table.
    pub table: u32,
    /// Our protocol number.
    pub protocol: u8,
    /// What baton installs: one route per prefix whose best route it installs.
    pub wanted: Vec<FibRouteView>,
    /// What the kernel holds in our table under our protocol.
    pub kernel: Vec<FibRouteView>,
    /// Wanted routes whose prefix has no route of ours in the kernel.
    pub missing: Vec<FibRouteView>,
    /// Routes of ours in the kernel for a prefix baton does not want (left by an earlier
    /// speaker until the peers' End-of-RIB, or someone else's write under our protocol).
    pub unexpected: Vec<FibRouteView>,
    /// Prefixes where the kernel holds a route of ours other than the wanted one.
    pub differing: Vec<FibDifferView>,
}
