//! `[fib]`: whether and how the best routes learned from peers go into the kernel's routing
//! table, with the checks on each key.
//!
//! Every route baton installs carries an rtnetlink protocol number ([`Fib::protocol`]): that
//! number is how baton recognises its own routes after a restart, and the only thing that keeps
//! its reconciliation from deleting someone else's. So the checks refuse the numbers the kernel
//! reserves and those iproute2 lists for other routing daemons: sharing one would make each
//! daemon delete the other's routes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::value;
use crate::wire::Family;

/// The kernel's main routing table (`RT_TABLE_MAIN`), the one `ip route` shows.
pub const MAIN_TABLE: u32 = 254;

/// The protocol number marking baton's routes by default (`ip route show proto 200`).
///
/// Not in iproute2's `rt_protos` (0–4 are the kernel's; 8–18, 42, 99 and 186–192 name gated,
/// zebra, BIRD, keepalived, babel, Open/R and FRR's daemons), and not used by the usual
/// container-network daemons (Calico's felix uses 80). Operators may name it in
/// `/etc/iproute2/rt_protos.d/baton.conf` (`200 baton`) so that `ip route` shows "proto baton".
pub const DEFAULT_PROTOCOL: u8 = 200;

/// Seconds between two comparisons of the kernel table with what baton wants there.
pub const DEFAULT_RECONCILE_INTERVAL: u32 = 10;

/// The longest reconcile interval accepted: one day. Longer is almost surely a unit mistake
/// (milliseconds written for seconds), and would leave a deleted route missing for days.
pub const MAX_RECONCILE_INTERVAL: u32 = 86_400;

/// The route priority (metric) baton installs with by default: FRR's value for BGP, above
/// the 0 of routes an operator adds by hand, so that those win and are never replaced.
pub const DEFAULT_METRIC: u32 = 20;

/// Protocol numbers that are not baton's to take: the kernel's own and those of other routing
/// daemons (iproute2 `rt_protos` and `linux/rtnetlink.h`).
const TAKEN_PROTOCOLS: &[(u8, &str)] = &[
    (0, "unspec"),
    (1, "redirect"),
    (2, "kernel"),
    (3, "boot"),
    (4, "static"),
    (8, "gated"),
    (9, "ra"),
    (10, "mrt"),
    (11, "zebra"),
    (12, "bird"),
    (13, "dnrouted"),
    (14, "xorp"),
    (15, "ntk"),
    (16, "dhcp"),
    (17, "mrouted"),
    (18, "keepalived"),
    (42, "babel"),
    (80, "calico"),
    (99, "openr"),
    (186, "bgp (FRR)"),
    (187, "isis (FRR)"),
    (188, "ospf (FRR)"),
    (189, "rip (FRR)"),
    (192, "eigrp (FRR)"),
];

/// `[fib]`: kernel route installation. Every key is optional; the whole table too (off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fib {
    /// Install the best learned routes into the kernel (default false).
    pub enabled: bool,
    /// The routing table: a number, or "main" (254, the default). 0 and 255 (the kernel's
    /// `local` table) are refused.
    #[serde(deserialize_with = "table")]
    pub table: u32,
    /// The rtnetlink protocol number marking our routes (default [`DEFAULT_PROTOCOL`]).
    #[serde(deserialize_with = "protocol")]
    pub protocol: u8,
    /// Seconds between reconciliation runs: 1 to [`MAX_RECONCILE_INTERVAL`] (default
    /// [`DEFAULT_RECONCILE_INTERVAL`]).
    #[serde(deserialize_with = "reconcile_interval")]
    pub reconcile_interval: u32,
    /// The priority (metric) of our routes (default [`DEFAULT_METRIC`]).
    pub metric: u32,
    /// Leave our routes in the kernel on a deliberate stop too (default false: SIGTERM
    /// removes them, as the peers are told we are gone).
    pub keep_on_stop: bool,
    /// Install a multipath route through every next hop of the routes as good as the best
    /// ([`crate::rib::multipath_equal`]); default false (like BIRD's `merge paths`): the best
    /// route's next hop only.
    pub multipath: bool,
    /// Preferred source address of the IPv4 routes (`ip route ... src`); must be an address
    /// of this host.
    #[serde(
        default,
        deserialize_with = "src_v4",
        skip_serializing_if = "Option::is_none"
    )]
    pub src_v4: Option<Ipv4Addr>,
    /// Preferred source address of the IPv6 routes.
    #[serde(
        default,
        deserialize_with = "src_v6",
        skip_serializing_if = "Option::is_none"
    )]
    pub src_v6: Option<Ipv6Addr>,
    /// The families whose routes are installed (default both).
    #[serde(
        deserialize_with = "value::families",
        serialize_with = "value::text_list::serialize"
    )]
    pub families: Vec<Family>,
    /// Peers whose routes are never installed: when the best route to a prefix comes from one
    /// of them, the kernel gets no route for it from baton.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_peers: Vec<IpAddr>,
}

