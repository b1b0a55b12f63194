//! OPEN message bodies (RFC 4271 §4.2), their optional parameters (RFC 5492, RFC 9072) and the
//! capabilities baton understands.
//!
//! Every Capabilities optional parameter is flattened into one [`Open::capabilities`] list in wire
//! order; the encoder writes them back into a single parameter (both gobgpd and bird2 do the
//! same), switching to the RFC 9072 extended format only when they exceed 255 octets.

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::reader::{begin_len16, end_len16, Reader};
use super::{
    notif, Afi, Capability, DecodeError, Family, GrFamily, GracefulRestartCap, LlgrFamily, Open,
    Safi,
};

/// Optional parameter type: Capabilities (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;
/// Non-Ext OP Type announcing the extended format (RFC 9072 §2).
const PARAM_EXTENDED_LENGTH: u8 = 255;

const CAP_MULTIPROTOCOL: u8 = 1;
const CAP_ROUTE_REFRESH: u8 = 2;
const CAP_EXTENDED_MESSAGE: u8 = 6;
const CAP_GRACEFUL_RESTART: u8 = 64;
const CAP_FOUR_OCTET_AS: u8 = 65;
const CAP_ENHANCED_ROUTE_REFRESH: u8 = 70;
const CAP_LLGR: u8 = 71;

/// GR restart flags (RFC 4724 §3, RFC 8538 §2): the top four bits of the first two octets.
const GR_RESTART_STATE: u16 = 0x8000;
const GR_NOTIFICATION: u16 = 0x4000;
/// The per-family Forwarding State bit (RFC 4724 §3, RFC 9494 §3).
const FORWARDING: u8 = 0x80;

fn open_error(subcode: u8, reason: impl Into<String>) -> DecodeError {
    DecodeError {
        code: notif::OPEN,
        subcode,
        data: Vec::new(),
        reason: reason.into(),
    }
}

/// Decode an OPEN body (everything after the 19-octet header; at least 10 octets, which the
/// header check guarantees).
///
/// ```text
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |   Optional Parameters (variable): Parm. Type, Parm. Length, value...
/// +-+-+-+-+-+-+-+-+
/// ```
///
/// RFC 9072 extended format: Opt Parm Len and the first parameter type are both 255, followed by
/// a two-octet length; each parameter then has a two-octet length too.
///
/// Version, My AS, Hold Time and BGP Identifier are returned as received: whether they are
/// acceptable (RFC 4271 §6.2 subcodes 1, 2, 3, 6) is for the session layer to decide.
pub(super) fn decode_open(body: &[u8]) -> Result<Open, DecodeError> {
    let mut r = Reader::new(body);
    let truncated = || open_error(0, "OPEN shorter than its fixed fields");
    let version = r.u8().ok_or_else(truncated)?;
    let my_as = r.u16().ok_or_else(truncated)?;
    let hold_time = r.u16().ok_or_else(truncated)?;
    let bgp_id = Ipv4Addr::from(r.u32().ok_or_else(truncated)?);
    let opt_len = r.u8().ok_or_else(truncated)?;

    // RFC 9072 §2: "On receipt, a value of 255 for this field [Non-Ext OP Type] is the indication
    // that the extended format is in use."
    let extended = opt_len != 0 && r.peek_u8() == Some(PARAM_EXTENDED_LENGTH);
    let mut params = if extended {
        r.u8();
        let len = r.u16().ok_or_else(|| {
            open_error(0, "RFC 9072 extended optional parameters length truncated")
        })?;
        r.sub(usize::from(len)).ok_or_else(|| {
            open_error(
                0,
                "extended optional parameters length overruns the message",
            )
        })?
    } else {
        // RFC 4271 §4.2 gives no subcode for a parameters length that disagrees with the message
        // length; like most implementations we answer OPEN Message Error / Unspecific (0).
        r.sub(usize::from(opt_len))
            .ok_or_else(|| open_error(0, "optional parameters length overruns the message"))?
    };
    if !r.is_empty() {
        return Err(open_error(
            0,
            format!("{} octets after the optional parameters", r.remaining()),
        ));
    }

    let mut capabilities = Vec::new();
    while !params.is_empty() {
        let ptype = params.u8().unwrap_or_default();
        let plen = if extended {
            params.u16()
        } else {
            params.u8().map(u16::from)
        };
        let value = plen
            .and_then(|n| params.sub(usize::from(n)))
            .ok_or_else(|| open_error(0, "optional parameter overruns the parameters field"))?;
        if ptype != PARAM_CAPABILITIES {
            // RFC 4271 §6.2: "If one of the Optional Parameters in the OPEN message is not
            // recognized, then the Error Subcode MUST be set to Unsupported Optional Parameters."
            return Err(open_error(
                notif::UNSUPPORTED_OPT_PARAM,
                format!("unsupported optional parameter type {ptype}"),
            ));
        }
        decode_capabilities(value, &mut capabilities)?;
    }

    Ok(Open {
        version,
        my_as,
        hold_time,
        bgp_id,
        capabilities,
    })
}

