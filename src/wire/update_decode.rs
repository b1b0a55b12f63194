//! UPDATE decode (RFC 4271 §4.3) with the revised error handling of RFC 7606.
//!
//! Three outcomes per problem, as RFC 7606 §2 defines them:
//! - *session reset*: the function returns a [`DecodeError`] carrying the NOTIFICATION;
//! - *treat-as-withdraw*: the UPDATE decodes, and [`Update::errors`] holds an
//!   [`AttrErrorAction::TreatAsWithdraw`] entry: the RIB must withdraw every prefix it carries;
//! - *attribute discard*: the attribute is dropped and an [`AttrErrorAction::Discard`] entry
//!   records why.
//!
//! Choices where the RFCs leave room, so the reader of a log knows what happened:
//! - AS_CONFED_SEQUENCE / AS_CONFED_SET segments make AS_PATH malformed (treat-as-withdraw):
//!   baton speaks no confederations, and RFC 7606 §7.2 treats them so from external peers. In
//!   AS4_PATH they make the attribute discarded (RFC 6793 §6).
//! - An MP_REACH_NLRI / MP_UNREACH_NLRI of a family other than IPv4/IPv6 unicast is discarded
//!   (recorded as `Discard`), except an empty MP_UNREACH_NLRI, which is an End-of-RIB marker and
//!   kept with its family.
//! - AS4_PATH / AS4_AGGREGATOR under a 4-octet context are discarded (RFC 6793 §4.1: a NEW
//!   speaker does not send them to a NEW speaker).
//! - `Attributes::unknown` is sorted by type code (duplicates being discarded, codes are unique),
//!   so equal attribute sets compare and hash equal whatever order they arrived in.
//! - `Update::attributes` is `None` when no attribute other than MP_REACH_NLRI/MP_UNREACH_NLRI
//!   survives (none was sent, or every one was discarded).
//! - After an attribute that overruns the attribute field (RFC 7606 §4) nothing more is parsed:
//!   an MP_REACH_NLRI behind it is lost, so its prefixes are neither installed nor withdrawn.
//! - The Partial bit of known attributes is not kept; unknown attributes keep their flags.
//! - NEXT_HOP in an UPDATE whose only NLRI is in MP_REACH_NLRI is kept; RFC 4760 §3 says the
//!   receiver "SHOULD ignore" it, which is the RIB's business.

use std::net::Ipv4Addr;

use super::attr_decode::{
    decode_aggregator, decode_as_path, decode_mp_reach, decode_mp_unreach, multiple_of,
};
use super::attributes::{code, flag};
use super::nlri::decode_prefixes;
use super::reader::Reader;
use super::{
    notif, AttrError, AttrErrorAction, Attributes, CodecContext, Community, DecodeError,
    ExtCommunity, LargeCommunity, MpReach, MpUnreach, Origin, RawAttribute, Update, UpdateErrors,
};

fn update_error(subcode: u8, data: &[u8], reason: impl Into<String>) -> DecodeError {
    DecodeError {
        code: notif::UPDATE,
        subcode,
        data: data.to_vec(),
        reason: reason.into(),
    }
}

