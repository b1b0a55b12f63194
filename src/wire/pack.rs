//! Packing many prefixes that share one attribute set into as few UPDATEs as fit.
//!
//! A full table is a million prefixes but only tens of thousands of attribute sets: the RIB
//! groups prefixes by attribute set and hands each group here, and the packer writes the
//! attributes once per message and fills the rest with NLRI up to the size limit.

use std::net::IpAddr;

use bytes::BytesMut;

use super::{Attributes, CodecContext, Family, Prefix};

/// Writes UPDATE messages into a buffer, each as full as the size limit allows.
#[derive(Debug)]
pub struct UpdatePacker {
    ctx: CodecContext,
}

impl UpdatePacker {
    /// A packer for a session with this context.
    pub fn new(ctx: CodecContext) -> UpdatePacker {
        UpdatePacker { ctx }
    }

    /// Append UPDATEs announcing `prefixes` (all of `family`) with `attrs` to `out`.
    ///
    /// For IPv4 unicast the prefixes go in the NLRI field and `attrs.next_hop` is the NEXT_HOP;
    /// for other families they go in MP_REACH_NLRI with `next_hops`. Returns how many messages
    /// were written.
    pub fn announce(
        &self,
        family: Family,
        attrs: &Attributes,
        next_hops: &[IpAddr],
        prefixes: &[Prefix],
        out: &mut BytesMut,
    ) -> usize {
        let _ = (family, attrs, next_hops, prefixes, out, &self.ctx);
        todo!("pack: announce")
    }

    /// Append UPDATEs withdrawing `prefixes` (all of `family`) to `out`. Returns the count written.
    pub fn withdraw(&self, family: Family, prefixes: &[Prefix], out: &mut BytesMut) -> usize {
        let _ = (family, prefixes, out);
        todo!("pack: withdraw")
    }
}
