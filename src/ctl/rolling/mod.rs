//! A rolling upgrade across baton instances (`batonctl upgrade --rolling TARGET…`): upgrade one
//! target, wait until it is healthy, let it settle, then the next — so an anycast prefix
//! announced by every instance is always held by the others while one hands over.
//!
//! This module is the pure part: what a target is, the plan, which target may start next and
//! what the report says. The I/O (control sockets, `ssh`) is in [`driver`], so the scheduling
//! and the report are unit-tested without any daemon.

pub mod driver;
mod target;

pub use target::{shell_quote, SshTarget, Target, TargetError};

use serde::{Deserialize, Serialize};

/// How a roll runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The new binary, for every target (default: each supervisor's own start path).
    pub binary: Option<std::path::PathBuf>,
    /// Seconds each target's upgrade may take (`batonctl upgrade --timeout`).
    pub timeout_secs: u64,
    /// Seconds each peer of an upgraded target may take to be healthy again.
    pub peer_timeout_secs: u64,
    /// Seconds to wait after a target is healthy before it counts as done.
    pub settle_secs: u64,
    /// Targets upgrading at once (at least 1).
    pub max_unavailable: usize,
    /// Go on with the other targets after a failure.
    pub continue_on_error: bool,
    /// The `batonctl` to run on `ssh://` targets.
    pub remote_batonctl: String,
    /// More `ssh -o` options (`IdentityFile=…`, `UserKnownHostsFile=…`), after BatchMode.
    pub ssh_options: Vec<String>,
}

/// What became of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Not started (the roll stopped before it, or it is still to come).
    Untouched,
    /// Upgraded, healthy and settled.
    Upgraded {
        /// Version before.
        from_version: Option<String>,
        /// Version after.
        to_version: Option<String>,
    },
    /// The upgrade failed and the supervisor kept the old speaker.
    RolledBack {
        /// Why.
        reason: String,
    },
    /// Something else failed: unreachable, refused, or not healthy after the upgrade (then
    /// the new speaker runs).
    Failed {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The outcome's word in the table.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Untouched => "untouched",
            Outcome::Upgraded { .. } => "upgraded",
            Outcome::RolledBack { .. } => "rolled back",
            Outcome::Failed { .. } => "failed",
        }
    }

    fn is_failure(&self) -> bool {
        matches!(self, Outcome::RolledBack { .. } | Outcome::Failed { .. })
    }
}

/// One target in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The target as given.
    pub target: String,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Milliseconds from the roll's start until this target's upgrade started.
    pub started_ms: Option<u64>,
    /// Milliseconds from the roll's start until it was done (settled, or failed).
    pub finished_ms: Option<u64>,
}

/// The report of a roll, printed last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollReport {
    /// Every target upgraded.
    pub ok: bool,
    /// Per target, in the order given.
    pub targets: Vec<TargetReport>,
}

/// The roll's progress: which target may start now, what became of each.
#[derive(Debug, Clone)]
pub struct Roll {
    targets: Vec<TargetReport>,
    next: usize,
    in_flight: usize,
    stopped: bool,
    max_unavailable: usize,
    continue_on_error: bool,
}

impl Roll {
    /// A roll over `targets` (as given on the command line), nothing started.
    pub fn new(targets: &[Target], options: &Options) -> Roll {
        Roll {
            targets: targets
                .iter()
                .map(|t| TargetReport {
                    target: t.to_string(),
                    outcome: Outcome::Untouched,
                    started_ms: None,
                    finished_ms: None,
                })
                .collect(),
            next: 0,
            in_flight: 0,
            stopped: false,
            max_unavailable: options.max_unavailable.max(1),
            continue_on_error: options.continue_on_error,
        }
    }

