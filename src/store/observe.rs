//! Who hears of each save: the store times its saves and counts their bytes, and tells an
//! observer the speaker installs (its metrics). The store knows nothing of metrics: the
//! observer is a trait, installed once per [`StateDir`](super::StateDir).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveKind {
    /// The RIB snapshot (`rib.state`).
    Rib,
    /// The whole intent (`intent.state`).
    Intent,
    /// Records appended to the intent's journal (`intent.journal`), one append per batch of
    /// changes.
    Journal,
}

impl SaveKind {
    /// Every kind.
    pub const ALL: [SaveKind; 3] = [SaveKind::Rib, SaveKind::Intent, SaveKind::Journal];

    /// As metrics label it.
    pub fn name(self) -> &'static str {
        match self {
            SaveKind::Rib => "rib",
            SaveKind::Intent => "intent",
            SaveKind::Journal => "journal",
        }
    }
}

/// Hears of every save through a [`StateDir`](super::StateDir).
pub trait SaveObserver: Send + Sync {
    /// A save of `kind` succeeded (durably) after `took`, writing `bytes`.
    fn saved(&self, kind: SaveKind, took: Duration, bytes: u64);
    /// A save of `kind` failed.
    fn failed(&self, kind: SaveKind);
}

/// The observer of one state directory, once installed.
#[derive(Default)]
pub(super) struct Observer(OnceLock<Arc<dyn SaveObserver>>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.get().is_some() {
            "set"
        } else {
            "none"
        };
        write!(f, "Observer({state})")
    }
}

impl Observer {
    /// Install `observer`; false if one was already installed (it stays).
    pub(super) fn set(&self, observer: Arc<dyn SaveObserver>) -> bool {
        self.0.set(observer).is_ok()
    }

    /// Run `save` (which returns the bytes it wrote), timed, and report how it went.
    pub(super) fn timed<E>(
        &self,
        kind: SaveKind,
        save: impl FnOnce() -> Result<u64, E>,
    ) -> Result<u64, E> {
        let started = std::time::Instant::now();
        let result = save();
        if let Some(o) = self.0.get() {
            match &result {
                Ok(bytes) => o.saved(kind, started.elapsed(), *bytes),
                Err(_) => o.failed(kind),
            }
        }
        result
    }
}
