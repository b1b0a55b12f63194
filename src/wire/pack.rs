//! Packing many prefixes that share one attribute set into as few UPDATEs as fit.
//!
//! A full table is a million prefixes but only tens of thousands of attribute sets: the RIB
//! groups prefixes by attribute set and hands each group here, and the packer writes the
//! attributes once per message and fills the rest with NLRI up to the size limit.
//!
//! The attributes are encoded once per call into a scratch buffer and copied into each message;
//! prefixes are written straight into the output, so packing allocates nothing per prefix. The
//! octets are those [`super::encode`] would write for the same UPDATE (attributes in type-code
//! order, MP_REACH_NLRI / MP_UNREACH_NLRI at their code's place).

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};

use super::codec::{begin_message, end_message};
use super::nlri::{encode_prefix, prefix_wire_len};
use super::reader::{begin_len16, end_len16};
use super::update_encode::{
    encode_attrs, next_hops_len, put_mp_reach_head, put_mp_unreach_head, AFTER_MP, ALL, BEFORE_MP,
};
use super::{msg_type, Afi, Attributes, CodecContext, Family, Prefix, HEADER_LEN};

/// Header plus the two length fields of an UPDATE.
const UPDATE_FIXED: usize = HEADER_LEN + 4;
/// Attribute header with a two-octet length (MP attributes are sized for the worst case).
const MP_ATTR_HEADER: usize = 4;
/// The longest `<length, prefix>` (an IPv6 /128).
const LONGEST_PREFIX: usize = 17;

/// Writes UPDATE messages into a buffer, each as full as the size limit allows.
#[derive(Debug)]
pub struct UpdatePacker {
    ctx: CodecContext,
}

/// The attribute octets an announcement repeats in every message.
struct Encoded {
    /// Attributes written before MP_REACH_NLRI (all of them for IPv4 unicast).
    head: BytesMut,
    /// Attributes written after MP_REACH_NLRI.
    tail: BytesMut,
}

impl UpdatePacker {
    /// A packer for a session with this context.
    pub fn new(ctx: CodecContext) -> UpdatePacker {
        UpdatePacker { ctx }
    }

    fn encode_attrs(&self, family: Family, attrs: &Attributes) -> Encoded {
        let mut head = BytesMut::with_capacity(128);
        let mut tail = BytesMut::new();
        if family == Family::IPV4_UNICAST {
            encode_attrs(attrs, &self.ctx, ALL, true, &mut head);
        } else {
            // The NEXT_HOP attribute is for NLRI in the IPv4 field only (RFC 4760 §3: an UPDATE
            // whose only NLRI is in MP_REACH_NLRI "SHOULD NOT carry the NEXT_HOP attribute").
            encode_attrs(attrs, &self.ctx, BEFORE_MP, false, &mut head);
            encode_attrs(attrs, &self.ctx, AFTER_MP, false, &mut tail);
        }
        Encoded { head, tail }
    }

    /// Octets of NLRI one announcing message has room for, if any.
    fn announce_room(&self, family: Family, enc: &Encoded, next_hops: &[IpAddr]) -> Option<usize> {
        let mut fixed = UPDATE_FIXED + enc.head.len() + enc.tail.len();
        if family != Family::IPV4_UNICAST {
            fixed += MP_ATTR_HEADER + 5 + next_hops_len(next_hops);
        }
        self.ctx.max_message_len().checked_sub(fixed)
    }

    /// True if an UPDATE announcing a prefix of `family` with `attrs` fits the size limit, i.e.
    /// [`UpdatePacker::announce`] will write it. (An attribute set of thousands of communities
    /// can leave no room: such routes cannot be sent to this peer.)
    pub fn can_announce(&self, family: Family, attrs: &Attributes, next_hops: &[IpAddr]) -> bool {
        let enc = self.encode_attrs(family, attrs);
        self.announce_room(family, &enc, next_hops)
            .is_some_and(|room| room >= LONGEST_PREFIX)
    }

