//! The durable file format: round trip, crash windows, damaged files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::store::file::{self, load, prev_path, rfc3339, save, tmp_path};
use crate::store::{Loaded, Source, StoreError};

fn load_demo(path: &Path) -> Result<Option<Loaded<Demo>>, StoreError> {
    load(path, "demo")
}

/// Save "one" then "two": the current file holds "two", `.prev` holds "one".
fn two_saves(path: &Path) -> Vec<u8> {
    save(path, "demo", &demo("one")).unwrap();
    save(path, "demo", &demo("two")).unwrap();
    fs::read(path).unwrap()
}

fn assert_fell_back(path: &Path, what: &str) -> Vec<String> {
    match load_demo(path) {
        Ok(Some(l)) => {
            assert_eq!(l.source, Source::Previous, "{what}");
            assert_eq!(l.value, demo("one"), "{what}");
            assert_eq!(l.problems.len(), 1, "{what}");
            let p = &l.problems[0];
            assert!(p.contains("demo.state:"), "{what}: {p}");
            assert!(
                p.contains("using ") && p.contains("demo.state.prev"),
                "{what}: {p}"
            );
            l.problems
        }
        other => panic!("{what}: expected a fallback to .prev, got {other:?}"),
    }
}

#[test]
fn missing_files_mean_first_start() {
    let dir = tempdir();
    assert!(load_demo(&state_file(dir.path())).unwrap().is_none());
}

#[test]
fn round_trip_keeps_the_previous_copy() {
    let dir = tempdir();
    let path = state_file(dir.path());
    save(&path, "demo", &demo("one")).unwrap();
    let l = load_demo(&path).unwrap().unwrap();
    assert_eq!((l.value, l.source), (demo("one"), Source::Current));
    assert!(l.problems.is_empty());
    assert!(l.saved_at.elapsed().unwrap_or_default() < Duration::from_secs(60));

    save(&path, "demo", &demo("two")).unwrap();
    assert_eq!(load_demo(&path).unwrap().unwrap().value, demo("two"));
    let prev: Loaded<Demo> = load(&prev_path(&path), "demo").unwrap().unwrap();
    assert_eq!(prev.value, demo("one"));
    assert!(
        !tmp_path(&path).exists(),
        "no temporary file is left behind"
    );

    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = String::from_utf8(fs::read(&path).unwrap()).unwrap();
    assert!(text.starts_with("baton-state v1 kind=demo len="), "{text}");
}

#[test]
fn crash_before_rename_leaves_the_old_content() {
    let dir = tempdir();
    let path = state_file(dir.path());
    save(&path, "demo", &demo("one")).unwrap();
    // The new content was written and fsynced to the temporary file, then the process died.
    let other = dir.path().join("other.state");
    save(&other, "demo", &demo("two")).unwrap();
    fs::copy(&other, tmp_path(&path)).unwrap();
    let l = load_demo(&path).unwrap().unwrap();
    assert_eq!((l.value, l.source), (demo("one"), Source::Current));
    // Died after linking the old file to `.prev` too.
    fs::hard_link(&path, prev_path(&path)).unwrap();
    let l = load_demo(&path).unwrap().unwrap();
    assert_eq!((l.value, l.source), (demo("one"), Source::Current));
    // The next save goes through despite the leftovers.
    save(&path, "demo", &demo("three")).unwrap();
    assert_eq!(load_demo(&path).unwrap().unwrap().value, demo("three"));
}

#[test]
fn crash_between_the_renames_without_hard_links_falls_back_to_prev() {
    let dir = tempdir();
    let path = state_file(dir.path());
    two_saves(&path);
    // Where hard links are refused the current file is renamed to `.prev` first; the process
    // died before the new file was renamed into place.
    fs::rename(&path, prev_path(&path)).unwrap();
    let l = load_demo(&path).unwrap().unwrap();
    assert_eq!((l.value, l.source), (demo("two"), Source::Previous));
    assert!(l.problems[0].contains("missing"), "{:?}", l.problems);
}

