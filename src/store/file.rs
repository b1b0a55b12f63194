//! One durable state file: a checksummed header line, then the payload (JSON).
//!
//! ```text
//! baton-state v1 kind=intent len=00000000000000001234 saved=00000001717171717171 crc32=0a1b2c3d\n
//! {"config":{...},"api_routes":[],...}
//! ```
//!
//! The numbers are zero-padded to 20 digits (any width reads back), so that the header has
//! the same length whatever it says: the payload is written first, straight to the file, and
//! the header last in the room left for it.
//!
//! What every version of the format keeps, so that a reader can tell a damaged file from one
//! written by a newer baton: the header is the bytes before the first `\n` (at most
//! [`MAX_HEADER`] of them), it starts with `baton-state v<version> ` and ends with
//! ` crc32=<8 lowercase hex digits>`, and that CRC-32 covers the header up to ` crc32=`
//! followed by every byte after the `\n`. So a flipped bit anywhere, the version digits
//! included, fails the checksum and is treated as damage (fall back to `.prev`); a file whose
//! checksum holds but whose version is newer is a [`StoreError::FutureVersion`].
//!
//! Saving and the crash windows are described in the [module documentation](super).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// The format version this build writes and the newest it reads.
pub const VERSION: u32 = 1;
/// The first word of every state file.
pub const MAGIC: &str = "baton-state";
/// The longest header line, `\n` excluded.
pub const MAX_HEADER: usize = 512;
const CRC_FIELD: &str = " crc32=";

/// Which copy a [`Loaded`] value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The file itself: the last completed save.
    Current,
    /// `NAME.prev`: the current file was missing or damaged (see [`Loaded::problems`]).
    Previous,
}

/// A value read back from a state file, with where it came from and what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    /// The state.
    pub value: T,
    /// Which copy it was read from.
    pub source: Source,
    /// When that copy was saved (from its header).
    pub saved_at: SystemTime,
    /// What was found wrong on the way, for the log; empty when `source` is `Current`.
    pub problems: Vec<String>,
}

/// `NAME.prev`: the copy kept from before the last save.
pub fn prev_path(path: &Path) -> PathBuf {
    with_suffix(path, ".prev")
}

