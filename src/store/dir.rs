//! The state directory: one file per kind of state, and a lock so that two supervisors never
//! write the same state.
//!
//! ```text
//! <state_dir>/            mode 0700
//!   batond.lock           flock'd by the supervisor; holds its pid
//!   intent.state          Intent          (intent.state.prev: the copy before the last save)
//!   rib.state             RibSnapshot     (rib.state.prev)
//! ```
//!
//! The supervisor [`StateDir::open`]s the directory and holds the lock for its lifetime (the
//! lock goes with the process, so a kill -9 frees it). The speaker it spawns
//! [`StateDir::join`]s it: it works under its parent's lock, or takes the lock itself when run
//! on its own.
//!
//! A directory that cannot be written (a read-only file system) can still be opened, locked
//! (`flock` needs no write access) and read: the daemon starts and serves from the state it
//! has, saves fail with [`StoreError::NotWritable`], and [`StateDir::not_writable`] says why
//! until a save or a [`probe`](StateDir::probe) succeeds again.
//!
//! Each file has one writer at a time: saves through one [`StateDir`] take turns, but two
//! processes saving the same file at once could leave either one's copy as `.prev`. Which
//! process writes which file is the supervisor's and speaker's agreement, not this module's.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::file::{self, Loaded};
use super::journal::{Journal, JournalMark, Replay};
use super::observe::Observer;
use super::{intent_json, intent_read, rib_json, rib_read};
use super::{Intent, IntentChange, RibSnapshot, SaveKind, SaveObserver, StoreError, Writability};

/// The lock file's name.
pub const LOCK_FILE: &str = "batond.lock";
/// The intent file's name.
pub const INTENT_FILE: &str = "intent.state";
/// The RIB snapshot file's name.
pub const RIB_FILE: &str = "rib.state";
/// The journal of run-time route changes since the intent file was last saved.
pub const INTENT_JOURNAL: &str = "intent.journal";
const INTENT_KIND: &str = "intent";
const RIB_KIND: &str = "rib";
/// The file [`StateDir::probe`] creates and removes (with the pid appended).
const PROBE_FILE: &str = ".write-probe";

/// An open state directory.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    /// The lock, when this process holds it (`None` when working under the parent's).
    _lock: Option<Flock<File>>,
    /// Saves of one file from several threads take turns (the temporary name is per process).
    intent_turn: Mutex<()>,
    rib_turn: Mutex<()>,
    /// The intent's journal, opened for appending at the first change this process journals
    /// (not at load: the previous speaker may still be appending during a handoff).
    journal: Mutex<Option<Journal>>,
    /// The outcome of the last save or probe.
    writable: Writability,
    /// Told of every save (the speaker's metrics).
    observer: Observer,
}

