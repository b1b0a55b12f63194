//! An append-only journal of changes beside a state file, so that one change costs one small
//! append and one fsync instead of rewriting the whole state (O(1) disk work per change, however
//! large the state is).
//!
//! ```text
//! <crc32 of the JSON, 8 lowercase hex digits> <one record as compact JSON>\n
//! ```
//!
//! The state is the last saved snapshot plus every record of the journal, replayed in order.
//! Records must be idempotent (set this route, delete that one): compaction saves a new snapshot
//! (with [`super::file::save`], atomically) and only then empties the journal, so a crash
//! between the two replays records the snapshot already holds, which changes nothing.
//!
//! Appending writes whole records and fsyncs (data only) before returning; a batch of records
//! shares one fsync, which is how concurrent requests are acknowledged together. A crash can
//! leave a torn last line: it was never acknowledged (its fsync had not returned), so loading
//! drops it silently. A record that fails its checksum *before* the last one is damage: loading
//! reports it and goes on with the records after it (each record stands alone).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// An open journal, ready to append.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Records appended since the journal was last emptied (including those loaded).
    records: usize,
    /// Bytes in the file.
    bytes: u64,
}

/// Where a journal ended at some point: what [`Journal::truncate`] cuts back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalMark {
    records: usize,
    bytes: u64,
}

/// What loading a journal found.
#[derive(Debug)]
pub struct Replay<T> {
    /// The good records, in order.
    pub records: Vec<T>,
    /// Damage found (a record that failed its checksum or did not decode), for the status.
    pub problems: Vec<String>,
}

impl Journal {
    /// Open (creating, mode 0600) the journal at `path` and read its records.
    pub fn open<T: DeserializeOwned>(path: &Path) -> Result<(Journal, Replay<T>), StoreError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::io(path, "open", e))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|e| StoreError::io(path, "read", e))?;
        let (replay, good_len) = parse(path, &text);
        if good_len < text.len() {
            // A torn tail: cut it so that the next append starts on a line of its own.
            file.set_len(good_len as u64)
                .and_then(|_| file.sync_data())
                .map_err(|e| StoreError::io(path, "truncate a torn record", e))?;
        }
        let journal = Journal {
            path: path.to_path_buf(),
            file,
            records: replay.records.len(),
            bytes: good_len as u64,
        };
        Ok((journal, replay))
    }

    /// Read the records of the journal at `path` without changing it (a missing file has
    /// none): what a process that is not (yet) the journal's writer may do.
    pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Replay<T>, StoreError> {
        match std::fs::read(path) {
            Ok(text) => Ok(parse(path, &text).0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Replay {
                records: Vec::new(),
                problems: Vec::new(),
            }),
            Err(e) => Err(StoreError::io(path, "read", e)),
        }
    }

    /// Append `records` and fsync once: when this returns `Ok`, they survive kill -9 and power
    /// loss. On error nothing is acknowledged (a partial write is a torn tail, dropped on load).
    /// Returns the bytes appended.
    pub fn append<T: Serialize>(&mut self, records: &[T]) -> Result<u64, StoreError> {
        let mut buf = Vec::new();
        for r in records {
            let json = serde_json::to_vec(r).map_err(|source| StoreError::Encode {
                path: self.path.clone(),
                kind: "journal".into(),
                source,
            })?;
            let crc = crc32fast::hash(&json);
            write!(buf, "{crc:08x} ").expect("writing to a Vec");
            buf.extend_from_slice(&json);
            buf.push(b'\n');
        }
        let path = &self.path;
        let written = self
            .file
            .write_all(&buf)
            .map_err(|e| StoreError::io(path, "append", e))
            .and_then(|()| {
                self.file
                    .sync_data()
                    .map_err(|e| StoreError::io(path, "fsync", e))
            });
        if let Err(e) = written {
            // Whole records whose fsync failed would still be replayed at the next start,
            // though refused: cut them off (if this fails too, the caller saves the whole
            // state next, which empties the journal).
            let _ = self.file.set_len(self.bytes);
            return Err(e);
        }
        self.records += records.len();
        self.bytes += buf.len() as u64;
        Ok(buf.len() as u64)
    }

    /// Where the journal ends now, for [`truncate`](Self::truncate).
    pub fn mark(&self) -> JournalMark {
        JournalMark {
            records: self.records,
            bytes: self.bytes,
        }
    }

    /// Cut the journal back to `mark` (records appended since, for a change that was refused
    /// after all), and fsync.
    pub fn truncate(&mut self, mark: JournalMark) -> Result<(), StoreError> {
        self.file
            .set_len(mark.bytes)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| StoreError::io(&self.path, "truncate", e))?;
        self.records = mark.records;
        self.bytes = mark.bytes;
        Ok(())
    }

    /// Empty the journal (after its records went into a saved snapshot).
    pub fn clear(&mut self) -> Result<(), StoreError> {
        self.file
            .set_len(0)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| StoreError::io(&self.path, "truncate", e))?;
        self.records = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Records since the journal was last emptied.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Size of the journal file.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The good records of `text` and the length of the part that ends in a whole line.
