//! BGP-4 messages on the wire: pure encode and decode, no I/O.
//!
//! This module imports only `std`, `bytes` and `thiserror`, so it can be tested, fuzzed and
//! reasoned about without a socket or a runtime. The session layer feeds it byte buffers and
//! gets typed [`Message`]s back; the RIB hands it attribute sets and prefixes and gets packed
//! UPDATE messages back.
//!
//! The codec is parameterised by a [`CodecContext`] built from the negotiated capabilities
//! (4-octet AS numbers, extended message length), as RFC 6793 and RFC 8654 require.
//!
//! Malformed UPDATEs are handled per RFC 7606: the outcome of each tolerated error is an
//! [`AttrErrorAction`], and the decoded [`Update`] records what it tolerated.

mod as4;
mod attr_decode;
mod attributes;
mod capability;
mod codec;
mod error;
mod message;
mod nlri;
mod open;
mod pack;
mod prefix;
mod reader;
mod round_trip;
mod text;
mod update_decode;
mod update_encode;

#[cfg(test)]
mod tests;

pub use attributes::*;
pub use capability::*;
pub use codec::*;
pub use error::*;
pub use message::*;
pub use pack::*;
pub use prefix::*;
pub use round_trip::check_round_trip;
