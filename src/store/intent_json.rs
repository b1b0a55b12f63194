//! The intent file's payload, written by hand: the very bytes `serde_json` makes of an
//! [`Intent`] (same fields in the same order, same value texts), at a fraction of the cost.
//!
//! The intent holds every route added at run time, a million of them at times, and it is saved
//! whole each time its journal is compacted. Through serde a route cost about 150 ns: a dozen
//! small writes, and a pass through `fmt` for its prefix and each community. Here it is a few
//! appends to one buffer, handed to the file a MiB at a time. The settings, the peers added at
//! run time and the disabled peers are few: they still go through serde.
//!
//! Loading reads the routes in this shape by hand and anything else through serde
//! (`intent_read.rs`). Since the bytes are the same, a file written by this encoder
//! reads back in any baton, and a file written by serde (an older baton) in this one; the unit
//! tests compare the two encoders byte for byte. A field added to [`Intent`] or [`Route`] stops
//! the build here until the encoder writes it too (both are destructured whole).

use std::io::Write;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use super::Intent;
use crate::config::{Config, Route};
use crate::wire::{Community, LargeCommunity, Prefix};

/// How much is encoded before it is handed to the file: at least the file's write buffer, so
/// that the buffer passes it through instead of copying it.
pub(super) const CHUNK: usize = 1 << 20;

/// Write `intent` as the JSON its serde derive makes, byte for byte.
pub(super) fn write_intent(intent: &Intent, out: &mut dyn Write) -> serde_json::Result<()> {
    let Intent {
        config,
        api_routes,
        api_peers,
        disabled_peers,
    } = intent;
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    buf.extend_from_slice(b"{\"config\":");
    serde_json::to_writer(&mut buf, &SettingsOnly(config))?;
    buf.extend_from_slice(b",\"api_routes\":[");
    for (i, (prefix, attrs)) in api_routes.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_route(&mut buf, prefix, attrs);
        if buf.len() >= CHUNK {
            out.write_all(&buf).map_err(serde_json::Error::io)?;
            buf.clear();
        }
    }
    buf.extend_from_slice(b"],\"api_peers\":");
    serde_json::to_writer(&mut buf, api_peers)?;
    buf.extend_from_slice(b",\"disabled_peers\":");
    serde_json::to_writer(&mut buf, disabled_peers)?;
    buf.push(b'}');
    out.write_all(&buf).map_err(serde_json::Error::io)
}

/// The configuration as the intent saves it (without its routes).
struct SettingsOnly<'a>(&'a Config);

impl Serialize for SettingsOnly<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::types::settings_only(self.0, s)
    }
}

/// The route of `prefix` with `attrs` (a route whose own prefix is not written) as its serde
/// derive writes it: fields in declaration order, those at their default left out as
/// `skip_serializing_if` says, `as_path_prepend` always written.
fn push_route(buf: &mut Vec<u8>, prefix: &Prefix, attrs: &Route) {
    let Route {
        prefix: _,
        next_hop,
        communities,
        large_communities,
        med,
        local_pref,
        as_path_prepend,
    } = attrs;
    buf.extend_from_slice(b"{\"prefix\":\"");
    push_prefix(buf, prefix);
    buf.push(b'"');
    if let Some(hop) = next_hop {
        buf.extend_from_slice(b",\"next_hop\":\"");
        push_addr(buf, *hop);
        buf.push(b'"');
    }
    if !communities.is_empty() {
        buf.extend_from_slice(b",\"communities\":");
        push_list(buf, communities, push_community);
    }
    if !large_communities.is_empty() {
        buf.extend_from_slice(b",\"large_communities\":");
        push_list(buf, large_communities, push_large_community);
    }
    if let Some(med) = med {
        buf.extend_from_slice(b",\"med\":");
        push_u32(buf, *med);
    }
    if let Some(local_pref) = local_pref {
        buf.extend_from_slice(b",\"local_pref\":");
        push_u32(buf, *local_pref);
    }
    buf.extend_from_slice(b",\"as_path_prepend\":");
    push_u32(buf, (*as_path_prepend).into());
    buf.push(b'}');
}

/// A JSON list of strings, each written by `push` (which needs no escaping).
fn push_list<T>(buf: &mut Vec<u8>, items: &[T], push: fn(&mut Vec<u8>, &T)) {
    buf.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        push(buf, item);
        buf.push(b'"');
    }
    buf.push(b']');
}

/// A prefix as its `Display` writes it: `ADDRESS/LENGTH`.
pub(super) fn push_prefix(buf: &mut Vec<u8>, prefix: &Prefix) {
    push_addr(buf, prefix.addr());
    buf.push(b'/');
    push_u32(buf, prefix.len().into());
}

/// An address as its `Display` writes it (which is what serde writes): IPv4 by hand, IPv6
/// (rarer, and with its zero-run compression) through `Display`.
pub(super) fn push_addr(buf: &mut Vec<u8>, addr: IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            let [a, b, c, d] = a.octets();
            push_u32(buf, a.into());
            for octet in [b, c, d] {
                buf.push(b'.');
                push_u32(buf, octet.into());
            }
        }
        // Writing into a `Vec` cannot fail.
        IpAddr::V6(a) => write!(buf, "{a}").unwrap_or(()),
    }
}

/// A community as its `Display` writes it: a well-known name, or `HIGH:LOW`.
fn push_community(buf: &mut Vec<u8>, c: &Community) {
    match c.well_known_name() {
        Some(name) => buf.extend_from_slice(name.as_bytes()),
        None => {
            push_u32(buf, c.0 >> 16);
            buf.push(b':');
            push_u32(buf, c.0 & 0xFFFF);
        }
    }
}

/// A large community as its `Display` writes it: `GLOBAL:LOCAL1:LOCAL2`.
fn push_large_community(buf: &mut Vec<u8>, c: &LargeCommunity) {
    push_u32(buf, c.global);
    buf.push(b':');
    push_u32(buf, c.local1);
    buf.push(b':');
    push_u32(buf, c.local2);
}

/// `n` in decimal. Numbers below 1000 (address octets, lengths, prepends) are pushed as
/// fixed-size arrays: a copy of a length known only at run time is a call to `memcpy`, which
/// cost more than the digits.
pub(super) fn push_u32(buf: &mut Vec<u8>, n: u32) {
    let digit = |d: u32| b'0' + (d % 10) as u8;
    match n {
        0..=9 => buf.push(digit(n)),
        10..=99 => buf.extend_from_slice(&[digit(n / 10), digit(n)]),
        100..=999 => buf.extend_from_slice(&[digit(n / 100), digit(n / 10), digit(n)]),
        _ => {
            let mut digits = [0u8; 10];
            let mut at = digits.len();
            let mut n = n;
            while n > 0 {
                at -= 1;
                digits[at] = digit(n);
                n /= 10;
            }
            buf.extend_from_slice(&digits[at..]);
        }
    }
}
