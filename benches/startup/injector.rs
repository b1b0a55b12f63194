//! The wire-speed injector of the ingest table (`ingest.rs`): a BGP speaker of our own that
//! connects to a receiver, opens a session (4-octet AS, multiprotocol IPv4 and IPv6 unicast) and,
//! the moment it is Established, writes a whole table in one burst.
//!
//! The burst is encoded once, before any session, with baton's own codec (`baton::wire`): one
//! attribute set, UPDATEs packed with NLRI up to the 4096-octet limit, IPv4 in the classic NLRI
//! field and IPv6 in MP_REACH_NLRI (RFC 4760), then End-of-RIB for each family (RFC 4724). So
//! what a receiver is timed on is its own reading and processing, never our encoding; and every
//! receiver gets the same bytes. [`check_burst`] decodes them back before they are used.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use baton::wire::{
    self, AsPath, AsSegment, Attributes, Capability, CodecContext, Family, Message, Open, Origin,
    Prefix, SegmentType, Update, UpdatePacker, MAX_MESSAGE_LEN,
};
use bytes::BytesMut;

use super::api_client::enter_namespace;
use super::common::netns::Host;

/// The injector's AS.
pub const INJECTOR_AS: u32 = 65010;
/// The most routes of either family (the /32s of 11.0.0.0/8; as many /64s of 2001:db8::/32).
pub const MAX_INJECTED: usize = 1 << 24;
/// The injector's addresses, the next hops of its routes: it is the first host of its lab.
pub const NEXT_HOP4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const NEXT_HOP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// Hold time we offer; KEEPALIVEs go out well within it once the burst is written.
const HOLD_TIME: u16 = 240;
const KEEPALIVE_EVERY: Duration = Duration::from_secs(30);
/// How long the receiver may take to listen and to answer the OPEN.
const HANDSHAKE: Duration = Duration::from_secs(30);
/// How often the injector's threads look at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// The encoded table: UPDATEs, then the End-of-RIB markers.
pub struct Burst {
    pub bytes: Vec<u8>,
    /// Messages in it, End-of-RIB included.
    pub messages: usize,
}

/// The i-th IPv4 prefix: consecutive /32s from 11.0.0.0 (route data, never on an interface).
pub fn v4_prefix(i: usize) -> Prefix {
    let addr = Ipv4Addr::from(0x0b00_0000 + u32::try_from(i).expect("i < 2^24"));
    Prefix::new(addr.into(), 32).expect("a /32")
}

/// The i-th IPv6 prefix: /64s from 2001:db8:1::/48 on (2001:db8::/64 is the lab's link).
pub fn v6_prefix(i: usize) -> Prefix {
    let i = u32::try_from(i).expect("i < 2^24");
    let (hi, lo) = (u16::try_from(1 + (i >> 16)).expect("< 2^16"), i as u16);
    let addr = Ipv6Addr::new(0x2001, 0xdb8, hi, lo, 0, 0, 0, 0);
    Prefix::new(addr.into(), 64).expect("a /64")
}

/// What the session negotiates: 4-octet AS numbers, 4096-octet messages.
fn context() -> CodecContext {
    CodecContext {
        four_octet_as: true,
        extended_message: false,
    }
}

/// The attribute set of every route: ORIGIN IGP, AS_PATH of our AS, NEXT_HOP `next_hop`.
fn attributes(next_hop: Ipv4Addr) -> Attributes {
    Attributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::AsSequence,
                asns: vec![INJECTOR_AS],
            }],
        }),
        next_hop: Some(next_hop),
        ..Attributes::default()
    }
}

/// Encodes `v4` IPv4 and `v6` IPv6 routes with next hops `next_hop4` and `next_hop6` (the
/// injector's addresses on the lab's link), and End-of-RIB for both families.
pub fn encode(v4: usize, v6: usize, next_hop4: Ipv4Addr, next_hop6: Ipv6Addr) -> Burst {
    let ctx = context();
    let packer = UpdatePacker::new(ctx);
    let attrs = attributes(next_hop4);
    let mut out = BytesMut::with_capacity(v4 * 5 + v6 * 9 + 4096);
    let prefixes: Vec<Prefix> = (0..v4).map(v4_prefix).collect();
    let mut messages = packer.announce(Family::IPV4_UNICAST, &attrs, &[], &prefixes, &mut out);
    let prefixes: Vec<Prefix> = (0..v6).map(v6_prefix).collect();
    let hops = [IpAddr::V6(next_hop6)];
    messages += packer.announce(Family::IPV6_UNICAST, &attrs, &hops, &prefixes, &mut out);
    for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        wire::encode(&Message::Update(Update::end_of_rib(family)), &ctx, &mut out);
        messages += 1;
    }
    Burst {
        bytes: out.to_vec(),
        messages,
    }
}

