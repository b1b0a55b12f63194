//! What baton keeps on disk: the operator's intent and a snapshot of the RIB.
//!
//! The intent is what was asked for (config and API changes) and must never be lost once
//! acknowledged. The RIB snapshot is what a new speaker needs to advertise at once after an
//! upgrade or a crash: what each peer was sent and had sent us, and which kernel routes are ours.
//!
//! In memory a snapshot's routes share their attributes with the RIB ([`SharedAttrs`]) and are
//! grouped by attribute set ([`SavedRoutes`]: 4 bytes an IPv4 route), so taking a snapshot of a
//! million routes copies prefixes, not attribute sets. On disk each distinct set is
//! written once (`attr_sets`) and routes refer to it by index; loading gives routes with equal
//! sets the same `Arc` again, ready for the RIB's interner.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{RouteTable, RouteTableBuilder, SavedAttrs, SavedRoutes};
use crate::config::{Config, Peer, Route};
use crate::rib::{PathAttrs, SharedAttrs};
use crate::wire::Prefix;

/// The operator's intent: the last applied configuration and the changes made at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// The last applied configuration, as parsed. Saved without its routes: the
    /// configuration file holds them (a speaker reads it, never this copy), and at a million
    /// routes they made every save and every load of the intent cost a third of a second.
    #[serde(serialize_with = "settings_only")]
    pub config: Config,
    /// Routes originated at run time through the API or the CLI, by prefix, their attributes
    /// shared: a change costs O(log n) however many there are (a sorted vector moved half of a
    /// million routes for each insertion). On disk a list of routes, in prefix order.
    #[serde(default, with = "route_map")]
    pub api_routes: RouteTable,
    /// Peers added at run time through the API or the CLI.
    #[serde(default)]
    pub api_peers: Vec<Peer>,
    /// Peers administratively disabled (by address), whether configured or added at run time.
    #[serde(default)]
    pub disabled_peers: Vec<IpAddr>,
}

impl Intent {
    /// The intent of a freshly applied `config`, with no run-time changes.
    pub fn new(config: Config) -> Intent {
        Intent {
            config,
            api_routes: RouteTable::default(),
            api_peers: Vec::new(),
            disabled_peers: Vec::new(),
        }
    }

    /// Add (or replace, by prefix) run-time routes; a prefix given twice: the last one wins.
    pub fn announce(&mut self, routes: Vec<Route>) {
        self.api_routes.extend(routes);
    }

    /// Withdraw run-time routes; returns how many there were.
    pub fn withdraw(&mut self, prefixes: &[Prefix]) -> usize {
        let removed = prefixes.iter().map(|p| self.api_routes.remove(p));
        removed.filter(Option::is_some).count()
    }

    /// Apply one journaled change.
    pub fn apply(&mut self, change: &IntentChange) {
        match change {
            IntentChange::Announce(routes) => self.announce(routes.clone()),
            IntentChange::Withdraw(prefixes) => {
                self.withdraw(prefixes);
            }
        }
    }
}

/// A run-time change of the originated routes, as the intent's journal keeps it (see
/// [`super::journal`]): idempotent, so replaying one the snapshot already holds changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntentChange {
    /// Routes added or replaced.
    Announce(Vec<Route>),
    /// Routes withdrawn, by prefix.
    Withdraw(#[serde(with = "prefix_list")] Vec<Prefix>),
}

/// Routes by prefix, written as the list of routes (the format of a `Vec<Route>`).
mod route_map {
    use super::*;

    pub(super) fn serialize<S: Serializer>(routes: &RouteTable, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(routes.routes())
    }

    /// The routes keyed as they are read. A prefix listed twice: the last wins.
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RouteTable, D::Error> {
        d.deserialize_seq(Routes)
    }

    struct Routes;

    impl<'de> Visitor<'de> for Routes {
        type Value = RouteTable;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of routes")
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut routes = RouteTableBuilder::default();
            while let Some(route) = seq.next_element::<Route>()? {
                routes.push(route);
            }
            Ok(routes.finish())
        }
    }
}