/// `NAME.tmp.<pid>`: where a save writes before renaming into place.
pub fn tmp_path(path: &Path) -> PathBuf {
    with_suffix(path, &format!(".tmp.{}", std::process::id()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Save `value` as the `kind` state at `path`, durably: when this returns `Ok`, the new content
/// survives kill -9 and power loss. The previous content is kept as `NAME.prev`.
///
/// `kind` is a short word (`[a-z0-9-]+`) checked again on load. Callers must not save the same
/// path from two threads at once (the temporary file name is per process). Returns the size of
/// the file written, in bytes.
pub fn save<T: Serialize>(path: &Path, kind: &str, value: &T) -> Result<u64, StoreError> {
    save_json(path, kind, |w| serde_json::to_writer(w, value))
}

/// [`save`] with the JSON payload written by `encode` rather than by serde (a hand-written
/// encoder of the same JSON, for a large state).
pub(super) fn save_json(
    path: &Path,
    kind: &str,
    encode: impl FnOnce(&mut dyn Write) -> serde_json::Result<()>,
) -> Result<u64, StoreError> {
    save_with(path, kind, |w| {
        encode(w).map_err(|source| StoreError::Encode {
            path: path.to_path_buf(),
            kind: kind.to_string(),
            source,
        })
    })
}

/// [`save`] for an already encoded payload.
pub fn save_payload(path: &Path, kind: &str, payload: &[u8]) -> Result<u64, StoreError> {
    save_with(path, kind, |w| {
        w.write_all(payload)
            .map_err(|e| StoreError::io(path, "write", e))
    })
}

/// Save what `write` writes as the payload. The payload goes straight to the file (checksummed
/// and counted on the way) rather than into memory first: a RIB snapshot of a million routes
/// is tens of MiB, and holding it whole made the speaker grow by that much at every save. The
/// header, whose length and checksum are known only at the end, is written last in the room
/// left for it: its numbers are zero-padded to a fixed width.
fn save_with(
    path: &Path,
    kind: &str,
    write: impl FnOnce(&mut dyn Write) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    if kind.is_empty()
        || !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        let e = io::Error::new(io::ErrorKind::InvalidInput, format!("bad kind {kind:?}"));
        return Err(StoreError::io(path, "save", e));
    }
    let tmp = tmp_path(path);
    let written = match write_synced(&tmp, kind, write) {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = keep_previous(path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        StoreError::io(&tmp, format!("rename to {}", path.display()), e)
    })?;
    sync_dir(path)?;
    Ok(written)
}

/// The header line for a payload of `len` bytes whose CRC-32 alone is `payload_crc`; always
/// [`header_len`] bytes long for a given `kind`.
fn header(kind: &str, len: u64, saved: u64, payload_crc: &crc32fast::Hasher) -> String {
    let head = format!("{MAGIC} v{VERSION} kind={kind} len={len:020} saved={saved:020}");
    let mut crc = crc32fast::Hasher::new();
    crc.update(head.as_bytes());
    crc.combine(payload_crc);
    format!("{head}{CRC_FIELD}{:08x}\n", crc.finalize())
}

fn header_len(kind: &str) -> u64 {
    header(kind, 0, 0, &crc32fast::Hasher::new()).len() as u64
}

/// A writer that checksums and counts what goes through it.
struct Summed<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Summed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn checksum(head: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(head);
    h.update(payload);
    h.finalize()
}

/// Create `path` (mode 0600), write the payload after room for the header, then the header,
/// fsync. Returns the file's size.
fn write_synced(
    path: &Path,
    kind: &str,
    write: impl FnOnce(&mut dyn Write) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::io(path, "create", e))?;
    let room = header_len(kind);
    f.seek(SeekFrom::Start(room))
        .map_err(|e| StoreError::io(path, "seek", e))?;
    // The checksum runs behind the buffer, over whole buffers: the encoder writes in pieces of
    // a few bytes, and summing each piece on its own cost more than encoding it.
    let mut out = io::BufWriter::with_capacity(
        1 << 20,
        Summed {
            inner: &f,
            crc: crc32fast::Hasher::new(),
            len: 0,
        },
    );
    write(&mut out)?;
    let out = out
        .into_inner()
        .map_err(|e| StoreError::io(path, "write", e.into_error()))?;
    let saved = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let (len, crc) = (out.len, out.crc);
    let head = header(kind, len, saved, &crc);
    debug_assert_eq!(head.len() as u64, room);
    f.write_all_at(head.as_bytes(), 0)
        .map_err(|e| StoreError::io(path, "write", e))?;
    f.sync_all().map_err(|e| StoreError::io(path, "fsync", e))?;
    Ok(room + len)
}

/// fsync the directory holding `path`, so renames in it are durable.
pub(super) fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, "fsync", e))
}

/// Make `NAME.prev` a copy of the current file, if the current file is whole. A damaged current
/// file is left to be replaced, so it never takes the place of a good `.prev`.
fn keep_previous(path: &Path) -> Result<(), StoreError> {
    let checked = match authenticate_file(path) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the current state file; keeping the previous copy as it is");
            return Ok(());
        }
    };
    if let Err(problem) = checked {
        tracing::warn!(path = %path.display(), %problem, "current state file is damaged; keeping the previous copy as it is");
        return Ok(());
    }
    let prev = prev_path(path);
    let prev_tmp = tmp_path(&prev);
    let _ = fs::remove_file(&prev_tmp);
    match fs::hard_link(path, &prev_tmp) {
        Ok(()) => fs::rename(&prev_tmp, &prev).map_err(|e| {
            let _ = fs::remove_file(&prev_tmp);
            StoreError::io(&prev_tmp, format!("rename to {}", prev.display()), e)
        }),
        // No hard links here: move the file instead; until the new one is renamed into place
        // there is no current file, and load falls back to `.prev`, which is this same content.
        Err(_) => fs::rename(path, &prev)
            .map_err(|e| StoreError::io(path, format!("rename to {}", prev.display()), e)),
    }
}

