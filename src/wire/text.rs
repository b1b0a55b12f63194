//! The text forms of communities, as operators write them in configs and read them in output.
//!
//! A standard community (RFC 1997) is `A:B` with both halves at most 65535, or one of the
//! well-known names IANA registers (`no-export`, `no-advertise`, ...). A large community
//! (RFC 8092) is `A:B:C` with three 32-bit parts. `Display` and `FromStr` round-trip.

use std::fmt;
use std::str::FromStr;

use super::{Community, LargeCommunity};

/// Well-known communities and their operator-facing names (IANA "BGP Well-known Communities").
const WELL_KNOWN: &[(&str, Community)] = &[
    ("graceful-shutdown", Community(0xFFFF_0000)), // RFC 8326
    ("llgr-stale", Community::LLGR_STALE),         // RFC 9494
    ("no-llgr", Community::NO_LLGR),               // RFC 9494
    ("blackhole", Community(0xFFFF_029A)),         // RFC 7999
    ("no-export", Community::NO_EXPORT),           // RFC 1997
    ("no-advertise", Community::NO_ADVERTISE),     // RFC 1997
    ("no-export-subconfed", Community(0xFFFF_FF03)), // RFC 1997
    ("no-peer", Community(0xFFFF_FF04)),           // RFC 3765
];

impl Community {
    /// The well-known name of this community (`no-export`), if it has one.
    pub fn well_known_name(&self) -> Option<&'static str> {
        WELL_KNOWN
            .iter()
            .find(|(_, c)| c == self)
            .map(|(name, _)| *name)
    }
}

/// Why a text is not a standard community.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommunityParseError {
    /// Not `A:B` and not a well-known name.
    #[error(
        "{0:?} is not a community (expected A:B with A and B at most 65535, \
         or a well-known name such as no-export or no-advertise)"
    )]
    Syntax(String),
    /// One half is a number above 65535.
    #[error("{text:?} is not a community: {part} is larger than 65535")]
    Range {
        /// The text given.
        text: String,
        /// The half that does not fit in 16 bits.
        part: u64,
    },
}

/// Why a text is not a large community.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LargeCommunityParseError {
    /// Not three colon-separated numbers.
    #[error("{0:?} is not a large community (expected A:B:C with each part at most 4294967295)")]
    Syntax(String),
    /// One part is a number above 4294967295.
    #[error("{text:?} is not a large community: {part} is larger than 4294967295")]
    Range {
        /// The text given.
        text: String,
        /// The part that does not fit in 32 bits.
        part: u64,
    },
}

/// A decimal number of ASCII digits only (no sign, no spaces), if it fits in a `u64`.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromStr for Community {
    type Err = CommunityParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((_, c)) = WELL_KNOWN.iter().find(|(name, _)| *name == s) {
            return Ok(*c);
        }
        let syntax = || CommunityParseError::Syntax(s.to_string());
        let (a, b) = s.split_once(':').ok_or_else(syntax)?;
        let a = number(a).ok_or_else(syntax)?;
        let b = number(b).ok_or_else(syntax)?;
        for part in [a, b] {
            if part > 0xFFFF {
                return Err(CommunityParseError::Range {
                    text: s.to_string(),
                    part,
                });
            }
        }
        Ok(Community(((a as u32) << 16) | b as u32))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.well_known_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}:{}", self.0 >> 16, self.0 & 0xFFFF),
        }
    }
}

impl FromStr for LargeCommunity {
    type Err = LargeCommunityParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || LargeCommunityParseError::Syntax(s.to_string());
        let mut parts = [0u32; 3];
        let mut fields = s.split(':');
        for slot in parts.iter_mut() {
            let part = fields.next().and_then(number).ok_or_else(syntax)?;
            *slot = u32::try_from(part).map_err(|_| LargeCommunityParseError::Range {
                text: s.to_string(),
                part,
            })?;
        }
        if fields.next().is_some() {
            return Err(syntax());
        }
        Ok(LargeCommunity {
            global: parts[0],
            local1: parts[1],
            local2: parts[2],
        })
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_text_round_trips() {
        for (text, value) in [
            ("65001:100", Community(65001 << 16 | 100)),
            ("0:0", Community(0)),
            ("65535:65535", Community(0xFFFF_FFFF)),
            ("no-export", Community::NO_EXPORT),
            ("no-advertise", Community::NO_ADVERTISE),
            ("llgr-stale", Community::LLGR_STALE),
        ] {
            assert_eq!(text.parse::<Community>().unwrap(), value, "{text}");
            assert_eq!(value.to_string(), text);
        }
        // A well-known value written as numbers parses to the same community.
        assert_eq!(
            "65535:65281".parse::<Community>().unwrap(),
            Community::NO_EXPORT
        );
    }

    #[test]
    fn community_text_refuses_out_of_range_and_garbage() {
        assert_eq!(
            "65536:1".parse::<Community>(),
            Err(CommunityParseError::Range {
                text: "65536:1".into(),
                part: 65536
            })
        );
        for bad in [
            "",
            "1",
            "1:",
            ":1",
            "1:2:3",
            "a:b",
            "-1:2",
            "+1:2",
            " 1:2",
            "no_export",
        ] {
            assert_eq!(
                bad.parse::<Community>(),
                Err(CommunityParseError::Syntax(bad.into())),
                "{bad:?}"
            );
        }
        assert!("99999999999999999999:1".parse::<Community>().is_err());
    }

    #[test]
    fn large_community_text_round_trips_and_refuses() {
        let c: LargeCommunity = "65001:1:4294967295".parse().unwrap();
        assert_eq!(
            c,
            LargeCommunity {
                global: 65001,
                local1: 1,
                local2: u32::MAX
            }
        );
        assert_eq!(c.to_string(), "65001:1:4294967295");
        assert!(matches!(
            "65001:1:4294967296".parse::<LargeCommunity>(),
            Err(LargeCommunityParseError::Range {
                part: 4294967296,
                ..
            })
        ));
        for bad in ["65001:1", "65001:1:1:1", "a:1:1", "1::1", ""] {
            assert!(
                matches!(
                    bad.parse::<LargeCommunity>(),
                    Err(LargeCommunityParseError::Syntax(_))
                ),
                "{bad:?}"
            );
        }
    }
}
