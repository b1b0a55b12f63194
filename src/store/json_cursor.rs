//! A reader of JSON in the exact shape this project's hand-written encoders write (no
//! whitespace, fields in a fixed order, no escapes), for the state files' large lists: a
//! million routes are a few byte comparisons and a parse each, where serde spent most of a
//! load. It does not judge: whatever is not in that shape is [`Unusual`], and the caller
//! then reads the whole payload through serde, which accepts or refuses it with its message.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::de::{DeserializeOwned, IgnoredAny};

use crate::wire::Prefix;

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

/// Read `payload` with `by_hand` if it is in the writer's shape, otherwise all of it through
/// serde, which decides (`what` names the payload in the debug line saying so).
pub(super) fn by_hand_or_serde<T: DeserializeOwned>(
    payload: &[u8],
    what: &str,
    by_hand: impl FnOnce(&[u8]) -> Result<T, Unusual>,
) -> serde_json::Result<T> {
    by_hand(payload).or_else(|unusual| {
        tracing::debug!(%unusual, "{what} not in the usual shape; reading it through serde");
        serde_json::from_slice(payload)
    })
}

/// A position in the payload.
pub(super) struct Cursor<'a> {
    /// The whole payload.
    pub(super) bytes: &'a [u8],
    /// The next byte to read.
    pub(super) at: usize,
}

impl<'a> Cursor<'a> {
    /// At the start of `payload`.
    pub(super) fn new(payload: &'a [u8]) -> Self {
        Cursor {
            bytes: payload,
            at: 0,
        }
    }

    pub(super) fn unusual(&self, expected: &'static str) -> Unusual {
        Unusual {
            at: self.at,
            expected,
        }
    }

    /// Step over `token` if it comes next.
    pub(super) fn eat(&mut self, token: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    pub(super) fn expect(&mut self, token: &[u8], expected: &'static str) -> Result<(), Unusual> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.unusual(expected))
        }
    }

    /// Step over one JSON value (the configuration), checked by serde.
    pub(super) fn skip_value(&mut self) -> Result<(), Unusual> {
        self.value::<IgnoredAny>("a JSON value").map(drop)
    }

    /// One JSON value read by serde (a part that is small, or not in a fixed shape).
    pub(super) fn value<T: DeserializeOwned>(
        &mut self,
        expected: &'static str,
    ) -> Result<T, Unusual> {
        let de = serde_json::Deserializer::from_slice(&self.bytes[self.at..]);
        let mut values = de.into_iter::<T>();
        match values.next() {
            Some(Ok(value)) => {
                self.at += values.byte_offset();
                Ok(value)
            }
            _ => Err(self.unusual(expected)),
        }
    }

    /// A JSON list, each item read by `item`.
    pub(super) fn list<T>(
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
    pub(super) fn field<T>(
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

    /// A string without escapes, parsed by `T`'s `FromStr` (as serde's text adapter does).
    pub(super) fn text<T: FromStr>(&mut self, expected: &'static str) -> Result<T, Unusual> {
        self.parsed(expected, |text| text.parse().ok())
    }

    /// A string without escapes, parsed by `parse`.
    pub(super) fn parsed<T>(
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
    pub(super) fn text_list<T: FromStr>(
        &mut self,
        expected: &'static str,
    ) -> Result<Vec<T>, Unusual> {
        self.list(|c| c.text(expected))
    }

    /// A string of printable ASCII without escapes (all the writer writes in a route).
    pub(super) fn plain_string(&mut self) -> Result<&'a str, Unusual> {
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
    pub(super) fn number(&mut self) -> Result<u32, Unusual> {
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
pub(super) fn prefix(text: &str) -> Option<Prefix> {
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