mod prefix_list {
    use super::*;

    pub(super) fn serialize<S: Serializer>(ps: &[Prefix], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ps.iter().map(|p| p.to_string()))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Prefix>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| t.parse().map_err(de::Error::custom))
            .collect()
    }
}

/// One route of an Adj-RIB: a prefix and its attributes, shared with the RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRoute {
    /// The prefix.
    pub prefix: Prefix,
    /// Its attributes (with the next hop).
    pub attrs: SharedAttrs,
}

/// A route baton installed in the kernel. A placeholder until the FIB module exists: the
/// snapshot carries the list so the format need not change when it is filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelRoute {
    /// The destination.
    #[serde(with = "prefix_text")]
    pub prefix: Prefix,
    /// The gateway, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// The kernel routing table.
    pub table: u32,
}

/// What a new speaker cannot rebuild by itself: each peer's Adj-RIB-In (kept as stale routes
/// through graceful restart) and the kernel routes baton owns.
///
/// Not each peer's Adj-RIB-Out: what we send is a function of the intent and the session, which
/// a new speaker recomputes. Saving it cost a copy of the whole originated table per peer, on
/// every save and in the upgrade's critical path (1.0 s at 1M routes and two peers, between
/// Quiesce and the sessions' end). Files still carry an empty `adj_out` for speakers that
/// expect the field, and one read from an older file is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RibSnapshot {
    /// Per peer: the routes it sent us (kept for graceful restart as stale routes).
    pub adj_in: BTreeMap<IpAddr, SavedRoutes>,
    /// Kernel routes baton installed (empty until the FIB module fills it).
    pub kernel_routes: Vec<KernelRoute>,
}

impl RibSnapshot {
    /// The number of routes in all Adj-RIBs.
    pub fn route_count(&self) -> usize {
        self.adj_in.values().map(SavedRoutes::len).sum()
    }
}

/// The snapshot as written: attribute sets once, routes as `["prefix", set index]`.
#[derive(Serialize)]
struct DiskRibRef<'a> {
    attr_sets: Vec<SavedAttrs>,
    /// Always empty (see [`RibSnapshot`]).
    adj_out: [DiskPeerRef<'a>; 0],
    adj_in: Vec<DiskPeerRef<'a>>,
    kernel_routes: &'a [KernelRoute],
}

#[derive(Serialize)]
struct DiskPeerRef<'a> {
    peer: IpAddr,
    routes: RoutesRef<'a>,
}

/// A peer's routes as `["prefix", set index]` pairs, written as they are read from the
/// snapshot (no list of pairs built first: that was a second copy of the table).
struct RoutesRef<'a> {
    routes: &'a SavedRoutes,
    index: &'a HashMap<*const PathAttrs, u32>,
}

impl Serialize for RoutesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.routes.len()))?;
        for r in self.routes.iter() {
            let i = self.index[&Arc::as_ptr(&r.attrs)];
            seq.serialize_element(&(PrefixRef(r.prefix), i))?;
        }
        seq.end()
    }
}

/// Writes a prefix as its text, without an intermediate `String`.
struct PrefixRef(Prefix);

impl Serialize for PrefixRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Numbers the distinct attribute sets: by pointer first (cheap, the usual case of interned
/// sets), then by value.
#[derive(Default)]
pub(super) struct SetIndex<'a> {
    /// A set's number, by the address of its shared copy.
    pub(super) by_ptr: HashMap<*const PathAttrs, u32>,
    by_value: HashMap<&'a PathAttrs, u32>,
    /// The sets, in number order.
    pub(super) sets: Vec<SavedAttrs>,
}