/// Decode the capability TLVs of one Capabilities parameter (RFC 5492 §4).
///
/// ```text
/// +------------------------------+
/// | Capability Code (1 octet)    |
/// +------------------------------+
/// | Capability Length (1 octet)  |
/// +------------------------------+
/// | Capability Value (variable)  |
/// +------------------------------+
/// ```
///
/// A capability whose length overruns the parameter, or a known capability whose value has the
/// wrong length, is an OPEN Message Error / Unspecific (2/0): keeping a malformed known
/// capability as `Unknown` would make the two sides disagree on what was negotiated (a 4-octet
/// AS capability of the wrong size, say, would silently select 2-octet AS paths on our side).
fn decode_capabilities(mut r: Reader<'_>, out: &mut Vec<Capability>) -> Result<(), DecodeError> {
    while !r.is_empty() {
        let code = r.u8().unwrap_or_default();
        let value = r
            .u8()
            .and_then(|n| r.take(usize::from(n)))
            .ok_or_else(|| open_error(0, format!("capability {code} overruns its parameter")))?;
        let malformed = || {
            open_error(
                0,
                format!("capability {code} has a malformed length {}", value.len()),
            )
        };
        let mut v = Reader::new(value);
        let cap = match code {
            CAP_MULTIPROTOCOL if value.len() == 4 => {
                // RFC 4760 §8: AFI (2), Reserved (1), SAFI (1).
                let afi = v.u16().unwrap_or_default();
                let safi = value[3];
                Capability::Multiprotocol(Family {
                    afi: Afi(afi),
                    safi: Safi(safi),
                })
            }
            CAP_ROUTE_REFRESH if value.is_empty() => Capability::RouteRefresh,
            CAP_EXTENDED_MESSAGE if value.is_empty() => Capability::ExtendedMessage,
            CAP_ENHANCED_ROUTE_REFRESH if value.is_empty() => Capability::EnhancedRouteRefresh,
            CAP_FOUR_OCTET_AS if value.len() == 4 => {
                Capability::FourOctetAs(v.u32().unwrap_or_default())
            }
            CAP_GRACEFUL_RESTART if value.len() >= 2 && (value.len() - 2) % 4 == 0 => {
                let head = v.u16().unwrap_or_default();
                let mut families = Vec::with_capacity((value.len() - 2) / 4);
                while let Some([a0, a1, safi, flags]) = v.array::<4>() {
                    families.push(GrFamily {
                        family: Family {
                            afi: Afi(u16::from_be_bytes([a0, a1])),
                            safi: Safi(safi),
                        },
                        forwarding: flags & FORWARDING != 0,
                    });
                }
                Capability::GracefulRestart(GracefulRestartCap {
                    restart_state: head & GR_RESTART_STATE != 0,
                    notification: head & GR_NOTIFICATION != 0,
                    restart_time: head & 0x0fff,
                    families,
                })
            }
            CAP_LLGR if value.len() % 7 == 0 => {
                let mut families = Vec::with_capacity(value.len() / 7);
                while !v.is_empty() {
                    let afi = v.u16().unwrap_or_default();
                    let safi = v.u8().unwrap_or_default();
                    let flags = v.u8().unwrap_or_default();
                    let stale_time = v.u24().unwrap_or_default();
                    families.push(LlgrFamily {
                        family: Family {
                            afi: Afi(afi),
                            safi: Safi(safi),
                        },
                        forwarding: flags & FORWARDING != 0,
                        stale_time,
                    });
                }
                Capability::LongLivedGracefulRestart(families)
            }
            CAP_MULTIPROTOCOL
            | CAP_ROUTE_REFRESH
            | CAP_EXTENDED_MESSAGE
            | CAP_ENHANCED_ROUTE_REFRESH
            | CAP_FOUR_OCTET_AS
            | CAP_GRACEFUL_RESTART
            | CAP_LLGR => return Err(malformed()),
            _ => Capability::Unknown {
                code,
                value: value.to_vec(),
            },
        };
        out.push(cap);
    }
    Ok(())
}

