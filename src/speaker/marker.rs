//! Knowing whether this start is a restart.
//!
//! A marker file in the state directory exists exactly while a speaker runs. A deliberate stop
//! (SIGTERM, SIGINT) removes it after telling every peer; a crash, `kill -9` or an upgrade leaves
//! it. Finding it at start therefore means the previous speaker ended without a deliberate stop:
//! its peers are holding our routes as stale (graceful restart), and this speaker must set the
//! Restart bit (RFC 4724 §3). A first-ever start finds none and sets no Restart bit.

use std::path::{Path, PathBuf};

/// The marker's file name inside the state directory.
pub const MARKER: &str = "speaker.running";

/// The running-speaker marker of one state directory.
#[derive(Debug)]
pub struct RunMarker {
    path: PathBuf,
}

impl RunMarker {
    /// Create the marker (and the state directory); returns it and whether a previous speaker
    /// ended without a deliberate stop.
    ///
    /// A state directory that cannot be written does not stop the speaker: it still knows
    /// whether this is a restart (the marker of a crashed speaker is still there); only the
    /// next start after a deliberate stop cannot tell, and restarts gracefully (the Restart
    /// bit is harmless to peers that hold nothing of ours).
    pub fn begin(state_dir: &Path) -> (RunMarker, bool) {
        let path = state_dir.join(MARKER);
        let restarting = path.exists();
        if let Err(e) = std::fs::create_dir_all(state_dir)
            .and_then(|()| std::fs::write(&path, std::process::id().to_string()))
        {
            tracing::info!(path = %path.display(), error = %e, "cannot mark the speaker as running");
        }
        (RunMarker { path }, restarting)
    }

    /// A deliberate stop: the next start is a fresh one.
    pub fn end(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