fn parse<T: DeserializeOwned>(path: &Path, text: &[u8]) -> (Replay<T>, usize) {
    let mut replay = Replay {
        records: Vec::new(),
        problems: Vec::new(),
    };
    let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    for (n, line) in text[..whole].split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match record(line) {
            Ok(json) => match serde_json::from_slice::<T>(json) {
                Ok(r) => replay.records.push(r),
                Err(e) => replay.problems.push(format!(
                    "{}: record {} does not decode ({e}); skipped",
                    path.display(),
                    n + 1
                )),
            },
            Err(why) => replay.problems.push(format!(
                "{}: record {} {why}; skipped",
                path.display(),
                n + 1
            )),
        }
    }
    (replay, whole)
}

/// The JSON of one line, if its checksum holds.
fn record(line: &[u8]) -> Result<&[u8], &'static str> {
    if line.len() < 10 || line[8] != b' ' {
        return Err("is not a journal record");
    }
    let crc = std::str::from_utf8(&line[..8])
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or("has no checksum")?;
    let json = &line[9..];
    if crc32fast::hash(json) != crc {
        return Err("fails its checksum");
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Op {
        Set(String, u32),
        Del(String),
    }

    fn ops() -> Vec<Op> {
        vec![Op::Set("a".into(), 1), Op::Del("b".into())]
    }

    #[test]
    fn appended_records_come_back_in_order_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, replay) = Journal::open::<Op>(&path).unwrap();
        assert!(replay.records.is_empty());
        j.append(&ops()).unwrap();
        j.append(&[Op::Set("c".into(), 3)]).unwrap();
        assert_eq!(j.records(), 3);
        drop(j);
        let (j, replay) = Journal::open::<Op>(&path).unwrap();
        assert_eq!(replay.records.len(), 3);
        assert_eq!(replay.records[..2], ops()[..]);
        assert!(replay.problems.is_empty());
        assert_eq!(j.records(), 3);
    }

    #[test]
    fn the_bytes_are_a_checksum_a_space_and_compact_json_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open::<Op>(&path).unwrap();
        j.append(&[Op::Del("b".into())]).unwrap();
        let json = br#"{"Del":"b"}"#;
        let mut want = format!("{:08x} ", crc32fast::hash(json)).into_bytes();
        want.extend_from_slice(json);
        want.push(b'\n');
        assert_eq!(std::fs::read(&path).unwrap(), want);
        assert_eq!(j.bytes(), want.len() as u64);
    }

    #[test]
    fn a_torn_last_record_is_dropped_silently_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open::<Op>(&path).unwrap();
        j.append(&ops()).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"0badc0de {\"Set\":[\"tor").unwrap();
        drop(f);
        let (mut j, replay) = Journal::open::<Op>(&path).unwrap();
        assert_eq!(replay.records, ops());
        assert!(replay.problems.is_empty());
        j.append(&[Op::Del("z".into())]).unwrap();
        drop(j);
        let (_, replay) = Journal::open::<Op>(&path).unwrap();
        assert_eq!(
            replay.records.len(),
            3,
            "the next append starts on its own line"
        );
    }

    #[test]
    fn a_damaged_record_is_reported_and_the_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open::<Op>(&path).unwrap();
        j.append(&ops()).unwrap();
        drop(j);
        let mut bytes = std::fs::read(&path).unwrap();
        // Flip a byte inside the first record's JSON.
        bytes[12] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let (_, replay) = Journal::open::<Op>(&path).unwrap();
        assert_eq!(replay.records, vec![Op::Del("b".into())]);
        assert_eq!(replay.problems.len(), 1);
        assert!(
            replay.problems[0].contains("record 1 fails its checksum"),
            "{:?}",
            replay.problems
        );
    }

    #[test]
    fn clear_empties_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open::<Op>(&path).unwrap();
        j.append(&ops()).unwrap();
        j.clear().unwrap();
        j.append(&[Op::Del("x".into())]).unwrap();
        drop(j);
        let (_, replay) = Journal::open::<Op>(&path).unwrap();
        assert_eq!(replay.records, vec![Op::Del("x".into())]);
    }
}
