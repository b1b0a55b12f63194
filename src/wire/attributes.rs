//! Path attributes (RFC 4271 §4.3, §5) and the community types baton carries.
//!
//! An [`Attributes`] value is the shared part of a route: the RIB interns it behind an `Arc` so a
//! full table of a million prefixes holds only as many attribute sets as there are distinct ones.
//! MP_REACH_NLRI and MP_UNREACH_NLRI are not here: they carry NLRI, so they live on [`super::Update`].

use std::net::{IpAddr, Ipv4Addr};

use super::Family;

/// Path attribute type codes.
pub mod code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456): not interpreted, checked and kept as an unknown attribute.
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456): not interpreted, checked and kept as an unknown attribute.
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED_COMMUNITIES (RFC 4360).
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITIES: u8 = 32;
}

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flag {
    /// Optional.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length (two-octet length).
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// ORIGIN values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// 0: learned from an IGP.
    Igp,
    /// 1: learned from EGP.
    Egp,
    /// 2: learned some other way.
    Incomplete,
}

/// AS_PATH segment types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentType {
    /// 1: unordered set of ASes.
    AsSet,
    /// 2: ordered sequence of ASes.
    AsSequence,
}

/// One AS_PATH segment. AS numbers are held as 4-octet values whatever the wire width was.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// AS_SET or AS_SEQUENCE.
    pub kind: SegmentType,
    /// The AS numbers.
    pub asns: Vec<u32>,
}

/// An AS_PATH (or AS4_PATH): a list of segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// The path length used by the decision process (RFC 4271 §9.1.2.2: an AS_SET counts as 1).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::AsSet => 1,
                SegmentType::AsSequence => s.asns.len(),
            })
            .sum()
    }

    /// The first AS of the path (the neighbour AS), if the path starts with a sequence.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(AsSegment {
                kind: SegmentType::AsSequence,
                asns,
            }) => asns.first().copied(),
            _ => None,
        }
    }

    /// This path with `asn` prepended `count` times, as an eBGP speaker does (RFC 4271 §5.1.2).
    pub fn prepended(&self, asn: u32, count: usize) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(s) if s.kind == SegmentType::AsSequence && s.asns.len() + count <= 255 => {
                s.asns.splice(0..0, std::iter::repeat_n(asn, count));
            }
            _ => segments.insert(
                0,
                AsSegment {
                    kind: SegmentType::AsSequence,
                    asns: vec![asn; count],
                },
            ),
        }
        AsPath { segments }
    }

    /// True if `asn` appears anywhere in the path (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }
}

/// AGGREGATOR / AS4_AGGREGATOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The aggregating AS (4-octet value).
    pub asn: u32,
    /// The aggregating speaker's BGP identifier.
    pub address: Ipv4Addr,
}

/// A standard community (RFC 1997), `high:low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT.
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
}

/// An extended community (RFC 4360), eight octets kept verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

/// A large community (RFC 8092), `global:local1:local2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator (usually an ASN).
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

/// An attribute baton does not interpret, kept verbatim (flags, type code, value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// Attribute flags as received.
    pub flags: u8,
    /// Attribute type code.
    pub code: u8,
    /// Value octets.
    pub value: Vec<u8>,
}

/// The path attributes of an UPDATE, except MP_REACH_NLRI / MP_UNREACH_NLRI.
///
/// Hashable and comparable so the RIB can intern identical sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Attributes {
    /// ORIGIN (well-known mandatory).
    pub origin: Option<Origin>,
    /// AS_PATH, with 4-octet AS numbers whatever the wire width.
    pub as_path: Option<AsPath>,
    /// AS4_PATH as received from a 2-octet speaker (RFC 6793); `None` once merged.
    pub as4_path: Option<AsPath>,
    /// NEXT_HOP (IPv4 unicast).
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// AS4_AGGREGATOR as received from a 2-octet speaker.
    pub as4_aggregator: Option<Aggregator>,
    /// COMMUNITIES, in wire order.
    pub communities: Vec<Community>,
    /// EXTENDED_COMMUNITIES, in wire order.
    pub ext_communities: Vec<ExtCommunity>,
    /// LARGE_COMMUNITY, in wire order.
    pub large_communities: Vec<LargeCommunity>,
    /// Attributes not interpreted here (unknown optional transitive ones are passed on).
    pub unknown: Vec<RawAttribute>,
}

/// MP_REACH_NLRI (RFC 4760 §3): reachable prefixes of a non-IPv4 (or any) family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    /// The family of the NLRI.
    pub family: Family,
    /// Next hop: one address, or for IPv6 a global and a link-local one (RFC 2545).
    pub next_hops: Vec<IpAddr>,
    /// Reachable prefixes.
    pub nlri: Vec<super::Prefix>,
}

/// MP_UNREACH_NLRI (RFC 4760 §4). An empty list is the End-of-RIB marker for `family`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    /// The family of the withdrawn prefixes.
    pub family: Family,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<super::Prefix>,
}
