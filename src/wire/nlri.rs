//! The `<length, prefix>` encoding of IP prefixes shared by the Withdrawn Routes and NLRI fields
//! and by MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4271 §4.3, RFC 4760 §5).
//!
//! ```text
//! +---------------------------+
//! |   Length (1 octet)        |
//! +---------------------------+
//! |   Prefix (variable)       |
//! +---------------------------+
//! ```
//!
//! The prefix field holds the minimum number of octets for `Length` bits; its trailing bits are
//! irrelevant (RFC 4271 §4.3) and are cleared on decode, so a decoded [`Prefix`] is canonical.
//! Decoding pushes each prefix into the caller's `Vec` and allocates nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use super::reader::Reader;
use super::Prefix;

/// Why a prefix list could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NlriError {
    /// A length octet larger than the address (more than 32 or 128 bits).
    TooLong(u8),
    /// The last prefix runs past the end of the field.
    Truncated,
}

impl NlriError {
    /// For the log.
    pub(super) fn describe(self) -> String {
        match self {
            NlriError::TooLong(len) => format!("prefix length {len} is longer than the address"),
            NlriError::Truncated => "last prefix overruns the field".to_string(),
        }
    }
}

/// Parse a whole field of IPv4 (`v6 == false`) or IPv6 prefixes into `out`.
pub(super) fn decode_prefixes(
    field: &[u8],
    v6: bool,
    out: &mut Vec<Prefix>,
) -> Result<(), NlriError> {
    let mut r = Reader::new(field);
    let max = if v6 { 128 } else { 32 };
    while let Some(len) = r.u8() {
        if len > max {
            return Err(NlriError::TooLong(len));
        }
        let bytes = r
            .take(usize::from(len).div_ceil(8))
            .ok_or(NlriError::Truncated)?;
        let addr = if v6 {
            let mut a = [0u8; 16];
            a[..bytes.len()].copy_from_slice(bytes);
            IpAddr::V6(Ipv6Addr::from(a))
        } else {
            let mut a = [0u8; 4];
            a[..bytes.len()].copy_from_slice(bytes);
            IpAddr::V4(Ipv4Addr::from(a))
        };
        // `len` was checked against the address size just above.
        out.extend(Prefix::new_masked(addr, len));
    }
    Ok(())
}

/// Octets `p` takes on the wire.
pub(super) fn prefix_wire_len(p: &Prefix) -> usize {
    1 + usize::from(p.len()).div_ceil(8)
}

/// Append `p` in `<length, prefix>` form.
pub(super) fn encode_prefix(p: &Prefix, out: &mut BytesMut) {
    let n = usize::from(p.len()).div_ceil(8);
    out.put_u8(p.len());
    match p.addr() {
        IpAddr::V4(a) => out.put_slice(&a.octets()[..n]),
        IpAddr::V6(a) => out.put_slice(&a.octets()[..n]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn both_ways() {
        let cases: &[(&[u8], &str, bool)] = &[
            (&[0], "0.0.0.0/0", false),
            (&[24, 192, 0, 2], "192.0.2.0/24", false),
            (&[32, 198, 18, 0, 1], "198.18.0.1/32", false),
            (&[17, 198, 18, 128], "198.18.128.0/17", false),
            (&[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1], "2001:db8:1::/48", true),
            (&[0], "::/0", true),
        ];
        for &(bytes, text, v6) in cases {
            let mut got = Vec::new();
            decode_prefixes(bytes, v6, &mut got).unwrap();
            assert_eq!(got, vec![p(text)], "{text}");
            let mut out = BytesMut::new();
            encode_prefix(&got[0], &mut out);
            assert_eq!(&out[..], bytes, "{text}");
            assert_eq!(prefix_wire_len(&got[0]), bytes.len());
        }
    }

    #[test]
    fn trailing_bits_are_cleared() {
        let mut got = Vec::new();
        decode_prefixes(&[23, 192, 0, 3], false, &mut got).unwrap();
        assert_eq!(got, vec![p("192.0.2.0/23")]);
    }

    #[test]
    fn errors() {
        let mut got = Vec::new();
        assert_eq!(
            decode_prefixes(&[33, 1, 2, 3, 4, 5], false, &mut got),
            Err(NlriError::TooLong(33))
        );
        assert_eq!(
            decode_prefixes(&[129], true, &mut got),
            Err(NlriError::TooLong(129))
        );
        assert_eq!(
            decode_prefixes(&[24, 192, 0], false, &mut got),
            Err(NlriError::Truncated)
        );
        assert!(decode_prefixes(&[128], true, &mut got).is_err());
        assert!(decode_prefixes(&[128; 17], true, &mut got).is_ok());
    }
}
