//! Reconciliation runs: every `reconcile_interval`, dump our routes from the kernel, compare
//! them with what is wanted ([`super::diff`]), and write the difference — what someone deleted
//! is reinstalled, what we no longer want is deleted.
//!
//! A run is a small state machine inside the installer task ([`Phase`]): the dump runs on its
//! own task so that best-path changes keep being written meanwhile; every prefix written while
//! the dump is out is recorded and left out of the run (the dump is older than the write).
//! When the dump is back the plan is made, then checked once more against the wanted table at
//! the moment of writing, so a route withdrawn in between is never resurrected. Tests can hold
//! a run between its plan and its writes ([`super::writes::Hold`]) to prove it.
//!
//! The first run of a speaker adopts: routes of ours that a previous speaker left are taken
//! as installed, and only what is missing is written. Deletions wait for the deletion gate
//! (the peers' End-of-RIB), like every run's.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use futures_util::future::BoxFuture;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::diff::{diff, same_slot, Found, Plan};
use super::netlink::{Kernel, KernelError, Op};
use super::writes::{Hold, Installer, Writer};
use super::KernelRoute;
use crate::wire::Prefix;

/// Where a reconciliation run is.
pub(super) enum Phase {
    /// No run in progress.
    Idle,
    /// The kernel is being dumped.
    Dumping {
        first: bool,
        started: Instant,
        touched: HashSet<Prefix>,
        dump: JoinHandle<Result<Vec<Found>, KernelError>>,
    },
    /// A test holds the run between its plan and its writes.
    Held {
        started: Instant,
        touched: HashSet<Prefix>,
        found: Vec<Found>,
        plan: Plan,
        hold: BoxFuture<'static, ()>,
    },
}

/// What a run in progress is waiting for, come.
pub(super) enum Event {
    /// The dump is back.
    Dumped(Result<Vec<Found>, KernelError>),
    /// The test let the run go.
    Released,
}

impl Phase {
    /// Start a run: dump `table` on a task of its own.
    pub(super) fn start(kernel: &Kernel, table: u32, first: bool) -> Phase {
        let kernel = kernel.clone();
        Phase::Dumping {
            first,
            started: Instant::now(),
            touched: HashSet::new(),
            dump: tokio::spawn(async move { kernel.dump(table, true).await }),
        }
    }

    /// Wait for what the run waits for; never completes when idle.
    pub(super) async fn wait(&mut self) -> Event {
        match self {
            Phase::Idle => std::future::pending().await,
            Phase::Dumping { dump, .. } => Event::Dumped(dump.await.unwrap_or_else(|e| {
                Err(KernelError {
                    errno: None,
                    message: format!("the dump task failed: {e}"),
                })
            })),
            Phase::Held { hold, .. } => {
                hold.await;
                Event::Released
            }
        }
    }

    /// True when no run is in progress.
    pub(super) fn is_idle(&self) -> bool {
        matches!(self, Phase::Idle)
    }

    /// True while the first run dumps.
    pub(super) fn is_first(&self) -> bool {
        matches!(self, Phase::Dumping { first: true, .. })
    }

    /// Where writes made meanwhile are to be recorded, while a run is in progress.
    pub(super) fn touched(&mut self) -> Option<&mut HashSet<Prefix>> {
        match self {
            Phase::Idle => None,
            Phase::Dumping { touched, .. } | Phase::Held { touched, .. } => Some(touched),
        }
    }
}

impl Installer {
    /// The dump of the run in `phase` came back: plan, then write (or hold, for a test).
    pub(super) async fn dumped(
        &mut self,
        phase: Phase,
        found: Result<Vec<Found>, KernelError>,
        delete: bool,
        hold: Option<&Hold>,
    ) -> Phase {
        let Phase::Dumping {
            first,
            started,
            touched,
            ..
        } = phase
        else {
            return phase;
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                warn!(error = %e, "kernel routes: cannot dump the routing table; retrying at the next run");
                return Phase::Idle;
            }
        };
        let plan = diff(&self.wanted, &found, self.owner, &touched, delete);
        if let Some(hold) = hold {
            return Phase::Held {
                started,
                touched,
                found,
                plan,
                hold: hold(),
            };
        }
        let writer = if first {
            self.adopted = true;
            Writer::Initial
        } else {
            Writer::Reconcile
        };
        self.write_plan(started, &touched, &found, plan, writer)
            .await;
        Phase::Idle
    }

    /// The test let the held run in `phase` go: write.
    pub(super) async fn released(&mut self, phase: Phase) -> Phase {
        if let Phase::Held {
            started,
            touched,
            found,
            plan,
            ..
        } = phase
        {
            self.write_plan(started, &touched, &found, plan, Writer::Reconcile)
                .await;
        }
        Phase::Idle
    }

    async fn write_plan(
        &mut self,
        started: Instant,
        touched: &HashSet<Prefix>,
        found: &[Found],
        plan: Plan,
        writer: Writer,
    ) {
        // The moment of writing: only what still holds.
        let plan = plan.still_wanted(&self.wanted, touched);
        let adopted = self.adopt(found, touched);
        let mut ops: Vec<Op> = plan
            .install
            .into_iter()
            .map(|i| match i.replaces {
                Some(_) => Op::Replace(i.wanted.route),
                None => Op::Add(i.wanted.route),
            })
            .collect();
        let installs = ops.len();
        ops.extend(plan.remove.into_iter().map(Op::Delete));
        let results = self.kernel.write(&ops).await;
        self.record(&ops, &results, writer);
        let took = started.elapsed();
        self.metrics.fib.reconcile_runs.inc();
        self.metrics
            .fib
            .reconcile_duration
            .observe(took.as_secs_f64());
        if writer == Writer::Initial {
            info!(
                adopted,
                installed = installs,
                deleted = ops.len() - installs,
                wanted = self.wanted.len(),
                took_ms = took.as_millis() as u64,
                "kernel routes: first reconciliation done"
            );
        }
    }

    /// Believe what the dump says about the prefixes not written since: for each, our route
    /// that is wanted, or else one in the wanted route's slot, or else any. Returns how many
    /// prefixes have a route of ours.
    fn adopt(&mut self, found: &[Found], touched: &HashSet<Prefix>) -> usize {
        let owner = self.owner;
        let mut pick: HashMap<Prefix, &KernelRoute> = HashMap::new();
        for f in found.iter().filter(|f| owner.owns(f)) {
            let prefix = f.route.prefix;
            if touched.contains(&prefix) {
                continue;
            }
            let want = self.wanted.get(&prefix).map(|w| &w.route);
            let rank = |r: &KernelRoute| match want {
                Some(w) if w == r => 0,
                Some(w) if same_slot(w, r) => 1,
                _ => 2,
            };
            let current = pick.entry(prefix).or_insert(&f.route);
            if rank(&f.route) < rank(current) {
                *current = &f.route;
            }
        }
        let gone: Vec<KernelRoute> = self
            .installed
            .values()
            .filter(|r| !touched.contains(&r.prefix) && pick.get(&r.prefix) != Some(r))
            .cloned()
            .collect();
        for route in &gone {
            self.unset_installed(route);
        }
        let adopted = pick.len();
        for route in pick.into_values() {
            if self.installed.get(&route.prefix) != Some(route) {
                self.set_installed(route.clone());
            }
        }
        adopted
    }
}
