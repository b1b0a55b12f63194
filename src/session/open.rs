//! Building our OPEN from the session configuration, checking the peer's (RFC 4271 §6.2), and
//! negotiating what both sides support.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::wire::{
    notif, Capability, CodecContext, Family, GrFamily, GracefulRestartCap, LlgrFamily,
    Notification, Open, AS_TRANS,
};

/// Graceful restart settings for one session (RFC 4724), as the session needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrSettings {
    /// Restart time we advertise, seconds.
    pub restart_time: u16,
    /// Set the Restart bit: we are coming back from a restart.
    pub restarting: bool,
    /// Families whose forwarding state we kept (F bit).
    pub forwarding: Vec<Family>,
    /// Advertise the N bit (RFC 8538).
    pub notification: bool,
    /// Long-lived stale time we advertise, seconds (RFC 9494; 24 bits). 0: no LLGR capability.
    pub long_lived_stale_time: u32,
}

/// What a session needs to know about its peer and about us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS (4-octet allowed).
    pub local_as: u32,
    /// The AS the peer must announce.
    pub remote_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Hold time we propose, seconds (0 or at least 3).
    pub hold_time: u16,
    /// ConnectRetry time.
    pub connect_retry: Duration,
    /// Wait for the peer to connect; never connect out.
    pub passive: bool,
    /// Families we offer (one Multiprotocol capability each).
    pub families: Vec<Family>,
    /// Graceful restart, if enabled.
    pub graceful_restart: Option<GrSettings>,
}

/// What both OPENs agreed on; exists only once the peer's OPEN was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS (from its 4-octet AS capability if any).
    pub remote_as: u32,
    /// The peer's BGP identifier.
    pub remote_id: Ipv4Addr,
    /// Negotiated hold time: the smaller of both proposals (0 = no keepalives).
    pub hold_time: u16,
    /// Keepalive interval: hold time / 3.
    pub keepalive: u16,
    /// Families both sides advertised.
    pub families: Vec<Family>,
    /// Codec context for this session (4-octet AS, extended messages).
    pub codec: CodecContext,
    /// The peer supports ROUTE-REFRESH.
    pub route_refresh: bool,
    /// The peer's graceful restart capability, if it sent one.
    pub peer_graceful_restart: Option<GracefulRestartCap>,
    /// The families of the peer's long-lived graceful restart capability (RFC 9494), if it sent
    /// one along with a graceful restart capability: without the latter it is disregarded
    /// (RFC 9494 §4.5), so this is `None` then.
    pub peer_long_lived: Option<Vec<LlgrFamily>>,
    /// All capabilities the peer sent, for display.
    pub peer_capabilities: Vec<Capability>,
}

impl Negotiated {
    /// True when the peer is in our AS.
    pub fn is_ibgp(&self, local_as: u32) -> bool {
        self.remote_as == local_as
    }
}

/// The "largest locally supported version" we put in an Unsupported Version Number NOTIFICATION.
const BGP_VERSION: u8 = 4;

/// Largest restart time the 12-bit field of the graceful restart capability can carry.
const MAX_RESTART_TIME: u16 = 0x0fff;

/// Largest long-lived stale time the 24-bit field of the LLGR capability can carry.
const MAX_LONG_LIVED_STALE_TIME: u32 = 0x00ff_ffff;

/// Our OPEN message for this configuration.
///
/// Capabilities, in order: one Multiprotocol per configured family, Route Refresh, 4-octet AS,
/// Extended Message, Graceful Restart when configured, and Long-Lived Graceful Restart when a
/// long-lived stale time is configured too (RFC 9494 §3.1: never without the GR capability). A local AS above 65535 goes in the
/// 2-octet field as AS_TRANS (RFC 6793 §4.1); the real one is in the 4-octet AS capability.
pub fn build_open(config: &SessionConfig) -> Open {
    let my_as = u16::try_from(config.local_as).unwrap_or(AS_TRANS);
    let mut capabilities: Vec<Capability> = config
        .families
        .iter()
        .map(|&f| Capability::Multiprotocol(f))
        .collect();
    capabilities.push(Capability::RouteRefresh);
    capabilities.push(Capability::FourOctetAs(config.local_as));
    capabilities.push(Capability::ExtendedMessage);
    if let Some(gr) = &config.graceful_restart {
        capabilities.push(Capability::GracefulRestart(GracefulRestartCap {
            restart_state: gr.restarting,
            notification: gr.notification,
            restart_time: gr.restart_time.min(MAX_RESTART_TIME),
            families: config
                .families
                .iter()
                .map(|&family| GrFamily {
                    family,
                    forwarding: gr.forwarding.contains(&family),
                })
                .collect(),
        }));
        if gr.long_lived_stale_time > 0 {
            // The same families and F bits as the GR capability, each with our stale time.
            capabilities.push(Capability::LongLivedGracefulRestart(
                config
                    .families
                    .iter()
                    .map(|&family| LlgrFamily {
                        family,
                        forwarding: gr.forwarding.contains(&family),
                        stale_time: gr.long_lived_stale_time.min(MAX_LONG_LIVED_STALE_TIME),
                    })
                    .collect(),
            ));
        }
    }
    Open {
        version: BGP_VERSION,
        my_as,
        hold_time: config.hold_time,
        bgp_id: config.router_id,
        capabilities,
    }
}

