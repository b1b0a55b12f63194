//! Framing, encode and decode of whole messages under a negotiated [`CodecContext`].
//!
//! Every message starts with the fixed header (RFC 4271 §4.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The header is checked in [`frame_len`] already, so a stream reader rejects a bad frame before
//! waiting for its body. The bodies live in `open.rs`, `update_decode.rs` and `update_encode.rs`.

use bytes::{BufMut, BytesMut};

use super::open::{decode_open, encode_open};
use super::update_decode::decode_update;
use super::update_encode::encode_update;
use super::{
    msg_type, notif, Afi, DecodeError, Family, Message, Notification, RouteRefresh, Safi,
    HEADER_LEN, MAX_MESSAGE_LEN,
};

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

/// Smallest OPEN: header + version, AS, hold time, identifier, parameters length.
const MIN_OPEN_LEN: usize = HEADER_LEN + 10;
/// Smallest UPDATE: header + the two length fields.
const MIN_UPDATE_LEN: usize = HEADER_LEN + 4;
/// Smallest NOTIFICATION: header + code and subcode.
const MIN_NOTIFICATION_LEN: usize = HEADER_LEN + 2;
/// ROUTE-REFRESH: header + AFI, subtype, SAFI (RFC 2918 §3).
const ROUTE_REFRESH_LEN: usize = HEADER_LEN + 4;

fn header_error(subcode: u8, data: Vec<u8>, reason: String) -> DecodeError {
    DecodeError {
        code: notif::MESSAGE_HEADER,
        subcode,
        data,
        reason,
    }
}

/// Check the fixed header of `head` (at least [`HEADER_LEN`] octets); returns length and type.
fn check_header(head: &[u8], ctx: &CodecContext) -> Result<(usize, u8), DecodeError> {
    // RFC 4271 §6.1: "If the Marker field of the message header is not as expected, then a
    // synchronization error has occurred and the Error Subcode MUST be set to Connection Not
    // Synchronized."
    if head[..16].iter().any(|&b| b != 0xff) {
        return Err(header_error(
            notif::CONNECTION_NOT_SYNCHRONIZED,
            Vec::new(),
            "marker is not all ones".into(),
        ));
    }
    let len_field = [head[16], head[17]];
    let len = usize::from(u16::from_be_bytes(len_field));
    let kind = head[18];
    // RFC 4271 §6.1: "if the Length field of the message header is less than 19 or greater than
    // 4096 [RFC 8654: the negotiated maximum] ... the Error Subcode MUST be set to Bad Message
    // Length. The Data field MUST contain the erroneous Length field."
    let bad_len = |why: &str| {
        header_error(
            notif::BAD_MESSAGE_LENGTH,
            len_field.to_vec(),
            format!("bad message length {len}: {why}"),
        )
    };
    if len < HEADER_LEN {
        return Err(bad_len("shorter than the header"));
    }
    if len > ctx.max_message_len() {
        return Err(bad_len("longer than the negotiated maximum"));
    }
    let min = match kind {
        msg_type::OPEN => MIN_OPEN_LEN,
        msg_type::UPDATE => MIN_UPDATE_LEN,
        msg_type::NOTIFICATION => MIN_NOTIFICATION_LEN,
        msg_type::KEEPALIVE => HEADER_LEN,
        msg_type::ROUTE_REFRESH => ROUTE_REFRESH_LEN,
        _ => {
            // RFC 4271 §6.1: "If the Type field of the message header is not recognized, then
            // the Error Subcode MUST be set to Bad Message Type. The Data field MUST contain the
            // erroneous Type field."
            return Err(header_error(
                notif::BAD_MESSAGE_TYPE,
                vec![kind],
                format!("unknown message type {kind}"),
            ));
        }
    };
    // RFC 4271 §6.1: "if the Length field of an OPEN message is less than the minimum length of
    // the OPEN message, or ... of an UPDATE message ..., or if the Length field of a KEEPALIVE
    // message is not equal to 19, or ... of a NOTIFICATION message is less than the minimum ..."
    if len < min {
        return Err(bad_len("shorter than the minimum for its type"));
    }
    // RFC 8654 §3: "the BGP OPEN and KEEPALIVE messages ... MUST NOT exceed 4,096 octets"; a
    // KEEPALIVE is exactly the header (RFC 4271 §4.4).
    if (kind == msg_type::KEEPALIVE && len != HEADER_LEN)
        || (kind == msg_type::OPEN && len > MAX_MESSAGE_LEN)
    {
        return Err(bad_len("wrong for its type"));
    }
    Ok((len, kind))
}

/// If `buf` begins with a whole message, its length; `Ok(None)` if more bytes are needed.
///
/// Checks the marker and the length field (RFC 4271 §6.1) so a stream reader can split frames
/// without decoding them. The header is judged as soon as it is complete, and the marker octets
/// as soon as they arrive, so a bad frame is refused without waiting for its body.
pub fn frame_len(buf: &[u8], ctx: &CodecContext) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        if buf.iter().take(16).any(|&b| b != 0xff) {
            return Err(header_error(
                notif::CONNECTION_NOT_SYNCHRONIZED,
                Vec::new(),
                "marker is not all ones".into(),
            ));
        }
        return Ok(None);
    }
    let (len, _) = check_header(buf, ctx)?;
    Ok((buf.len() >= len).then_some(len))
}

