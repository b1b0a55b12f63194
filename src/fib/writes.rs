//! What the installer holds and how it writes: the wanted table, what it believes the kernel
//! holds of ours, and the one place writes go out and are counted. Shared by the installer's
//! task (`installer.rs`, fed by the best-path feed) and its reconciliation runs
//! (`reconcile.rs`), which are both `impl` blocks on [`Installer`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tracing::{debug, info, warn};

use super::diff::{same_slot, Owner};
use super::netlink::{Kernel, KernelError, Op};
use super::want::{Policy, WantedTable};
use super::KernelRoute;
use crate::metrics::{FamilyLabel, Metrics};
use crate::rib::BestPathChange;
use crate::wire::Prefix;

/// One batch of the best-path feed.
pub type Batch = Arc<Vec<BestPathChange>>;

/// A pause between a reconciliation run's dump and its writes, for tests of what happens
/// meanwhile: called once per run (not the first), the run writes when the future completes.
pub type Hold = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// Refused writes logged one by one per batch; more are summed up in one line.
const LOGGED_FAILURES: usize = 10;

/// Who wrote: what a successful write of a missing route counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writer {
    /// The best-path feed.
    Feed,
    /// The first reconciliation run, which adopts what the previous speaker left.
    Initial,
    /// A later reconciliation run: a route it installs had gone missing.
    Reconcile,
}

/// The installer's state.
pub(super) struct Installer {
    pub(super) kernel: Kernel,
    pub(super) policy: Policy,
    pub(super) owner: Owner,
    /// What we want in the kernel.
    pub(super) wanted: WantedTable,
    /// What we believe the kernel holds of ours, per prefix.
    pub(super) installed: HashMap<Prefix, KernelRoute>,
    /// Prefixes whose last write was refused, with the reason (logged once).
    pub(super) failing: HashMap<Prefix, String>,
    /// A first reconciliation run has adopted what the kernel held of ours.
    pub(super) adopted: bool,
    pub(super) metrics: Arc<Metrics>,
}
impl Installer {
    /// Take batches of best-path changes and write what they change. `touched` collects the
    /// prefixes written, while a reconciliation dump is out.
    pub(super) async fn apply(
        &mut self,
        batches: &[Batch],
        mut touched: Option<&mut HashSet<Prefix>>,
    ) {
        let mut changed = Vec::new();
        let mut seen = HashSet::new();
        for change in batches.iter().flat_map(|b| b.iter()) {
            if self.wanted.apply(&self.policy, change).is_some() && seen.insert(change.prefix) {
                changed.push(change.prefix);
            }
        }
        let mut ops = Vec::new();
        for prefix in changed {
            if let Some(t) = touched.as_deref_mut() {
                t.insert(prefix);
            }
            let want = self.wanted.get(&prefix).map(|w| &w.route);
            match (self.installed.get(&prefix), want) {
                (Some(have), Some(want)) if have == want => {}
                (Some(have), Some(want)) if same_slot(have, want) => {
                    ops.push(Op::Replace(want.clone()))
                }
                (Some(have), Some(want)) => {
                    ops.push(Op::Add(want.clone()));
                    ops.push(Op::Delete(have.clone()));
                }
                (None, Some(want)) => ops.push(Op::Add(want.clone())),
                (Some(have), None) => ops.push(Op::Delete(have.clone())),
                (None, None) => {
                    self.failing.remove(&prefix);
                }
            }
        }
        if ops.is_empty() {
            return;
        }
        let results = self.kernel.write(&ops).await;
        self.record(&ops, &results, Writer::Feed);
    }

    /// Account for the outcome of `ops`: the belief about the kernel, the metrics, the logs.
    pub(super) fn record(
        &mut self,
        ops: &[Op],
        results: &[Result<(), KernelError>],
        writer: Writer,
    ) {
        let mut new_failures = 0;
        for (op, result) in ops.iter().zip(results) {
            let route = op.route();
            let prefix = route.prefix;
            let peer = self.wanted.get(&prefix).map(|w| w.peer);
            match (op, result) {
                (Op::Add(_) | Op::Replace(_), Ok(())) => {
                    self.set_installed(route.clone());
                    self.metrics.fib.installs.inc();
                    if let Some(reason) = self.failing.remove(&prefix) {
                        info!(%prefix, peer = peer.map(display), %route, earlier = %reason, "kernel route installed after earlier failures");
                    } else if writer == Writer::Reconcile {
                        self.metrics.fib.reinstalls.inc();
                        info!(%prefix, peer = peer.map(display), %route, "kernel route was missing: reinstalled");
                    }
                }
                (Op::Add(_) | Op::Replace(_), Err(e)) => {
                    self.metrics.fib.install_failures.inc();
                    let reason = e.to_string();
                    if self.failing.get(&prefix) != Some(&reason) {
                        new_failures += 1;
                        if new_failures <= LOGGED_FAILURES {
                            warn!(%prefix, peer = peer.map(display), %route, error = %reason, "kernel refused our route (logged once; retried every reconciliation)");
                        }
                        self.failing.insert(prefix, reason);
                    }
                }
                (Op::Delete(_), Ok(())) => {
                    self.metrics.fib.deletes.inc();
                    self.unset_installed(route);
                    if writer == Writer::Feed {
                        debug!(%prefix, %route, "kernel route deleted");
                    } else {
                        info!(%prefix, %route, "kernel route of ours no longer wanted: deleted");
                    }
                }
                (Op::Delete(_), Err(e)) => {
                    self.unset_installed(route);
                    if !e.is_missing() {
                        warn!(%prefix, %route, error = %e, "cannot delete a kernel route of ours");
                    }
                }
            }
        }
        if new_failures > LOGGED_FAILURES {
            warn!(
                more = new_failures - LOGGED_FAILURES,
                "kernel refused more routes (not logged one by one)"
            );
        }
    }

    /// Record that the kernel holds `route` as our route for its prefix.
    pub(super) fn set_installed(&mut self, route: KernelRoute) {
        let family = route.prefix.family();
        if self.installed.insert(route.prefix, route).is_none() {
            self.routes_gauge(family).inc();
        }
    }

    /// Record that the kernel no longer holds `route` (if that is the one we knew of).
    pub(super) fn unset_installed(&mut self, route: &KernelRoute) {
        if self.installed.get(&route.prefix) == Some(route) {
            self.installed.remove(&route.prefix);
            self.routes_gauge(route.prefix.family()).dec();
        }
    }

    fn routes_gauge(
        &self,
        family: crate::wire::Family,
    ) -> prometheus_client::metrics::gauge::Gauge {
        self.metrics
            .fib
            .routes
            .get_or_create(&FamilyLabel {
                family: family.name(),
            })
            .clone()
    }
}