    /// Append UPDATEs announcing `prefixes` (all of `family`) with `attrs` to `out`.
    ///
    /// For IPv4 unicast the prefixes go in the NLRI field and `attrs.next_hop` is the NEXT_HOP;
    /// for other families they go in MP_REACH_NLRI with `next_hops` (one address, or an IPv6
    /// global and link-local pair), and no NEXT_HOP attribute is written. Returns how many
    /// messages were written.
    ///
    /// Prefixes of another address family than `family` are skipped. If the attributes leave no
    /// room for a prefix (see [`UpdatePacker::can_announce`]), the prefixes that do not fit are
    /// not written at all rather than in an oversized message.
    pub fn announce(
        &self,
        family: Family,
        attrs: &Attributes,
        next_hops: &[IpAddr],
        prefixes: &[Prefix],
        out: &mut BytesMut,
    ) -> usize {
        let enc = self.encode_attrs(family, attrs);
        let Some(room) = self.announce_room(family, &enc, next_hops) else {
            return 0;
        };
        let v6 = family.afi == Afi::IPV6;
        let mut count = 0;
        for_each_chunk(prefixes, v6, room, |chunk, nlri_len| {
            let start = begin_message(out, msg_type::UPDATE);
            out.put_u16(0);
            if family == Family::IPV4_UNICAST {
                out.put_u16(enc.head.len() as u16);
                out.put_slice(&enc.head);
                put_prefixes(chunk, v6, out);
            } else {
                let a = begin_len16(out);
                out.put_slice(&enc.head);
                put_mp_reach_head(family, next_hops, nlri_len, out);
                put_prefixes(chunk, v6, out);
                out.put_slice(&enc.tail);
                end_len16(out, a);
            }
            end_message(out, start);
            count += 1;
        });
        count
    }

    /// Append UPDATEs withdrawing `prefixes` (all of `family`) to `out`. Returns the count written.
    ///
    /// IPv4 unicast goes in the Withdrawn Routes field, other families in MP_UNREACH_NLRI.
    /// Prefixes of another address family than `family` are skipped; an empty list writes
    /// nothing (the End-of-RIB marker is [`super::Update::end_of_rib`]).
    pub fn withdraw(&self, family: Family, prefixes: &[Prefix], out: &mut BytesMut) -> usize {
        let v4 = family == Family::IPV4_UNICAST;
        let fixed = UPDATE_FIXED + if v4 { 0 } else { MP_ATTR_HEADER + 3 };
        let room = self.ctx.max_message_len() - fixed;
        let v6 = family.afi == Afi::IPV6;
        let mut count = 0;
        for_each_chunk(prefixes, v6, room, |chunk, len| {
            let start = begin_message(out, msg_type::UPDATE);
            if v4 {
                out.put_u16(len as u16);
                put_prefixes(chunk, v6, out);
                out.put_u16(0);
            } else {
                out.put_u16(0);
                let a = begin_len16(out);
                put_mp_unreach_head(family, len, out);
                put_prefixes(chunk, v6, out);
                end_len16(out, a);
            }
            end_message(out, start);
            count += 1;
        });
        count
    }
}

/// Write the prefixes of `chunk` of the right address family.
fn put_prefixes(chunk: &[Prefix], v6: bool, out: &mut BytesMut) {
    for p in chunk.iter().filter(|p| p.addr().is_ipv6() == v6) {
        encode_prefix(p, out);
    }
}

/// Split `prefixes` into consecutive runs whose prefixes of the right family take at most
/// `room` octets, and call `emit(run, octets)` for each run that has any. Stops at a prefix that
/// does not fit even alone.
fn for_each_chunk(
    prefixes: &[Prefix],
    v6: bool,
    room: usize,
    mut emit: impl FnMut(&[Prefix], usize),
) {
    let mut start = 0;
    let mut used = 0;
    let mut i = 0;
    while i < prefixes.len() {
        let p = &prefixes[i];
        if p.addr().is_ipv6() != v6 {
            i += 1;
            continue;
        }
        let n = prefix_wire_len(p);
        if used + n > room {
            if used == 0 {
                return;
            }
            emit(&prefixes[start..i], used);
            start = i;
            used = 0;
            continue;
        }
        used += n;
        i += 1;
    }
    if used > 0 {
        emit(&prefixes[start..], used);
    }
}
