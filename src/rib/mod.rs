//! The routing information bases: Adj-RIB-In per peer, the Loc-RIB with the RFC 4271 decision
//! process, and Adj-RIB-Out per peer. Pure data structures, no I/O.
//!
//! Built for a full table from day one: attribute sets are interned ([`Interner`]) so a million
//! prefixes sharing a few thousand attribute sets cost a few thousand allocations; every table
//! is a hash map keyed by the `Copy` [`Prefix`](crate::wire::Prefix); per-family counters are
//! maintained incrementally so `batonctl neighbor` is cheap to ask with a million routes.
//!
//! What goes out: originated routes only (the operator's intent), to every Established peer
//! whose negotiated families include the route's family. Learned routes enter Adj-RIB-In and
//! compete in the Loc-RIB (for the FIB and for display), but a host speaker is not a transit
//! router, so they are not re-advertised. Because of that, a peer's Adj-RIB-Out is a function
//! of the originated routes and its session, and is computed rather than stored (`adj_out.rs`).

mod adj_in;
mod adj_out;
mod attrs;
mod candidates;
mod decision;
mod export;
mod loc;
mod martian;
mod originate;
#[cfg(test)]
mod out_tests;
mod prefix_map;
mod runs;
mod sharded;
mod state;
mod table;
#[cfg(test)]
mod tests;

pub use adj_in::*;
pub use adj_out::*;
pub use attrs::*;
pub use candidates::*;
pub use decision::*;
pub use export::*;
pub use loc::*;
pub use martian::*;
pub use prefix_map::*;
pub use runs::*;
pub use sharded::*;
pub use state::*;
pub use table::*;
