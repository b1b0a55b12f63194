//! The per-connection BGP finite state machine (RFC 4271 §8), sans-IO.
//!
//! [`Session::handle`] takes one [`Input`] (an RFC 4271 event: a start or stop, a TCP outcome, a
//! received message, a timer) and returns the [`Output`]s the driver must carry out: connect,
//! send this message, arm that timer, the session is up, the session is down and why. It never
//! touches a socket or a clock, so every transition is a plain unit test.
//!
//! One `Session` drives one TCP connection. Connection collision (§6.8) is two `Session`s for the
//! same peer; [`collision::keep_outgoing`] says which one survives.

pub mod collision;
mod fsm;
mod graceful;
mod open;
mod progress;
mod state;

pub use fsm::*;
pub use graceful::*;
pub use open::*;
pub use progress::{Progress, ProgressKind};
pub use state::SessionState;

#[cfg(test)]
mod tests;