#[test]
fn truncation_at_every_offset_falls_back_to_prev() {
    let dir = tempdir();
    let path = state_file(dir.path());
    let whole = two_saves(&path);
    for cut in 0..whole.len() {
        fs::write(&path, &whole[..cut]).unwrap();
        let problems = assert_fell_back(&path, &format!("cut at {cut}"));
        let header_end = whole.iter().position(|&b| b == b'\n').unwrap();
        if cut == 0 {
            assert!(problems[0].contains("empty file"), "{problems:?}");
        } else if cut > header_end {
            assert!(problems[0].contains("truncated"), "{problems:?}");
        }
    }
    fs::write(&path, &whole).unwrap();
    assert_eq!(load_demo(&path).unwrap().unwrap().source, Source::Current);
}

#[test]
fn a_changed_byte_anywhere_falls_back_to_prev() {
    let dir = tempdir();
    let path = state_file(dir.path());
    let whole = two_saves(&path);
    for at in 0..whole.len() {
        for mask in [0x01u8, 0x02, 0x10, 0x20, 0x80, 0xff] {
            let mut bytes = whole.clone();
            bytes[at] ^= mask;
            fs::write(&path, &bytes).unwrap();
            assert_fell_back(&path, &format!("byte {at} ^ {mask:#x}"));
        }
    }
}

#[test]
fn random_damage_never_panics() {
    let dir = tempdir();
    let path = state_file(dir.path());
    let whole = two_saves(&path);
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for round in 0..2000 {
        let mut bytes = whole.clone();
        match round % 4 {
            // A few random bytes changed.
            0 | 1 => {
                for _ in 0..rng.gen_range(1..8) {
                    let at = rng.gen_range(0..bytes.len());
                    bytes[at] = rng.gen();
                }
            }
            // Cut and garbage appended.
            2 => {
                bytes.truncate(rng.gen_range(0..bytes.len()));
                let n = rng.gen_range(0..64);
                bytes.extend((0..n).map(|_| rng.gen::<u8>()));
            }
            // Nothing but garbage, sometimes starting like a header.
            _ => {
                let n = rng.gen_range(0..1024);
                bytes = (0..n).map(|_| rng.gen()).collect();
                if rng.gen() {
                    bytes.splice(0..0, b"baton-state v1 ".iter().copied());
                }
            }
        }
        if bytes == whole {
            continue;
        }
        fs::write(&path, &bytes).unwrap();
        assert_fell_back(&path, &format!("round {round}"));
    }
}

#[test]
fn both_copies_damaged_is_an_error_naming_both() {
    let dir = tempdir();
    let path = state_file(dir.path());
    let whole = two_saves(&path);
    fs::write(&path, &whole[..whole.len() - 3]).unwrap();
    fs::write(prev_path(&path), b"garbage").unwrap();
    let err = load_demo(&path).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unusable { .. }), "{err:?}");
    assert!(
        text.contains("demo.state: checksum mismatch: file truncated"),
        "{text}"
    );
    assert!(text.contains("demo.state.prev: "), "{text}");

    // Current missing and `.prev` damaged: also an error, not a first start.
    fs::remove_file(&path).unwrap();
    let err = load_demo(&path).unwrap_err();
    assert!(err.to_string().contains("demo.state: missing"), "{err}");
}

#[test]
fn a_newer_format_is_a_clear_error_not_a_fallback() {
    let dir = tempdir();
    let path = state_file(dir.path());
    two_saves(&path);
    let future = forge("baton-state v2 kind=demo whatever=1", b"\x00\x01binary");
    fs::write(&path, future).unwrap();
    let err = load_demo(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::FutureVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("demo.state: written by a newer baton"),
        "{text}"
    );
    assert!(text.contains("version 2"), "{text}");
}

#[test]
fn a_file_of_another_kind_is_not_used() {
    let dir = tempdir();
    let path = state_file(dir.path());
    two_saves(&path);
    save(&path.with_extension("x"), "other", &demo("two")).unwrap();
    fs::rename(path.with_extension("x"), &path).unwrap();
    let problems = assert_fell_back(&path, "kind");
    assert!(
        problems[0].contains("holds \"other\" state"),
        "{problems:?}"
    );
}

