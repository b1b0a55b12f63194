//! baton: a BGP speaker whose routes never flap.
//!
//! # Layout
//!
//! ```text
//! wire/     BGP messages: pure encode/decode, no I/O; RFC 7606 outcomes
//! session/  per-peer finite state machine (sans-IO): states, events, timers, OPEN checks
//! rib/      Adj-RIB-In, Loc-RIB with the decision process, Adj-RIB-Out; interned attributes
//! config/   TOML schema and validation with file, line and field in every error
//! speaker/  the tokio driver: listeners, connections, timers, the RIB task, control socket
//! ctl/      the control-socket protocol shared by the speaker and `batonctl`
//! api/      the REST API: an axum router over a backend trait the speaker implements, served
//!           within a connection cap and timeouts
//! fds.rs    the file descriptor limit, raised at start; what the API may use of it
//! ```

pub mod api;
pub mod config;
pub mod ctl;
pub mod fds;
pub mod handoff;
pub mod rib;
pub mod session;
pub mod speaker;
pub mod store;
pub mod supervisor;
pub mod version;
pub mod wire;
