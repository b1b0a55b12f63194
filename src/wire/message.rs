//! The five BGP message types (RFC 4271 §4, RFC 2918) as plain values.

use std::net::Ipv4Addr;

use super::{Attributes, Capability, Family, MpReach, MpUnreach, Prefix, UpdateErrors};

/// Message type codes (RFC 4271 §4.1, RFC 2918 §3).
pub mod msg_type {
    /// OPEN.
    pub const OPEN: u8 = 1;
    /// UPDATE.
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION.
    pub const NOTIFICATION: u8 = 3;
    /// KEEPALIVE.
    pub const KEEPALIVE: u8 = 4;
    /// ROUTE-REFRESH.
    pub const ROUTE_REFRESH: u8 = 5;
}

/// Length of the fixed header: 16-octet marker, 2-octet length, 1-octet type.
pub const HEADER_LEN: usize = 19;
/// Largest message without the extended message capability (RFC 4271 §4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message with the extended message capability (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;
/// AS_TRANS (RFC 6793): the 2-octet stand-in for a 4-octet AS.
pub const AS_TRANS: u16 = 23456;

/// A BGP message.
// UPDATE is the big and by far the most frequent variant: boxing it would add an allocation per
// message to save stack space on the rare small ones.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH (and enhanced route refresh BoRR/EoRR markers).
    RouteRefresh(RouteRefresh),
}

/// OPEN (RFC 4271 §4.2).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Protocol version; 4.
    pub version: u8,
    /// The 2-octet "My Autonomous System" field (AS_TRANS for a 4-octet AS).
    pub my_as: u16,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in wire order, from every Capabilities optional parameter.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The sender's AS: the 4-octet AS capability if present, else `my_as` (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(self.my_as as u32)
    }
}

/// UPDATE (RFC 4271 §4.3).
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// IPv4 unicast prefixes withdrawn.
    pub withdrawn: Vec<Prefix>,
    /// Path attributes other than MP_(UN)REACH_NLRI; `None` when the UPDATE carries none.
    pub attributes: Option<Attributes>,
    /// MP_REACH_NLRI, if present.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI, if present.
    pub mp_unreach: Option<MpUnreach>,
    /// IPv4 unicast prefixes announced.
    pub nlri: Vec<Prefix>,
    /// Errors tolerated while decoding (RFC 7606); empty for a clean message.
    pub errors: UpdateErrors,
}

impl Update {
    /// The End-of-RIB marker for `family` (RFC 4724 §2).
    pub fn end_of_rib(family: Family) -> Update {
        if family == Family::IPV4_UNICAST {
            Update::default()
        } else {
            Update {
                mp_unreach: Some(MpUnreach {
                    family,
                    withdrawn: Vec::new(),
                }),
                ..Update::default()
            }
        }
    }

    /// If this UPDATE is an End-of-RIB marker, its family.
    ///
    /// An UPDATE whose only attributes were discarded as malformed (RFC 7606) is not one.
    pub fn as_end_of_rib(&self) -> Option<Family> {
        let no_v4 = self.withdrawn.is_empty()
            && self.nlri.is_empty()
            && self.mp_reach.is_none()
            && self.errors.is_empty();
        match (&self.attributes, &self.mp_unreach) {
            (None, None) if no_v4 => Some(Family::IPV4_UNICAST),
            (None, Some(u)) if no_v4 && u.withdrawn.is_empty() => Some(u.family),
            _ => None,
        }
    }
}

/// NOTIFICATION (RFC 4271 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data octets.
    pub data: Vec<u8>,
}

/// NOTIFICATION error codes and subcodes (RFC 4271 §4.5, RFC 4486, RFC 8538, RFC 9003).
pub mod notif {
    /// Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// Connection Not Synchronized.
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;

    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// Bad BGP Identifier.
    pub const BAD_BGP_ID: u8 = 3;
    /// Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPT_PARAM: u8 = 4;
    /// Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;

    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;

    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;

    /// Cease.
    pub const CEASE: u8 = 6;
    /// Cease: Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Cease: Administrative Shutdown.
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Cease: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Cease: Administrative Reset.
    pub const ADMIN_RESET: u8 = 4;
    /// Cease: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Cease: Other Configuration Change.
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    /// Cease: Connection Collision Resolution.
    pub const COLLISION_RESOLUTION: u8 = 7;
    /// Cease: Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;

    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
}

impl Notification {
    /// A NOTIFICATION with no data.
    pub fn new(code: u8, subcode: u8) -> Notification {
        Notification {
            code,
            subcode,
            data: Vec::new(),
        }
    }

