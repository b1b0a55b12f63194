//! UPDATE encode (RFC 4271 §4.3): path attributes in type-code order, as gobgpd and bird2 send
//! them, so what we decode from them re-encodes to the same octets.
//!
//! Attribute layout (RFC 4271 §4.3):
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attr. Flags  |Attr. Type Code|  then Attr. Length (1 octet, or 2 if Extended Length)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  then the value
//! ```
//!
//! The Extended Length bit is set exactly when a value exceeds 255 octets, except for unknown
//! attributes, whose flags are written as received. Partial bits of known attributes are not kept.
//!
//! RFC 6793 under a 2-octet context (`!ctx.four_octet_as`): AS numbers above 65535 in AS_PATH and
//! AGGREGATOR are written as AS_TRANS. AS4_PATH is `attrs.as4_path` verbatim when set, else the
//! whole AS_PATH when it holds such an AS number (RFC 6793 §4.2.2); likewise AS4_AGGREGATOR. So an
//! attribute set as decoded from a 2-octet peer (AS4_PATH kept apart) re-encodes to itself, and
//! one built by the RIB (4-octet AS_PATH, no AS4_PATH) decodes back to itself after
//! [`Attributes::merge_as4`]. Under a 4-octet context AS4_PATH and AS4_AGGREGATOR are never sent
//! (RFC 6793 §4.1).

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};

use super::attributes::{code, flag};
use super::nlri::{encode_prefix, prefix_wire_len};
use super::reader::{begin_len16, end_len16};
use super::{
    Aggregator, AsPath, Attributes, CodecContext, Family, Origin, Prefix, SegmentType, Update,
    AS_TRANS,
};

/// Append an UPDATE body.
pub(super) fn encode_update(u: &Update, ctx: &CodecContext, out: &mut BytesMut) {
    let w = begin_len16(out);
    for p in &u.withdrawn {
        encode_prefix(p, out);
    }
    end_len16(out, w);

    let a = begin_len16(out);
    let attrs = u.attributes.as_ref();
    if let Some(attrs) = attrs {
        encode_attrs(attrs, ctx, BEFORE_MP, true, out);
    }
    if let Some(mp) = &u.mp_reach {
        let nlri_len = prefixes_len(&mp.nlri);
        put_mp_reach_head(mp.family, &mp.next_hops, nlri_len, out);
        for p in &mp.nlri {
            encode_prefix(p, out);
        }
    }
    if let Some(mp) = &u.mp_unreach {
        let len = prefixes_len(&mp.withdrawn);
        put_mp_unreach_head(mp.family, len, out);
        for p in &mp.withdrawn {
            encode_prefix(p, out);
        }
    }
    if let Some(attrs) = attrs {
        encode_attrs(attrs, ctx, AFTER_MP, true, out);
    }
    end_len16(out, a);

    for p in &u.nlri {
        encode_prefix(p, out);
    }
}

/// A range of attribute type codes, `lo..hi`.
pub(super) type CodeRange = (u16, u16);
/// The attributes written before MP_REACH_NLRI / MP_UNREACH_NLRI.
pub(super) const BEFORE_MP: CodeRange = (0, code::MP_REACH_NLRI as u16);
/// The attributes written after them.
pub(super) const AFTER_MP: CodeRange = (code::MP_REACH_NLRI as u16, 256);
/// Every attribute (for an UPDATE without multiprotocol attributes).
pub(super) const ALL: CodeRange = (0, 256);

/// The known attribute codes in the order they are written.
const KNOWN: [u8; 12] = [
    code::ORIGIN,
    code::AS_PATH,
    code::NEXT_HOP,
    code::MED,
    code::LOCAL_PREF,
    code::ATOMIC_AGGREGATE,
    code::AGGREGATOR,
    code::COMMUNITIES,
    code::EXTENDED_COMMUNITIES,
    code::AS4_PATH,
    code::AS4_AGGREGATOR,
    code::LARGE_COMMUNITIES,
];

/// Append the attributes of `attrs` whose type code is in `range`, in type-code order, unknown
/// ones merged in by code. NEXT_HOP only if `next_hop` (not for MP-only UPDATEs).
pub(super) fn encode_attrs(
    attrs: &Attributes,
    ctx: &CodecContext,
    range: CodeRange,
    next_hop: bool,
    out: &mut BytesMut,
) {
    let (lo, hi) = range;
    let mut cursor = lo;
    for c in KNOWN {
        let c16 = u16::from(c);
        if c16 < lo || c16 >= hi {
            continue;
        }
        put_unknown(attrs, (cursor, c16), out);
        cursor = c16 + 1;
        put_known(attrs, ctx, c, next_hop, out);
    }
    put_unknown(attrs, (cursor, hi), out);
}

