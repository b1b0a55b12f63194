//! baton: a BGP speaker whose routes never flap.
//!
//! # Layout
//!
//! ```text
//! bin/        batond and batonctl: argument parsing and logging only
//! supervisor/ batond's main process: spawns, watches, restarts and upgrades speakers
//! speaker/    the tokio driver: listeners, peer tasks, the RIB task, intent, snapshots
//! api/        the REST API: an axum router over a backend trait the speaker implements,
//!             served within a connection cap and timeouts
//! ctl/        control-socket requests and replies shared by batond and `batonctl`
//! fib/        kernel routes over rtnetlink: batched installs and periodic reconciliation
//! metrics     Prometheus counters and gauges, registered once, passed by handle
//! handoff/    supervisor <-> speaker channel: SCM_RIGHTS, versioned framed messages
//! fds         the file descriptor limit, raised at start; what the API may use of it
//! sockets     the listeners and control socket the supervisor binds and hands over
//! store/      state on disk: atomic, checksummed, versioned files with a previous copy
//! config/     TOML schema and validation with file, line and field in every error
//! rib/        Adj-RIB-In, Loc-RIB with the decision process, Adj-RIB-Out; interned attributes
//! session/    per-peer finite state machine (sans-IO): states, events, timers, OPEN checks
//! wire/       BGP messages: pure encode/decode, no I/O; RFC 7606 outcomes
//! manual      man pages and shell completions generated from the clap definitions
//! version     the build's version string
//! ```
//!
//! Dependencies point down this list. Why it is cut this way, the upgrade sequence and the
//! on-disk formats: `docs/architecture.md`.

pub mod api;
pub mod config;
pub mod ctl;
pub mod fds;
pub mod fib;
pub mod handoff;
pub mod manual;
pub mod metrics;
pub mod rib;
pub mod session;
pub mod sockets;
pub mod sockopt;
pub mod speaker;
pub mod store;
pub mod supervisor;
pub mod version;
pub mod wire;
