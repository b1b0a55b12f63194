//! The supervisor ↔ speaker channel.
//!
//! The supervisor (`batond`) owns the listening sockets and hands them to each speaker
//! generation over a unix socket pair (SCM_RIGHTS); then both talk a small versioned protocol
//! of length-delimited JSON messages. Layers, bottom up:
//!
//! ```text
//! fdpass     sendmsg/recvmsg with SCM_RIGHTS under tokio readiness; the pre_exec hook that
//!            lets one descriptor into the child; the module's only unsafe code
//! frame      length + fd count + JSON, reassembled from reads of any size (sans-IO)
//! proto      the messages (`Msg`), their sequence and version negotiation
//! progress   the steps a speaker reports while it takes over (`Progress`)
//! figures    the supervisor's counts a speaker exports (upgrades, restarts)
//! channel    `Channel` (send/recv typed messages with descriptors), split into halves
//! handshake  Hello → HelloAck | Incompatible, on both sides
//! spawn      spawn a speaker with its end of the channel (`--handoff-fd N`); find it again
//! listener   listening sockets to a `Hello` and back to tokio
//! ```
//!
//! Supervisor, in short:
//!
//! ```ignore
//! let (child, mut channel) = spawn_with_handoff(cmd)?;
//! let (info, fd) = listener_to_send(&bgp_listener, ListenerKind::Bgp)?;
//! let hello = Hello::new(generation, state_dir, config_path, vec![info]);
//! let ack = supervisor_handshake(&mut channel, &hello, &[fd]).await?;
//! // then wait for Msg::Ready, send Msg::Activate, follow Msg::Progress until Msg::Done;
//! // forward Msg::Request, send Msg::Quiesce / Msg::Stop ... (the sequence: see `proto`)
//! ```
//!
//! Speaker:
//!
//! ```ignore
//! let mut channel = Channel::from_handoff_fd(fd_from_args)?;
//! let accepted = speaker_handshake(&mut channel, env!("CARGO_PKG_VERSION")).await?; // Err: exit 1
//! for (info, fd) in accepted.listeners { let listener = listener_from_fd(fd)?; ... }
//! channel.send(&Msg::Ready { peers_up: vec![] }, &[]).await?;
//! ```

mod channel;
mod error;
mod fdpass;
mod figures;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod listener;
mod proto;
mod spawn;

#[cfg(test)]
mod tests;

pub use crate::session::{Progress, ProgressKind};
pub use channel::{Channel, RecvHalf, SendHalf};
pub use error::HandoffError;
pub use fdpass::{
    claim_reexec_fd, pass_fd_to_child, recv_with_fds, send_with_fds, MAX_FDS_PER_FRAME,
};
pub use figures::{Figures, UpgradeCounts, UpgradeOutcome};
pub use frame::MAX_FRAME_LEN;
pub use handshake::{speaker_handshake, supervisor_handshake, Accepted};
pub use listener::{listener_from_fd, listener_to_send};
pub use proto::{
    negotiate, Hello, HelloAck, ListenerInfo, ListenerKind, Msg, EVENTS_VERSION, FIGURES_VERSION,
    MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, SUPERVISOR_MIN_VERSION,
};
pub use spawn::{socketpair_for_child, spawn_with_handoff, HANDOFF_FD_ARG};
