//! The intent file's payload read back: its list of routes by hand, in the exact shape
//! [`write_intent`](super::intent_json::write_intent) writes, and everything else by serde.
//!
//! At a million routes serde spent about 150 ns a route on the list: a field name matched
//! through a visitor for each field, each value through its own small deserializer. The writer
//! always writes the same shape (no whitespace, fields in declaration order, no escapes), so
//! here a route is a few byte comparisons and the `FromStr` of each value, the very parsers
//! serde's adapters call (`Prefix`, `IpAddr`, `Community`, `LargeCommunity`).
//!
//! Only the list is read by hand. The configuration, the peers and the file's outline still go
//! through the [`Intent`] serde derive, on a copy of the payload with the list cut out (a few
//! KiB), so every check of theirs holds as it did.
//!
//! Anything this reader does not expect (whitespace, another field order, an escape, `null`,
//! an unknown field, a value its parser refuses) is not an error here: the whole payload is
//! then read by serde, as before. So any JSON serde accepts, from this baton or an older one,
//! still loads, to the same intent; and a damaged payload is refused with serde's message,
//! which names what is wrong and where.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::de::IgnoredAny;

use super::Intent;
use crate::config::Route;
use crate::wire::Prefix;

/// Read an intent payload as serde would.
pub(super) fn read_intent(payload: &[u8]) -> serde_json::Result<Intent> {
    read_usual(payload).or_else(|unusual| {
        tracing::debug!(%unusual, "intent payload not in the usual shape; reading it through serde");
        serde_json::from_slice(payload)
    })
}

/// Where and why a payload is not in the shape the writer makes. Not a fault in the file:
/// the payload is then read by serde, which decides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {at}: expected {expected}")]
pub(super) struct Unusual {
    /// Offset in the payload.
    pub(super) at: usize,
    /// What the writer would have put there.
    pub(super) expected: &'static str,
}

/// The intent, if its payload is in the writer's shape.
pub(super) fn read_usual(payload: &[u8]) -> Result<Intent, Unusual> {
    let mut c = Cursor {
        bytes: payload,
        at: 0,
    };
    c.expect(b"{\"config\":", "{\"config\": at the start")?;
    c.skip_value()?;
    c.expect(
        b",\"api_routes\":",
        "\"api_routes\" after the configuration",
    )?;
    // The list's content, between its `[` and its `]`.
    let list_start = c.at + 1;
    let routes = c.list(Cursor::route)?;
    let list_end = c.at - 1;
    // The rest, with an empty list of routes, through serde.
    let mut rest = Vec::with_capacity(payload.len() - (list_end - list_start));
    rest.extend_from_slice(&payload[..list_start]);
    rest.extend_from_slice(&payload[list_end..]);
    let mut intent: Intent = serde_json::from_slice(&rest).map_err(|_| Unusual {
        at: list_end,
        expected: "configuration and peers that serde reads",
    })?;
    // As serde's reader does: keyed as they come, a prefix listed twice (never written so) keeps
    // its last route.
    intent.api_routes = routes.into_iter().collect::<BTreeMap<Prefix, Route>>();
    Ok(intent)
}

