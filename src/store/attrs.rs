//! A serde mirror of the RIB's path attributes ([`crate::rib::PathAttrs`]), for the RIB snapshot.
//!
//! Why a mirror and not the BGP wire encoding of the attributes: the codec is built for what
//! goes to a peer, not for keeping everything. Under a 4-octet context it never writes AS4_PATH
//! or AS4_AGGREGATOR, under a 2-octet one it rewrites large AS numbers as AS_TRANS, it does not
//! keep Partial bits, and the decoder applies RFC 7606 (it may drop what it finds odd). A route
//! learned from a 2-octet peer would not come back equal. The mirror keeps every field as is,
//! and the conversions destructure [`Attributes`] completely, so a new field there fails to
//! compile here instead of being silently lost. Attribute sets are few (a full table has tens of
//! thousands for a million routes), so their size on disk hardly matters: the snapshot stores
//! each distinct set once and refers to it by index.

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::rib::PathAttrs;
use crate::wire::{
    Aggregator, AsPath, AsSegment, Attributes, Community, ExtCommunity, LargeCommunity, Origin,
    RawAttribute, SegmentType,
};

/// [`PathAttrs`] in a form serde can write and read back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SavedAttrs {
    /// ORIGIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<SavedOrigin>,
    /// AS_PATH segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_path: Option<Vec<SavedSegment>>,
    /// AS4_PATH as received from a 2-octet speaker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as4_path: Option<Vec<SavedSegment>>,
    /// The NEXT_HOP attribute as received (`Attributes::next_hop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop_attr: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    /// LOCAL_PREF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    #[serde(skip_serializing_if = "is_false")]
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<SavedAggregator>,
    /// AS4_AGGREGATOR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as4_aggregator: Option<SavedAggregator>,
    /// COMMUNITIES as 32-bit values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<u32>,
    /// EXTENDED_COMMUNITIES, each eight octets read big-endian.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ext_communities: Vec<u64>,
    /// LARGE_COMMUNITY as `[global, local1, local2]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub large_communities: Vec<[u32; 3]>,
    /// Attributes kept verbatim.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<SavedRawAttr>,
    /// The route's next hop (`PathAttrs::next_hop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<IpAddr>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// ORIGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedOrigin {
    /// IGP.
    Igp,
    /// EGP.
    Egp,
    /// INCOMPLETE.
    Incomplete,
}

/// One AS_PATH segment: `{"seq": [..]}` or `{"set": [..]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SavedSegment {
    /// AS_SEQUENCE.
    #[serde(rename = "seq")]
    Sequence(Vec<u32>),
    /// AS_SET.
    #[serde(rename = "set")]
    Set(Vec<u32>),
}

/// AGGREGATOR / AS4_AGGREGATOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedAggregator {
    /// The aggregating AS.
    pub asn: u32,
    /// The aggregating speaker's identifier.
    pub address: Ipv4Addr,
}

/// An attribute kept verbatim; the value as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRawAttr {
    /// Flags as received.
    pub flags: u8,
    /// Type code.
    pub code: u8,
    /// Value octets, hex.
    #[serde(with = "hex")]
    pub value: Vec<u8>,
}

fn save_path(p: &AsPath) -> Vec<SavedSegment> {
    p.segments
        .iter()
        .map(|s| match s.kind {
            SegmentType::AsSequence => SavedSegment::Sequence(s.asns.clone()),
            SegmentType::AsSet => SavedSegment::Set(s.asns.clone()),
        })
        .collect()
}

fn load_path(p: Vec<SavedSegment>) -> AsPath {
    let segments = p
        .into_iter()
        .map(|s| match s {
            SavedSegment::Sequence(asns) => AsSegment {
                kind: SegmentType::AsSequence,
                asns,
            },
            SavedSegment::Set(asns) => AsSegment {
                kind: SegmentType::AsSet,
                asns,
            },
        })
        .collect();
    AsPath { segments }
}

impl From<Aggregator> for SavedAggregator {
    fn from(a: Aggregator) -> Self {
        SavedAggregator {
            asn: a.asn,
            address: a.address,
        }
    }
}

impl From<SavedAggregator> for Aggregator {
    fn from(a: SavedAggregator) -> Self {
        Aggregator {
            asn: a.asn,
            address: a.address,
        }
    }
}

impl From<&PathAttrs> for SavedAttrs {
    fn from(p: &PathAttrs) -> Self {
        let Attributes {
            origin,
            as_path,
            as4_path,
            next_hop,
            med,
            local_pref,
            atomic_aggregate,
            aggregator,
            as4_aggregator,
            communities,
            ext_communities,
            large_communities,
            unknown,
        } = &p.attrs;
        SavedAttrs {
            origin: origin.map(|o| match o {
                Origin::Igp => SavedOrigin::Igp,
                Origin::Egp => SavedOrigin::Egp,
                Origin::Incomplete => SavedOrigin::Incomplete,
            }),
            as_path: as_path.as_ref().map(save_path),
            as4_path: as4_path.as_ref().map(save_path),
            next_hop_attr: *next_hop,
            med: *med,
            local_pref: *local_pref,
            atomic_aggregate: *atomic_aggregate,
            aggregator: aggregator.map(Into::into),
            as4_aggregator: as4_aggregator.map(Into::into),
            communities: communities.iter().map(|c| c.0).collect(),
            ext_communities: ext_communities
                .iter()
                .map(|c| u64::from_be_bytes(c.0))
                .collect(),
            large_communities: large_communities
                .iter()
                .map(|c| [c.global, c.local1, c.local2])
                .collect(),
            unknown: unknown
                .iter()
                .map(|r| SavedRawAttr {
                    flags: r.flags,
                    code: r.code,
                    value: r.value.clone(),
                })
                .collect(),
            next_hop: p.next_hop,
        }
    }
}

impl From<SavedAttrs> for PathAttrs {
    fn from(s: SavedAttrs) -> Self {
        let attrs = Attributes {
            origin: s.origin.map(|o| match o {
                SavedOrigin::Igp => Origin::Igp,
                SavedOrigin::Egp => Origin::Egp,
                SavedOrigin::Incomplete => Origin::Incomplete,
            }),
            as_path: s.as_path.map(load_path),
            as4_path: s.as4_path.map(load_path),
            next_hop: s.next_hop_attr,
            med: s.med,
            local_pref: s.local_pref,
            atomic_aggregate: s.atomic_aggregate,
            aggregator: s.aggregator.map(Into::into),
            as4_aggregator: s.as4_aggregator.map(Into::into),
            communities: s.communities.into_iter().map(Community).collect(),
            ext_communities: s
                .ext_communities
                .into_iter()
                .map(|c| ExtCommunity(c.to_be_bytes()))
                .collect(),
            large_communities: s
                .large_communities
                .into_iter()
                .map(|[global, local1, local2]| LargeCommunity {
                    global,
                    local1,
                    local2,
                })
                .collect(),
            unknown: s
                .unknown
                .into_iter()
                .map(|r| RawAttribute {
                    flags: r.flags,
                    code: r.code,
                    value: r.value,
                })
                .collect(),
        };
        PathAttrs {
            attrs,
            next_hop: s.next_hop,
        }
    }
}

/// Octets as a lowercase hex string.
mod hex {
    use serde::de::{self, Deserialize, Deserializer};
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = v.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(de::Error::custom("attribute value is not lowercase hex")),
        };
        let bytes = text.as_bytes();
        if bytes.len() % 2 != 0 {
            return Err(de::Error::custom(
                "attribute value has an odd number of hex digits",
            ));
        }
        bytes
            .chunks_exact(2)
            .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
            .collect()
    }
}
