//! Whether the state directory can be written right now.
//!
//! A state directory can stop being writable under a running daemon (a file system remounted
//! read-only after an error, a full disk, a permission change) and become writable again. The
//! daemon keeps running from the state it read: what cannot be saved is refused (run-time
//! changes) or skipped (RIB snapshots), and the directory is tried again at the next save, so
//! no restart is needed once it is fixed. This module remembers the outcome of the last attempt
//! and logs only the changes: one warning when the directory stops being writable, one info
//! line when it is writable again, never one per failed attempt.

use std::path::Path;
use std::sync::Mutex;

/// The outcome of the last write to the state directory.
#[derive(Debug, Default)]
pub struct Writability {
    /// Why the last write failed (`"/var/lib/baton: Read-only file system (os error 30)"`), or
    /// `None` if it succeeded (or none was tried yet).
    not_writable: Mutex<Option<String>>,
}

impl Writability {
    /// A write to `dir` succeeded.
    pub fn succeeded(&self, dir: &Path) {
        let mut state = self.lock();
        if let Some(was) = state.take() {
            tracing::info!(dir = %dir.display(), was = %was, "state writable again: run-time changes are accepted and the RIB snapshot is kept again");
        }
    }

    /// A write to `dir` failed because of `why`.
    pub fn failed(&self, dir: &Path, why: String) {
        let mut state = self.lock();
        if state.is_none() {
            tracing::warn!(dir = %dir.display(), error = %why, "state not writable: run-time changes are refused and the RIB snapshot is not kept until it is writable again");
        }
        *state = Some(why);
    }

    /// Why the state directory is not writable, if the last write failed.
    pub fn problem(&self) -> Option<String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.not_writable.lock().unwrap_or_else(|e| e.into_inner())
    }
}