/// Append the unknown attributes with a code in `range`, in list order.
fn put_unknown(attrs: &Attributes, (lo, hi): CodeRange, out: &mut BytesMut) {
    for raw in &attrs.unknown {
        let c = u16::from(raw.code);
        if c < lo || c >= hi {
            continue;
        }
        let flags = if raw.value.len() > 255 {
            raw.flags | flag::EXTENDED_LENGTH
        } else {
            raw.flags
        };
        // A value longer than a two-octet length can say is cut rather than mis-framed.
        let value = &raw.value[..raw.value.len().min(usize::from(u16::MAX))];
        out.put_u8(flags);
        out.put_u8(raw.code);
        if flags & flag::EXTENDED_LENGTH != 0 {
            out.put_u16(value.len() as u16);
        } else {
            out.put_u8(value.len() as u8);
        }
        out.put_slice(value);
    }
}

/// Write an attribute header, with the Extended Length bit when `len` needs it.
fn put_header(flags: u8, c: u8, len: usize, out: &mut BytesMut) {
    if len > 255 {
        out.put_u8(flags | flag::EXTENDED_LENGTH);
        out.put_u8(c);
        out.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
    } else {
        out.put_u8(flags);
        out.put_u8(c);
        out.put_u8(len as u8);
    }
}

const WELL_KNOWN: u8 = flag::TRANSITIVE;
const OPTIONAL_TRANSITIVE: u8 = flag::OPTIONAL | flag::TRANSITIVE;

fn put_known(attrs: &Attributes, ctx: &CodecContext, c: u8, next_hop: bool, out: &mut BytesMut) {
    let four = ctx.four_octet_as;
    match c {
        code::ORIGIN => {
            if let Some(o) = attrs.origin {
                put_header(WELL_KNOWN, c, 1, out);
                out.put_u8(match o {
                    Origin::Igp => 0,
                    Origin::Egp => 1,
                    Origin::Incomplete => 2,
                });
            }
        }
        code::AS_PATH => {
            if let Some(path) = &attrs.as_path {
                put_as_path(WELL_KNOWN, c, path, four, out);
            }
        }
        code::NEXT_HOP => {
            if let (Some(nh), true) = (attrs.next_hop, next_hop) {
                put_header(WELL_KNOWN, c, 4, out);
                out.put_slice(&nh.octets());
            }
        }
        code::MED => {
            if let Some(med) = attrs.med {
                put_header(flag::OPTIONAL, c, 4, out);
                out.put_u32(med);
            }
        }
        code::LOCAL_PREF => {
            if let Some(lp) = attrs.local_pref {
                put_header(WELL_KNOWN, c, 4, out);
                out.put_u32(lp);
            }
        }
        code::ATOMIC_AGGREGATE if attrs.atomic_aggregate => put_header(WELL_KNOWN, c, 0, out),
        code::AGGREGATOR => {
            if let Some(agg) = attrs.aggregator {
                put_aggregator(c, agg, four, out);
            }
        }
        code::COMMUNITIES if !attrs.communities.is_empty() => {
            put_header(OPTIONAL_TRANSITIVE, c, 4 * attrs.communities.len(), out);
            for com in &attrs.communities {
                out.put_u32(com.0);
            }
        }
        code::EXTENDED_COMMUNITIES if !attrs.ext_communities.is_empty() => {
            put_header(OPTIONAL_TRANSITIVE, c, 8 * attrs.ext_communities.len(), out);
            for com in &attrs.ext_communities {
                out.put_slice(&com.0);
            }
        }
        code::AS4_PATH if !four => {
            let synthesized = attrs.as_path.as_ref().filter(|p| needs_as4(p));
            if let Some(path) = attrs.as4_path.as_ref().or(synthesized) {
                put_as_path(OPTIONAL_TRANSITIVE, c, path, true, out);
            }
        }
        code::AS4_AGGREGATOR if !four => {
            let synthesized = attrs.aggregator.filter(|a| a.asn > u32::from(u16::MAX));
            if let Some(agg) = attrs.as4_aggregator.or(synthesized) {
                put_aggregator(c, agg, true, out);
            }
        }
        code::LARGE_COMMUNITIES if !attrs.large_communities.is_empty() => {
            let len = 12 * attrs.large_communities.len();
            put_header(OPTIONAL_TRANSITIVE, c, len, out);
            for com in &attrs.large_communities {
                out.put_u32(com.global);
                out.put_u32(com.local1);
                out.put_u32(com.local2);
            }
        }
        _ => {}
    }
}