    /// The next target to start at `now_ms`, if one may: targets go in order, at most
    /// `max_unavailable` at once, none after a failure unless `continue_on_error`.
    pub fn start_next(&mut self, now_ms: u64) -> Option<usize> {
        if self.stopped || self.in_flight >= self.max_unavailable {
            return None;
        }
        let index = self.next;
        let report = self.targets.get_mut(index)?;
        report.started_ms = Some(now_ms);
        self.next += 1;
        self.in_flight += 1;
        Some(index)
    }

    /// Target `index` is done at `now_ms` with `outcome`.
    pub fn finish(&mut self, index: usize, outcome: Outcome, now_ms: u64) {
        if outcome.is_failure() && !self.continue_on_error {
            self.stopped = true;
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        let report = &mut self.targets[index];
        report.outcome = outcome;
        report.finished_ms = Some(now_ms);
    }

    /// Targets started and not finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The report so far (final once nothing is in flight and nothing may start).
    pub fn report(&self) -> RollReport {
        RollReport {
            ok: self
                .targets
                .iter()
                .all(|t| matches!(t.outcome, Outcome::Upgraded { .. })),
            targets: self.targets.clone(),
        }
    }
}

/// The plan `--dry-run` prints: the targets in order and the command each gets.
pub fn plan(targets: &[Target], options: &Options) -> String {
    let mut out = format!(
        "rolling upgrade of {} target(s), {} at a time{}; each: upgrade (timeout {} s), wait until every configured peer is Established with End-of-RIB both ways (at most {} s), settle {} s\n",
        targets.len(),
        options.max_unavailable.max(1),
        if options.continue_on_error {
            ", going on after a failure"
        } else {
            ", stopping at the first failure"
        },
        options.timeout_secs,
        options.peer_timeout_secs,
        options.settle_secs,
    );
    for (i, t) in targets.iter().enumerate() {
        let argv = t.upgrade_argv(options);
        let words: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
        out.push_str(&format!("{:>3}. {t}: {}\n", i + 1, words.join(" ")));
    }
    out
}

/// What keeps these neighbors from being healthy (empty when all are): a healthy neighbor is
/// Established, has been sent our End-of-RIB and has sent its own for every family.
pub fn unhealthy(views: &[super::NeighborView]) -> Vec<String> {
    views
        .iter()
        .filter_map(|n| {
            if n.state != crate::session::SessionState::Established {
                Some(format!("{} is {:?}", n.address, n.state))
            } else if n.end_of_rib_sent_ms.is_none() {
                Some(format!("{} has not been sent End-of-RIB", n.address))
            } else if n.end_of_rib_received_ms.is_none() {
                Some(format!("{} has not sent End-of-RIB", n.address))
            } else {
                None
            }
        })
        .collect()
}

/// The report as a table.
pub fn render(report: &RollReport) -> String {
    let mut out = format!(
        "rolling upgrade {}\n",
        if report.ok { "complete" } else { "FAILED" }
    );
    let width = report
        .targets
        .iter()
        .map(|t| t.target.len())
        .max()
        .unwrap_or(0)
        .max("Target".len());
    out.push_str(&format!(
        "{:<width$}  {:<11}  {:>9}  {:>9}  Detail\n",
        "Target", "Outcome", "Start", "End"
    ));
    for t in &report.targets {
        let ms = |m: Option<u64>| m.map_or("-".to_string(), |m| format!("{m} ms"));
        let detail = match &t.outcome {
            Outcome::Untouched => String::new(),
            Outcome::Upgraded {
                from_version,
                to_version,
            } => format!(
                "{} -> {}",
                from_version.as_deref().unwrap_or("-"),
                to_version.as_deref().unwrap_or("-")
            ),
            Outcome::RolledBack { reason } | Outcome::Failed { reason } => reason.clone(),
        };
        out.push_str(&format!(
            "{:<width$}  {:<11}  {:>9}  {:>9}  {detail}\n",
            t.target,
            t.outcome.word(),
            ms(t.started_ms),
            ms(t.finished_ms),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
