//! The installer: one task that owns what baton wants in the kernel and what it believes the
//! kernel holds, fed by the Loc-RIB's best-path changes, and that alone writes to the kernel.
//!
//! Owning both in one task is what makes reconciliation safe: the task decides at the moment
//! of each write, from the wanted table as it is then, and records every prefix it writes
//! while a reconciliation dump is out, so the older dump never undoes a newer write (see
//! [`super::reconcile`]). Changes are drained in batches (all that queued up while the last
//! write was out), several changes of one prefix collapse into one write, and the writes go
//! out pipelined; the BGP sessions never wait on any of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::diff::Owner;
use super::netlink::{Kernel, KernelError, Op};
use super::reconcile::{Event, Phase};
use super::show;
use super::want::{Policy, Wanted, WantedTable};
use super::writes::{Batch, Hold, Installer};
use crate::config::Fib;
use crate::ctl::FibView;
use crate::metrics::Metrics;

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
    /// The wanted routes and the netlink connection, for [`FibQuery::show`].
    Show(oneshot::Sender<(Vec<Wanted>, Kernel, Owner)>),
}

/// The running installer.
pub struct FibHandle {
    cmds: mpsc::UnboundedSender<Cmd>,
    task: JoinHandle<()>,
}

/// Asks a running installer what it wants, for `batonctl fib`; cheap to clone.
#[derive(Clone)]
pub struct FibQuery(mpsc::UnboundedSender<Cmd>);

impl FibQuery {
    /// The wanted routes beside a dump of the kernel's routes of ours, and the difference.
    /// The dump is made after the installer handed over its wanted table, on this task: the
    /// installer never waits on it (a write in between may show as a difference).
    pub async fn show(&self) -> Result<FibView, KernelError> {
        let gone = || KernelError {
            errno: None,
            message: "the kernel route installer is not running".into(),
        };
        let (tx, rx) = oneshot::channel();
        self.0.send(Cmd::Show(tx)).map_err(|_| gone())?;
        let (wanted, kernel, owner) = rx.await.map_err(|_| gone())?;
        let found = kernel.dump(owner.table, true).await?;
        Ok(show::compare(&wanted, &found, owner))
    }
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
    /// A way to ask the installer what it wants.
    pub fn query(&self) -> FibQuery {
        FibQuery(self.cmds.clone())
    }

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
        let first = loop {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Show(reply)) => self.show(reply),
                    other => return self.stop(other).await,
                },
                first = feed.recv() => break first,
            }
        };
        match first {
            Some(batch) => {
                for change in batch.iter() {
                    self.wanted.apply(&self.policy, change);
                }
                phase = Phase::start(&self.kernel, self.owner.table, !self.adopted);
            }
            None => feed_open = false,
        }
        loop {
            tokio::select! {
                biased;
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Show(reply)) => self.show(reply),
                    other => return self.stop(other).await,
                },
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

    fn show(&self, reply: oneshot::Sender<(Vec<Wanted>, Kernel, Owner)>) {
        let wanted = self.wanted.iter().cloned().collect();
        let _ = reply.send((wanted, self.kernel.clone(), self.owner));
    }

    async fn stop(self, cmd: Option<Cmd>) {
        match cmd {
            Some(Cmd::Show(_)) => {}
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
}