    /// Cease with an RFC 9003 shutdown communication (length-prefixed UTF-8, at most 255 octets).
    pub fn cease_with_message(subcode: u8, message: &str) -> Notification {
        let mut bytes = message.as_bytes();
        if bytes.len() > 255 {
            let mut end = 255;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            bytes = &bytes[..end];
        }
        let mut data = Vec::with_capacity(bytes.len() + 1);
        data.push(bytes.len() as u8);
        data.extend_from_slice(bytes);
        Notification {
            code: notif::CEASE,
            subcode,
            data,
        }
    }

    /// Cease / Maximum Number of Prefixes Reached for `family`, whose configured upper bound
    /// is `limit` (RFC 4486 §4). The Data field:
    ///
    /// ```text
    ///    +--------------------+
    ///    | AFI (2 octets)     |
    ///    +--------------------+
    ///    | SAFI (1 octet)     |
    ///    +--------------------+
    ///    | Prefix upper bound |
    ///    | (4 octets)         |
    ///    +--------------------+
    /// ```
    pub fn max_prefixes_reached(family: Family, limit: u32) -> Notification {
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&family.afi.0.to_be_bytes());
        data.push(family.safi.0);
        data.extend_from_slice(&limit.to_be_bytes());
        Notification {
            code: notif::CEASE,
            subcode: notif::MAX_PREFIXES,
            data,
        }
    }

    /// This NOTIFICATION wrapped in a Hard Reset (RFC 8538 §3): Cease, subcode 9, whose data is
    /// the encapsulated NOTIFICATION whole, its code first. With the N bit negotiated any other
    /// Cease makes the peer keep our routes as stale; a deliberate stop must say Hard Reset to
    /// be withdrawn at once.
    ///
    /// RFC 8538 §3, the Data field of the Hard Reset:
    ///
    /// ```text
    ///    +--------+--------+--------
    ///    | ErrCode| Subcode| Data
    ///    +--------+--------+--------
    /// ```
    ///
    /// "ErrCode: BGP Error code (as defined in Section 4.5 of RFC 4271). Subcode: BGP Error
    /// Subcode (as appropriate for the ErrCode). Data: Data as appropriate for the ErrCode and
    /// Subcode." So Cease/Administrative Reset becomes `06 09 | 06 04`, and
    /// Cease/Administrative Shutdown with "bye" `06 09 | 06 02 03 'b' 'y' 'e'`.
    pub fn hard_reset(&self) -> Notification {
        let mut data = Vec::with_capacity(self.data.len() + 2);
        data.push(self.code);
        data.push(self.subcode);
        data.extend_from_slice(&self.data);
        Notification {
            code: notif::CEASE,
            subcode: notif::HARD_RESET,
            data,
        }
    }

    /// Whether this is a Cease/Hard Reset (RFC 8538 §3), whatever its data.
    pub fn is_hard_reset(&self) -> bool {
        self.code == notif::CEASE && self.subcode == notif::HARD_RESET
    }

    /// The NOTIFICATION a Hard Reset encapsulates (RFC 8538 §3: ErrCode, Subcode, Data; see
    /// [`Notification::hard_reset`]). `None` when this is not a Hard Reset, or when its data is
    /// too short to hold a code and a subcode: the RFC gives no meaning to a shorter one, and a
    /// peer that sends it is still resetting the session, so it is read as a bare Hard Reset.
    pub fn hard_reset_cause(&self) -> Option<Notification> {
        if !self.is_hard_reset() {
            return None;
        }
        match self.data.as_slice() {
            [code, subcode, data @ ..] => Some(Notification {
                code: *code,
                subcode: *subcode,
                data: data.to_vec(),
            }),
            _ => None,
        }
    }

    /// The RFC 9003 shutdown communication, if this is an Administrative Shutdown/Reset carrying
    /// one, directly or encapsulated in a Hard Reset (RFC 8538 §3). RFC 9003 §2: a length
    /// octet then that many octets of UTF-8; a length of zero means no message. A message that
    /// is cut short or not UTF-8 is not shown.
    pub fn shutdown_message(&self) -> Option<String> {
        let cause = self.hard_reset_cause();
        let n = cause.as_ref().unwrap_or(self);
        if n.code != notif::CEASE
            || !(n.subcode == notif::ADMIN_SHUTDOWN || n.subcode == notif::ADMIN_RESET)
        {
            return None;
        }
        let (&len, rest) = n.data.split_first()?;
        let text = rest.get(..len as usize).filter(|t| !t.is_empty())?;
        String::from_utf8(text.to_vec()).ok()
    }
}

/// ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3.2 subtypes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// 0 = normal request, 1 = BoRR, 2 = EoRR (RFC 7313); other values kept.
    pub subtype: u8,
}