/// True if `path` holds an AS number that does not fit two octets (RFC 6793 §4.2.2).
fn needs_as4(path: &AsPath) -> bool {
    path.segments
        .iter()
        .any(|s| s.asns.iter().any(|&a| a > u32::from(u16::MAX)))
}

/// AS_PATH / AS4_PATH segments (drawn above `decode_as_path`). Empty segments are skipped and
/// segments of more than 255 AS numbers split, so the output is never malformed.
fn put_as_path(flags: u8, c: u8, path: &AsPath, four: bool, out: &mut BytesMut) {
    let width = if four { 4 } else { 2 };
    let len: usize = path
        .segments
        .iter()
        .flat_map(|s| s.asns.chunks(255))
        .map(|chunk| 2 + width * chunk.len())
        .sum();
    put_header(flags, c, len, out);
    for seg in &path.segments {
        let kind = match seg.kind {
            SegmentType::AsSet => 1,
            SegmentType::AsSequence => 2,
        };
        for chunk in seg.asns.chunks(255) {
            out.put_u8(kind);
            out.put_u8(chunk.len() as u8);
            for &asn in chunk {
                if four {
                    out.put_u32(asn);
                } else {
                    out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
                }
            }
        }
    }
}

/// AGGREGATOR (2- or 4-octet AS, RFC 6793 §3) or AS4_AGGREGATOR: AS number, then identifier.
fn put_aggregator(c: u8, agg: Aggregator, four: bool, out: &mut BytesMut) {
    put_header(OPTIONAL_TRANSITIVE, c, if four { 8 } else { 6 }, out);
    if four {
        out.put_u32(agg.asn);
    } else {
        out.put_u16(u16::try_from(agg.asn).unwrap_or(AS_TRANS));
    }
    out.put_slice(&agg.address.octets());
}

/// Octets of the next hop field: at most two addresses (RFC 2545 §3: global, then link-local).
pub(super) fn next_hops_len(next_hops: &[IpAddr]) -> usize {
    next_hops
        .iter()
        .take(2)
        .map(|a| if a.is_ipv4() { 4 } else { 16 })
        .sum()
}

/// MP_REACH_NLRI header and everything up to its NLRI (drawn above `decode_mp_reach`);
/// `nlri_len` octets of NLRI must follow.
pub(super) fn put_mp_reach_head(
    family: Family,
    next_hops: &[IpAddr],
    nlri_len: usize,
    out: &mut BytesMut,
) {
    let nh_len = next_hops_len(next_hops);
    put_header(
        flag::OPTIONAL,
        code::MP_REACH_NLRI,
        5 + nh_len + nlri_len,
        out,
    );
    out.put_u16(family.afi.0);
    out.put_u8(family.safi.0);
    out.put_u8(nh_len as u8);
    for nh in next_hops.iter().take(2) {
        match nh {
            IpAddr::V4(a) => out.put_slice(&a.octets()),
            IpAddr::V6(a) => out.put_slice(&a.octets()),
        }
    }
    out.put_u8(0);
}

/// MP_UNREACH_NLRI header, AFI and SAFI; `withdrawn_len` octets of prefixes must follow. With
/// none it is the End-of-RIB marker, `80 0f 03 AFI SAFI` as gobgpd and bird2 send it.
pub(super) fn put_mp_unreach_head(family: Family, withdrawn_len: usize, out: &mut BytesMut) {
    put_header(
        flag::OPTIONAL,
        code::MP_UNREACH_NLRI,
        3 + withdrawn_len,
        out,
    );
    out.put_u16(family.afi.0);
    out.put_u8(family.safi.0);
}

/// Octets `prefixes` take on the wire.
fn prefixes_len(prefixes: &[Prefix]) -> usize {
    prefixes.iter().map(prefix_wire_len).sum()
}
