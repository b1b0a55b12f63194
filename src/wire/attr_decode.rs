//! Parsers for the values of individual path attributes: AS_PATH, AGGREGATOR, the community
//! lists, MP_REACH_NLRI and MP_UNREACH_NLRI. What to do when one fails (RFC 7606) is decided by
//! the caller in `update_decode.rs`, except for the multiprotocol attributes, whose failures are
//! always a session reset and are returned as the NOTIFICATION to send.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::nlri::decode_prefixes;
use super::reader::Reader;
use super::{
    notif, Afi, Aggregator, AsPath, AsSegment, DecodeError, Family, MpReach, MpUnreach, Safi,
    SegmentType,
};

/// `value` as `N`-octet chunks if its length is a non-zero multiple of `N`.
pub(super) fn multiple_of<const N: usize>(
    value: &[u8],
) -> Option<impl Iterator<Item = [u8; N]> + '_> {
    (!value.is_empty() && value.len().is_multiple_of(N)).then(|| {
        value
            .chunks_exact(N)
            .map(|c| <[u8; N]>::try_from(c).unwrap_or([0; N]))
    })
}

/// AS_PATH / AS4_PATH (RFC 4271 §4.3, RFC 6793 §3): a sequence of segments.
///
/// ```text
/// +------------------+------------------+------------------------------------+
/// | Segment Type (1) | Segment Len (1)  | Segment Value: Len ASNs of 2 or 4  |
/// +------------------+------------------+------------------------------------+
/// type 1 AS_SET, 2 AS_SEQUENCE (3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET: refused here)
/// ```
///
/// RFC 7606 §7.2: "An AS_PATH is considered malformed if an unrecognized segment type is
/// encountered or if it contains a malformed segment. A segment is considered malformed if any
/// of the following are true: [an overrun of the attribute length; an underrun of a single
/// octet; a] Path Segment Length field of zero."
pub(super) fn decode_as_path(value: &[u8], four_octet: bool) -> Result<AsPath, String> {
    let width = if four_octet { 4 } else { 2 };
    let mut r = Reader::new(value);
    let mut segments = Vec::new();
    while !r.is_empty() {
        let (Some(kind), Some(count)) = (r.u8(), r.u8()) else {
            return Err("ends with a single octet".into());
        };
        let kind = match kind {
            1 => SegmentType::AsSet,
            2 => SegmentType::AsSequence,
            3 | 4 => return Err(format!("has an AS_CONFED segment (type {kind})")),
            _ => return Err(format!("has an unknown segment type {kind}")),
        };
        if count == 0 {
            return Err("has an empty segment".into());
        }
        let Some(mut seg) = r.sub(usize::from(count) * width) else {
            return Err("segment overruns the attribute".into());
        };
        let mut asns = Vec::with_capacity(usize::from(count));
        while !seg.is_empty() {
            let asn = if four_octet {
                seg.u32()
            } else {
                seg.u16().map(u32::from)
            };
            asns.extend(asn);
        }
        segments.push(AsSegment { kind, asns });
    }
    Ok(AsPath { segments })
}

/// AGGREGATOR (2- or 4-octet AS, then the identifier) or AS4_AGGREGATOR (always 4-octet).
pub(super) fn decode_aggregator(value: &[u8], four_octet: bool) -> Option<Aggregator> {
    let mut r = Reader::new(value);
    let asn = if four_octet {
        r.u32()?
    } else {
        u32::from(r.u16()?)
    };
    let address = Ipv4Addr::from(r.u32()?);
    r.is_empty().then_some(Aggregator { asn, address })
}

/// True for the families whose NLRI this codec parses: IPv4 and IPv6 unicast.
fn is_ip_unicast(family: Family) -> bool {
    family == Family::IPV4_UNICAST || family == Family::IPV6_UNICAST
}

