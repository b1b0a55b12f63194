//! The socket options of BGP session security: TCP-MD5 signatures (RFC 2385) and the
//! Generalized TTL Security Mechanism (GTSM, RFC 5082).
//!
//! Neither nix nor socket2 sets `TCP_MD5SIG` or `IP_MINTTL`, so this module calls
//! `setsockopt(2)` itself: it is the second module allowed `unsafe` (CONTRIBUTING.md), one
//! block, on a borrowed descriptor and a byte buffer it owns.
//!
//! The `struct tcp_md5sig` of `<linux/tcp.h>` is built byte for byte (see [`md5sig_bytes`]):
//!
//! ```text
//! struct tcp_md5sig {
//!     struct __kernel_sockaddr_storage tcpm_addr;  /* 128 octets: the peer's address */
//!     __u8  tcpm_flags;                            /* 0: no prefix, no ifindex */
//!     __u8  tcpm_prefixlen;
//!     __u16 tcpm_keylen;                           /* 0 deletes the key */
//!     int   tcpm_ifindex;
//!     __u8  tcpm_key[TCP_MD5SIG_MAXKEYLEN];        /* 80 octets */
//! };
//! ```
//!
//! A key set on a listening socket applies to the connections it accepts from that address,
//! and stays with the socket, so it survives the handoff of the listener to a new speaker.
#![allow(unsafe_code)] // setsockopt(2) with a buffer; the block says why it holds

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The TTL (IPv4) or hop limit (IPv6) a GTSM speaker sends with (RFC 5082 §3).
pub const GTSM_TTL: u8 = 255;

/// `TCP_MD5SIG_MAXKEYLEN`.
const MAX_KEY_LEN: usize = 80;
/// `sizeof(struct tcp_md5sig)`: 128 + 1 + 1 + 2 + 4 + 80.
const MD5SIG_LEN: usize = 216;

/// The `struct tcp_md5sig` that sets `key` for `peer` (an empty key deletes it).
pub fn md5sig_bytes(peer: IpAddr, key: &[u8]) -> [u8; MD5SIG_LEN] {
    let mut b = [0u8; MD5SIG_LEN];
    match peer {
        // struct sockaddr_in: family (host order), port, address.
        IpAddr::V4(a) => {
            b[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            b[4..8].copy_from_slice(&a.octets());
        }
        // struct sockaddr_in6: family, port, flow info, address, scope id.
        IpAddr::V6(a) => {
            b[0..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            b[8..24].copy_from_slice(&a.octets());
        }
    }
    let len = key.len().min(MAX_KEY_LEN);
    b[130..132].copy_from_slice(&(len as u16).to_ne_bytes());
    b[136..136 + len].copy_from_slice(&key[..len]);
    b
}

/// Sign the TCP segments exchanged with `peer` on `fd` with `key` (RFC 2385); `None` removes
/// the key (a key that is not there is no error).
pub fn set_md5_key(fd: BorrowedFd<'_>, peer: IpAddr, key: Option<&[u8]>) -> io::Result<()> {
    let bytes = md5sig_bytes(peer, key.unwrap_or_default());
    match setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &bytes) {
        Err(e) if key.is_none() && e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// Send with TTL (hop limit) 255 on `fd`, of the family of `v6`.
pub fn set_gtsm_ttl(fd: BorrowedFd<'_>, v6: bool) -> io::Result<()> {
    let ttl = c_int_bytes(GTSM_TTL.into());
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl)
    }
}

/// Drop every packet on `fd` that arrives with a TTL (hop limit) below `256 - hops`
/// (RFC 5082 §3); `hops` 0 accepts any TTL again.
pub fn set_min_ttl(fd: BorrowedFd<'_>, v6: bool, hops: u8) -> io::Result<()> {
    let min = if hops == 0 { 0 } else { 256 - i32::from(hops) };
    let min = c_int_bytes(min);
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

fn c_int_bytes(v: i32) -> [u8; 4] {
    libc::c_int::from(v).to_ne_bytes()
}

fn setsockopt(fd: BorrowedFd<'_>, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    // SAFETY: `value` is a live buffer of `value.len()` readable bytes for the whole call and the
    // kernel only reads it; `fd` is borrowed, so it stays open during the call. setsockopt has no
    // other memory effects on this process.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn the_md5sig_struct_is_laid_out_as_in_linux_tcp_h() {
        let b = md5sig_bytes("198.18.0.2".parse().unwrap(), b"abc");
        assert_eq!(&b[0..2], &(libc::AF_INET as u16).to_ne_bytes());
        assert_eq!(&b[2..4], [0, 0], "port");
        assert_eq!(&b[4..8], [198, 18, 0, 2]);
        assert!(
            b[8..130].iter().all(|x| *x == 0),
            "flags and prefix length 0"
        );
        assert_eq!(&b[130..132], &3u16.to_ne_bytes());
        assert_eq!(&b[132..136], [0, 0, 0, 0], "ifindex");
        assert_eq!(&b[136..139], b"abc");
        assert!(b[139..].iter().all(|x| *x == 0));

        let b = md5sig_bytes("2001:db8::2".parse().unwrap(), b"k");
        assert_eq!(&b[0..2], &(libc::AF_INET6 as u16).to_ne_bytes());
        assert_eq!(
            b[8..24],
            "2001:db8::2"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        assert_eq!(&b[24..28], [0, 0, 0, 0], "scope id");
    }

    #[test]
    fn the_kernel_takes_and_removes_keys_and_ttl_options() {
        let l4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer: IpAddr = "127.0.0.2".parse().unwrap();
        set_md5_key(l4.as_fd(), peer, Some(b"secret")).unwrap();
        // Setting the same key again is fine (a new speaker sets them again).
        set_md5_key(l4.as_fd(), peer, Some(b"secret")).unwrap();
        set_md5_key(l4.as_fd(), peer, None).unwrap();
        set_md5_key(l4.as_fd(), peer, None).unwrap();
        set_gtsm_ttl(l4.as_fd(), false).unwrap();
        set_min_ttl(l4.as_fd(), false, 1).unwrap();
        set_min_ttl(l4.as_fd(), false, 0).unwrap();
        if let Ok(l6) = std::net::TcpListener::bind("[::1]:0") {
            let peer: IpAddr = "::2".parse().unwrap();
            set_md5_key(l6.as_fd(), peer, Some(b"secret")).unwrap();
            set_md5_key(l6.as_fd(), peer, None).unwrap();
            set_gtsm_ttl(l6.as_fd(), true).unwrap();
            set_min_ttl(l6.as_fd(), true, 254).unwrap();
        }
    }
}
