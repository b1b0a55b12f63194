//! Talking to the kernel's routing tables over rtnetlink (the `rtnetlink` crate on tokio): dump
//! the routes of one table, and write many routes at once.
//!
//! Writes are pipelined: up to [`IN_FLIGHT`] requests are on the socket before the first
//! answer is read, so a batch of routes costs a few round trips, not one per route. Answers
//! come back in order, and the kernel applies requests of one socket in order, so a batch that
//! adds a route and then deletes the one it supersedes keeps that order.

use std::io;
use std::net::IpAddr;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;

use super::diff::Found;
use super::{KernelRoute, Via};
use crate::wire::Prefix;

/// Requests on the socket before waiting for the first answer.
pub const IN_FLIGHT: usize = 512;

/// A failed netlink request, with the kernel's errno when it gave one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KernelError {
    /// The errno (positive), if the kernel answered with one.
    pub errno: Option<i32>,
    /// What went wrong, in words.
    pub message: String,
}

impl KernelError {
    fn io(e: &io::Error) -> KernelError {
        KernelError {
            errno: e.raw_os_error(),
            message: e.to_string(),
        }
    }

    fn from_rtnetlink(e: rtnetlink::Error) -> KernelError {
        match e {
            rtnetlink::Error::NetlinkError(m) => {
                let errno = m.raw_code().abs();
                let io = io::Error::from_raw_os_error(errno);
                KernelError {
                    errno: Some(errno),
                    message: match errno {
                        libc::EEXIST => {
                            format!(
                                "{io}: another route (not ours) holds this destination and metric"
                            )
                        }
                        _ => io.to_string(),
                    },
                }
            }
            other => KernelError {
                errno: None,
                message: other.to_string(),
            },
        }
    }

    /// True if the kernel had no such route (a delete of what is already gone).
    pub fn is_missing(&self) -> bool {
        self.errno == Some(libc::ESRCH)
    }
}

/// One write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Add a route where the kernel has none in its slot (`NLM_F_EXCL`: never overwrite a
    /// route that is not ours).
    Add(KernelRoute),
    /// Replace our route in the same slot (`NLM_F_REPLACE`), atomically.
    Replace(KernelRoute),
    /// Delete exactly this route of ours (protocol, gateway, source and metric must match).
    Delete(KernelRoute),
}

impl Op {
    /// The route written.
    pub fn route(&self) -> &KernelRoute {
        match self {
            Op::Add(r) | Op::Replace(r) | Op::Delete(r) => r,
        }
    }
}

/// A netlink connection to the kernel's routing tables, writing routes marked `protocol`.
#[derive(Debug, Clone)]
pub struct Kernel {
    handle: rtnetlink::Handle,
    protocol: u8,
}

impl Kernel {
    /// Open a netlink socket (in the network namespace of the calling thread) and run its
    /// connection on the current tokio runtime.
    pub fn open(protocol: u8) -> Result<Kernel, KernelError> {
        let (connection, handle, _) =
            rtnetlink::new_connection_with_strict_check().map_err(|e| KernelError::io(&e))?;
        tokio::spawn(connection);
        Ok(Kernel { handle, protocol })
    }

