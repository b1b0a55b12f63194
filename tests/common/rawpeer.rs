//! A scripted BGP peer on a plain TCP socket inside a host's namespace, for behaviour no real
//! daemon shows on demand: a peer that goes silent, a peer that sends garbage.
//!
//! Its messages are written out byte by byte here, not with baton's encoder, so what it checks
//! does not depend on the code under test.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::netns::Host;
use super::poll;

/// One message as read: type and body (after the 19-octet header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// 1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH.
    pub kind: u8,
    /// Everything after the header.
    pub body: Vec<u8>,
}

/// A TCP connection from a host's namespace to a BGP speaker.
pub struct RawPeer {
    stream: TcpStream,
}

fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xff; 16];
    out.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    out.push(kind);
    out.extend_from_slice(body);
    out
}

impl RawPeer {
    /// Connects from `host`'s namespace to `to`, retrying until `deadline`.
    pub fn connect(host: &Host, to: SocketAddr, deadline: Duration) -> RawPeer {
        let ns = host.ns.clone();
        let stream = std::thread::spawn(move || {
            // The socket is created in this thread's network namespace and keeps it for life.
            let file = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("open netns");
            nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            poll::until(deadline, &format!("a TCP connection to {to}"), || {
                TcpStream::connect_timeout(&to, Duration::from_secs(1)).ok()
            })
        })
        .join()
        .expect("connect thread");
        RawPeer { stream }
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends an OPEN: 2-octet `my_as` field, hold time, identifier, IPv4 unicast and the
    /// 4-octet AS capability for `asn`.
    pub fn send_open(&mut self, asn: u32, hold_time: u16, id: Ipv4Addr) {
        self.send_open_version(4, asn, hold_time, id);
    }

    /// [`send_open`](Self::send_open) with any version number.
    pub fn send_open_version(&mut self, version: u8, asn: u32, hold_time: u16, id: Ipv4Addr) {
        let my_as = u16::try_from(asn).unwrap_or(23456);
        let mut body = vec![version];
        body.extend_from_slice(&my_as.to_be_bytes());
        body.extend_from_slice(&hold_time.to_be_bytes());
        body.extend_from_slice(&id.octets());
        let caps: Vec<u8> = [
            vec![2, 6, 1, 4, 0, 1, 0, 1],
            [vec![2, 6, 65, 4], asn.to_be_bytes().to_vec()].concat(),
        ]
        .concat();
        body.push(caps.len() as u8);
        body.extend_from_slice(&caps);
        self.send_raw(&frame(1, &body));
    }

    /// Sends a KEEPALIVE.
    pub fn send_keepalive(&mut self) {
        self.send_raw(&frame(4, &[]));
    }

    /// Sends an UPDATE (RFC 4271 §4.3) announcing IPv4 `prefixes` with ORIGIN IGP, an AS_PATH
    /// of the one 4-octet AS `asn` (the 4-octet AS capability negotiated) and `next_hop`:
    ///
    /// ```text
    /// 0000            withdrawn routes length
    /// LLLL            total path attribute length
    /// 40 01 01 00     ORIGIN IGP
    /// 40 02 06 02 01 AAAAAAAA   AS_PATH: one AS_SEQUENCE of one AS
    /// 40 03 04 NNNNNNNN         NEXT_HOP
    /// len prefix…     NLRI
    /// ```
    pub fn send_update_v4(&mut self, asn: u32, next_hop: Ipv4Addr, prefixes: &[(Ipv4Addr, u8)]) {
        let mut attrs = vec![0x40, 1, 1, 0, 0x40, 2, 6, 2, 1];
        attrs.extend_from_slice(&asn.to_be_bytes());
        attrs.extend_from_slice(&[0x40, 3, 4]);
        attrs.extend_from_slice(&next_hop.octets());
        let mut body = vec![0, 0];
        body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        body.extend_from_slice(&attrs);
        for (addr, len) in prefixes {
            body.push(*len);
            body.extend_from_slice(&addr.octets()[..usize::from(len.div_ceil(8))]);
        }
        self.send_raw(&frame(2, &body));
    }

    /// Reads the next message; `None` when the connection closed (or `timeout` passed first).
    pub fn read(&mut self, timeout: Duration) -> Option<RawMessage> {
        let end = Instant::now() + timeout;
        let mut header = [0u8; 19];
        self.read_exact_until(&mut header, end)?;
        assert_eq!(&header[..16], &[0xff; 16], "bad marker");
        let len = u16::from_be_bytes([header[16], header[17]]) as usize;
        let mut body = vec![0u8; len.saturating_sub(19)];
        self.read_exact_until(&mut body, end)?;
        Some(RawMessage {
            kind: header[18],
            body,
        })
    }

    fn read_exact_until(&mut self, buf: &mut [u8], end: Instant) -> Option<()> {
        let mut got = 0;
        while got < buf.len() {
            let left = end.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            match self.stream.read(&mut buf[got..]) {
                Ok(0) => return None,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Some(())
    }
}