/// Check the peer's OPEN (RFC 4271 §6.2) and negotiate; `Err` is the NOTIFICATION to send.
///
/// The checks, in the order RFC 4271 §6.2 lists them: version, peer AS, hold time, BGP
/// identifier. Capabilities we do not know are kept (for display) and otherwise ignored, as
/// RFC 5492 §3 allows.
pub fn check_open(config: &SessionConfig, open: &Open) -> Result<Negotiated, Notification> {
    // RFC 4271 §6.2: the data is "the largest locally-supported version number less than the
    // version the remote BGP peer bid", as a 2-octet unsigned integer.
    if open.version != BGP_VERSION {
        return Err(Notification {
            code: notif::OPEN,
            subcode: notif::UNSUPPORTED_VERSION,
            data: u16::from(BGP_VERSION).to_be_bytes().to_vec(),
        });
    }

    // RFC 4271 §6.2 Bad Peer AS; RFC 6793 §4.1: the 4-octet AS capability, when present, is the
    // peer's AS. Without it a peer can only be a 2-octet AS, so a configured remote AS above
    // 65535 can never match (the peer would send AS_TRANS). RFC 7607: AS 0 is never acceptable.
    let peer_as = open.asn();
    if peer_as == 0 || peer_as != config.remote_as {
        return Err(Notification::new(notif::OPEN, notif::BAD_PEER_AS));
    }

    // RFC 4271 §6.2: "An implementation MUST reject Hold Time values of one or two seconds."
    if open.hold_time == 1 || open.hold_time == 2 {
        return Err(Notification::new(
            notif::OPEN,
            notif::UNACCEPTABLE_HOLD_TIME,
        ));
    }

    // RFC 6286 §2.2: any non-zero 4-octet value is a valid identifier, but it must be unique
    // within the AS, so an iBGP peer may not share ours. The all-ones value is refused too, as
    // every implementation we peer with does.
    let ibgp = peer_as == config.local_as;
    if open.bgp_id == Ipv4Addr::UNSPECIFIED
        || open.bgp_id == Ipv4Addr::BROADCAST
        || (ibgp && open.bgp_id == config.router_id)
    {
        return Err(Notification::new(notif::OPEN, notif::BAD_BGP_ID));
    }

    let hold_time = config.hold_time.min(open.hold_time);
    let peer_graceful_restart = open.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart(gr) => Some(gr.clone()),
        _ => None,
    });
    // RFC 9494 §4.5: an LLGR capability without a GR capability "MUST be ignored".
    let peer_long_lived = peer_graceful_restart.as_ref().and_then(|_| {
        open.capabilities.iter().find_map(|c| match c {
            Capability::LongLivedGracefulRestart(families) => Some(families.clone()),
            _ => None,
        })
    });
    Ok(Negotiated {
        remote_as: peer_as,
        remote_id: open.bgp_id,
        hold_time,
        keepalive: hold_time / 3,
        families: common_families(config, open),
        codec: CodecContext {
            // We always advertise both capabilities, so the peer's decides.
            four_octet_as: has(open, |c| matches!(c, Capability::FourOctetAs(_))),
            extended_message: has(open, |c| matches!(c, Capability::ExtendedMessage)),
        },
        route_refresh: has(open, |c| matches!(c, Capability::RouteRefresh)),
        peer_graceful_restart,
        peer_long_lived,
        peer_capabilities: open.capabilities.clone(),
    })
}

/// True when the OPEN carries a capability matching `pred`.
fn has(open: &Open, pred: impl Fn(&Capability) -> bool) -> bool {
    open.capabilities.iter().any(pred)
}

/// The families both sides advertised, in our configured order.
///
/// A speaker that sends no Multiprotocol capability at all speaks IPv4 unicast only (RFC 4760
/// §8); that holds for us too when no family is configured (we then send none).
fn common_families(config: &SessionConfig, open: &Open) -> Vec<Family> {
    let theirs: Vec<Family> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol(f) => Some(*f),
            _ => None,
        })
        .collect();
    let theirs = if theirs.is_empty() {
        vec![Family::IPV4_UNICAST]
    } else {
        theirs
    };
    let ours: &[Family] = if config.families.is_empty() {
        &[Family::IPV4_UNICAST]
    } else {
        &config.families
    };
    let mut common: Vec<Family> = Vec::new();
    for f in ours {
        if theirs.contains(f) && !common.contains(f) {
            common.push(*f);
        }
    }
    common
}
