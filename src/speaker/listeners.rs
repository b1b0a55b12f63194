//! The speaker's listening sockets, as the peers see them: the TCP-MD5 key of every peer that
//! has one (RFC 2385) and TTL security (GTSM, RFC 5082) are set on the listeners, because the
//! kernel checks a connection's first segments (the SYN) there, before we could look at the
//! accepted socket.
//!
//! - MD5 keys are per peer address on a listener: set when a peer's task starts (or removed,
//!   for a peer without a password, in case an earlier configuration gave it one), removed when
//!   the peer is stopped (disabled, removed, reset); a speaker that ends leaves them, so the
//!   next speaker, which gets the same sockets, finds them in place and sets them again
//!   (setting a key is idempotent).
//! - IP_MINTTL (IPV6_MINHOPCOUNT) is per socket, not per peer. It is set on a listener only when
//!   every running peer of that listener's address family uses GTSM (to the most hops any of
//!   them allows), so a peer without GTSM several hops away is never refused. An accepted
//!   connection of a GTSM peer gets its own minimum TTL at once, in the accept loop (as BIRD
//!   and FRR do): from then on the kernel drops what arrives with a lower TTL. What arrived
//!   before was checked by the listener only if the listener's minimum is at least the peer's;
//!   otherwise (GTSM and non-GTSM peers share the family) a connection with data already
//!   waiting is closed, since that data may have come from further away, and our own
//!   connection to the peer, checked from its SYN-ACK on, carries the session. Listeners send
//!   with TTL 255 as soon as one peer uses GTSM (a higher TTL harms no one), so the SYN-ACK
//!   passes the peer's own check.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::config::Password;
use crate::sockopt;

/// The listening sockets and the GTSM hops of each running peer.
#[derive(Default)]
pub struct Listeners {
    sockets: Mutex<Vec<Arc<TcpListener>>>,
    gtsm: Mutex<HashMap<IpAddr, u8>>,
}

impl Listeners {
    /// Look after `sockets`.
    pub fn new(sockets: Vec<Arc<TcpListener>>) -> Listeners {
        Listeners {
            sockets: Mutex::new(sockets),
            gtsm: Mutex::default(),
        }
    }

    fn sockets(&self) -> Vec<Arc<TcpListener>> {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A peer at `addr` starts, with this MD5 key and GTSM hops (0: off).
    pub fn peer_started(&self, addr: IpAddr, md5: Option<&Password>, hops: u8) {
        for l in self.same_family(addr) {
            // Without a password, a key left by an earlier configuration is removed.
            match sockopt::set_md5_key(l.as_fd(), addr, md5.map(|p| p.as_bytes())) {
                Err(e) if md5.is_some() => {
                    warn!(peer = %addr, error = %e, "cannot set the TCP-MD5 key on a listening socket")
                }
                Err(e) => debug!(peer = %addr, error = %e, "no TCP-MD5 key removed"),
                Ok(()) => {}
            }
        }
        self.gtsm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(addr, hops);
        self.apply_gtsm();
    }

    /// The peer at `addr` is stopped for good (disabled, removed, reset): its key goes.
    pub fn peer_stopped(&self, addr: IpAddr) {
        for l in self.same_family(addr) {
            if let Err(e) = sockopt::set_md5_key(l.as_fd(), addr, None) {
                debug!(peer = %addr, error = %e, "no TCP-MD5 key removed");
            }
        }
        self.gtsm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&addr);
        self.apply_gtsm();
    }

    /// A connection from `addr` was accepted: give it the peer's GTSM settings before anything
    /// reads it. False if it must be closed: the peer uses GTSM, the listener did not check
    /// its TTL as strictly, and data had already arrived before the check could apply (it
    /// could have come from further away). Our own connection to the peer, checked from its
    /// SYN-ACK on, then carries the session.
    pub fn admit(&self, addr: IpAddr, stream: &tokio::net::TcpStream) -> bool {
        let (hops, listener) = {
            let gtsm = self.gtsm.lock().unwrap_or_else(|e| e.into_inner());
            let family: Vec<u8> = gtsm
                .iter()
                .filter(|(a, _)| a.is_ipv4() == addr.is_ipv4())
                .map(|(_, h)| *h)
                .collect();
            (
                gtsm.get(&addr).copied().unwrap_or(0),
                listener_hops(&family),
            )
        };
        if hops == 0 {
            return true;
        }
        let v6 = addr.is_ipv6();
        let set = sockopt::set_gtsm_ttl(stream.as_fd(), v6)
            .and_then(|()| sockopt::set_min_ttl(stream.as_fd(), v6, hops));
        if let Err(e) = set {
            warn!(peer = %addr, error = %e, "refusing a connection: cannot set TTL security (GTSM) on it");
            return false;
        }
        if listener != 0 && listener <= hops {
            return true;
        }
        let mut byte = [std::mem::MaybeUninit::uninit(); 1];
        match socket2::SockRef::from(stream).peek(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            _ => {
                info!(peer = %addr, "closing a connection of a GTSM peer: data came before its TTL could be checked (the listener is shared with peers without GTSM); our own connection will carry the session");
                false
            }
        }
    }

    /// Let go of the sockets (the speaker stops accepting).
    pub fn forget(&self) {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn same_family(&self, addr: IpAddr) -> Vec<Arc<TcpListener>> {
        self.sockets()
            .into_iter()
            .filter(|l| l.local_addr().is_ok_and(|a| a.is_ipv4() == addr.is_ipv4()))
            .collect()
    }

    /// Set the listeners' TTL options from the GTSM hops of the running peers.
    fn apply_gtsm(&self) {
        let gtsm = self.gtsm.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for l in self.sockets() {
            let Ok(local) = l.local_addr() else { continue };
            let v6 = local.is_ipv6();
            let hops: Vec<u8> = gtsm
                .iter()
                .filter(|(a, _)| a.is_ipv6() == v6)
                .map(|(_, h)| *h)
                .collect();
            let result = (|| {
                if hops.iter().any(|h| *h > 0) {
                    sockopt::set_gtsm_ttl(l.as_fd(), v6)?;
                }
                let min = listener_hops(&hops);
                debug!(%local, hops = min, "listener minimum TTL (GTSM)");
                sockopt::set_min_ttl(l.as_fd(), v6, min)
            })();
            if let Err(e) = result {
                warn!(%local, error = %e, "cannot set TTL security on a listening socket");
            }
        }
    }
}

/// The GTSM hops a listener checks, given those of the peers of its family: the largest when
/// every peer uses GTSM, 0 (no check) when there are none or one does not.
fn listener_hops(peers: &[u8]) -> u8 {
    if peers.is_empty() || peers.contains(&0) {
        0
    } else {
        peers.iter().copied().max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::listener_hops;

    #[test]
    fn a_listener_checks_ttl_only_when_every_peer_of_its_family_uses_gtsm() {
        assert_eq!(listener_hops(&[]), 0);
        assert_eq!(listener_hops(&[1, 0]), 0);
        assert_eq!(listener_hops(&[1, 1]), 1);
        assert_eq!(listener_hops(&[1, 3]), 3);
    }
}
