//! The state directory: creation, the lock, intent and RIB files.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt;

use nix::fcntl::{Flock, FlockArg};

use super::*;
use crate::config::Config;
use crate::store::file::tmp_path;
use crate::store::{
    Intent, IntentChange, RibSnapshot, Source, StateDir, StoreError, INTENT_JOURNAL, LOCK_FILE,
};

#[test]
fn open_creates_a_private_directory_and_starts_empty() {
    let top = tempdir();
    let path = top.path().join("a").join("state");
    let dir = StateDir::open(&path).unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(dir.holds_lock());
    assert!(dir.load_intent().unwrap().is_none());
    assert!(dir.load_rib().unwrap().is_none());
    let pid = fs::read_to_string(path.join(LOCK_FILE)).unwrap();
    assert_eq!(pid.trim(), std::process::id().to_string());
}

#[test]
fn intent_and_rib_survive_reopening() {
    let top = tempdir();
    let intent = Intent::new(Config::default_config());
    let mut rib = RibSnapshot::default();
    rib.adj_in
        .insert("198.18.0.2".parse().unwrap(), Default::default());
    {
        let dir = StateDir::open(top.path()).unwrap();
        dir.save_intent(&intent).unwrap();
        dir.save_rib(&rib).unwrap();
    }
    let dir = StateDir::open(top.path()).unwrap();
    let l = dir.load_intent().unwrap().unwrap();
    assert_eq!((l.value, l.source), (as_saved(intent), Source::Current));
    assert_eq!(dir.load_rib().unwrap().unwrap().value, rib);
    // The kinds are checked: the RIB file is not taken for an intent.
    fs::copy(dir.rib_path(), dir.intent_path()).unwrap();
    assert!(dir.load_intent().is_err());
}

#[test]
fn a_second_supervisor_is_refused_with_the_holders_pid() {
    let top = tempdir();
    let first = StateDir::open(top.path()).unwrap();
    let err = StateDir::open(top.path()).unwrap_err();
    assert!(matches!(err, StoreError::InUse { pid: Some(p), .. } if p == std::process::id()));
    assert_eq!(
        err.to_string(),
        format!(
            "state dir {} is in use by pid {}",
            top.path().display(),
            std::process::id()
        )
    );
    // A process working for the holder (here: the holder itself) may join.
    let joined = StateDir::join(top.path()).unwrap();
    assert!(!joined.holds_lock());
    drop(first);
    // Once the holder is gone the lock is free again.
    let again = StateDir::open(top.path()).unwrap();
    drop(joined);
    drop(again);
    // Joining a free directory takes the lock.
    let joined = StateDir::join(top.path()).unwrap();
    assert!(joined.holds_lock());
}

#[test]
fn a_lock_held_by_a_stranger_is_refused_even_without_a_pid() {
    let top = tempdir();
    fs::create_dir_all(top.path()).unwrap();
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(top.path().join(LOCK_FILE))
        .unwrap();
    let _held = Flock::lock(file, FlockArg::LockExclusiveNonblock).unwrap();
    let err = StateDir::open(top.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::InUse { pid: None, .. }),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .ends_with("in use by another process (pid unknown)"));
    assert!(StateDir::join(top.path()).is_err());
}

#[test]
fn join_needs_an_existing_directory() {
    let top = tempdir();
    let err = StateDir::join(top.path().join("missing")).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing: cannot open the state dir"),
        "{err}"
    );
}

#[test]
fn open_removes_leftovers_of_interrupted_saves() {
    let top = tempdir();
    let dir = StateDir::open(top.path()).unwrap();
    dir.save_intent(&Intent::new(Config::default_config()))
        .unwrap();
    let stray = [
        tmp_path(&dir.intent_path()),
        top.path().join("rib.state.tmp.12345"),
        top.path().join("intent.state.prev.tmp.777"),
    ];
    let keep = top.path().join("notes.tmp.1");
    for f in stray.iter().chain([&keep]) {
        fs::write(f, b"partial").unwrap();
    }
    drop(dir);
    let dir = StateDir::open(top.path()).unwrap();
    for f in &stray {
        assert!(!f.exists(), "{} was left", f.display());
    }
    assert!(keep.exists(), "files that are not ours are left alone");
    assert!(dir.load_intent().unwrap().is_some());
}

