//! Tests of the codec as a whole: vectors both ways, RFC 7606 outcomes, fixtures captured from
//! gobgpd and bird2, property tests of the round trip and of the packer.

use bytes::BytesMut;

use super::{decode, encode, CodecContext, Message, HEADER_LEN};

mod fixtures;
mod hard_reset;
mod max_prefixes;
mod pack;
mod prop;
mod rfc7606_table;
mod update_errors;
mod vectors;

/// After OPENs with the 4-octet AS capability on both sides.
pub(super) const FOUR: CodecContext = CodecContext {
    four_octet_as: true,
    extended_message: false,
};
/// Before OPENs, or with a peer that lacks the 4-octet AS capability.
pub(super) const TWO: CodecContext = CodecContext {
    four_octet_as: false,
    extended_message: false,
};

/// Octets from hex text; whitespace and `_` are ignored.
pub(super) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'_')
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd hex: {text}");
    digits
        .chunks(2)
        .map(|d| u8::from_str_radix(std::str::from_utf8(d).unwrap(), 16).unwrap())
        .collect()
}

/// A whole message: marker, length, type, then `body`.
pub(super) fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

pub(super) fn encode_vec(msg: &Message, ctx: &CodecContext) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(msg, ctx, &mut out);
    out.to_vec()
}

/// `bytes` decodes to `msg` and `msg` encodes to `bytes`.
#[track_caller]
pub(super) fn both_ways(bytes: &[u8], msg: &Message, ctx: &CodecContext) {
    assert_eq!(decode(bytes, ctx).as_ref(), Ok(msg), "decode");
    assert_eq!(encode_vec(msg, ctx), bytes, "encode");
}
