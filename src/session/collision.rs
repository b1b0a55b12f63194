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

/// [`keep_outgoing`] with the RFC 6286 §2.3 tie-break for equal identifiers.
///
/// Two eBGP speakers may share a BGP identifier (RFC 6286 §2.2). Then the connection initiated
/// by the speaker with the larger AS number survives; plain [`keep_outgoing`] would have both
/// sides close their own outgoing connection, and so both connections.
pub fn keep_outgoing_with_as(
    local_id: Ipv4Addr,
    local_as: u32,
    remote_id: Ipv4Addr,
    remote_as: u32,
) -> bool {
    if local_id == remote_id {
        local_as > remote_as
    } else {
        keep_outgoing(local_id, remote_id)
    }
}