/// Load the `kind` state saved at `path`.
///
/// - `Ok(None)`: neither `NAME` nor `NAME.prev` exists (first start).
/// - `Ok(Some(_))` from `NAME`, or from `NAME.prev` when `NAME` is missing or damaged, with
///   [`Loaded::problems`] saying what was found (also logged as a warning).
/// - [`StoreError::FutureVersion`] if `NAME` is whole but written in a newer format.
/// - [`StoreError::Unusable`] naming both files if neither can be used.
///
/// Never panics, whatever the files hold.
pub fn load<T: DeserializeOwned>(path: &Path, kind: &str) -> Result<Option<Loaded<T>>, StoreError> {
    load_json(path, kind, |payload| serde_json::from_slice(payload))
}

/// [`load`] with the JSON payload read by `decode` rather than by serde (a hand-written reader
/// of the same JSON, for a large state).
pub(super) fn load_json<T>(
    path: &Path,
    kind: &str,
    decode: impl Fn(&[u8]) -> serde_json::Result<T>,
) -> Result<Option<Loaded<T>>, StoreError> {
    let current = match read_one(path, kind, &decode) {
        Ok(Some((value, saved_at))) => {
            return Ok(Some(Loaded {
                value,
                source: Source::Current,
                saved_at,
                problems: Vec::new(),
            }))
        }
        Ok(None) => None,
        Err(Bad::Future(found)) => {
            return Err(StoreError::FutureVersion {
                path: path.to_path_buf(),
                found,
                supported: VERSION,
            })
        }
        Err(Bad::Damaged(problem)) => Some(problem),
    };
    let prev = prev_path(path);
    let cur_problem = current
        .clone()
        .unwrap_or_else(|| "missing (a save was interrupted?)".to_string());
    let prev_problem = match read_one(&prev, kind, &decode) {
        Ok(Some((value, saved_at))) => {
            let problem = format!(
                "{}: {cur_problem}; using {} saved at {}",
                path.display(),
                prev.display(),
                rfc3339(saved_at)
            );
            tracing::warn!(path = %path.display(), %problem, "falling back to the previous state file");
            return Ok(Some(Loaded {
                value,
                source: Source::Previous,
                saved_at,
                problems: vec![problem],
            }));
        }
        Ok(None) if current.is_none() => return Ok(None),
        Ok(None) => "missing".to_string(),
        Err(Bad::Future(found)) => format!("written by a newer baton (format version {found})"),
        Err(Bad::Damaged(problem)) => problem,
    };
    Err(StoreError::Unusable {
        path: path.to_path_buf(),
        problems: vec![
            format!("{}: {cur_problem}", path.display()),
            format!("{}: {prev_problem}", prev.display()),
        ],
    })
}

/// Why one file cannot be used.
enum Bad {
    /// Whole, but in a newer format.
    Future(u32),
    /// Damaged, or not what was expected; the text says what was found.
    Damaged(String),
}

/// Read and decode one file; `Ok(None)` if it does not exist.
fn read_one<T>(
    path: &Path,
    kind: &str,
    decode: impl Fn(&[u8]) -> serde_json::Result<T>,
) -> Result<Option<(T, SystemTime)>, Bad> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Bad::Damaged(format!("cannot read: {e}"))),
    };
    let (header, payload) = authenticate(&bytes).map_err(Bad::Damaged)?;
    let fields = parse_fields(header)?;
    if fields.kind != kind {
        return Err(Bad::Damaged(format!(
            "holds {:?} state, expected {kind:?}",
            fields.kind
        )));
    }
    if fields.len != payload.len() as u64 {
        return Err(Bad::Damaged(format!(
            "header says {} payload bytes, found {}",
            fields.len,
            payload.len()
        )));
    }
    let value = decode(payload).map_err(|e| {
        Bad::Damaged(format!(
            "checksum is right but the {kind} state does not decode: {e}"
        ))
    })?;
    Ok(Some((value, fields.saved_at)))
}

/// Check magic and checksum; return the header (without the crc field) and the payload.
fn authenticate(bytes: &[u8]) -> Result<(&str, &[u8]), String> {
    let (head, stored, start) = split_header(bytes)?;
    let payload = &bytes[start..];
    if checksum(head.as_bytes(), payload) != stored {
        return Err(mismatch(head, payload.len() as u64));
    }
    Ok((head, payload))
}

