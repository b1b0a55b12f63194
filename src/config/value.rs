//! Checks on single values, run while the TOML is deserialized.
//!
//! An error raised here travels back through the TOML deserializer, which attaches the byte span
//! of the offending value; [`super::parse`] turns that span into a line and column. So every
//! check that needs only one value lives here, as a `deserialize_with` function, rather than in
//! a later pass that would have lost the position.
//!
//! The wire types (`Prefix`, `Community`, ...) know nothing of serde: the [`text`] and
//! [`text_list`] adapters (de)serialize them through their `FromStr` and `Display` impls.

use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

use crate::wire::{Community, Family, LargeCommunity, Prefix, PrefixError};

/// The most concurrent API connections `[api] max_connections` may ask for.
pub const API_MAX_CONNECTIONS: u32 = 65536;
/// The longest `[api]` timeout, in seconds.
pub const API_MAX_TIMEOUT: u32 = 3600;

/// The highest `[api] rate_limit` or `rate_burst`.
pub const API_MAX_RATE: u32 = 1_000_000;

/// AS_TRANS (RFC 6793 §9): the 2-octet placeholder for a 4-octet AS, never a real AS.
const AS_TRANS: u32 = 23456;

fn custom<E: de::Error>(msg: impl fmt::Display) -> E {
    E::custom(msg)
}

/// An AS number: any `u32` except 0 (RFC 7607) and AS_TRANS.
pub(super) fn asn<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(custom("AS 0 is not a valid AS number (RFC 7607)")),
        AS_TRANS => Err(custom(
            "AS 23456 is AS_TRANS, a placeholder that is not a real AS number (RFC 6793)",
        )),
        asn => Ok(asn),
    }
}

/// A BGP identifier: any IPv4 address but 0.0.0.0 (RFC 6286).
pub(super) fn router_id<'de, D: Deserializer<'de>>(d: D) -> Result<Ipv4Addr, D::Error> {
    let id = Ipv4Addr::deserialize(d)?;
    if id.is_unspecified() {
        return Err(custom("0.0.0.0 is not a valid BGP identifier (RFC 6286)"));
    }
    Ok(id)
}

/// A neighbour address: a unicast address one can connect to.
pub(super) fn peer_address<'de, D: Deserializer<'de>>(d: D) -> Result<IpAddr, D::Error> {
    let addr = IpAddr::deserialize(d)?;
    if addr.is_unspecified() || addr.is_multicast() {
        return Err(custom(format_args!(
            "{addr} is not a unicast address a neighbour can have"
        )));
    }
    Ok(addr)
}

/// A TCP port to connect to: 1..=65535.
pub(super) fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    ranged(d, 1, u16::MAX.into()).map(narrow)
}

/// `[api] max_connections`: at least 1.
pub(super) fn max_connections<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, 1, API_MAX_CONNECTIONS.into()).map(narrow)
}

/// `[api] rate_limit` and `rate_burst`: 0 (off, or the default) to a million.
pub(super) fn rate_limit<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, 0, API_MAX_RATE.into()).map(narrow)
}

/// `[api] header_timeout` and `idle_timeout`, in seconds: 1 to an hour.
pub(super) fn api_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, 1, API_MAX_TIMEOUT.into()).map(narrow)
}

/// An integer in `lo..=hi`; outside, the error says so plainly (`70000 is out of range
/// 1..=65535`) rather than serde's "invalid value: integer `70000`, expected u16".
pub(super) fn ranged<'de, D: Deserializer<'de>>(d: D, lo: u64, hi: u64) -> Result<u64, D::Error> {
    struct Ranged(u64, u64);
    impl Visitor<'_> for Ranged {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an integer in {}..={}", self.0, self.1)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            if (self.0..=self.1).contains(&v) {
                Ok(v)
            } else {
                Err(custom(format_args!(
                    "{v} is out of range {}..={}",
                    self.0, self.1
                )))
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(custom(format_args!(
                    "{v} is out of range {}..={}",
                    self.0, self.1
                ))),
            }
        }
    }
    d.deserialize_u64(Ranged(lo, hi))
}

/// A value [`ranged`] has already held within the target type.
fn narrow<T: TryFrom<u64> + Default>(v: u64) -> T {
    T::try_from(v).unwrap_or_default()
}

/// A hold time: 0 (no keepalives) or at least 3 seconds (RFC 4271 §4.2).
pub(super) fn hold_time<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    match u16::deserialize(d)? {
        t @ (1 | 2) => Err(custom(format_args!(
            "hold time {t} is not allowed: it must be 0 or at least 3 seconds (RFC 4271 section 4.2)"
        ))),
        t => Ok(t),
    }
}

/// Seconds between connection attempts: at least 1.
pub(super) fn connect_retry<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    match u16::deserialize(d)? {
        0 => Err(custom("connect retry time must be at least 1 second")),
        t => Ok(t),
    }
}

