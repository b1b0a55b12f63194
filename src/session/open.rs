//! Building our OPEN from the session configuration, checking the peer's (RFC 4271 §6.2), and
//! negotiating what both sides support.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::wire::{Capability, CodecContext, Family, GracefulRestartCap, Notification, Open};

/// Graceful restart settings for one session (RFC 4724), as the session needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrSettings {
    /// Restart time we advertise, seconds.
    pub restart_time: u16,
    /// Set the Restart bit: we are coming back from a restart.
    pub restarting: bool,
    /// Families whose forwarding state we kept (F bit).
    pub forwarding: Vec<Family>,
    /// Advertise the N bit (RFC 8538).
    pub notification: bool,
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
    /// All capabilities the peer sent, for display.
    pub peer_capabilities: Vec<Capability>,
}

impl Negotiated {
    /// True when the peer is in our AS.
    pub fn is_ibgp(&self, local_as: u32) -> bool {
        self.remote_as == local_as
    }
}

/// Our OPEN message for this configuration.
pub fn build_open(config: &SessionConfig) -> Open {
    let _ = config;
    todo!("session: build_open")
}

/// Check the peer's OPEN (RFC 4271 §6.2) and negotiate; `Err` is the NOTIFICATION to send.
pub fn check_open(config: &SessionConfig, open: &Open) -> Result<Negotiated, Notification> {
    let _ = (config, open);
    todo!("session: check_open")
}
