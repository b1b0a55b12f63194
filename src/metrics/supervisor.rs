//! The supervisor's figures as the speaker exports them: the generation it runs as, upgrades by
//! outcome and crash restarts. The supervisor counts them and hands them over (in `Hello`,
//! then `Figures` messages: see `handoff`'s `figures`); the speaker only mirrors them, so the
//! numbers are the same whichever speaker serves the scrape, and survive upgrades and crashes.

use std::sync::atomic::Ordering;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::handoff::{Figures, UpgradeOutcome};

/// `outcome="completed"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// How the upgrade ended ([`UpgradeOutcome::name`]).
    pub outcome: String,
}

/// What the supervisor counts.
#[derive(Debug, Default)]
pub struct SupervisorMetrics {
    /// This speaker's generation (0 when running without a supervisor).
    pub generation: Gauge,
    /// Upgrades by outcome.
    pub upgrades: Family<OutcomeLabel, Counter>,
    /// Speakers started again after one died or failed to start.
    pub restarts: Counter,
}

impl SupervisorMetrics {
    /// Every outcome at 0, registered.
    pub(super) fn register(&self, registry: &mut Registry) {
        for outcome in UpgradeOutcome::ALL {
            let _ = self.upgrades.get_or_create(&label(outcome));
        }
        registry.register(
            "generation",
            "The speaker generation serving this scrape: 1 for the supervisor's first speaker, +1 \
             for each upgrade or restart",
            self.generation.clone(),
        );
        registry.register(
            "upgrades",
            "Speaker upgrades by outcome: completed, failed (the old speaker carries on), \
             incomplete (the new speaker went live, not every peer came back in time)",
            self.upgrades.clone(),
        );
        registry.register(
            "speaker_restarts",
            "Speakers the supervisor started again after the previous one died or failed to \
             start (crash restarts)",
            self.restarts.clone(),
        );
    }

    /// Mirror the supervisor's `figures` (absolute values; counters never go back) and this
    /// speaker's `generation`.
    pub fn mirror(&self, generation: u64, figures: &Figures) {
        self.generation.set(generation as i64);
        raise(&self.restarts, figures.restarts);
        for outcome in UpgradeOutcome::ALL {
            raise(
                &self.upgrades.get_or_create(&label(outcome)),
                figures.upgrades.get(outcome),
            );
        }
    }
}

fn label(outcome: UpgradeOutcome) -> OutcomeLabel {
    OutcomeLabel {
        outcome: outcome.name().to_string(),
    }
}

/// Set a counter to `value` counted elsewhere, never lowering it.
fn raise(counter: &Counter, value: u64) {
    counter.inner().fetch_max(value, Ordering::Relaxed);
}