/// Append an OPEN body.
pub(super) fn encode_open(open: &Open, out: &mut BytesMut) {
    out.put_u8(open.version);
    out.put_u16(open.my_as);
    out.put_u16(open.hold_time);
    out.put_slice(&open.bgp_id.octets());
    let caps_len: usize = open.capabilities.iter().map(capability_len).sum();
    if caps_len == 0 {
        out.put_u8(0);
    } else if caps_len + 2 <= 255 {
        out.put_u8((caps_len + 2) as u8);
        out.put_u8(PARAM_CAPABILITIES);
        out.put_u8(caps_len as u8);
        encode_capabilities(&open.capabilities, out);
    } else {
        // RFC 9072 §2: "if the length of the Optional Parameters in the BGP OPEN message does
        // exceed 255, the OPEN message MUST be encoded according to the procedure below."
        out.put_u8(255);
        out.put_u8(PARAM_EXTENDED_LENGTH);
        let all = begin_len16(out);
        out.put_u8(PARAM_CAPABILITIES);
        let param = begin_len16(out);
        encode_capabilities(&open.capabilities, out);
        end_len16(out, param);
        end_len16(out, all);
    }
}

/// Families a GR capability can carry in its 255-octet value.
const GR_MAX_FAMILIES: usize = (255 - 2) / 4;
/// Families an LLGR capability can carry in its 255-octet value.
const LLGR_MAX_FAMILIES: usize = 255 / 7;

/// Octets of one capability TLV. Values that cannot fit the one-octet length are cut (GR and
/// LLGR to the families that fit, an unknown value to 255 octets) rather than mis-encoded.
fn capability_len(cap: &Capability) -> usize {
    2 + match cap {
        Capability::Multiprotocol(_) | Capability::FourOctetAs(_) => 4,
        Capability::RouteRefresh
        | Capability::ExtendedMessage
        | Capability::EnhancedRouteRefresh => 0,
        Capability::GracefulRestart(gr) => 2 + 4 * gr.families.len().min(GR_MAX_FAMILIES),
        Capability::LongLivedGracefulRestart(f) => 7 * f.len().min(LLGR_MAX_FAMILIES),
        Capability::Unknown { value, .. } => value.len().min(255),
    }
}

fn encode_capabilities(caps: &[Capability], out: &mut BytesMut) {
    for cap in caps {
        let len = (capability_len(cap) - 2) as u8;
        match cap {
            Capability::Multiprotocol(f) => {
                out.put_slice(&[CAP_MULTIPROTOCOL, len]);
                out.put_u16(f.afi.0);
                out.put_u8(0);
                out.put_u8(f.safi.0);
            }
            Capability::RouteRefresh => out.put_slice(&[CAP_ROUTE_REFRESH, 0]),
            Capability::ExtendedMessage => out.put_slice(&[CAP_EXTENDED_MESSAGE, 0]),
            Capability::EnhancedRouteRefresh => out.put_slice(&[CAP_ENHANCED_ROUTE_REFRESH, 0]),
            Capability::FourOctetAs(asn) => {
                out.put_slice(&[CAP_FOUR_OCTET_AS, len]);
                out.put_u32(*asn);
            }
            Capability::GracefulRestart(gr) => {
                out.put_slice(&[CAP_GRACEFUL_RESTART, len]);
                let mut head = gr.restart_time & 0x0fff;
                if gr.restart_state {
                    head |= GR_RESTART_STATE;
                }
                if gr.notification {
                    head |= GR_NOTIFICATION;
                }
                out.put_u16(head);
                for f in gr.families.iter().take(GR_MAX_FAMILIES) {
                    out.put_u16(f.family.afi.0);
                    out.put_u8(f.family.safi.0);
                    out.put_u8(if f.forwarding { FORWARDING } else { 0 });
                }
            }
            Capability::LongLivedGracefulRestart(families) => {
                out.put_slice(&[CAP_LLGR, len]);
                for f in families.iter().take(LLGR_MAX_FAMILIES) {
                    out.put_u16(f.family.afi.0);
                    out.put_u8(f.family.safi.0);
                    out.put_u8(if f.forwarding { FORWARDING } else { 0 });
                    out.put_slice(&f.stale_time.to_be_bytes()[1..]);
                }
            }
            Capability::Unknown { code, value } => {
                out.put_slice(&[*code, len]);
                out.put_slice(&value[..usize::from(len)]);
            }
        }
    }
}