#[test]
fn a_whole_file_that_does_not_decode_is_not_used() {
    let dir = tempdir();
    let path = state_file(dir.path());
    let whole = two_saves(&path);
    let payload = br#"{"name":"two","numbers":"not a list"}"#;
    let head = format!("baton-state v1 kind=demo len={} saved=0", payload.len());
    fs::write(&path, forge(&head, payload)).unwrap();
    let problems = assert_fell_back(&path, "decode");
    assert!(problems[0].contains("does not decode"), "{problems:?}");
    // A header with a good checksum but odd fields is refused too.
    let head = "baton-state v1 kind=demo len=2 saved=0 extra=1";
    fs::write(&path, forge(head, b"{}")).unwrap();
    assert_fell_back(&path, "extra field");
    fs::write(&path, whole).unwrap();
}

#[test]
fn a_damaged_current_file_never_replaces_a_good_prev() {
    let dir = tempdir();
    let path = state_file(dir.path());
    let whole = two_saves(&path);
    fs::write(&path, &whole[..10]).unwrap();
    save(&path, "demo", &demo("three")).unwrap();
    assert_eq!(load_demo(&path).unwrap().unwrap().value, demo("three"));
    let prev: Loaded<Demo> = load(&prev_path(&path), "demo").unwrap().unwrap();
    assert_eq!(
        prev.value,
        demo("one"),
        "the damaged file was not kept as .prev"
    );
}

#[test]
fn a_byte_changed_past_the_first_mebibyte_of_a_large_current_file_keeps_the_good_prev() {
    // The check before keeping the current file as `.prev` reads it in 1 MiB pieces.
    let dir = tempdir();
    let path = state_file(dir.path());
    let big = |name: &str| Demo {
        name: name.to_string(),
        numbers: (0..600_000).collect(),
    };
    save(&path, "demo", &big("one")).unwrap();
    save(&path, "demo", &big("two")).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    assert!(bytes.len() > 3 << 20, "{} bytes", bytes.len());
    let at = bytes.len() - (1 << 20) + 7;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    fs::write(&path, &bytes).unwrap();
    save(&path, "demo", &big("three")).unwrap();
    let prev: Loaded<Demo> = load(&prev_path(&path), "demo").unwrap().unwrap();
    assert_eq!(prev.value.name, "one", "the damaged file was kept as .prev");
    assert_eq!(load_demo(&path).unwrap().unwrap().value, big("three"));
}

#[test]
fn the_header_is_written_last_in_a_room_of_fixed_width() {
    let dir = tempdir();
    let path = state_file(dir.path());
    save(&path, "demo", &demo("a")).unwrap();
    let short = fs::read(&path).unwrap();
    save(&path, "demo", &demo(&"b".repeat(100_000))).unwrap();
    let long = fs::read(&path).unwrap();
    let line = |b: &[u8]| b.iter().position(|c| *c == b'\n').unwrap();
    assert_eq!(line(&short), line(&long));
    let head = String::from_utf8_lossy(&long[..line(&long)]).to_string();
    let len = format!("len={:020} ", long.len() - line(&long) - 1);
    assert!(head.contains(&len), "{head}");
}

#[test]
fn a_bad_kind_is_refused() {
    let dir = tempdir();
    let path = state_file(dir.path());
    for kind in ["", "two words", "UPPER", "new\nline"] {
        assert!(save(&path, kind, &demo("one")).is_err(), "{kind:?}");
    }
    assert!(!path.exists());
}

#[test]
fn errors_name_the_path() {
    let dir = tempdir();
    let path = dir.path().join("no-such-dir").join("demo.state");
    let err = save(&path, "demo", &demo("one")).unwrap_err();
    assert!(
        err.to_string().contains("no-such-dir/demo.state.tmp."),
        "{err}"
    );
}

#[test]
fn timestamps_are_rfc3339() {
    let at = |ms: u64| rfc3339(UNIX_EPOCH + Duration::from_millis(ms));
    assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(at(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
    assert_eq!(at(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
    assert_eq!(file::VERSION, 1);
}