impl StateDir {
    /// Open the state directory at `path`, creating it (mode 0700) if needed, and take its lock.
    ///
    /// Fails with [`StoreError::InUse`] ("state dir X is in use by pid N") if another process
    /// holds it. Removes temporary files left by saves that were interrupted.
    pub fn open(path: impl AsRef<Path>) -> Result<StateDir, StoreError> {
        let path = path.as_ref().to_path_buf();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(|e| StoreError::io(&path, "create the state dir", e))?;
        let meta = fs::metadata(&path).map_err(|e| StoreError::io(&path, "stat", e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(dir = %path.display(), mode = format_args!("{:o}", meta.permissions().mode() & 0o7777), "state dir is readable by others; 0700 is advised");
        }
        let lock = match lock(&path)? {
            Ok(lock) => lock,
            Err(pid) => return Err(StoreError::InUse { dir: path, pid }),
        };
        remove_stray_tmp(&path);
        Ok(StateDir::with_lock(path, Some(lock)))
    }

    /// Use the existing state directory at `path` from a process that works for the lock
    /// holder: the speaker under its supervisor. Succeeds if the lock is held by the parent
    /// process (or this one), or is free, in which case this process takes it.
    pub fn join(path: impl AsRef<Path>) -> Result<StateDir, StoreError> {
        let path = path.as_ref().to_path_buf();
        if !path.is_dir() {
            let e = io::Error::new(io::ErrorKind::NotFound, "no such directory");
            return Err(StoreError::io(&path, "open the state dir", e));
        }
        match lock(&path)? {
            Ok(lock) => Ok(StateDir::with_lock(path, Some(lock))),
            Err(Some(pid)) if pid == std::os::unix::process::parent_id() => {
                Ok(StateDir::with_lock(path, None))
            }
            Err(Some(pid)) if pid == std::process::id() => Ok(StateDir::with_lock(path, None)),
            Err(pid) => Err(StoreError::InUse { dir: path, pid }),
        }
    }

    fn with_lock(path: PathBuf, lock: Option<Flock<File>>) -> StateDir {
        StateDir {
            path,
            _lock: lock,
            intent_turn: Mutex::new(()),
            rib_turn: Mutex::new(()),
            journal: Mutex::new(None),
            writable: Writability::default(),
            observer: Observer::default(),
        }
    }

    /// Tell `observer` of every save from now on (how long it took, its bytes, or that it
    /// failed). Once per directory: false if an observer is already installed.
    pub fn observe(&self, observer: Arc<dyn SaveObserver>) -> bool {
        self.observer.set(observer)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock's descriptor, when this process holds it: the supervisor passes it on when it
    /// re-executes itself.
    pub fn lock_fd(&self) -> Option<std::os::fd::RawFd> {
        self._lock
            .as_ref()
            .map(|l| std::os::fd::AsRawFd::as_raw_fd(&**l))
    }

    /// After the supervisor re-executed itself: the state directory at `path`, under the lock
    /// its previous image held on `fd` (flock locks belong to the open file, which survives exec).
    pub fn adopt(path: impl AsRef<Path>, fd: std::os::fd::OwnedFd) -> Result<StateDir, StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = Flock::lock(File::from(fd), FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| StoreError::io(path.join(LOCK_FILE), "lock", e.into()))?;
        Ok(StateDir::with_lock(path, Some(lock)))
    }

    /// Whether this process holds the lock (rather than its parent).
    pub fn holds_lock(&self) -> bool {
        self._lock.is_some()
    }

    /// The intent file.
    pub fn intent_path(&self) -> PathBuf {
        self.path.join(INTENT_FILE)
    }

    /// The RIB snapshot file.
    pub fn rib_path(&self) -> PathBuf {
        self.path.join(RIB_FILE)
    }

    /// Save the intent durably: when this returns `Ok`, it survives kill -9 and power loss.
    ///
    /// The journal is emptied after the save: the file now holds what it said. A crash between
    /// the two replays changes the file already holds, which changes nothing.
    pub fn save_intent(&self, intent: &Intent) -> Result<(), StoreError> {
        self.save_intent_with(intent, &[])
    }

    /// Save the intent whole, as [`save_intent`](Self::save_intent) does, when it holds route
    /// `changes` the journal does not have yet: they are journaled first, so that the journal
    /// stays a history whose every record the file holds. Otherwise a crash between the save
    /// and the emptying of the journal would replay older records over the file and undo what
    /// `changes` did (a withdrawn route announced again). If the save fails, `changes` are cut
    /// off the journal again. (An empty journal replays nothing: `changes` are not journaled.)
    pub fn save_intent_with(
        &self,
        intent: &Intent,
        changes: &[IntentChange],
    ) -> Result<(), StoreError> {
        let _turn = self.intent_turn.lock().unwrap_or_else(|e| e.into_inner());
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        // An empty journal has nothing to replay over the file: nothing to journal first.
        let replays = match journal.as_ref() {
            Some(j) => j.bytes() > 0,
            None => fs::metadata(self.journal_path()).is_ok_and(|m| m.len() > 0),
        };
        let mark = match changes {
            [_, ..] if replays => Some(self.append_journal(&mut journal, changes)?),
            _ => None,
        };
        let path = self.intent_path();
        let saved = self.observer.timed(SaveKind::Intent, || {
            file::save_json(&path, INTENT_KIND, |w| intent_json::write_intent(intent, w))
        });
        if saved.is_err() {
            if let (Some(mark), Some(j)) = (mark, journal.as_mut()) {
                let _ = j.truncate(mark);
            }
        }
        self.written(saved.map(drop))?;
        let result = match journal.as_mut() {
            Some(j) => j.clear(),
            None => match std::fs::remove_file(self.journal_path()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StoreError::io(self.journal_path(), "remove", e)),
            },
        };
        self.written(result)
    }

    /// Journal changes of run-time routes durably, with one append and one fsync however many
    /// they are and however large the intent is: when this returns `Ok`, they survive kill -9
    /// and power loss. The intent file must exist (a first change is saved whole).
    pub fn journal_intent(&self, changes: &[IntentChange]) -> Result<(), StoreError> {
        let _turn = self.intent_turn.lock().unwrap_or_else(|e| e.into_inner());
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        self.append_journal(&mut journal, changes).map(drop)
    }

    /// Append `changes` to the journal (opened at the first append), timed; where it ended
    /// before.
    fn append_journal(
        &self,
        journal: &mut Option<Journal>,
        changes: &[IntentChange],
    ) -> Result<JournalMark, StoreError> {
        let j = match journal {
            Some(j) => j,
            None => match Journal::open::<IntentChange>(&self.journal_path()) {
                Ok((j, _)) => journal.insert(j),
                Err(e) => return self.written(Err(e)),
            },
        };
        let mark = j.mark();
        let appended = self.observer.timed(SaveKind::Journal, || j.append(changes));
        self.written(appended.map(drop))?;
        Ok(mark)
    }

    /// Changes journaled since the intent file was last saved, as far as this process knows
    /// (for deciding when to save the whole intent instead).
    pub fn journal_records(&self) -> usize {
        let journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        journal.as_ref().map_or(0, |j| j.records())
    }

    /// Bytes journaled since the intent file was last saved, as far as this process knows.
    pub fn journal_bytes(&self) -> u64 {
        let journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        journal.as_ref().map_or(0, |j| j.bytes())
    }