impl<'a> SetIndex<'a> {
    fn index(&mut self, attrs: &'a SharedAttrs) -> u32 {
        let ptr = Arc::as_ptr(attrs);
        if let Some(&i) = self.by_ptr.get(&ptr) {
            return i;
        }
        let i = match self.by_value.entry(attrs) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let i = self.sets.len() as u32;
                self.sets.push(SavedAttrs::from(&**attrs));
                *e.insert(i)
            }
        };
        self.by_ptr.insert(ptr, i);
        i
    }

    /// Number every set the snapshot's routes use (a group's set once, not a route's).
    pub(super) fn index_all(&mut self, rib: &'a BTreeMap<IpAddr, SavedRoutes>) {
        for routes in rib.values() {
            for (attrs, _) in routes.groups() {
                self.index(attrs);
            }
        }
    }
}

impl Serialize for RibSnapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut index = SetIndex::default();
        index.index_all(&self.adj_in);
        let by_ptr = &index.by_ptr;
        let adj_in = self
            .adj_in
            .iter()
            .map(|(peer, routes)| DiskPeerRef {
                peer: *peer,
                routes: RoutesRef {
                    routes,
                    index: by_ptr,
                },
            })
            .collect();
        DiskRibRef {
            attr_sets: index.sets,
            adj_out: [],
            adj_in,
            kernel_routes: &self.kernel_routes,
        }
        .serialize(s)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskRib {
    attr_sets: Vec<SavedAttrs>,
    /// Skipped: written by older speakers (see [`RibSnapshot`]).
    #[serde(default)]
    #[allow(dead_code)]
    adj_out: de::IgnoredAny,
    adj_in: Vec<DiskPeer>,
    kernel_routes: Vec<KernelRoute>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskPeer {
    peer: IpAddr,
    routes: Vec<(PrefixOwned, u32)>,
}

/// Reads a prefix from its text, without an intermediate `String`.
struct PrefixOwned(Prefix);

impl<'de> Deserialize<'de> for PrefixOwned {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(PrefixVisitor).map(PrefixOwned)
    }
}

struct PrefixVisitor;

impl Visitor<'_> for PrefixVisitor {
    type Value = Prefix;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a prefix ADDR/LEN")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Prefix, E> {
        v.parse().map_err(E::custom)
    }
}

fn peers<E: de::Error>(
    disk: Vec<DiskPeer>,
    sets: &[SharedAttrs],
    which: &str,
) -> Result<BTreeMap<IpAddr, SavedRoutes>, E> {
    let mut out = BTreeMap::new();
    for DiskPeer { peer, routes: list } in disk {
        let mut routes = SavedRoutes::default();
        for (PrefixOwned(prefix), i) in list {
            let attrs = sets.get(i as usize).ok_or_else(|| {
                E::custom(format_args!(
                    "{which} of {peer}: {prefix} refers to attribute set {i}, but there are {}",
                    sets.len()
                ))
            })?;
            routes.push(prefix, attrs);
        }
        if out.insert(peer, routes).is_some() {
            return Err(E::custom(format_args!("{which} lists peer {peer} twice")));
        }
    }
    Ok(out)
}

impl<'de> Deserialize<'de> for RibSnapshot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let disk = DiskRib::deserialize(d)?;
        let sets: Vec<SharedAttrs> = disk
            .attr_sets
            .into_iter()
            .map(|s| Arc::new(PathAttrs::from(s)))
            .collect();
        Ok(RibSnapshot {
            adj_in: peers(disk.adj_in, &sets, "adj_in")?,
            kernel_routes: disk.kernel_routes,
        })
    }
}

/// A [`Prefix`] as its text form, for `#[serde(with)]`.
mod prefix_text {
    use super::*;

    pub(super) fn serialize<S: Serializer>(p: &Prefix, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(p)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Prefix, D::Error> {
        d.deserialize_str(PrefixVisitor)
    }
}

/// `config` as saved in the intent: everything but its routes.
pub(super) fn settings_only<S: serde::Serializer>(
    config: &Config,
    s: S,
) -> Result<S::Ok, S::Error> {
    // Every field named, so that a new one cannot be left out unnoticed.
    let Config {
        global,
        api,
        fib,
        peers,
        routes: _,
    } = config;
    Config {
        global: global.clone(),
        api: api.clone(),
        fib: fib.clone(),
        peers: peers.clone(),
        routes: Vec::new(),
    }
    .serialize(s)
}
