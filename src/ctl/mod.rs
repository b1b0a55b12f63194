//! The control-socket protocol between `batonctl` and the daemon: one JSON request per line,
//! one JSON reply per line, over a unix socket; an `upgrade` asking for its events gets one
//! [`UpgradeEvent`] line per step first.
//!
//! The views here are the daemon's answer format; they are plain serde types so `batonctl
//! --json` prints exactly what the daemon said, and tests assert on them.

pub mod client;
mod event;
mod fib_view;
pub mod neighbor_args;
pub mod render;
pub mod rolling;
pub mod route_args;
mod view;

pub use event::*;
pub use fib_view::*;
pub use view::*;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A request to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum Request {
    /// Every configured peer: state, uptime, per-family counters.
    Neighbors,
    /// One peer in detail: its status and counters, its settings, the negotiated hold time.
    Neighbor {
        /// The peer's address.
        address: IpAddr,
    },
    /// The routes a peer sent us (its Adj-RIB-In), optionally for one family and one prefix.
    AdjIn {
        /// The peer's address.
        address: IpAddr,
        /// `ipv4`/`ipv4-unicast` or `ipv6`/`ipv6-unicast`; all when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        family: Option<String>,
        /// Only this prefix.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// The routes we send a peer (its Adj-RIB-Out), optionally for one family and one prefix.
    AdjOut {
        /// The peer's address.
        address: IpAddr,
        /// `ipv4`/`ipv4-unicast` or `ipv6`/`ipv6-unicast`; all when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        family: Option<String>,
        /// Only this prefix.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// Add a peer at run time (kept across restarts; saved before the reply), as a `[[peer]]`
    /// table would give it.
    NeighborAdd {
        /// The peer's settings (boxed: a peer is large and this request is rare).
        peer: Box<crate::config::Peer>,
    },
    /// Delete a peer added at run time, closing its session with a Cease.
    NeighborDel {
        /// The peer's address.
        address: IpAddr,
    },
    /// Start a disabled peer's session (kept across restarts).
    NeighborEnable {
        /// The peer's address.
        address: IpAddr,
    },
    /// Stop a peer's session with Cease / Administrative Shutdown and keep it down (kept across
    /// restarts).
    NeighborDisable {
        /// The peer's address.
        address: IpAddr,
    },
    /// Reset a peer's session: hard (Cease / Administrative Reset, then a new session) or soft
    /// (ROUTE-REFRESH asked of the peer, and our routes sent again).
    NeighborReset {
        /// The peer's address.
        address: IpAddr,
        /// Soft reset: keep the session.
        #[serde(default)]
        soft: bool,
    },
    /// The Loc-RIB and every Adj-RIB-In, optionally for one family and one prefix.
    Rib {
        /// `ipv4-unicast` or `ipv6-unicast`; all when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        family: Option<String>,
        /// Only this prefix.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// Originate these routes at run time (kept across restarts; saved before the reply).
    RouteAdd {
        /// The routes, as `[[route]]` tables.
        routes: Vec<crate::config::Route>,
    },
    /// Stop originating these run-time routes.
    RouteDel {
        /// Their prefixes.
        prefixes: Vec<String>,
    },
    /// The speaker's own state: version, what loading the state found, route counts.
    SpeakerInfo,
    /// The metrics in the Prometheus text exposition format (a JSON string).
    Metrics,
    /// The kernel routes: what baton installs, what the kernel holds of ours, the difference.
    Fib,
    /// Read the configuration file again and apply the difference (only print the plan when
    /// `dry_run`).
    Reload {
        /// Compute and print the plan; change nothing.
        #[serde(default)]
        dry_run: bool,
    },
    /// The supervisor: pids, generation, versions, crashes, last upgrade.
    Status,
    /// Replace the speaker with the binary at `binary` (default: the path the supervisor was
    /// started from), within `timeout_secs`.
    Upgrade {
        /// The new speaker's executable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        binary: Option<std::path::PathBuf>,
        /// Seconds for the new speaker to be ready and every peer to be back with End-of-RIB.
        timeout_secs: u64,
        /// Stream the steps as they happen ([`UpgradeEvent`] lines) before the reply.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        events: bool,
    },
}

/// A reply: the view asked for, or an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    /// A failure, in words.
    Error {
        /// What went wrong.
        error: String,
    },
    /// Success.
    Ok(serde_json::Value),
}