    /// The journal's records, read without changing it: what [`load_intent`](Self::load_intent)
    /// replays, and what is left to salvage when the intent file itself is unusable.
    pub fn intent_journal(&self) -> Result<Replay<IntentChange>, StoreError> {
        Journal::read::<IntentChange>(&self.journal_path())
    }

    /// The journal file.
    pub fn journal_path(&self) -> PathBuf {
        self.path.join(INTENT_JOURNAL)
    }

    /// The saved intent with its journal replayed; `Ok(None)` on first start. See
    /// [`file::load`] for the fallback; damaged journal records are reported in `problems`.
    pub fn load_intent(&self) -> Result<Option<Loaded<Intent>>, StoreError> {
        let path = self.intent_path();
        let Some(mut loaded) = file::load_json(&path, INTENT_KIND, intent_read::read_intent)?
        else {
            return Ok(None);
        };
        let replay = self.intent_journal()?;
        for change in &replay.records {
            loaded.value.apply(change);
        }
        loaded.problems.extend(replay.problems);
        Ok(Some(loaded))
    }

    /// Save a RIB snapshot durably.
    pub fn save_rib(&self, rib: &RibSnapshot) -> Result<(), StoreError> {
        let _turn = self.rib_turn.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.rib_path();
        let saved = self.observer.timed(SaveKind::Rib, || {
            file::save_json(&path, RIB_KIND, |w| rib_json::write_rib(rib, w))
        });
        self.written(saved.map(drop))
    }

    /// The saved RIB snapshot; `Ok(None)` if there is none. See [`file::load`] for the fallback.
    pub fn load_rib(&self) -> Result<Option<Loaded<RibSnapshot>>, StoreError> {
        file::load_json(&self.rib_path(), RIB_KIND, rib_read::read_rib)
    }

    /// Find out whether the directory can be written now, by creating and removing a file:
    /// at start (before anything needs saving) and when asked how things stand.
    pub fn probe(&self) -> Result<(), StoreError> {
        let probe = self
            .path
            .join(format!("{PROBE_FILE}.{}", std::process::id()));
        let result = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&probe)
            .and_then(|_| fs::remove_file(&probe))
            .map_err(|e| StoreError::io(&self.path, "create a file", e));
        self.written(result)
    }

    /// Why the directory cannot be written (`"/var/lib/baton: Read-only file system (os error
    /// 30)"`), if the last save or probe failed; `None` if it succeeded.
    pub fn not_writable(&self) -> Option<String> {
        self.writable.problem()
    }

    /// Remember how a write went; a file system error becomes [`StoreError::NotWritable`].
    fn written<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match result {
            Ok(value) => {
                self.writable.succeeded(&self.path);
                Ok(value)
            }
            Err(StoreError::Io { path, op, source }) => {
                tracing::debug!(path = %path.display(), %op, error = %source, "state save failed");
                let e = StoreError::NotWritable {
                    dir: self.path.clone(),
                    source,
                };
                self.writable
                    .failed(&self.path, e.not_writable().unwrap_or_default());
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

/// Take the directory's lock and write our pid in it; `Ok(Err(pid))` if another process holds
/// it, with the pid it wrote if readable.
fn lock(dir: &Path) -> Result<Result<Flock<File>, Option<u32>>, StoreError> {
    let path = dir.join(LOCK_FILE);
    let (file, writable) = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
    {
        Ok(file) => (file, true),
        // A directory that cannot be written now: lock the file as it is (flock needs no
        // write access), so the daemon still starts and serves from the state it can read.
        Err(e) if cannot_write(&e) => match File::open(&path) {
            Ok(file) => (file, false),
            Err(_) => return Err(StoreError::io(&path, "open", e)),
        },
        Err(e) => return Err(StoreError::io(&path, "open", e)),
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => {
            if writable {
                let pid = format!("{}\n", std::process::id());
                lock.set_len(0)
                    .and_then(|()| lock.write_all_at(pid.as_bytes(), 0))
                    .map_err(|e| StoreError::io(&path, "write", e))?;
            }
            Ok(Ok(lock))
        }
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            let pid = file
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse().ok());
            Ok(Err(pid))
        }
        Err((_, errno)) => Err(StoreError::io(&path, "lock", errno.into())),
    }
}

/// Whether `e` says the file system refuses writes (rather than that the file is missing).
fn cannot_write(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::EROFS | Errno::EACCES | Errno::EPERM)
    )
}

/// Remove `NAME.tmp.*` and `NAME.prev.tmp.*` left by interrupted saves, and probe files left
/// by a killed process. Only safe under the lock.
fn remove_stray_tmp(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = [INTENT_FILE, RIB_FILE].iter().any(|f| {
            name.strip_prefix(f)
                .is_some_and(|rest| rest.contains(".tmp."))
        }) || name.starts_with(&format!("{PROBE_FILE}."));
        if ours {
            match fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(file = %entry.path().display(), "removed a temporary file left by an interrupted save")
                }
                Err(e) => {
                    tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove a stray temporary file")
                }
            }
        }
    }
}