#[test]
fn a_directory_that_cannot_be_written_refuses_saves_until_it_can_again() {
    let top = tempdir();
    let path = top.path().join("state");
    let dir = StateDir::open(&path).unwrap();
    let intent = Intent::new(Config::default_config());
    dir.save_intent(&intent).unwrap();
    assert!(dir.probe().is_ok());
    assert_eq!(dir.not_writable(), None);
    // As root, permission bits do not stop writes: take the directory away instead (its
    // files stay readable through the moved directory, like a read-only mount's).
    let moved = top.path().join("moved");
    fs::rename(&path, &moved).unwrap();
    let e = dir.save_intent(&intent).unwrap_err();
    assert!(matches!(e, StoreError::NotWritable { .. }), "{e}");
    assert!(e
        .to_string()
        .starts_with(&format!("state not writable: {}: ", path.display())));
    let why = dir.not_writable().expect("not writable");
    assert_eq!(Some(why.clone()), e.not_writable());
    assert!(dir.save_rib(&RibSnapshot::default()).is_err());
    assert!(dir.probe().is_err());
    // Back: the next attempt succeeds, with nothing lost on the way.
    fs::rename(&moved, &path).unwrap();
    dir.save_intent(&intent).unwrap();
    assert_eq!(dir.not_writable(), None);
    assert_eq!(dir.load_intent().unwrap().unwrap().value, as_saved(intent));
    // The probe leaves nothing behind.
    let left: Vec<_> = fs::read_dir(&path)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("probe"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Records what it hears.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<(crate::store::SaveKind, Option<u64>)>>);

impl crate::store::SaveObserver for Heard {
    fn saved(&self, kind: crate::store::SaveKind, _: std::time::Duration, bytes: u64) {
        self.0.lock().unwrap().push((kind, Some(bytes)));
    }

    fn failed(&self, kind: crate::store::SaveKind) {
        self.0.lock().unwrap().push((kind, None));
    }
}

#[test]
fn the_observer_hears_each_save_with_the_bytes_written_and_each_failure() {
    use crate::store::SaveKind;
    let top = tempdir();
    let dir = StateDir::open(top.path()).unwrap();
    let heard = std::sync::Arc::new(Heard::default());
    assert!(dir.observe(heard.clone()));
    assert!(!dir.observe(heard.clone()), "one observer per directory");
    dir.save_intent(&Intent::new(Config::default_config()))
        .unwrap();
    let withdraw = IntentChange::Withdraw(vec!["198.18.7.0/24".parse().unwrap()]);
    dir.journal_intent(&[withdraw]).unwrap();
    dir.save_rib(&RibSnapshot::default()).unwrap();
    let sizes = [
        fs::metadata(dir.intent_path()).unwrap().len(),
        fs::metadata(dir.journal_path()).unwrap().len(),
        fs::metadata(dir.rib_path()).unwrap().len(),
    ];
    assert_eq!(
        *heard.0.lock().unwrap(),
        vec![
            (SaveKind::Intent, Some(sizes[0])),
            (SaveKind::Journal, Some(sizes[1])),
            (SaveKind::Rib, Some(sizes[2])),
        ]
    );
    // A directory where the save writes its temporary file: the save fails.
    fs::create_dir(tmp_path(&dir.rib_path())).unwrap();
    assert!(dir.save_rib(&RibSnapshot::default()).is_err());
    assert_eq!(heard.0.lock().unwrap().last(), Some(&(SaveKind::Rib, None)));
}

/// What a crash right after the intent file is saved (before the journal is emptied) would
/// leave, read when the save is heard of.
struct CrashAfterSave(std::path::PathBuf, std::sync::Mutex<Vec<Intent>>);

impl crate::store::SaveObserver for CrashAfterSave {
    fn saved(&self, kind: crate::store::SaveKind, _: std::time::Duration, _: u64) {
        if kind == crate::store::SaveKind::Intent {
            let dir = StateDir::join(&self.0).unwrap();
            let loaded = dir.load_intent().unwrap().unwrap().value;
            self.1.lock().unwrap().push(loaded);
        }
    }
    fn failed(&self, _: crate::store::SaveKind) {}
}

#[test]
fn a_whole_save_journals_its_changes_first_and_cuts_them_off_if_the_save_fails() {
    let top = tempdir();
    let (path, moved) = (top.path().join("state"), top.path().join("moved"));
    let dir = StateDir::open(&path).unwrap();
    let crash = std::sync::Arc::new(CrashAfterSave(path.clone(), Default::default()));
    dir.observe(crash.clone());
    let mut intent = Intent::new(Config::default_config());
    dir.save_intent(&intent).unwrap();
    let route: crate::config::Route =
        serde_json::from_value(serde_json::json!({ "prefix": "198.18.7.0/24" })).unwrap();
    let announce = IntentChange::Announce(vec![route.clone()]);
    dir.journal_intent(std::slice::from_ref(&announce)).unwrap();
    intent.apply(&announce);
    // A compaction with the route's withdrawal: saved whole.
    let withdraw = IntentChange::Withdraw(vec![route.prefix]);
    intent.apply(&withdraw);
    fs::rename(&path, &moved).unwrap();
    let e = dir
        .save_intent_with(&intent, std::slice::from_ref(&withdraw))
        .unwrap_err();
    assert!(e.not_writable().is_some(), "{e}");
    let journal = crate::store::journal::Journal::read::<IntentChange>(&moved.join(INTENT_JOURNAL));
    assert_eq!(journal.unwrap().records, vec![announce], "cut back");
    fs::rename(&moved, &path).unwrap();
    dir.save_intent_with(&intent, &[withdraw]).unwrap();
    let crashed = crash.1.lock().unwrap();
    assert_eq!(crashed.len(), 2);
    assert_eq!(
        crashed[1],
        as_saved(intent.clone()),
        "the journal replayed over the file changes nothing"
    );
    assert_eq!(dir.load_intent().unwrap().unwrap().value, as_saved(intent));
}