/// Decode an UPDATE body (everything after the 19-octet header; at least 4 octets, which the
/// header check guarantees).
///
/// ```text
/// +-----------------------------------------------------+
/// |   Withdrawn Routes Length (2 octets)                |
/// +-----------------------------------------------------+
/// |   Withdrawn Routes (variable)                       |
/// +-----------------------------------------------------+
/// |   Total Path Attribute Length (2 octets)            |
/// +-----------------------------------------------------+
/// |   Path Attributes (variable)                        |
/// +-----------------------------------------------------+
/// |   Network Layer Reachability Information (variable) |
/// +-----------------------------------------------------+
/// ```
pub(super) fn decode_update(body: &[u8], ctx: &CodecContext) -> Result<Update, DecodeError> {
    let mut r = Reader::new(body);
    // RFC 4271 §6.3: "If the Withdrawn Routes Length or Total Attribute Length is too large
    // (i.e., if Withdrawn Routes Length + Total Attribute Length + 23 exceeds the message Length),
    // then the Error Subcode MUST be set to Malformed Attribute List."
    let withdrawn_len = usize::from(r.u16().unwrap_or_default());
    let withdrawn_field = r.take(withdrawn_len).filter(|_| r.remaining() >= 2);
    let Some(withdrawn_field) = withdrawn_field else {
        return Err(update_error(
            notif::MALFORMED_ATTRIBUTE_LIST,
            &[],
            format!("withdrawn routes length {withdrawn_len} overruns the message"),
        ));
    };
    let attrs_len = usize::from(r.u16().unwrap_or_default());
    let Some(attrs_field) = r.take(attrs_len) else {
        return Err(update_error(
            notif::MALFORMED_ATTRIBUTE_LIST,
            &[],
            format!("total path attribute length {attrs_len} overruns the message"),
        ));
    };
    let nlri_field = r.rest();

    let mut update = Update::default();
    // RFC 4271 §6.3: "The NLRI field in the UPDATE message is checked for syntactic validity. If
    // the field is syntactically incorrect, then the Error Subcode MUST be set to Invalid Network
    // Field." RFC 7606 §5.3 keeps this a session reset: a field that cannot be parsed cannot be
    // treated as withdrawn.
    decode_prefixes(withdrawn_field, false, &mut update.withdrawn).map_err(|e| {
        update_error(
            notif::INVALID_NETWORK_FIELD,
            &[],
            format!("withdrawn routes: {}", e.describe()),
        )
    })?;

    let mut d = AttrDecoder {
        ctx,
        attrs: Attributes::default(),
        mp_reach: None,
        mp_unreach: None,
        errors: Vec::new(),
        seen: [false; 256],
    };
    d.decode_all(attrs_field)?;

    decode_prefixes(nlri_field, false, &mut update.nlri).map_err(|e| {
        update_error(
            notif::INVALID_NETWORK_FIELD,
            &[],
            format!("NLRI: {}", e.describe()),
        )
    })?;

    d.check_mandatory(!update.nlri.is_empty());
    let AttrDecoder {
        mut attrs,
        mp_reach,
        mp_unreach,
        errors,
        ..
    } = d;
    attrs.unknown.sort_by_key(|a| a.code);
    update.attributes = (attrs != Attributes::default()).then_some(attrs);
    update.mp_reach = mp_reach;
    update.mp_unreach = mp_unreach;
    update.errors = UpdateErrors(errors);
    Ok(update)
}

/// The Optional and Transitive bits each known attribute must carry (RFC 4271 §5, RFC 1997,
/// RFC 4360, RFC 4456, RFC 4760, RFC 6793, RFC 8092).
fn expected_flags(c: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = flag::TRANSITIVE;
    const OPTIONAL_TRANSITIVE: u8 = flag::OPTIONAL | flag::TRANSITIVE;
    match c {
        code::ORIGIN
        | code::AS_PATH
        | code::NEXT_HOP
        | code::LOCAL_PREF
        | code::ATOMIC_AGGREGATE => Some(WELL_KNOWN),
        code::MED
        | code::ORIGINATOR_ID
        | code::CLUSTER_LIST
        | code::MP_REACH_NLRI
        | code::MP_UNREACH_NLRI => Some(flag::OPTIONAL),
        code::AGGREGATOR
        | code::COMMUNITIES
        | code::EXTENDED_COMMUNITIES
        | code::AS4_PATH
        | code::AS4_AGGREGATOR
        | code::LARGE_COMMUNITIES => Some(OPTIONAL_TRANSITIVE),
        _ => None,
    }
}

struct AttrDecoder<'c> {
    ctx: &'c CodecContext,
    attrs: Attributes,
    mp_reach: Option<MpReach>,
    mp_unreach: Option<MpUnreach>,
    errors: Vec<AttrError>,
    seen: [bool; 256],
}

