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
    pub fn begin(state_dir: &Path) -> std::io::Result<(RunMarker, bool)> {
        std::fs::create_dir_all(state_dir)?;
        let path = state_dir.join(MARKER);
        let restarting = path.exists();
        std::fs::write(&path, std::process::id().to_string())?;
        Ok((RunMarker { path }, restarting))
    }

    /// A deliberate stop: the next start is a fresh one.
    pub fn end(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
