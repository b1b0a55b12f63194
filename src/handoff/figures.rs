//! What the supervisor counts and the speaker exports: the speaker serves `/metrics`, but
//! upgrades and crash restarts happen around it, in the supervisor.
//!
//! The supervisor owns the counts (they outlive every speaker, and its re-exec carries them).
//! Each speaker it starts gets them in its `Hello` (a crash restart is counted before the new
//! speaker is spawned, so that speaker already reports itself); a change while a speaker runs
//! (an upgrade's outcome, known only once the new speaker is live or the old one carried on)
//! is sent to the running speaker as [`Msg::Figures`](super::Msg::Figures), whole: absolute
//! values, not increments, so a message lost with a dying speaker or sent twice is harmless.
//!
//! Every field has a default, so a `Hello` without figures (an older supervisor) gives zeros,
//! and a field added later is ignored by an older speaker: the type grows additively, like
//! the rest of the protocol.

use serde::{Deserialize, Serialize};

/// How an upgrade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeOutcome {
    /// The new speaker runs and every peer that was up is back with our End-of-RIB.
    Completed,
    /// The new speaker never took over (it failed to start, refused, was not ready in time,
    /// or the configuration was invalid): the old one carries on untouched.
    Failed,
    /// The new speaker went live but the upgrade did not finish: peers missing at the
    /// deadline, or the new speaker exited after it went live (a crash restart follows).
    Incomplete,
}

impl UpgradeOutcome {
    /// Every outcome, in the order metrics list them.
    pub const ALL: [UpgradeOutcome; 3] = [
        UpgradeOutcome::Completed,
        UpgradeOutcome::Failed,
        UpgradeOutcome::Incomplete,
    ];

    /// As a metric label says it.
    pub fn name(self) -> &'static str {
        match self {
            UpgradeOutcome::Completed => "completed",
            UpgradeOutcome::Failed => "failed",
            UpgradeOutcome::Incomplete => "incomplete",
        }
    }
}

/// Upgrades run by this supervisor (and the images it re-executed), by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpgradeCounts {
    /// See [`UpgradeOutcome::Completed`].
    pub completed: u64,
    /// See [`UpgradeOutcome::Failed`].
    pub failed: u64,
    /// See [`UpgradeOutcome::Incomplete`].
    pub incomplete: u64,
}

impl UpgradeCounts {
    /// The count of `outcome`.
    pub fn get(&self, outcome: UpgradeOutcome) -> u64 {
        match outcome {
            UpgradeOutcome::Completed => self.completed,
            UpgradeOutcome::Failed => self.failed,
            UpgradeOutcome::Incomplete => self.incomplete,
        }
    }

    /// Count one more upgrade ending with `outcome`.
    pub fn count(&mut self, outcome: UpgradeOutcome) {
        let n = match outcome {
            UpgradeOutcome::Completed => &mut self.completed,
            UpgradeOutcome::Failed => &mut self.failed,
            UpgradeOutcome::Incomplete => &mut self.incomplete,
        };
        *n += 1;
    }
}

/// The supervisor's figures, as a speaker exports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Figures {
    /// Speakers started again after the previous one died or failed to start.
    pub restarts: u64,
    /// Upgrades, by outcome.
    pub upgrades: UpgradeCounts,
}