/// Decodes `burst` with baton's decoder and checks it says what [`encode`] was asked for: every
/// message within 4096 octets, the IPv4 prefixes in order in the NLRI field with NEXT_HOP
/// `next_hop4`, the IPv6 ones in MP_REACH_NLRI with next hop `next_hop6` and no NEXT_HOP, one
/// attribute set, then End-of-RIB for IPv4 and for IPv6. Panics naming the first difference.
pub fn check_burst(burst: &Burst, v4: usize, v6: usize, hops: (Ipv4Addr, Ipv6Addr)) {
    let ctx = context();
    let (mut seen4, mut seen6, mut messages, mut rest) = (0, 0, 0, &burst.bytes[..]);
    // Announcing messages with room for one more prefix: the last of each family only.
    let (mut end_of_rib, mut short) = (Vec::new(), 0);
    let mut v6_attrs = attributes(hops.0);
    v6_attrs.next_hop = None;
    while !rest.is_empty() {
        let len = wire::frame_len(rest, &ctx)
            .expect("a valid header")
            .expect("a whole message");
        assert!(len <= MAX_MESSAGE_LEN, "message {messages}: {len} octets");
        let Message::Update(update) = wire::decode(&rest[..len], &ctx).expect("decodes") else {
            panic!("message {messages}: not an UPDATE");
        };
        assert!(update.errors.is_empty(), "message {messages}: {update:?}");
        // <length, prefix> of a /32 takes 5 octets, of a /64 9.
        let width = if update.mp_reach.is_some() { 9 } else { 5 };
        if let Some(family) = update.as_end_of_rib() {
            end_of_rib.push(family);
        } else if len + width <= MAX_MESSAGE_LEN {
            short += 1;
        }
        if let Some(mp) = &update.mp_reach {
            assert_eq!(mp.next_hops, [IpAddr::V6(hops.1)], "message {messages}");
            assert_eq!(
                update.attributes.as_ref(),
                Some(&v6_attrs),
                "message {messages}"
            );
            for p in &mp.nlri {
                assert_eq!(*p, v6_prefix(seen6), "message {messages}");
                seen6 += 1;
            }
        } else if update.as_end_of_rib().is_none() {
            assert_eq!(
                update.attributes,
                Some(attributes(hops.0)),
                "message {messages}"
            );
            for p in &update.nlri {
                assert_eq!(*p, v4_prefix(seen4), "message {messages}");
                seen4 += 1;
            }
        }
        messages += 1;
        rest = &rest[len..];
    }
    assert_eq!((seen4, seen6, messages), (v4, v6, burst.messages));
    assert!(short <= 2, "{short} UPDATEs with room for another prefix");
    assert_eq!(end_of_rib, [Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
}

/// A small burst encoded and checked as [`check_burst`] does (what `cargo test` runs of the
/// bench); how many messages it has.
pub fn self_check() -> usize {
    let hops = (
        Ipv4Addr::new(198, 18, 0, 1),
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
    );
    let burst = encode(3000, 1000, hops.0, hops.1);
    check_burst(&burst, 3000, 1000, hops);
    burst.messages
}

/// The OPEN we send: version 4, our AS, hold time, identifier `id`, capabilities multiprotocol
/// IPv4 and IPv6 unicast and 4-octet AS.
fn open(id: Ipv4Addr) -> BytesMut {
    let open = Open {
        version: 4,
        my_as: u16::try_from(INJECTOR_AS).unwrap_or(wire::AS_TRANS),
        hold_time: HOLD_TIME,
        bgp_id: id,
        capabilities: vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::FourOctetAs(INJECTOR_AS),
        ],
    };
    let mut out = BytesMut::new();
    wire::encode(&Message::Open(open), &CodecContext::default(), &mut out);
    out
}

fn keepalive() -> BytesMut {
    let mut out = BytesMut::new();
    wire::encode(&Message::Keepalive, &CodecContext::default(), &mut out);
    out
}

/// Connects from `from`'s namespace to `to` port 179, opens a session and, once it is
/// Established, calls `started` with the instant just before the first UPDATE octet is written,
/// writes `burst` and returns how long the write took (until the receiver's socket had taken
/// the last octet). The session then stays up (KEEPALIVEs every 30 s, whatever the receiver
/// sends read and dropped) until `stop` is set. Runs on the calling thread, which it moves
/// into `from`'s namespace: give it a thread of its own.
pub fn inject(
    from: &Host,
    to: IpAddr,
    burst: &Burst,
    stop: &AtomicBool,
    started: impl FnOnce(Instant),
) -> Result<Duration, String> {
    enter_namespace(&from.ns);
    let addr = SocketAddr::new(to, 179);
    let begin = Instant::now();
    let mut stream = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => break s,
            Err(e) if begin.elapsed() > HANDSHAKE => return Err(format!("connect {addr}: {e}")),
            Err(_) => std::thread::sleep(TICK),
        }
    };
    let fail = |what: &str, e: io::Error| format!("{addr}: {what}: {e}");
    stream.set_nodelay(true).map_err(|e| fail("nodelay", e))?;
    let mut reader = Frames {
        stream: stream.try_clone().map_err(|e| fail("clone", e))?,
        buf: Vec::new(),
    };
    stream
        .write_all(&open(from.ipv4))
        .map_err(|e| fail("OPEN", e))?;
    let until = Instant::now() + HANDSHAKE;
    reader.expect(wire::msg_type::OPEN, until)?;
    stream
        .write_all(&keepalive())
        .map_err(|e| fail("KEEPALIVE", e))?;
    reader.expect(wire::msg_type::KEEPALIVE, until)?;
    std::thread::scope(|s| {
        s.spawn(|| reader.drain(stop, to));
        let first = Instant::now();
        started(first);
        let sent = stream.write_all(&burst.bytes).map(|()| first.elapsed());
        let mut last = Instant::now();
        while sent.is_ok() && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(TICK);
            if last.elapsed() >= KEEPALIVE_EVERY {
                if let Err(e) = stream.write_all(&keepalive()) {
                    eprintln!("  injector: KEEPALIVE to {addr}: {e}");
                    break;
                }
                last = Instant::now();
            }
        }
        // Also ends the drain thread's reads.
        let _ = stream.shutdown(std::net::Shutdown::Both);
        sent.map_err(|e| fail("burst", e))
    })
}