    /// Every unicast route through a gateway in `table`, of our protocol only when `only_ours`
    /// (the kernel filters the dump: strict checking is on).
    pub async fn dump(&self, table: u32, only_ours: bool) -> Result<Vec<Found>, KernelError> {
        let mut found = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut request = RouteMessage::default();
            request.header.address_family = family;
            set_table(&mut request, table);
            if only_ours {
                request.header.protocol = RouteProtocol::from(self.protocol);
            }
            let mut routes = self.handle.route().get(request).execute();
            while let Some(message) = routes
                .try_next()
                .await
                .map_err(KernelError::from_rtnetlink)?
            {
                found.extend(parse(&message).filter(|f| f.route.table == table));
            }
        }
        Ok(found)
    }

    /// Carry out `ops` in order, pipelined; one result per op, in the same order.
    pub async fn write(&self, ops: &[Op]) -> Vec<Result<(), KernelError>> {
        let mut results = Vec::with_capacity(ops.len());
        // In chunks, each built before awaiting it: a closure held across the await would make
        // the future not Send (rustc cannot prove it for every lifetime), and a million
        // request futures at once would cost a lot of memory.
        for chunk in ops.chunks(8 * IN_FLIGHT) {
            let requests: Vec<_> = chunk.iter().map(|op| self.one(op)).collect();
            let done: Vec<_> = stream::iter(requests).buffered(IN_FLIGHT).collect().await;
            results.extend(done);
        }
        results
    }

    async fn one(&self, op: &Op) -> Result<(), KernelError> {
        let routes = self.handle.route();
        let message = message(op.route(), self.protocol);
        let done = match op {
            Op::Add(_) => routes.add(message).execute().await,
            Op::Replace(_) => routes.add(message).replace().execute().await,
            Op::Delete(_) => routes.del(message).execute().await,
        };
        done.map_err(KernelError::from_rtnetlink)
    }
}

fn set_table(message: &mut RouteMessage, table: u32) {
    // Tables above 255 only fit the RTA_TABLE attribute; the kernel prefers it when present.
    message.header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    message.attributes.push(RouteAttribute::Table(table));
}

/// The request for `route`, marked `protocol`.
fn message(route: &KernelRoute, protocol: u8) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = if route.prefix.addr().is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.destination_prefix_length = route.prefix.len();
    m.header.protocol = RouteProtocol::from(protocol);
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    set_table(&mut m, route.table);
    m.attributes
        .push(RouteAttribute::Destination(route.prefix.addr().into()));
    match &route.via {
        Via::One(gateway) => m
            .attributes
            .push(RouteAttribute::Gateway((*gateway).into())),
        // Equal weights (hops 0 is weight 1); the kernel finds each gateway's link.
        Via::Many(gateways) => m.attributes.push(RouteAttribute::MultiPath(
            gateways
                .iter()
                .map(|g| {
                    let mut hop = RouteNextHop::default();
                    hop.attributes.push(RouteAttribute::Gateway((*g).into()));
                    hop
                })
                .collect(),
        )),
    }
    if let Some(src) = route.src {
        m.attributes.push(RouteAttribute::PrefSource(src.into()));
    }
    m.attributes.push(RouteAttribute::Priority(route.metric));
    m
}

fn ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// A dumped route as baton sees routes, a multipath one with every gateway; `None` for what it
/// never installs (no gateway, not unicast, not IP).
fn parse(m: &RouteMessage) -> Option<Found> {
    if m.header.kind != RouteType::Unicast {
        return None;
    }
    let unspecified: IpAddr = match m.header.address_family {
        AddressFamily::Inet => std::net::Ipv4Addr::UNSPECIFIED.into(),
        AddressFamily::Inet6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
        _ => return None,
    };
    let (mut table, mut dst, mut gateways, mut src, mut metric) =
        (u32::from(m.header.table), unspecified, Vec::new(), None, 0);
    for attribute in &m.attributes {
        match attribute {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(a) => dst = ip(a)?,
            RouteAttribute::Gateway(a) => gateways.extend(ip(a)),
            RouteAttribute::PrefSource(a) => src = ip(a),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::MultiPath(hops) => {
                gateways.extend(
                    hops.iter()
                        .flat_map(|h| &h.attributes)
                        .filter_map(|a| match a {
                            RouteAttribute::Gateway(g) => ip(g),
                            _ => None,
                        }),
                );
            }
            _ => {}
        }
    }
    Some(Found {
        route: KernelRoute {
            table,
            prefix: Prefix::new(dst, m.header.destination_prefix_length).ok()?,
            via: Via::new(gateways)?,
            src,
            metric,
        },
        protocol: u8::from(m.header.protocol),
    })
}
