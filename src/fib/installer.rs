//! The installer: one task that owns what baton wants in the kernel and what it believes the
//! kernel holds, fed by the Loc-RIB's best-path changes, and that alone writes to the kernel.
//!
//! Owning both in one task is what makes reconciliation safe: the task decides at the moment
//! of each write, from the wanted table as it is then, and records every prefix it writes
//! while a reconciliation dump is out, so the older dump never undoes a newer write (see
//! [`super::reconcile`]). Changes are drained in batches (all that queued up while the last
//! write was out), several changes of one prefix collapse into one write, and the writes go
//! out pipelined; the BGP sessions never wait on any of it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::diff::{same_slot, Owner};
use super::netlink::{Kernel, KernelError, Op};
use super::reconcile::{Event, Phase};
use super::want::{Policy, WantedTable};
use super::KernelRoute;
use crate::config::Fib;
use crate::metrics::{FamilyLabel, Metrics};
use crate::rib::BestPathChange;
use crate::wire::Prefix;

/// One batch of the best-path feed.
pub type Batch = Arc<[BestPathChange]>;

/// A pause between a reconciliation run's dump and its writes, for tests of what happens
/// meanwhile: called once per run (not the first), the run writes when the future completes.
pub type Hold = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// Refused writes logged one by one per batch; more are summed up in one line.
const LOGGED_FAILURES: usize = 10;

/// What the installer needs besides the feed.
pub struct Options {
    /// `[fib]`.
    pub fib: Fib,
    /// Where to count.
    pub metrics: Arc<Metrics>,
    /// Becomes true when routes no longer wanted may be deleted: after the peers' End-of-RIB
    /// or a deferral time, so that a restart never deletes what the peers are about to re-send.
    pub deletes: watch::Receiver<bool>,
    /// A test's pause inside reconciliation runs.
    pub hold: Option<Hold>,
}

enum Cmd {
    Stop {
        remove: bool,
        done: oneshot::Sender<()>,
    },
}

/// The running installer.
pub struct FibHandle {
    cmds: mpsc::UnboundedSender<Cmd>,
    task: JoinHandle<()>,
}

/// Open the netlink socket and start the installer on `feed`, whose first batch is the whole
/// Loc-RIB.
pub fn spawn(
    options: Options,
    feed: mpsc::UnboundedReceiver<Batch>,
) -> Result<FibHandle, KernelError> {
    let kernel = Kernel::open(options.fib.protocol)?;
    let policy = Policy::new(&options.fib);
    let installer = Installer {
        owner: Owner {
            table: policy.table,
            protocol: policy.protocol,
        },
        kernel,
        policy,
        wanted: WantedTable::default(),
        installed: HashMap::new(),
        failing: HashMap::new(),
        adopted: false,
        metrics: options.metrics,
    };
    let (cmds, rx) = mpsc::unbounded_channel();
    let interval = Duration::from_secs(options.fib.reconcile_interval.into());
    let task = tokio::spawn(installer.run(feed, rx, options.deletes, options.hold, interval));
    Ok(FibHandle { cmds, task })
}

impl FibHandle {
    /// Stop the installer. With `remove` (a deliberate stop), delete every route of ours from
    /// the kernel first; without, leave the kernel as it is for the next speaker.
    pub async fn stop(self, remove: bool) {
        let (done, wait) = oneshot::channel();
        if self.cmds.send(Cmd::Stop { remove, done }).is_ok() {
            let _ = wait.await;
        }
        let _ = self.task.await;
    }
}

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
    async fn run(
        mut self,
        mut feed: mpsc::UnboundedReceiver<Batch>,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut deletes: watch::Receiver<bool>,
        hold: Option<Hold>,
        interval: Duration,
    ) {
        let mut phase = Phase::Idle;
        let mut delete_allowed = *deletes.borrow_and_update();
        let mut gate_live = !delete_allowed;
        let mut feed_open = true;
        let mut rerun = false;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        // The first batch is the whole table: it is written by the first run, which first
        // adopts what the kernel already holds of ours.
        tokio::select! {
            cmd = cmds.recv() => return self.stop(cmd).await,
            first = feed.recv() => match first {
                Some(batch) => {
                    for change in batch.iter() {
                        self.wanted.apply(&self.policy, change);
                    }
                    phase = Phase::start(&self.kernel, self.owner.table, !self.adopted);
                }
                None => feed_open = false,
            },
        }
        loop {
            tokio::select! {
                biased;
                cmd = cmds.recv() => return self.stop(cmd).await,
                event = phase.wait() => {
                    match event {
                        Event::Dumped(found) => {
                            let first = phase.is_first();
                            phase = self.dumped(phase, found, delete_allowed, hold.as_ref().filter(|_| !first)).await;
                        }
                        Event::Released => phase = self.released(phase).await,
                    }
                    if phase.is_idle() && rerun {
                        rerun = false;
                        phase = Phase::start(&self.kernel, self.owner.table, !self.adopted);
                    }
                }
                // Held back until a first run has adopted the kernel's routes (retried at each
                // tick if its dump fails): a write before would not know they are ours.
                batch = feed.recv(), if feed_open && self.adopted => match batch {
                    Some(batch) => {
                        let mut batches = vec![batch];
                        while let Ok(more) = feed.try_recv() {
                            batches.push(more);
                        }
                        self.apply(&batches, phase.touched()).await;
                    }
                    None => feed_open = false,
                },
                changed = deletes.changed(), if gate_live => {
                    gate_live = changed.is_ok();
                    if changed.is_ok() && *deletes.borrow_and_update() {
                        gate_live = false;
                        delete_allowed = true;
                        info!("kernel routes: the peers have re-sent their routes (or the deferral time passed): routes no longer wanted are removed from now on");
                        if phase.is_idle() {
                            phase = Phase::start(&self.kernel, self.owner.table, !self.adopted);
                        } else {
                            rerun = true;
                        }
                    }
                }
                _ = tick.tick() => {
                    if phase.is_idle() {
                        phase = Phase::start(&self.kernel, self.owner.table, !self.adopted);
                    }
                }
            }
        }
    }

    async fn stop(self, cmd: Option<Cmd>) {
        match cmd {
            Some(Cmd::Stop { remove, done }) => {
                if remove {
                    self.remove_all().await;
                }
                let _ = done.send(());
            }
            None => {
                debug!("kernel routes: the installer's handle is gone; routes left as they are")
            }
        }
    }

    /// Delete every route of ours in our table, whether this run installed it or not.
    async fn remove_all(&self) {
        let found = match self.kernel.dump(self.owner.table, true).await {
            Ok(found) => found,
            Err(e) => {
                warn!(error = %e, "kernel routes: cannot list our routes to remove them");
                return;
            }
        };
        let ops: Vec<Op> = found
            .into_iter()
            .filter(|f| self.owner.owns(f))
            .map(|f| Op::Delete(f.route))
            .collect();
        let results = self.kernel.write(&ops).await;
        let removed = results
            .iter()
            .filter(|r| r.as_ref().map_or_else(KernelError::is_missing, |_| true))
            .count();
        self.metrics.fib.deletes.inc_by(removed as u64);
        for (op, e) in ops
            .iter()
            .zip(&results)
            .filter_map(|(o, r)| Some((o, r.as_ref().err()?)))
        {
            if !e.is_missing() {
                warn!(route = %op.route(), error = %e, "kernel routes: cannot remove");
            }
        }
        info!(removed, "deliberate stop: our kernel routes removed");
    }

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
