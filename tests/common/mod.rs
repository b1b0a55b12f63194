//! The integration-test harness: real peers (gobgpd, bird2) and baton itself, each in a network
//! namespace of a throw-away [`Lab`], with deadlines instead of sleeps.
//!
//! Each test file says `mod common;` and uses what it needs:
//!
//! ```ignore
//! let lab = Lab::new();
//! let (a, b) = (lab.host("gobgp"), lab.host("bird"));
//! let gobgp = Gobgpd::start(&a, GobgpConfig {
//!     asn: 65001,
//!     neighbors: vec![GobgpNeighbor::new(b.ipv4.into(), 65002)],
//!     ..Default::default()
//! });
//! let bird = Bird::start(&b, BirdConfig {
//!     asn: 65002,
//!     protocols: vec![BirdPeer::new("gobgp", a.ipv4.into(), 65001)],
//!     ..Default::default()
//! });
//! gobgp.wait_established(b.ipv4.into(), Duration::from_secs(20));
//! ```
//!
//! Drop order does the cleanup: declare the `Lab` first so that it is dropped last, after the
//! daemons (each kills its process on drop and, if the test is panicking, prints its log tail).
//! The lab then kills whatever is left in its namespaces and deletes them.

// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]
// Re-exports are for the test files' convenience; each binary uses some of them.
#![allow(unused_imports)]

pub mod api_lab;
pub mod baton;
pub mod bird;
pub mod gobgp;
pub mod gr_lab;
pub mod http;
pub mod kernel;
pub mod monitor;
pub mod netns;
pub mod notify;
pub mod poll;
pub mod process;
pub mod rawpeer;
pub mod snapshot;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use baton::{Baton, BatonPaths, UpgradeRun};
pub use bird::{Bird, BirdConfig, BirdPeer, BirdRoute};
pub use gobgp::{GobgpConfig, GobgpNeighbor, GobgpRoute, Gobgpd};
pub use netns::{Host, Lab};

/// An address family and subsequent address family this harness knows how to ask about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 unicast (AFI 1, SAFI 1).
    Ipv4Unicast,
    /// IPv6 unicast (AFI 2, SAFI 1).
    Ipv6Unicast,
}

impl Family {
    /// The family of a prefix or address written as text ("198.18.0.0/24", "2001:db8::/32").
    pub fn of(text: &str) -> Family {
        if text.contains(':') {
            Family::Ipv6Unicast
        } else {
            Family::Ipv4Unicast
        }
    }
}

/// Finds a tool in `PATH`, then in the sbin directories (where Debian puts `ip`, `bird` and
/// `birdc`, often missing from a non-root `PATH`). Falls back to the bare name, so a missing
/// tool fails at spawn time with its name in the message.
pub fn tool(name: &str) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs `cmd` to completion and returns its stdout; panics with the command, its status and
/// its stderr if it cannot start or fails.
pub fn check_output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The last `lines` lines of a text file ("" if it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
