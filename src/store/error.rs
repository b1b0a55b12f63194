//! What can go wrong with the state on disk, each error naming the file or directory.

use std::io;
use std::path::PathBuf;

/// An error of the state store. Every variant names the path it is about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system call failed.
    #[error("{}: cannot {op}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("write", "fsync", "rename to x.prev", ...).
        op: String,
        /// The OS error.
        source: io::Error,
    },
    /// The value could not be encoded (a bug: every state type is encodable).
    #[error("{}: cannot encode the {kind} state: {source}", path.display())]
    Encode {
        /// The file being saved.
        path: PathBuf,
        /// The kind of state.
        kind: String,
        /// What the encoder said.
        source: serde_json::Error,
    },
    /// The current file was written by a newer baton, in a format this one does not know.
    ///
    /// Not a fallback case: the newest acknowledged state is there, and reverting silently to an
    /// older copy would lose it. Run the newer baton, or move the file away on purpose.
    #[error(
        "{}: written by a newer baton (state format version {found}; this baton reads up to \
         version {supported}); refusing to use an older copy instead",
        path.display()
    )]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// The version in its header.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Neither the current file nor its previous copy is usable.
    #[error("{}: no usable state: {}", path.display(), problems.join("; "))]
    Unusable {
        /// The current file (the previous copy is beside it, `.prev`).
        path: PathBuf,
        /// What was found in each file, current first.
        problems: Vec<String>,
    },
    /// The state directory cannot be written now (read-only file system, full disk,
    /// permissions): the save did not happen and the files on disk are as they were.
    #[error("state not writable: {}: {source}", dir.display())]
    NotWritable {
        /// The state directory.
        dir: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
    /// Another process holds the state directory's lock.
    #[error(
        "state dir {} is in use by {}",
        dir.display(),
        pid.map_or("another process (pid unknown)".to_string(), |p| format!("pid {p}"))
    )]
    InUse {
        /// The state directory.
        dir: PathBuf,
        /// The pid written in the lock file by the holder, if readable.
        pid: Option<u32>,
    },
}

impl StoreError {
    /// For [`StoreError::NotWritable`]: the directory and why (`"/var/lib/baton: Read-only
    /// file system (os error 30)"`).
    pub fn not_writable(&self) -> Option<String> {
        match self {
            StoreError::NotWritable { dir, source } => Some(format!("{}: {source}", dir.display())),
            _ => None,
        }
    }

    /// An [`StoreError::Io`] for `path`.
    pub(super) fn io(path: impl Into<PathBuf>, op: impl Into<String>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            op: op.into(),
            source,
        }
    }
}
