//! State saves as metrics: how long each save took, how many bytes it wrote, and failures, per
//! kind of state (the RIB snapshot, the whole intent, the intent's journal). The store reports
//! every save to its observer ([`SaveObserver`]); this is the observer.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::{SaveKind, SaveObserver};

/// `kind="rib"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The kind of state ([`SaveKind::name`]).
    pub kind: String,
}

/// A histogram of save durations: 100 µs (a journal append on a fast disk) to about 7 minutes
/// (a million-route snapshot on a slow one).
fn save_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 12))
}

/// State saves.
#[derive(Debug)]
pub struct StateMetrics {
    /// Durations of the saves that succeeded, write to directory fsync.
    pub duration: Family<KindLabel, Histogram, fn() -> Histogram>,
    /// Bytes written by the last save.
    pub last_bytes: Family<KindLabel, Gauge>,
    /// Bytes written by every save.
    pub written: Family<KindLabel, Counter>,
    /// Saves that failed.
    pub failures: Family<KindLabel, Counter>,
}

impl Default for StateMetrics {
    fn default() -> Self {
        StateMetrics {
            duration: Family::new_with_constructor(save_histogram),
            last_bytes: Family::default(),
            written: Family::default(),
            failures: Family::default(),
        }
    }
}

impl StateMetrics {
    /// Every kind at 0, registered.
    pub(super) fn register(&self, registry: &mut Registry) {
        for kind in SaveKind::ALL {
            let l = label(kind);
            let _ = self.duration.get_or_create(&l);
            let _ = self.last_bytes.get_or_create(&l);
            let _ = self.written.get_or_create(&l);
            let _ = self.failures.get_or_create(&l);
        }
        registry.register(
            "state_save_duration_seconds",
            "Duration of state saves that succeeded, from the first write to the last fsync, \
             per kind (rib, intent, journal)",
            self.duration.clone(),
        );
        registry.register(
            "state_save_bytes",
            "Bytes written by the last state save, per kind (the size of the RIB snapshot or \
             intent file, or of the journal append)",
            self.last_bytes.clone(),
        );
        registry.register(
            "state_written_bytes",
            "Bytes written by state saves, per kind",
            self.written.clone(),
        );
        registry.register(
            "state_save_failures",
            "State saves that failed (the state directory not writable, a full disk), per kind",
            self.failures.clone(),
        );
    }
}

impl SaveObserver for StateMetrics {
    fn saved(&self, kind: SaveKind, took: Duration, bytes: u64) {
        let l = label(kind);
        self.duration.get_or_create(&l).observe(took.as_secs_f64());
        self.last_bytes.get_or_create(&l).set(bytes as i64);
        self.written.get_or_create(&l).inc_by(bytes);
    }

    fn failed(&self, kind: SaveKind) {
        self.failures.get_or_create(&label(kind)).inc();
    }
}

fn label(kind: SaveKind) -> KindLabel {
    KindLabel {
        kind: kind.name().to_string(),
    }
}
