//! Connection collision resolution (RFC 4271 §6.8).

use std::net::Ipv4Addr;

/// Given both BGP identifiers, true if the connection *we* initiated survives.
///
/// RFC 4271 §6.8: if the local identifier is lower than the remote one, close the connection we
/// initiated; otherwise close the one the peer initiated. Identifiers compare as 32-bit
/// unsigned integers in host order.
pub fn keep_outgoing(local_id: Ipv4Addr, remote_id: Ipv4Addr) -> bool {
    u32::from(local_id) > u32::from(remote_id)
}