/// A position in the payload.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn unusual(&self, expected: &'static str) -> Unusual {
        Unusual {
            at: self.at,
            expected,
        }
    }

    /// Step over `token` if it comes next.
    fn eat(&mut self, token: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn expect(&mut self, token: &[u8], expected: &'static str) -> Result<(), Unusual> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.unusual(expected))
        }
    }

    /// Step over one JSON value (the configuration), checked by serde.
    fn skip_value(&mut self) -> Result<(), Unusual> {
        let de = serde_json::Deserializer::from_slice(&self.bytes[self.at..]);
        let mut values = de.into_iter::<IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => {
                self.at += values.byte_offset();
                Ok(())
            }
            _ => Err(self.unusual("a JSON value")),
        }
    }

    /// A JSON list, each item read by `item`.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Unusual>,
    ) -> Result<Vec<T>, Unusual> {
        self.expect(b"[", "a list")?;
        let mut items = Vec::new();
        if self.eat(b"]") {
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            if self.eat(b"]") {
                return Ok(items);
            }
            self.expect(b",", "`,` or `]` in a list")?;
        }
    }

    /// The value of the field `name` if it comes next, read by `value`.
    fn field<T>(
        &mut self,
        name: &[u8],
        value: impl FnOnce(&mut Self) -> Result<T, Unusual>,
    ) -> Result<Option<T>, Unusual> {
        if self.eat(name) {
            value(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// One route: its fields in declaration order, those at their default left out (as
    /// `skip_serializing_if` leaves them out; `as_path_prepend` too, as serde allows). The
    /// route is built field by field, so that a field added to [`Route`] stops the build here
    /// until this reader reads it.
    fn route(&mut self) -> Result<(Prefix, Route), Unusual> {
        self.expect(b"{\"prefix\":", "a route, {\"prefix\": first")?;
        let prefix = self.parsed("a prefix", prefix)?;
        let next_hop = self.field(b",\"next_hop\":", |c| c.text("an address"))?;
        let communities = self.field(b",\"communities\":", |c| c.text_list("a community"))?;
        let large_communities = self.field(b",\"large_communities\":", |c| {
            c.text_list("a large community")
        })?;
        let med = self.field(b",\"med\":", Self::number)?;
        let local_pref = self.field(b",\"local_pref\":", Self::number)?;
        let as_path_prepend = self.field(b",\"as_path_prepend\":", Self::prepends)?;
        self.expect(
            b"}",
            "the next field of a route in declaration order, or `}`",
        )?;
        let route = Route {
            prefix,
            next_hop,
            communities: communities.unwrap_or_default(),
            large_communities: large_communities.unwrap_or_default(),
            med,
            local_pref,
            as_path_prepend: as_path_prepend.unwrap_or(0),
        };
        Ok((prefix, route))
    }

    /// The number of extra prepends of our AS: at most 10, as the configuration allows.
    fn prepends(&mut self) -> Result<u8, Unusual> {
        let at = self.at;
        match u8::try_from(self.number()?) {
            Ok(n @ 0..=10) => Ok(n),
            _ => Err(Unusual {
                at,
                expected: "at most 10 prepends",
            }),
        }
    }

    /// A string without escapes, parsed by `T`'s `FromStr` (as serde's text adapter does).
    fn text<T: FromStr>(&mut self, expected: &'static str) -> Result<T, Unusual> {
        self.parsed(expected, |text| text.parse().ok())
    }

    /// A string without escapes, parsed by `parse`.
    fn parsed<T>(
        &mut self,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, Unusual> {
        let start = self.at;
        let value = parse(self.plain_string()?);
        value.ok_or(Unusual {
            at: start,
            expected,
        })
    }

    /// A list of strings, each parsed by `T`'s `FromStr`.
    fn text_list<T: FromStr>(&mut self, expected: &'static str) -> Result<Vec<T>, Unusual> {
        self.list(|c| c.text(expected))
    }

    /// A string of printable ASCII without escapes (all the writer writes in a route).
    fn plain_string(&mut self) -> Result<&'a str, Unusual> {
        self.expect(b"\"", "a string")?;
        let start = self.at;
        let rest = &self.bytes[start..];
        let len = rest
            .iter()
            .position(|&b| !(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\')
            .filter(|&n| rest[n] == b'"')
            .ok_or_else(|| self.unusual("a string of printable ASCII without escapes"))?;
        self.at = start + len + 1;
        // Printable ASCII, so always UTF-8.
        std::str::from_utf8(&rest[..len]).map_err(|_| self.unusual("text"))
    }

    /// A `u32` in decimal, as JSON writes it (no sign, no leading zero, no fraction).
    fn number(&mut self) -> Result<u32, Unusual> {
        let rest = &self.bytes[self.at..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let value =
            decimal(&rest[..digits]).ok_or_else(|| self.unusual("a number 0..=4294967295"))?;
        self.at += digits;
        Ok(value)
    }
}

/// A prefix, as `Prefix`'s `FromStr` reads it. IPv4 ones by hand: the address's `FromStr` is
/// a general parser, and cost more than all the rest of a route.
fn prefix(text: &str) -> Option<Prefix> {
    match ipv4_prefix(text.as_bytes()) {
        Some((addr, len)) => Prefix::new(IpAddr::V4(addr), len).ok(),
        None => text.parse().ok(),
    }
}

/// An IPv4 prefix `A.B.C.D/LEN` in the only form `Ipv4Addr`'s and `u8`'s `FromStr` both take
/// (no leading zeros); `None` for anything else, left to those parsers.
pub(super) fn ipv4_prefix(text: &[u8]) -> Option<(Ipv4Addr, u8)> {
    let slash = text.iter().position(|&b| b == b'/')?;
    let mut parts = text[..slash].split(|&b| b == b'.');
    let mut octets = [0u8; 4];
    for octet in &mut octets {
        *octet = u8::try_from(decimal(parts.next()?)?).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let len = u8::try_from(decimal(&text[slash + 1..])?).ok()?;
    Some((Ipv4Addr::from(octets), len))
}

/// Decimal digits as JSON and the address parsers write them: at least one, no leading zero,
/// within a `u32`.
fn decimal(digits: &[u8]) -> Option<u32> {
    match digits {
        [] | [b'0', _, ..] => None,
        _ => digits.iter().try_fold(0u32, |n, &d| {
            let d = d.is_ascii_digit().then(|| u32::from(d - b'0'))?;
            n.checked_mul(10)?.checked_add(d)
        }),
    }
}