/// Graceful Restart's Restart Time: a 12-bit field (RFC 4724 §3).
pub(super) fn restart_time<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    match u16::deserialize(d)? {
        t if t > 4095 => Err(custom(format_args!(
            "restart time {t} is too long: the capability carries at most 4095 seconds (RFC 4724)"
        ))),
        t => Ok(t),
    }
}

/// Long-lived stale time: a 24-bit field (RFC 9494 §3).
pub(super) fn long_lived_stale_time<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        t if t > 0x00FF_FFFF => Err(custom(format_args!(
            "long-lived stale time {t} is too long: the capability carries at most 16777215 \
             seconds (RFC 9494)"
        ))),
        t => Ok(t),
    }
}

/// The number of extra prepends of our AS: at most 10.
pub(super) fn as_path_prepend<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    match u8::deserialize(d)? {
        n if n > 10 => Err(custom(format_args!(
            "{n} prepends is too many (at most 10)"
        ))),
        n => Ok(n),
    }
}

/// A filesystem path: not empty.
pub(super) fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let path = PathBuf::deserialize(d)?;
    if path.as_os_str().is_empty() {
        return Err(custom("the path is empty"));
    }
    Ok(path)
}

/// An optional filesystem path (the key given means the path): not empty.
pub(super) fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    path(d).map(Some)
}

/// The families of a peer: a list with at least one known family name.
pub(super) fn families<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Family>, D::Error> {
    let families = text_list::deserialize(d)?;
    if families.is_empty() {
        return Err(custom(
            "the list is empty: leave `families` out to use the family of `address`",
        ));
    }
    Ok(families)
}

/// A type written in the config as a string, through its `FromStr` and `Display` impls.
pub(crate) trait Text: FromStr + fmt::Display {
    /// What a valid value looks like, for "invalid type" errors.
    const EXPECTING: &'static str;

    /// What is wrong with a text that did not parse.
    fn explain(error: Self::Err) -> String;
}

impl Text for Prefix {
    const EXPECTING: &'static str = "a prefix such as \"192.0.2.0/24\"";

    fn explain(error: PrefixError) -> String {
        match error {
            // Suggest the whole prefix, not only the masked address.
            PrefixError::HostBits { addr, len, masked } => {
                format!("{addr}/{len} has host bits set (did you mean {masked}/{len}?)")
            }
            e => e.to_string(),
        }
    }
}

impl Text for Community {
    const EXPECTING: &'static str = "a community such as \"65001:100\" or \"no-export\"";

    fn explain(error: Self::Err) -> String {
        error.to_string()
    }
}

impl Text for LargeCommunity {
    const EXPECTING: &'static str = "a large community such as \"65001:1:1\"";

    fn explain(error: Self::Err) -> String {
        error.to_string()
    }
}

impl Text for Family {
    const EXPECTING: &'static str = "an address family such as \"ipv4-unicast\"";

    fn explain(error: Self::Err) -> String {
        error.to_string()
    }
}

/// Parse an operator-written value the way the config file does, with the same explanation
/// when it is refused (a prefix with host bits names the masked prefix).
pub(crate) fn parse_text<T: Text>(text: &str) -> Result<T, String> {
    text.parse().map_err(T::explain)
}

struct TextVisitor<T>(PhantomData<T>);

impl<T: Text> Visitor<'_> for TextVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        parse_text(v).map_err(E::custom)
    }
}

/// One value (de)serialized as its text form.
struct AsText<T>(T);

impl<'de, T: Text> Deserialize<'de> for AsText<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor(PhantomData)).map(AsText)
    }
}

impl<T: Text> Serialize for AsText<&T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// `#[serde(with = "text")]` for one [`Text`] value.
pub(super) mod text {
    use super::*;

    /// Write the value's text form.
    pub(in crate::config) fn serialize<T: Text, S: Serializer>(
        v: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Parse the value's text form.
    pub(in crate::config) fn deserialize<'de, T: Text, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        AsText::deserialize(d).map(|t| t.0)
    }
}

/// `#[serde(with = "optional_text")]` for a [`Text`] value that may be left out.
pub(super) mod optional_text {
    use super::*;

    /// Write the value's text form (callers skip `None`).
    pub(in crate::config) fn serialize<T: Text, S: Serializer>(
        v: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    /// Parse the value's text form: the key given means the value.
    pub(in crate::config) fn deserialize<'de, T: Text, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        AsText::deserialize(d).map(|t| Some(t.0))
    }
}

/// `#[serde(with = "text_list")]` for a list of [`Text`] values.
pub(super) mod text_list {
    use super::*;

    /// Write the list of text forms.
    pub(in crate::config) fn serialize<T: Text, S: Serializer>(
        v: &[T],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(AsText))
    }

    /// Parse a list of text forms; an error names the element's index.
    pub(in crate::config) fn deserialize<'de, T: Text, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        let items = Vec::<AsText<T>>::deserialize(d)?;
        Ok(items.into_iter().map(|t| t.0).collect())
    }
}