/// Decode one whole message (header included). `bytes.len()` must equal the header's length.
///
/// Errors are the NOTIFICATION the session must send (RFC 4271 §6, RFC 7606 "session reset");
/// UPDATE errors that RFC 7606 tolerates are reported in [`super::Update::errors`] instead.
pub fn decode(bytes: &[u8], ctx: &CodecContext) -> Result<Message, DecodeError> {
    if bytes.len() < HEADER_LEN {
        return Err(header_error(
            notif::BAD_MESSAGE_LENGTH,
            Vec::new(),
            format!("{} octets is shorter than the header", bytes.len()),
        ));
    }
    let (len, kind) = check_header(bytes, ctx)?;
    if len != bytes.len() {
        return Err(header_error(
            notif::BAD_MESSAGE_LENGTH,
            bytes[16..18].to_vec(),
            format!("length field says {len} but the frame has {}", bytes.len()),
        ));
    }
    let body = &bytes[HEADER_LEN..];
    match kind {
        msg_type::OPEN => decode_open(body).map(Message::Open),
        msg_type::UPDATE => decode_update(body, ctx).map(Message::Update),
        msg_type::NOTIFICATION => Ok(Message::Notification(Notification {
            code: body[0],
            subcode: body[1],
            data: body[2..].to_vec(),
        })),
        msg_type::KEEPALIVE => Ok(Message::Keepalive),
        _ => decode_route_refresh(bytes),
    }
}

/// ROUTE-REFRESH (RFC 2918 §3, subtypes from RFC 7313 §3.2).
///
/// ```text
///  0       7      15      23      31
/// +-------+-------+-------+-------+
/// |      AFI      | Subt. | SAFI  |
/// +-------+-------+-------+-------+
/// ```
fn decode_route_refresh(msg: &[u8]) -> Result<Message, DecodeError> {
    let body = &msg[HEADER_LEN..];
    if body.len() != 4 {
        // RFC 7313 §5: "If the length, excluding the fixed-size message header, of the received
        // ROUTE-REFRESH message with Message Subtype 1 and 2 is not 4, then the BGP speaker MUST
        // send a NOTIFICATION message with the Error Code of "ROUTE-REFRESH Message Error" and
        // the subcode of "Invalid Message Length". The Data field of the NOTIFICATION message
        // MUST contain the complete ROUTE-REFRESH message."
        if matches!(body[2], 1 | 2) {
            return Err(DecodeError {
                code: notif::ROUTE_REFRESH,
                subcode: 1,
                data: msg.to_vec(),
                reason: format!("ROUTE-REFRESH body of {} octets", body.len()),
            });
        }
        // RFC 2918 fixes the length at 4; a wrong one is a header length error (RFC 4271 §6.1).
        return Err(header_error(
            notif::BAD_MESSAGE_LENGTH,
            msg[16..18].to_vec(),
            format!("ROUTE-REFRESH body of {} octets", body.len()),
        ));
    }
    Ok(Message::RouteRefresh(RouteRefresh {
        family: Family {
            afi: Afi(u16::from_be_bytes([body[0], body[1]])),
            safi: Safi(body[3]),
        },
        subtype: body[2],
    }))
}

/// Append the encoding of `msg` (header included) to `out`.
///
/// Panics never; an UPDATE too large for `ctx` is the caller's mistake and is encoded anyway
/// (the packer in [`super::UpdatePacker`] never builds one).
pub fn encode(msg: &Message, ctx: &CodecContext, out: &mut BytesMut) {
    let kind = match msg {
        Message::Open(_) => msg_type::OPEN,
        Message::Update(_) => msg_type::UPDATE,
        Message::Notification(_) => msg_type::NOTIFICATION,
        Message::Keepalive => msg_type::KEEPALIVE,
        Message::RouteRefresh(_) => msg_type::ROUTE_REFRESH,
    };
    let start = begin_message(out, kind);
    match msg {
        Message::Open(open) => encode_open(open, out),
        Message::Update(update) => encode_update(update, ctx, out),
        Message::Notification(n) => {
            out.put_u8(n.code);
            out.put_u8(n.subcode);
            out.put_slice(&n.data);
        }
        Message::Keepalive => {}
        Message::RouteRefresh(rr) => {
            out.put_u16(rr.family.afi.0);
            out.put_u8(rr.subtype);
            out.put_u8(rr.family.safi.0);
        }
    }
    end_message(out, start);
}

/// Write a header with a placeholder length; returns where the message starts.
pub(super) fn begin_message(out: &mut BytesMut, kind: u8) -> usize {
    let start = out.len();
    out.put_slice(&[0xff; 16]);
    out.put_u16(0);
    out.put_u8(kind);
    start
}

/// Fix up the length of the message that starts at `start` (saturating at 65535).
pub(super) fn end_message(out: &mut BytesMut, start: usize) {
    let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}