/// Whole messages read off a socket, as (type, body).
struct Frames {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Frames {
    /// The next whole message, reading until `until`; `None` past it, an error at the end of
    /// the stream.
    fn next(&mut self, until: Instant) -> io::Result<Option<(u8, Vec<u8>)>> {
        let mut chunk = [0u8; 65536];
        loop {
            if self.buf.len() >= wire::HEADER_LEN {
                let len = usize::from(u16::from_be_bytes([self.buf[16], self.buf[17]]));
                let len = len.max(wire::HEADER_LEN);
                if self.buf.len() >= len {
                    let kind = self.buf[18];
                    let body = self.buf[wire::HEADER_LEN..len].to_vec();
                    self.buf.drain(..len);
                    return Ok(Some((kind, body)));
                }
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            self.stream
                .set_read_timeout(Some(left.clamp(Duration::from_millis(1), TICK)))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads messages until one of type `kind`; a NOTIFICATION, the end of the stream or
    /// `until` is an error.
    fn expect(&mut self, kind: u8, until: Instant) -> Result<(), String> {
        loop {
            match self.next(until) {
                Ok(Some((k, _))) if k == kind => return Ok(()),
                Ok(Some((wire::msg_type::NOTIFICATION, body))) => {
                    return Err(format!("NOTIFICATION {:?} instead of type {kind}", body))
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("no message of type {kind} in time")),
                Err(e) => return Err(format!("reading: {e}")),
            }
        }
    }

    /// Reads and drops what the receiver sends until `stop`, saying so if it sends a
    /// NOTIFICATION or closes the session first.
    fn drain(&mut self, stop: &AtomicBool, peer: IpAddr) {
        while !stop.load(Ordering::SeqCst) {
            match self.next(Instant::now() + TICK) {
                Ok(Some((wire::msg_type::NOTIFICATION, body))) => {
                    eprintln!("  injector: {peer} sent NOTIFICATION {body:?}")
                }
                Ok(_) => {}
                Err(e) => {
                    if !stop.load(Ordering::SeqCst) {
                        eprintln!("  injector: session with {peer}: {e}");
                    }
                    return;
                }
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