impl AttrDecoder<'_> {
    fn tolerate(&mut self, code: u8, action: AttrErrorAction, reason: impl Into<String>) {
        self.errors.push(AttrError {
            code,
            action,
            reason: reason.into(),
        });
    }

    fn withdraw(&mut self, code: u8, reason: impl Into<String>) {
        self.tolerate(code, AttrErrorAction::TreatAsWithdraw, reason);
    }

    fn discard(&mut self, code: u8, reason: impl Into<String>) {
        self.tolerate(code, AttrErrorAction::Discard, reason);
    }

    /// Walk the path attributes.
    ///
    /// ```text
    /// +---------------------------+---------------------------+-------------------+
    /// | Attr. Flags | Attr. Type  | Attr. Length (1 or 2)     | Attr. Value (var) |
    /// +---------------------------+---------------------------+-------------------+
    /// flags: O(ptional) T(ransitive) P(artial) E(xtended length) 0 0 0 0
    /// ```
    fn decode_all(&mut self, field: &[u8]) -> Result<(), DecodeError> {
        let mut r = Reader::new(field);
        while !r.is_empty() {
            let start = field.len() - r.remaining();
            let (Some(flags), Some(code)) = (r.u8(), r.u8()) else {
                // RFC 7606 §4: "fewer than three octets remain (or fewer than four octets, if
                // the Attribute Flags field has the Extended Length bit set) when beginning to
                // parse the attribute ... the "treat-as-withdraw" approach MUST be used".
                self.withdraw(0, "RFC 7606 §4: attribute header truncated");
                break;
            };
            let len = if flags & flag::EXTENDED_LENGTH != 0 {
                r.u16().map(usize::from)
            } else {
                r.u8().map(usize::from)
            };
            // RFC 7606 §4: "the length of the last encountered path attribute would cause the
            // Total Attribute Length to be exceeded ... the "treat-as-withdraw" approach MUST be
            // used ... and the Total Attribute Length MUST be relied upon to enable the beginning
            // of the NLRI field to be located."
            let Some(value) = len.and_then(|n| r.take(n)) else {
                self.withdraw(
                    code,
                    format!("RFC 7606 §4: attribute {code} overruns the path attributes"),
                );
                break;
            };
            let raw = &field[start..field.len() - r.remaining()];
            self.decode_one(flags, code, value, raw)?;
        }
        Ok(())
    }

    fn decode_one(
        &mut self,
        flags: u8,
        c: u8,
        value: &[u8],
        raw: &[u8],
    ) -> Result<(), DecodeError> {
        let is_mp = c == code::MP_REACH_NLRI || c == code::MP_UNREACH_NLRI;
        if self.seen[usize::from(c)] {
            // RFC 7606 §3(g): "If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI attribute
            // appears more than once in the UPDATE message, then a NOTIFICATION message MUST be
            // sent with the Error Subcode "Malformed Attribute List". If any other attribute
            // (whether recognized or unrecognized) appears more than once in an UPDATE message,
            // then all the occurrences of the attribute other than the first one SHALL be
            // discarded and the UPDATE message will continue to be processed."
            if is_mp {
                return Err(update_error(
                    notif::MALFORMED_ATTRIBUTE_LIST,
                    &[],
                    format!("attribute {c} appears twice"),
                ));
            }
            self.discard(c, format!("RFC 7606 §3(g): duplicate attribute {c}"));
            return Ok(());
        }
        self.seen[usize::from(c)] = true;

        if let Some(expected) = expected_flags(c) {
            if flags & (flag::OPTIONAL | flag::TRANSITIVE) != expected {
                // RFC 7606 §3(c): "If the value of either the Optional or Transitive bits in the
                // Attribute Flags is in conflict with their specified values, then the attribute
                // MUST be treated as malformed and the "treat-as-withdraw" approach used" -- but
                // §3(f): ""Attribute discard" MUST be used for any of the cases that specify a
                // session reset and involve ATOMIC_AGGREGATE or AGGREGATOR" (RFC 4271 §6.3
                // specifies one for an Attribute Flags Error).
                let why = format!("RFC 7606 §3(c): attribute {c} has flags {flags:#04x}");
                if c == code::ATOMIC_AGGREGATE || c == code::AGGREGATOR {
                    self.discard(c, why);
                } else {
                    self.withdraw(c, why);
                }
                // The multiprotocol attributes are still parsed: their prefixes are what the
                // treat-as-withdraw applies to.
                if !is_mp {
                    return Ok(());
                }
            }
        }

        let a = &mut self.attrs;
        match c {
            code::ORIGIN => match value {
                [0] => a.origin = Some(Origin::Igp),
                [1] => a.origin = Some(Origin::Egp),
                [2] => a.origin = Some(Origin::Incomplete),
                // RFC 7606 §7.1: "The attribute is considered malformed if its length is not 1
                // or if it has an undefined value ... treat-as-withdraw".
                _ => self.withdraw(c, format!("RFC 7606 §7.1: malformed ORIGIN {value:02x?}")),
            },
            code::AS_PATH => match decode_as_path(value, self.ctx.four_octet_as) {
                Ok(path) => a.as_path = Some(path),
                // RFC 7606 §7.2: "An UPDATE message with a malformed AS_PATH attribute SHALL be
                // handled using the approach of "treat-as-withdraw"."
                Err(why) => self.withdraw(c, format!("RFC 7606 §7.2: AS_PATH {why}")),
            },
            code::NEXT_HOP => match value {
                &[a0, a1, a2, a3] => a.next_hop = Some(Ipv4Addr::new(a0, a1, a2, a3)),
                // RFC 7606 §7.3: "The attribute is considered malformed if its length is not 4
                // ... treat-as-withdraw". Semantic checks of the address are the session's.
                _ => self.withdraw(
                    c,
                    format!("RFC 7606 §7.3: NEXT_HOP of length {}", value.len()),
                ),
            },
            code::MED => match <[u8; 4]>::try_from(value) {
                Ok(v) => a.med = Some(u32::from_be_bytes(v)),
                // RFC 7606 §7.4: "malformed if its length is not 4 ... treat-as-withdraw".
                Err(_) => self.withdraw(c, format!("RFC 7606 §7.4: MED of length {}", value.len())),
            },
            code::LOCAL_PREF => match <[u8; 4]>::try_from(value) {
                Ok(v) => a.local_pref = Some(u32::from_be_bytes(v)),
                // RFC 7606 §7.5: "malformed if its length is not 4 ... treat-as-withdraw".
                // (Discarding it when received over eBGP is the RIB's business.)
                Err(_) => self.withdraw(
                    c,
                    format!("RFC 7606 §7.5: LOCAL_PREF of length {}", value.len()),
                ),
            },
            code::ATOMIC_AGGREGATE => {
                if value.is_empty() {
                    a.atomic_aggregate = true;
                } else {
                    // RFC 7606 §7.6: "malformed if its length is not 0 ... attribute discard".
                    self.discard(
                        c,
                        format!("RFC 7606 §7.6: ATOMIC_AGGREGATE of length {}", value.len()),
                    );
                }
            }
            code::AGGREGATOR => match decode_aggregator(value, self.ctx.four_octet_as) {
                Some(agg) => a.aggregator = Some(agg),
                // RFC 7606 §7.7: "malformed if its length is not 6 (when the 4-octet AS number
                // capability is not advertised to, or not received from, the peer) or 8 ...
                // attribute discard".
                None => self.discard(
                    c,
                    format!("RFC 7606 §7.7: AGGREGATOR of length {}", value.len()),
                ),
            },
            code::COMMUNITIES => match multiple_of::<4>(value) {
                Some(chunks) => {
                    a.communities = chunks.map(|b| Community(u32::from_be_bytes(b))).collect()
                }
                // RFC 7606 §7.8: "malformed if its length is not a non-zero multiple of 4 ...
                // treat-as-withdraw".
                None => self.withdraw(
                    c,
                    format!("RFC 7606 §7.8: COMMUNITIES of length {}", value.len()),
                ),
            },
            code::EXTENDED_COMMUNITIES => match multiple_of::<8>(value) {
                Some(chunks) => a.ext_communities = chunks.map(ExtCommunity).collect(),
                // RFC 7606 §7.14: "malformed if its length is not a non-zero multiple of 8 ...
                // treat-as-withdraw".
                None => self.withdraw(
                    c,
                    format!(
                        "RFC 7606 §7.14: EXTENDED_COMMUNITIES of length {}",
                        value.len()
                    ),
                ),
            },
            code::LARGE_COMMUNITIES => match multiple_of::<12>(value) {
                Some(chunks) => {
                    a.large_communities = chunks
                        .map(|b| LargeCommunity {
                            global: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                            local1: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                            local2: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                        })
                        .collect();
                }
                // RFC 8092 §6: "malformed if the length ... is not a non-zero multiple of 12 ...
                // handled using the approach of "treat-as-withdraw"".
                None => self.withdraw(
                    c,
                    format!("RFC 8092 §6: LARGE_COMMUNITY of length {}", value.len()),
                ),
            },
            code::AS4_PATH | code::AS4_AGGREGATOR if self.ctx.four_octet_as => {
                // RFC 6793 §4.1: a NEW speaker never sends AS4_PATH / AS4_AGGREGATOR to a NEW
                // speaker; if one arrives it is discarded and the UPDATE processed.
                self.discard(
                    c,
                    format!("RFC 6793 §4.1: attribute {c} from a 4-octet peer"),
                );
            }
            code::AS4_PATH => match decode_as_path(value, true) {
                Ok(path) => a.as4_path = Some(path),
                // RFC 6793 §6 (as revised by RFC 7606 §7.2): a malformed AS4_PATH, or one with
                // AS_CONFED segments, is discarded ("attribute discard").
                Err(why) => self.discard(c, format!("RFC 6793 §6: AS4_PATH {why}")),
            },
            code::AS4_AGGREGATOR => match decode_aggregator(value, true) {
                Some(agg) => a.as4_aggregator = Some(agg),
                // RFC 6793 §6: a malformed AS4_AGGREGATOR (length not 8) is discarded.
                None => self.discard(
                    c,
                    format!("RFC 6793 §6: AS4_AGGREGATOR of length {}", value.len()),
                ),
            },
            code::ORIGINATOR_ID if value.len() != 4 => {
                // RFC 7606 §7.9: "malformed if its length is not 4 ... treat-as-withdraw".
                self.withdraw(
                    c,
                    format!("RFC 7606 §7.9: ORIGINATOR_ID of length {}", value.len()),
                );
            }
            code::CLUSTER_LIST if multiple_of::<4>(value).is_none() => {
                // RFC 7606 §7.10: "malformed if its length is not a non-zero multiple of 4 ...
                // treat-as-withdraw".
                self.withdraw(
                    c,
                    format!("RFC 7606 §7.10: CLUSTER_LIST of length {}", value.len()),
                );
            }
            code::MP_REACH_NLRI => match decode_mp_reach(value, raw)? {
                Some(mp) => self.mp_reach = Some(mp),
                None => self.discard(c, "MP_REACH_NLRI of an unsupported family"),
            },
            code::MP_UNREACH_NLRI => match decode_mp_unreach(value, raw)? {
                Some(mp) => self.mp_unreach = Some(mp),
                None => self.discard(c, "MP_UNREACH_NLRI of an unsupported family"),
            },
            _ if flags & flag::OPTIONAL == 0 => {
                // RFC 4271 §6.3: "If any of the well-known mandatory attributes are not
                // recognized, then the Error Subcode MUST be set to Unrecognized Well-known
                // Attribute. The Data field MUST contain the unrecognized attribute (type,
                // length, and value)." RFC 7606 leaves this a session reset.
                return Err(update_error(
                    notif::UNRECOGNIZED_WELL_KNOWN,
                    raw,
                    format!("unrecognized well-known attribute {c}"),
                ));
            }
            // RFC 4271 §5: unrecognized optional attributes are kept (the transitive ones are
            // passed on with the Partial bit set: the RIB's business); flags as received.
            _ => a.unknown.push(RawAttribute {
                flags,
                code: c,
                value: value.to_vec(),
            }),
        }
        Ok(())
    }

    /// RFC 7606 §3(d): "If any of the well-known mandatory attributes are not present in an
    /// UPDATE message, then "treat-as-withdraw" MUST be used. (Note that [RFC4760] reclassifies
    /// NEXT_HOP as what is effectively discretionary.)" They are mandatory only when the UPDATE
    /// announces something: ORIGIN and AS_PATH for any NLRI (RFC 4760 §3 for MP_REACH_NLRI),
    /// NEXT_HOP for NLRI in the IPv4 field.
    fn check_mandatory(&mut self, v4_nlri: bool) {
        if !v4_nlri && self.mp_reach.is_none() {
            return;
        }
        let missing = [
            (code::ORIGIN, self.attrs.origin.is_none()),
            (code::AS_PATH, self.attrs.as_path.is_none()),
            (code::NEXT_HOP, v4_nlri && self.attrs.next_hop.is_none()),
        ];
        for (c, absent) in missing {
            // An attribute already reported malformed is not reported missing again.
            if absent && !self.errors.iter().any(|e| e.code == c) {
                self.withdraw(
                    c,
                    format!("RFC 7606 §3(d): missing well-known attribute {c}"),
                );
            }
        }
    }
}
