//! What the fuzz targets share: the codec contexts an input may pick, and the framing of a
//! message body so that a target spends its time in one decoder rather than the header check.

use baton::wire::{CodecContext, HEADER_LEN};

/// The contexts a session can decode under: before or without the 4-octet AS capability,
/// with it, and with extended messages too (RFC 6793, RFC 8654).
pub const CONTEXTS: [CodecContext; 3] = [
    CodecContext {
        four_octet_as: false,
        extended_message: false,
    },
    CodecContext {
        four_octet_as: true,
        extended_message: false,
    },
    CodecContext {
        four_octet_as: true,
        extended_message: true,
    },
];

/// The context the input's first octet picks, and the rest of the input.
pub fn split_context(data: &[u8]) -> Option<(&CodecContext, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((&CONTEXTS[usize::from(first) % CONTEXTS.len()], rest))
}

/// A whole message of type `kind` around `body`: marker, length, type. The length field is
/// what it would be, cut to 16 bits; a body too long for it is the header check's business.
pub fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    let len = (HEADER_LEN + body.len()).min(usize::from(u16::MAX)) as u16;
    m.extend_from_slice(&len.to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}
