//! Checks that relate several values of a deserialized config, and the defaults that depend on
//! other keys.
//!
//! Each failed check names the field to blame by its path; [`super::parse`] looks up where that
//! field is written to give the line.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use super::error::FieldPath;
use super::schema::{Config, Peer, Route, CONTROL_SOCKET_NAME};
use super::security::MaxPrefixes;

/// A failed check: the field to blame and what is wrong with it.
pub(crate) type Failure = (FieldPath, String);

/// The longest Unix socket path `bind` takes (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Fill in the defaults that depend on other keys, then run every check.
pub(super) fn complete_and_check(config: &mut Config) -> Result<(), Failure> {
    let global = &mut config.global;
    let socket_field = if global.control_socket.as_os_str().is_empty() {
        global.control_socket = global.state_dir.join(CONTROL_SOCKET_NAME);
        "state_dir"
    } else {
        "control_socket"
    };
    let socket_len = global.control_socket.as_os_str().len();
    if socket_len > MAX_SOCKET_PATH {
        return Err((
            FieldPath::key("global").field(socket_field),
            format!(
                "the control socket path {} is {socket_len} bytes long; Unix sockets allow at \
                 most {MAX_SOCKET_PATH}",
                global.control_socket.display()
            ),
        ));
    }
    for peer in &mut config.peers {
        complete_peer(peer);
    }
    check(config)
}

/// Every cross-field check, in file order.
fn check(config: &Config) -> Result<(), Failure> {
    let listen = FieldPath::key("global").field("listen");
    if let Some((i, first)) = first_duplicate(config.global.listen.iter().copied()) {
        return Err((
            listen.at(i),
            format!(
                "{} is listed twice (also global.listen[{first}])",
                config.global.listen[i]
            ),
        ));
    }
    if let Some(api) = config.api.as_ref().and_then(|api| api.listen) {
        if let Some(j) = config.global.listen.iter().position(|l| *l == api) {
            return Err((
                FieldPath::key("api").field("listen"),
                format!("{api} is also a BGP listen address (global.listen[{j}])"),
            ));
        }
    }
    if let Some(api) = &config.api {
        super::api_access::check(api)?;
    }

    let addresses = config.peers.iter().map(|p| p.address.to_canonical());
    if let Some((i, first)) = first_duplicate(addresses) {
        return Err((
            FieldPath::key("peer").at(i).field("address"),
            format!(
                "{} is already the address of peer[{first}]",
                config.peers[i].address
            ),
        ));
    }
    for (i, peer) in config.peers.iter().enumerate() {
        check_peer(peer, FieldPath::key("peer").at(i))?;
    }
    check_routes(&config.routes, "route")
}

/// Fill in the defaults of one peer that depend on other keys: `families` from `address`.
pub(crate) fn complete_peer(peer: &mut Peer) {
    peer.families = peer.session_families();
}

/// The checks that relate the values of one peer; `at` is the path of the peer itself (empty
/// for a peer that stands alone, as in an API request).
pub(crate) fn check_peer(peer: &Peer, at: FieldPath) -> Result<(), Failure> {
    if let Some(local) = peer.local_address {
        if local.is_ipv4() != peer.address.is_ipv4() {
            return Err((
                at.field("local_address"),
                format!(
                    "{local} is {} but the peer address {} is {}",
                    family_word(local),
                    peer.address,
                    family_word(peer.address)
                ),
            ));
        }
    }
    // A peer that stands alone comes from the REST API or batonctl and is saved in the state
    // directory, where a password is never written: it would be lost at the next start.
    if at == FieldPath::default() && peer.password.is_some() {
        return Err((
            at.field("password"),
            "a peer added at run time takes `password_file`, not `password`: the password \
             would not be saved (it is never written to the state directory)"
                .into(),
        ));
    }
    if peer.password.is_some() && peer.password_file.is_some() {
        return Err((
            at.clone().field("password_file"),
            "give either password or password_file, not both".into(),
        ));
    }
    if peer.password_file.is_some() {
        peer.md5_password()
            .map_err(|message| (at.clone().field("password_file"), message))?;
    }
    if let Some(MaxPrefixes::PerFamily(limits)) = &peer.max_prefixes {
        if let Some(family) = limits.keys().find(|f| !peer.families.contains(f)) {
            return Err((
                at.clone().field("max_prefixes").field(&family.to_string()),
                format!("{family} is not one of the peer's families"),
            ));
        }
    }
    if let Some((j, first)) = first_duplicate(peer.families.iter().copied()) {
        return Err((
            at.field("families").at(j),
            format!(
                "{} is listed twice (also families[{first}])",
                peer.families[j]
            ),
        ));
    }
    Ok(())
}

/// The checks on a list of routes, written under the top-level key `key`: no prefix twice, and
/// [`check_route`] on each.
pub(crate) fn check_routes(routes: &[Route], key: &str) -> Result<(), Failure> {
    if let Some((i, first)) = first_duplicate(routes.iter().map(|r| r.prefix)) {
        return Err((
            FieldPath::key(key).at(i).field("prefix"),
            format!(
                "{} is already originated by {key}[{first}]",
                routes[i].prefix
            ),
        ));
    }
    for (i, route) in routes.iter().enumerate() {
        check_route(route, FieldPath::key(key).at(i))?;
    }
    Ok(())
}

/// The checks that relate the values of one route; `at` is the path of the route itself (empty
/// for a route that stands alone).
pub(crate) fn check_route(route: &Route, at: FieldPath) -> Result<(), Failure> {
    let Some(next_hop) = route.next_hop else {
        return Ok(());
    };
    let at = at.field("next_hop");
    if next_hop.is_ipv4() != route.prefix.addr().is_ipv4() {
        return Err((
            at,
            format!(
                "next hop {next_hop} is {} but prefix {} is {}",
                family_word(next_hop),
                route.prefix,
                family_word(route.prefix.addr())
            ),
        ));
    }
    if next_hop.is_unspecified() || next_hop.is_multicast() {
        return Err((at, format!("{next_hop} is not a usable next hop")));
    }
    Ok(())
}

fn family_word(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// The index of the first item seen before, with the index of its first occurrence.
fn first_duplicate<T: Eq + Hash>(items: impl IntoIterator<Item = T>) -> Option<(usize, usize)> {
    let mut seen = HashMap::new();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(first) = seen.insert(item, i) {
            return Some((i, first));
        }
    }
    None
}
