//! Tests of the state store: round trips, simulated crashes at each step of a save, damaged
//! files of every kind, and the lock. (Save and load timings are in `bin/bench`, table 3.)

mod dir;
mod file;
mod intent_json;
mod intent_read;
mod rib_read;
mod route_table;
mod types;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A small stand-in state for the file format tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Demo {
    name: String,
    numbers: Vec<u32>,
}

fn demo(name: &str) -> Demo {
    Demo {
        name: name.to_string(),
        numbers: (0..20).collect(),
    }
}

/// `intent` as it comes back from disk: its configuration without routes (the file has them).
fn as_saved(mut intent: crate::store::Intent) -> crate::store::Intent {
    intent.config.routes.clear();
    intent
}

/// The payload of the state file at `path` (what follows its header line).
fn payload(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
    bytes[nl + 1..].to_vec()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("demo.state")
}

/// A file in the state format with a header of our choosing and a correct checksum.
fn forge(head: &str, payload: &[u8]) -> Vec<u8> {
    let mut h = crc32fast::Hasher::new();
    h.update(head.as_bytes());
    h.update(payload);
    let mut out = format!("{head} crc32={:08x}\n", h.finalize()).into_bytes();
    out.extend_from_slice(payload);
    out
}
