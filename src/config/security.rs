//! The per-peer session security settings: the TCP-MD5 password (RFC 2385), TTL security
//! (GTSM, RFC 5082) and the prefix limit (`max_prefixes`, RFC 4486 Cease 6/1).
//!
//! They live apart from the rest of the schema because of what they need that other keys do
//! not: a password must never be written out (its `Debug` is redacted and it is never
//! serialized, so neither logs, status, the API nor `batonctl` can show it), a password file
//! is read and its permissions checked when the configuration is loaded, and `max_prefixes`
//! takes either one number for every family or a table by family.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};

use super::value::{self, Text};
use crate::wire::Family;

/// The longest TCP-MD5 key Linux takes (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_PASSWORD_LEN: usize = 80;

/// A TCP-MD5 password. Its `Debug` never shows it, and it has no `Serialize` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// A password from its text: 1 to [`MAX_PASSWORD_LEN`] bytes.
    pub fn new(text: &str) -> Result<Password, String> {
        match text.len() {
            0 => Err("the password is empty".into()),
            n if n > MAX_PASSWORD_LEN => Err(format!(
                "the password is {n} bytes long; TCP-MD5 keys are at most {MAX_PASSWORD_LEN}"
            )),
            _ => Ok(Password(text.to_string())),
        }
    }

    /// The key bytes, for the socket option.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Password::new(&text).map_err(de::Error::custom)
    }
}

/// `password` (the key given means the password).
pub(super) fn password<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Password>, D::Error> {
    Password::deserialize(d).map(Some)
}

/// Why a secret file is refused, if it is readable by group or others.
pub(crate) fn check_private(path: &Path, what: &str) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o044 != 0 {
        return Err(format!(
            "the {what} {} is readable by group or others (mode {mode:04o}) and holds a TCP-MD5 \
             password: make it readable by its owner only (chmod 600)",
            path.display()
        ));
    }
    Ok(())
}

/// The password in the file at `path`: its content without the trailing line end; the file
/// must not be readable by group or others.
pub(crate) fn read_password_file(path: &Path) -> Result<Password, String> {
    check_private(path, "password file")?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?;
    Password::new(text.trim_end_matches(['\n', '\r']))
        .map_err(|e| format!("password file {}: {e}", path.display()))
}

/// `ttl_security`: `true` (the peer is directly connected, 1 hop), a hop count 1..=254, or
/// `false`/absent (off, stored as 0).
pub(super) mod ttl_security {
    use super::*;

    /// The most hops a GTSM peer may be away: its TTL 255 arrives as at least 1.
    pub const MAX_HOPS: u64 = 254;

    /// Parse `true`, `false` or a hop count.
    pub(in crate::config) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        struct Hops;
        impl Visitor<'_> for Hops {
            type Value = u8;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "true, false or a hop count 1..={MAX_HOPS}")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<u8, E> {
                Ok(u8::from(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u8, E> {
                match v {
                    1..=MAX_HOPS => Ok(v as u8),
                    _ => Err(E::custom(format_args!(
                        "{v} is out of range 1..={MAX_HOPS} (hops to the peer; true means 1)"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u8, E> {
                self.visit_u64(u64::try_from(v).unwrap_or(u64::MAX))
            }
        }
        d.deserialize_any(Hops)
    }

    /// Write the hop count (callers skip 0).
    pub(in crate::config) fn serialize<S: Serializer>(hops: &u8, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*hops)
    }
}

/// `max_prefixes`: one bound for every family, or a table by family name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxPrefixes {
    /// `max_prefixes = 1000`: every family of the peer.
    All(u32),
    /// `max_prefixes = { ipv4-unicast = 1000, ipv6-unicast = 200 }`: the families named.
    PerFamily(BTreeMap<Family, u32>),
}

impl MaxPrefixes {
    /// The bound for `family`, if it has one.
    pub fn limit(&self, family: Family) -> Option<u32> {
        match self {
            MaxPrefixes::All(n) => Some(*n),
            MaxPrefixes::PerFamily(map) => map.get(&family).copied(),
        }
    }
}

impl<'de> Deserialize<'de> for MaxPrefixes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Limits;
        fn bound<E: de::Error>(v: u64) -> Result<u32, E> {
            match u32::try_from(v) {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(E::custom(format_args!(
                    "{v} is out of range 1..={}",
                    u32::MAX
                ))),
            }
        }
        impl<'de> Visitor<'de> for Limits {
            type Value = MaxPrefixes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a number of prefixes, or a table such as { ipv4-unicast = 1000, \
                     ipv6-unicast = 200 }",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MaxPrefixes, E> {
                bound(v).map(MaxPrefixes::All)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MaxPrefixes, E> {
                bound(u64::try_from(v).unwrap_or(0)).map(MaxPrefixes::All)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaxPrefixes, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    let family = value::parse_text::<Family>(&name).map_err(|_| {
                        de::Error::custom(format_args!(
                            "{name:?} is not an address family ({})",
                            Family::EXPECTING
                        ))
                    })?;
                    let n = bound(map.next_value::<u64>()?)?;
                    if out.insert(family, n).is_some() {
                        return Err(de::Error::custom(format_args!("{family} is given twice")));
                    }
                }
                if out.is_empty() {
                    return Err(de::Error::custom(
                        "the table is empty: leave `max_prefixes` out for no limit",
                    ));
                }
                Ok(MaxPrefixes::PerFamily(out))
            }
        }
        d.deserialize_any(Limits)
    }
}

impl Serialize for MaxPrefixes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MaxPrefixes::All(n) => s.serialize_u32(*n),
            MaxPrefixes::PerFamily(map) => {
                s.collect_map(map.iter().map(|(f, n)| (f.to_string(), *n)))
            }
        }
    }
}

/// `max_prefixes` (the key given means the bounds).
pub(super) fn max_prefixes<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<MaxPrefixes>, D::Error> {
    MaxPrefixes::deserialize(d).map(Some)
}

/// What happens when a peer sends more prefixes than `max_prefixes` allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxPrefixesAction {
    /// Send Cease / Maximum Number of Prefixes Reached (6/1) and keep the session down.
    #[default]
    Cease,
    /// Log it (once per crossing) and keep the session.
    Warn,
}

/// `max_prefixes_warning` when not given: percent of the bound.
pub const DEFAULT_MAX_PREFIXES_WARNING: u8 = 75;

/// `max_prefixes_warning`: a percentage 1..=100.
pub(super) fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    value::ranged(d, 1, 100).map(|v| v as u8)
}

/// `max_prefixes_restart_after`: 1 second to a day.
pub(super) fn restart_after<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    value::ranged(d, 1, 86_400).map(|v| Some(v as u32))
}

pub(super) fn default_warning() -> u8 {
    DEFAULT_MAX_PREFIXES_WARNING
}

pub(super) fn is_default_warning(v: &u8) -> bool {
    *v == DEFAULT_MAX_PREFIXES_WARNING
}

impl MaxPrefixesAction {
    /// Whether this is the default (`cease`): left out when written.
    pub fn is_default(&self) -> bool {
        *self == MaxPrefixesAction::default()
    }
}
