//! Kernel routes: the best routes learned from peers, installed into a kernel routing table
//! over rtnetlink and kept there.
//!
//! A host that learns routes must forward with them, and keep forwarding through an upgrade or
//! a crash: that is what the Forwarding bit of graceful restart promises. So:
//! - [`installer`] is one task fed by the Loc-RIB's best-path changes ([`want`] turns them into
//!   kernel routes); it writes them in batches, many requests in flight on one netlink socket
//!   ([`netlink`]), and never blocks the BGP sessions;
//!   what it holds and every write it makes are in [`writes`]; with `[fib] multipath`, equal
//!   best routes make one multipath route ([`want`], [`Via`]);
//! - every `reconcile_interval` it dumps our routes from the kernel and repairs the difference
//!   ([`diff`], pure, and [`reconcile`]): what someone else deleted comes back, what we no
//!   longer want goes, and nothing of another protocol or table is touched;
//! - kernel routes outlive the speaker on a crash, an upgrade or a quiesce; the next speaker
//!   adopts what it finds under our protocol and deletes what is no longer wanted only once
//!   the peers have re-sent their tables (End-of-RIB) or a deferral time passed. A deliberate
//!   stop removes our routes unless `[fib] keep_on_stop`.
//! - `batonctl fib` compares the wanted routes with a dump of the kernel ([`show`]).

pub mod diff;
pub mod installer;
pub mod netlink;
pub mod reconcile;
mod route;
pub mod show;
pub mod want;
pub mod writes;

#[cfg(test)]
mod testutil;

pub use route::{KernelRoute, Via};

#[cfg(test)]
mod tests;