impl Default for Fib {
    fn default() -> Self {
        Fib {
            enabled: false,
            table: MAIN_TABLE,
            protocol: DEFAULT_PROTOCOL,
            reconcile_interval: DEFAULT_RECONCILE_INTERVAL,
            metric: DEFAULT_METRIC,
            keep_on_stop: false,
            multipath: false,
            src_v4: None,
            src_v6: None,
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            exclude_peers: Vec::new(),
        }
    }
}

impl Fib {
    /// True when every key has its default (the table is then left out when written).
    pub fn is_default(&self) -> bool {
        *self == Fib::default()
    }

    /// The preferred source for routes of `family`, if one is set.
    pub fn src(&self, family: Family) -> Option<IpAddr> {
        if family == Family::IPV4_UNICAST {
            self.src_v4.map(IpAddr::V4)
        } else if family == Family::IPV6_UNICAST {
            self.src_v6.map(IpAddr::V6)
        } else {
            None
        }
    }
}

fn custom<E: de::Error>(msg: impl fmt::Display) -> E {
    E::custom(msg)
}

/// A routing table: a number or "main"; not 0 (unspecified) nor 255 (the kernel's local
/// routes).
fn table<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    struct TableVisitor;
    impl Visitor<'_> for TableVisitor {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a routing table number (1 to 4294967295, not 255) or \"main\"")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
            match u32::try_from(v) {
                Ok(0) => Err(custom(
                    "table 0 is not a table (RT_TABLE_UNSPEC): use \"main\" or a number",
                )),
                Ok(255) => Err(custom(
                    "table 255 is the kernel's local table, not for routes learned by BGP",
                )),
                Ok(t) => Ok(t),
                Err(_) => Err(custom(format_args!(
                    "table {v} is out of range (1 to 4294967295)"
                ))),
            }
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
            match v {
                "main" => Ok(MAIN_TABLE),
                other => Err(custom(format_args!(
                    "unknown table name {other:?}: write \"main\" or a table number"
                ))),
            }
        }
    }
    d.deserialize_any(TableVisitor)
}

/// The protocol number of our routes: one no other daemon (nor the kernel) uses.
fn protocol<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let p = u8::deserialize(d)?;
    match TAKEN_PROTOCOLS.iter().find(|(n, _)| *n == p) {
        Some((_, name)) if p <= 4 => Err(custom(format_args!(
            "protocol {p} ({name}) is the kernel's own: choose a number no daemon uses, such \
             as {DEFAULT_PROTOCOL}"
        ))),
        Some((_, name)) => Err(custom(format_args!(
            "protocol {p} is {name}'s: baton would delete that daemon's routes as its own; \
             choose a number no daemon uses, such as {DEFAULT_PROTOCOL}"
        ))),
        None => Ok(p),
    }
}

/// Seconds between reconciliation runs: at least 1, at most a day.
fn reconcile_interval<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match i64::deserialize(d)? {
        s if s < 1 => Err(custom(format_args!(
            "reconcile interval {s} is not allowed: it must be at least 1 second"
        ))),
        s if s > i64::from(MAX_RECONCILE_INTERVAL) => Err(custom(format_args!(
            "reconcile interval {s} is too long: at most {MAX_RECONCILE_INTERVAL} seconds (one \
             day); the interval is in seconds"
        ))),
        // In range: at most MAX_RECONCILE_INTERVAL, which fits.
        s => Ok(u32::try_from(s).unwrap_or(MAX_RECONCILE_INTERVAL)),
    }
}

fn check_src<E: de::Error>(addr: IpAddr) -> Result<(), E> {
    if addr.is_unspecified() || addr.is_multicast() {
        return Err(custom(format_args!(
            "{addr} cannot be a preferred source: it must be a unicast address of this host"
        )));
    }
    Ok(())
}

fn src_v4<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ipv4Addr>, D::Error> {
    src(d, "IPv4")
}

fn src_v6<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ipv6Addr>, D::Error> {
    src(d, "IPv6")
}

/// A preferred source address of one family (`family` names it in the error).
fn src<'de, D, A>(d: D, family: &str) -> Result<Option<A>, D::Error>
where
    D: Deserializer<'de>,
    A: std::str::FromStr + Into<IpAddr> + Copy,
{
    let text = String::deserialize(d)?;
    let addr: A = text
        .parse()
        .map_err(|_| custom(format_args!("{text:?} is not an {family} address")))?;
    check_src(addr.into())?;
    Ok(Some(addr))
}
