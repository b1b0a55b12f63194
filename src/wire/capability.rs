//! OPEN message capabilities (RFC 5492) and the ones baton speaks.

use super::Family;

/// A capability advertised in an OPEN message's Capabilities optional parameter.
///
/// Unknown capability codes are kept as raw values so they survive a decode/encode round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760: the sender speaks this (AFI, SAFI).
    Multiprotocol(Family),
    /// Code 2, RFC 2918.
    RouteRefresh,
    /// Code 6, RFC 8654: messages up to 65535 octets.
    ExtendedMessage,
    /// Code 64, RFC 4724 (with the N bit of RFC 8538).
    GracefulRestart(GracefulRestartCap),
    /// Code 65, RFC 6793: the sender's real AS number.
    FourOctetAs(u32),
    /// Code 70, RFC 7313.
    EnhancedRouteRefresh,
    /// Code 71, RFC 9494 long-lived graceful restart.
    LongLivedGracefulRestart(Vec<LlgrFamily>),
    /// Any other capability, kept verbatim.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value octets.
        value: Vec<u8>,
    },
}

/// The graceful restart capability (RFC 4724 §3, RFC 8538 §2).
///
/// ```text
/// +--------------------------------------------------+
/// | Restart Flags (4 bits: R N 0 0)                  |
/// +--------------------------------------------------+
/// | Restart Time in seconds (12 bits)                |
/// +--------------------------------------------------+
/// | AFI (16 bits) | SAFI (8 bits) | Flags (8 bits: F) | ...
/// +--------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestartCap {
    /// R bit: the sender has restarted.
    pub restart_state: bool,
    /// N bit (RFC 8538): NOTIFICATIONs other than Hard Reset also enter GR.
    pub notification: bool,
    /// Restart time in seconds (12 bits; larger values are truncated on encode).
    pub restart_time: u16,
    /// The families preserved across a restart.
    pub families: Vec<GrFamily>,
}

/// One family in the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrFamily {
    /// The family.
    pub family: Family,
    /// F bit: forwarding state was preserved for this family.
    pub forwarding: bool,
}

/// One family in the long-lived graceful restart capability (RFC 9494 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlgrFamily {
    /// The family.
    pub family: Family,
    /// F bit: forwarding state was preserved.
    pub forwarding: bool,
    /// Long-lived stale time in seconds (24 bits).
    pub stale_time: u32,
}
