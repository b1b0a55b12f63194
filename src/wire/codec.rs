//! Framing, encode and decode of whole messages under a negotiated [`CodecContext`].

use bytes::BytesMut;

use super::{DecodeError, Message};

/// What the two speakers negotiated that changes the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecContext {
    /// Both sides advertised the 4-octet AS capability: AS_PATH carries 4-octet ASNs.
    pub four_octet_as: bool,
    /// Both sides advertised extended messages: up to 65535 octets.
    pub extended_message: bool,
}

impl Default for CodecContext {
    /// Before OPENs are exchanged: 2-octet AS paths, 4096-octet messages.
    fn default() -> Self {
        CodecContext {
            four_octet_as: false,
            extended_message: false,
        }
    }
}

impl CodecContext {
    /// The largest message this context allows.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            super::MAX_EXTENDED_MESSAGE_LEN
        } else {
            super::MAX_MESSAGE_LEN
        }
    }
}

/// If `buf` begins with a whole message, its length; `Ok(None)` if more bytes are needed.
///
/// Checks the marker and the length field (RFC 4271 §6.1) so a stream reader can split frames
/// without decoding them.
pub fn frame_len(buf: &[u8], ctx: &CodecContext) -> Result<Option<usize>, DecodeError> {
    let _ = (buf, ctx);
    todo!("codec: frame_len")
}

/// Decode one whole message (header included). `bytes.len()` must equal the header's length.
pub fn decode(bytes: &[u8], ctx: &CodecContext) -> Result<Message, DecodeError> {
    let _ = (bytes, ctx);
    todo!("codec: decode")
}

/// Append the encoding of `msg` (header included) to `out`.
///
/// Panics never; an UPDATE too large for `ctx` is the caller's mistake and is encoded anyway
/// (the packer in [`super::UpdatePacker`] never builds one).
pub fn encode(msg: &Message, ctx: &CodecContext, out: &mut BytesMut) {
    let _ = (msg, ctx, out);
    todo!("codec: encode")
}
