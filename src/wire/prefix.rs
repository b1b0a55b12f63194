//! Address families and IP prefixes as BGP carries them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Address Family Identifier (IANA "Address Family Numbers"). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Afi(pub u16);

impl Afi {
    /// IPv4.
    pub const IPV4: Afi = Afi(1);
    /// IPv6.
    pub const IPV6: Afi = Afi(2);
}

/// Subsequent Address Family Identifier. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Safi(pub u8);

impl Safi {
    /// Unicast forwarding.
    pub const UNICAST: Safi = Safi(1);
}

/// An (AFI, SAFI) pair: what a capability, an MP_REACH_NLRI or an End-of-RIB speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast.
    pub const IPV4_UNICAST: Family = Family {
        afi: Afi::IPV4,
        safi: Safi::UNICAST,
    };
    /// IPv6 unicast.
    pub const IPV6_UNICAST: Family = Family {
        afi: Afi::IPV6,
        safi: Safi::UNICAST,
    };

    /// The operator-facing name (`ipv4-unicast`), or `afi-N/safi-M` for others.
    pub fn name(&self) -> String {
        match *self {
            Family::IPV4_UNICAST => "ipv4-unicast".into(),
            Family::IPV6_UNICAST => "ipv6-unicast".into(),
            Family { afi, safi } => format!("afi-{}/safi-{}", afi.0, safi.0),
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Why a family name could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown address family {0:?} (expected \"ipv4-unicast\" or \"ipv6-unicast\")")]
pub struct FamilyParseError(pub String);

impl FromStr for Family {
    type Err = FamilyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ipv4-unicast" | "ipv4" => Ok(Family::IPV4_UNICAST),
            "ipv6-unicast" | "ipv6" => Ok(Family::IPV6_UNICAST),
            _ => Err(FamilyParseError(s.to_string())),
        }
    }
}

/// An IP prefix with its host bits cleared. IPv4 or IPv6 unicast NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a prefix is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// Text is not `ADDR/LEN`.
    #[error("{0:?} is not a prefix of the form ADDR/LEN")]
    Syntax(String),
    /// Length longer than the address.
    #[error("prefix length {len} is too long for {addr}")]
    Length {
        /// The address.
        addr: IpAddr,
        /// The length given.
        len: u8,
    },
    /// The length is not written as a plain decimal number (`10.0.0.0/08`, `/+8`): a leading
    /// zero reads as octal to some tools, so the intent is ambiguous.
    #[error("{text:?} is not written canonically: the length must be a plain decimal number (did you mean {canonical}?)")]
    NotCanonical {
        /// The text given.
        text: String,
        /// The same prefix written canonically.
        canonical: String,
    },
    /// Host bits set (e.g. `192.0.2.1/24`).
    #[error("{addr}/{len} has host bits set (did you mean {masked}?)")]
    HostBits {
        /// The address given.
        addr: IpAddr,
        /// The length given.
        len: u8,
        /// The address with host bits cleared.
        masked: IpAddr,
    },
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - len as u32)
            };
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len as u32)
            };
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

fn max_len(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

impl Prefix {
    /// A prefix, refusing host bits and lengths beyond the address size.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        if len > max_len(&addr) {
            return Err(PrefixError::Length { addr, len });
        }
        let masked = mask(addr, len);
        if masked != addr {
            return Err(PrefixError::HostBits { addr, len, masked });
        }
        Ok(Prefix { addr, len })
    }

    /// A prefix, clearing host bits; `None` if the length is too long.
    pub fn new_masked(addr: IpAddr, len: u8) -> Option<Prefix> {
        (len <= max_len(&addr)).then(|| Prefix {
            addr: mask(addr, len),
            len,
        })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    // A prefix length, not a container size: an `is_empty` would mean nothing.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for the default route (`/0`).
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// The unicast family this prefix belongs to.
    pub fn family(&self) -> Family {
        if self.addr.is_ipv4() {
            Family::IPV4_UNICAST
        } else {
            Family::IPV6_UNICAST
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| PrefixError::Syntax(s.to_string()))?;
        let addr: IpAddr = a.parse().map_err(|_| PrefixError::Syntax(s.to_string()))?;
        let len: u8 = l.parse().map_err(|_| PrefixError::Syntax(s.to_string()))?;
        let prefix = Prefix::new(addr, len)?;
        // `u8` parsing takes "024" and "+24": only the plain form is canonical.
        if l.starts_with('+') || (l.len() > 1 && l.starts_with('0')) {
            return Err(PrefixError::NotCanonical {
                text: s.to_string(),
                canonical: format!("{a}/{len}"),
            });
        }
        Ok(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_host_bits() {
        assert_eq!(
            "192.0.2.0/24".parse::<Prefix>().unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert!(matches!(
            "192.0.2.1/24".parse::<Prefix>(),
            Err(PrefixError::HostBits { .. })
        ));
        assert!(matches!(
            "192.0.2.0/33".parse::<Prefix>(),
            Err(PrefixError::Length { .. })
        ));
        assert_eq!(
            "2001:db8::/32".parse::<Prefix>().unwrap().family(),
            Family::IPV6_UNICAST
        );
    }

    #[test]
    fn refuses_a_length_not_written_canonically() {
        for text in ["10.0.0.0/08", "10.0.0.0/+8", "2001:db8::/032", "0.0.0.0/00"] {
            let err = text.parse::<Prefix>().unwrap_err();
            assert!(
                matches!(err, PrefixError::NotCanonical { .. }),
                "{text}: {err:?}"
            );
        }
        assert_eq!(
            "10.0.0.0/08".parse::<Prefix>().unwrap_err().to_string(),
            "\"10.0.0.0/08\" is not written canonically: the length must be a plain decimal \
             number (did you mean 10.0.0.0/8?)"
        );
        // Octets with leading zeros are refused by the address parser already.
        assert!(matches!(
            "010.0.0.0/8".parse::<Prefix>(),
            Err(PrefixError::Syntax(_))
        ));
        assert_eq!("0.0.0.0/0".parse::<Prefix>().unwrap().len(), 0);
    }
}
