//! The RIB snapshot's payload read back: its routes by hand, in the exact shape
//! [`write_rib`](super::rib_json::write_rib) writes, the attribute sets and kernel routes by
//! serde.
//!
//! A new speaker loads the snapshot before it can take its peers' routes as stale, so the load
//! is on the path of every restart. Through serde each of a full table's 1.1M routes was a
//! two-item list read by a visitor into a list of pairs, then its prefix parsed by the general
//! address parser, then looked up by its set: 0.27–0.32 s. Here a route is a few byte
//! comparisons, an IPv4 prefix parsed by hand, and pushed straight into its peer's routes.
//!
//! Anything this reader does not expect (another field order, whitespace, an older file's
//! `adj_out`, a set number past the sets, a peer listed twice) is not an error here: the whole
//! payload is then read by serde, as before, which accepts it or refuses it with its message.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::json_cursor::{by_hand_or_serde, prefix, Cursor, Unusual};
use super::{KernelRoute, RibSnapshot, SavedAttrs, SavedRoutes};
use crate::rib::{PathAttrs, SharedAttrs};

/// Read a RIB snapshot payload as serde would.
pub(super) fn read_rib(payload: &[u8]) -> serde_json::Result<RibSnapshot> {
    by_hand_or_serde(payload, "RIB snapshot", read_usual)
}

/// The snapshot, if its payload is in the writer's shape.
pub(super) fn read_usual(payload: &[u8]) -> Result<RibSnapshot, Unusual> {
    let mut c = Cursor::new(payload);
    c.expect(b"{\"attr_sets\":", "{\"attr_sets\": at the start")?;
    let sets: Vec<SavedAttrs> = c.value("attribute sets that serde reads")?;
    let sets: Vec<SharedAttrs> = sets
        .into_iter()
        .map(|s| Arc::new(PathAttrs::from(s)))
        .collect();
    c.expect(
        b",\"adj_out\":[],\"adj_in\":",
        "an empty adj_out, then adj_in",
    )?;
    let mut adj_in = BTreeMap::new();
    c.list(|c| {
        let (peer, routes) = c.peer_routes(&sets)?;
        match adj_in.insert(peer, routes) {
            None => Ok(()),
            Some(_) => Err(c.unusual("each peer once")),
        }
    })?;
    c.expect(b",\"kernel_routes\":", "kernel_routes after adj_in")?;
    let kernel_routes: Vec<KernelRoute> = c.value("kernel routes that serde reads")?;
    c.expect(b"}", "the end of the snapshot")?;
    if c.at != payload.len() {
        return Err(c.unusual("nothing after the snapshot"));
    }
    Ok(RibSnapshot {
        adj_in,
        kernel_routes,
    })
}

impl Cursor<'_> {
    /// `{"peer":"ADDRESS","routes":[["PREFIX",SET],…]}`.
    fn peer_routes(&mut self, sets: &[SharedAttrs]) -> Result<(IpAddr, SavedRoutes), Unusual> {
        self.expect(b"{\"peer\":", "a peer, {\"peer\": first")?;
        let peer: IpAddr = self.text("a peer's address")?;
        self.expect(b",\"routes\":[", "its routes")?;
        let mut routes = SavedRoutes::default();
        if !self.eat(b"]") {
            loop {
                self.expect(b"[", "a route, [\"prefix\", set]")?;
                let prefix = self.parsed("a prefix", prefix)?;
                self.expect(b",", "`,` after a route's prefix")?;
                let at = self.at;
                let set = self.number()?;
                let attrs = sets.get(set as usize).ok_or(Unusual {
                    at,
                    expected: "the number of an attribute set listed",
                })?;
                routes.push(prefix, attrs);
                self.expect(b"]", "`]` after a route's set")?;
                if self.eat(b"]") {
                    break;
                }
                self.expect(b",", "`,` or `]` in a peer's routes")?;
            }
        }
        self.expect(b"}", "`}` after a peer's routes")?;
        Ok((peer, routes))
    }
}
