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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The log lines written while `f` runs.
    fn logged(f: impl FnOnce()) -> Vec<String> {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines().map(String::from).collect()
    }

    #[test]
    fn only_the_changes_are_logged_one_warning_then_one_info_line() {
        let w = Writability::default();
        let dir = Path::new("/var/lib/baton");
        let lines = logged(|| {
            w.succeeded(dir);
            for _ in 0..5 {
                w.failed(dir, "/var/lib/baton: Read-only file system".into());
            }
            assert_eq!(
                w.problem().as_deref(),
                Some("/var/lib/baton: Read-only file system")
            );
            w.succeeded(dir);
            w.succeeded(dir);
        });
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[0].contains("WARN") && lines[0].contains("state not writable"));
        assert!(lines[1].contains("INFO") && lines[1].contains("state writable again"));
        assert_eq!(w.problem(), None);
    }
}