/// [`authenticate`] for the file at `path`, read in pieces rather than whole (it may be a
/// snapshot of tens of MiB).
fn authenticate_file(path: &Path) -> io::Result<Result<(), String>> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut filled = 0;
    while filled <= MAX_HEADER {
        match f.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    let (head, stored, start) = match split_header(&buf[..filled]) {
        Ok(h) => h,
        Err(problem) => return Ok(Err(problem)),
    };
    let head = head.to_string();
    let mut crc = crc32fast::Hasher::new();
    crc.update(head.as_bytes());
    crc.update(&buf[start..filled]);
    let mut len = (filled - start) as u64;
    loop {
        match f.read(&mut buf)? {
            0 => break,
            n => {
                crc.update(&buf[..n]);
                len += n as u64;
            }
        }
    }
    Ok(if crc.finalize() == stored {
        Ok(())
    } else {
        Err(mismatch(&head, len))
    })
}

/// Check the header line at the start of `bytes` (all of them, or at least the first
/// [`MAX_HEADER`] + 1): the header without its crc field, the stored checksum, and where the
/// payload starts.
fn split_header(bytes: &[u8]) -> Result<(&str, u32, usize), String> {
    if bytes.is_empty() {
        return Err("empty file (torn write?)".into());
    }
    let window = &bytes[..bytes.len().min(MAX_HEADER + 1)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        return Err(if bytes.len() <= MAX_HEADER {
            format!(
                "no complete header line in {} bytes (file truncated?)",
                bytes.len()
            )
        } else {
            "no header line (not a baton state file?)".into()
        });
    };
    let Ok(line) = std::str::from_utf8(&bytes[..nl]) else {
        return Err("header is not text (file damaged?)".into());
    };
    if !line.starts_with(MAGIC) || line.as_bytes().get(MAGIC.len()) != Some(&b' ') {
        return Err(format!(
            "not a baton state file (it does not start with {MAGIC:?})"
        ));
    }
    let Some((head, crc_text)) = line.rsplit_once(CRC_FIELD) else {
        return Err("header damaged: no checksum field".into());
    };
    let stored = (crc_text.len() == 8
        && crc_text
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then(|| u32::from_str_radix(crc_text, 16).ok())
    .flatten()
    .ok_or_else(|| "header damaged: unreadable checksum field".to_string())?;
    Ok((head, stored, nl + 1))
}

/// Why a checksum did not hold over `found` payload bytes under the header `head`.
fn mismatch(head: &str, found: u64) -> String {
    let declared = head
        .split(' ')
        .find_map(|w| w.strip_prefix("len="))
        .and_then(|n| n.parse::<u64>().ok());
    match declared {
        Some(n) if n > found => format!(
            "checksum mismatch: file truncated (header says {n} payload bytes, found {found})"
        ),
        _ => "checksum mismatch (file damaged)".into(),
    }
}

/// The fields of an authenticated header.
struct Fields<'a> {
    kind: &'a str,
    len: u64,
    saved_at: SystemTime,
}

fn parse_fields(head: &str) -> Result<Fields<'_>, Bad> {
    let damaged = |what: &str| Bad::Damaged(format!("header has a good checksum but {what}"));
    let mut words = head.split(' ').skip(1);
    let version = words
        .next()
        .and_then(|v| v.strip_prefix('v'))
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| damaged("no readable version"))?;
    if version > VERSION {
        return Err(Bad::Future(version));
    }
    if version != VERSION {
        return Err(damaged(&format!("an unknown format version {version}")));
    }
    let mut field = |name: &str| {
        words
            .next()
            .and_then(|w| w.strip_prefix(name))
            .ok_or_else(|| damaged(&format!("no {name} field")))
    };
    let kind = field("kind=")?;
    let len = field("len=")?
        .parse::<u64>()
        .map_err(|_| damaged("an unreadable len field"))?;
    let saved = field("saved=")?
        .parse::<u64>()
        .map_err(|_| damaged("an unreadable saved field"))?;
    if words.next().is_some() {
        return Err(damaged("extra fields"));
    }
    let saved_at = UNIX_EPOCH
        .checked_add(Duration::from_millis(saved))
        .unwrap_or(UNIX_EPOCH);
    Ok(Fields {
        kind,
        len,
        saved_at,
    })
}

/// `t` as an RFC 3339 UTC timestamp with milliseconds, for messages.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a civil date (proleptic Gregorian calendar), counting in
    // 400-year eras that start on March 1st so the leap day comes last.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}