/// RFC 7606 §7.11 and RFC 4760 §7: an MP_REACH_NLRI / MP_UNREACH_NLRI that cannot be parsed
/// cannot be treated as withdrawn (its prefixes are unknown), so the session is reset with
/// UPDATE Message Error / Optional Attribute Error and the attribute as data.
fn mp_error(raw: &[u8], reason: String) -> DecodeError {
    DecodeError {
        code: notif::UPDATE,
        subcode: notif::OPTIONAL_ATTRIBUTE,
        data: raw.to_vec(),
        reason,
    }
}

/// MP_REACH_NLRI (RFC 4760 §3). `None` for a family this codec does not parse.
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Length of Next Hop Network Address (1 octet)            |
/// +---------------------------------------------------------+
/// | Network Address of Next Hop (variable)                  |
/// +---------------------------------------------------------+
/// | Reserved (1 octet)                                      |
/// +---------------------------------------------------------+
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
///
/// Next hop by length: 4 (IPv4, for IPv4 NLRI only), 16 (IPv6 global) or 32 (IPv6 global +
/// link-local, RFC 2545 §3).
pub(super) fn decode_mp_reach(value: &[u8], raw: &[u8]) -> Result<Option<MpReach>, DecodeError> {
    let mut r = Reader::new(value);
    let truncated = || mp_error(raw, "MP_REACH_NLRI truncated".into());
    let afi = r.u16().ok_or_else(truncated)?;
    let safi = r.u8().ok_or_else(truncated)?;
    let nh_len = r.u8().ok_or_else(truncated)?;
    let nh = r.take(usize::from(nh_len)).ok_or_else(truncated)?;
    // RFC 4760 §3: the Reserved octet "MUST be ignored upon receipt".
    r.u8().ok_or_else(truncated)?;
    let family = Family {
        afi: Afi(afi),
        safi: Safi(safi),
    };
    if !is_ip_unicast(family) {
        return Ok(None);
    }
    let v6 = |b: &[u8]| IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap_or([0; 16])));
    // RFC 7606 §7.11: a next hop length "inconsistent with that expected for the AFI/SAFI" is a
    // session reset. IPv6 takes 16 or 32 (RFC 2545 §3); IPv4 takes 4, or 16 or 32 (RFC 8950).
    let next_hops = match nh.len() {
        4 if family.afi == Afi::IPV4 => vec![IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3]))],
        16 => vec![v6(nh)],
        32 => vec![v6(&nh[..16]), v6(&nh[16..])],
        n => {
            return Err(mp_error(
                raw,
                format!("MP_REACH_NLRI next hop of length {n}"),
            ))
        }
    };
    let mut nlri = Vec::new();
    decode_prefixes(r.rest(), family.afi == Afi::IPV6, &mut nlri)
        .map_err(|e| mp_error(raw, format!("MP_REACH_NLRI: {}", e.describe())))?;
    Ok(Some(MpReach {
        family,
        next_hops,
        nlri,
    }))
}

/// MP_UNREACH_NLRI (RFC 4760 §4). `None` for a family this codec does not parse, unless it
/// withdraws nothing (the End-of-RIB marker of RFC 4724 §2, kept for any family).
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Withdrawn Routes (variable)                             |
/// +---------------------------------------------------------+
/// ```
pub(super) fn decode_mp_unreach(
    value: &[u8],
    raw: &[u8],
) -> Result<Option<MpUnreach>, DecodeError> {
    let mut r = Reader::new(value);
    let truncated = || mp_error(raw, "MP_UNREACH_NLRI truncated".into());
    let afi = r.u16().ok_or_else(truncated)?;
    let safi = r.u8().ok_or_else(truncated)?;
    let family = Family {
        afi: Afi(afi),
        safi: Safi(safi),
    };
    let mut withdrawn = Vec::new();
    if !r.is_empty() {
        if !is_ip_unicast(family) {
            return Ok(None);
        }
        decode_prefixes(r.rest(), family.afi == Afi::IPV6, &mut withdrawn)
            .map_err(|e| mp_error(raw, format!("MP_UNREACH_NLRI: {}", e.describe())))?;
    }
    Ok(Some(MpUnreach { family, withdrawn }))
}
