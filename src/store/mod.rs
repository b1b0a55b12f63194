//! The on-disk state of baton: the operator's intent and the RIB, kept across restarts,
//! upgrades and crashes (the promise "nothing acknowledged is lost", docs/architecture.md).
//!
//! Three layers:
//! - [`file`](mod@file): one durable, checksummed, versioned file with a fallback copy (`.prev`);
//! - [`Intent`] and [`RibSnapshot`] (`types.rs`, `attrs.rs`): what is kept, as serde types
//!   (the intent's large list of routes written by a hand-written encoder of the same JSON,
//!   `intent_json.rs`, and read back by a hand-written reader of that shape, `intent_read.rs`);
//! - [`StateDir`] (`dir.rs`): the state directory, its lock, and one file per kind of state;
//! - [`Writability`] (`writable.rs`): whether the directory can be written now, for a daemon
//!   that keeps running from what it read when it cannot;
//! - [`SaveObserver`] (`observe.rs`): who hears how long each save took and what it wrote.
//!
//! # Why saving is safe against kill -9 and power loss
//!
//! A save writes `NAME.tmp.<pid>`, fsyncs it, keeps the current file as `NAME.prev` (a hard link
//! renamed into place, so `NAME.prev` is always a whole file), renames the new file over `NAME`
//! and fsyncs the directory; only then does it return. Each step leaves a state that [`file::load`]
//! reads correctly:
//!
//! | crash after                 | on disk                                   | load gives        |
//! |-----------------------------|-------------------------------------------|-------------------|
//! | writing the tmp file        | `NAME` = old, stray tmp                   | old (`Current`)   |
//! | linking the old one to prev | `NAME` = old, `NAME.prev` = old           | old (`Current`)   |
//! | renaming tmp over `NAME`    | `NAME` = new, `NAME.prev` = old           | new (`Current`)   |
//!
//! Until the directory fsync the renames may not be durable yet, but each one is atomic, so
//! after a power loss the directory shows one of the rows above. The caller is told "saved" only
//! after the directory fsync: that is the point from which an acknowledged change survives.
//! If a file system refuses hard links, the old file is renamed to `NAME.prev` instead; a crash
//! between that rename and the next leaves no `NAME`, and load takes `NAME.prev` (the state
//! before the unacknowledged save) and says so.
//!
//! A damaged current file (torn by a disk, truncated, a flipped byte) fails its checksum: load
//! says what it found and falls back to `NAME.prev`. A save never moves a damaged current file
//! over a good `NAME.prev`.

mod attrs;
mod dir;
mod error;
pub mod file;
mod intent_json;
mod intent_read;
pub mod journal;
mod json_cursor;
mod observe;
mod rib;
mod rib_json;
mod rib_read;
mod route_table;
mod saved_routes;
mod types;
mod writable;

#[cfg(test)]
mod tests;

pub use attrs::*;
pub use dir::*;
pub use error::*;
pub use file::{Loaded, Source};
pub use observe::{SaveKind, SaveObserver};
pub use route_table::{Builder as RouteTableBuilder, RouteTable};
pub use saved_routes::SavedRoutes;
pub use types::*;
pub use writable::Writability;
