//! The operator's intent as the speaker keeps it: the configuration's routes plus the routes
//! added at run time (CLI, API), saved to the state directory and fsynced before a change is
//! acknowledged, so nothing acknowledged is lost to a crash, a kill -9 or an upgrade.
//!
//! The configuration wins for what it names: a run-time route for a prefix the config also
//! originates is shadowed by the config's. Run-time routes survive restarts and reloads.

use std::collections::{BTreeMap, HashMap, HashSet};

use tracing::warn;

use std::net::IpAddr;

use crate::config::{Config, Peer, Route};
use crate::store::{Intent, StateDir};
use crate::wire::Prefix;

/// Where a route of the intent comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteSource {
    /// `[[route]]` in the configuration.
    Config,
    /// Added at run time.
    Api,
}

/// Where a peer of the intent comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerSource {
    /// `[[peer]]` in the configuration.
    Config,
    /// Added at run time.
    Api,
}

/// The intent and the directory it is saved in.
#[derive(Debug)]
pub struct IntentKeeper {
    dir: Option<StateDir>,
    intent: Intent,
    /// What loading found wrong (torn or corrupt files), for `batonctl status`.
    pub problems: Vec<String>,
}

impl IntentKeeper {
    /// Load the intent saved in the config's state directory (falling back to the previous good
    /// copy, or to the config alone, and saying so), with `config` as the configuration.
    pub fn open(config: &Config) -> IntentKeeper {
        let mut problems = Vec::new();
        let dir = match StateDir::join(&config.global.state_dir)
            .or_else(|_| StateDir::open(&config.global.state_dir))
        {
            Ok(d) => Some(d),
            Err(e) => {
                problems.push(format!("state not kept: {e}"));
                None
            }
        };
        let mut intent = Intent::new(config.clone());
        if let Some(d) = &dir {
            match d.load_intent() {
                Ok(Some(loaded)) => {
                    problems.extend(loaded.problems);
                    intent.api_routes = loaded.value.api_routes;
                    intent.api_peers = loaded.value.api_peers;
                    intent.disabled_peers = loaded.value.disabled_peers;
                }
                Ok(None) => {}
                Err(e) => problems.push(format!("{e}; starting from the configuration alone")),
            }
        }
        for p in &problems {
            warn!(problem = %p, "state");
        }
        IntentKeeper {
            dir,
            intent,
            problems,
        }
    }

    /// Every originated route with its source: the config's, then the run-time ones for
    /// prefixes the config does not name.
    pub fn routes(&self) -> Vec<(Route, RouteSource)> {
        let mut by_prefix: BTreeMap<Prefix, (Route, RouteSource)> = BTreeMap::new();
        for r in &self.intent.api_routes {
            by_prefix.insert(r.prefix, (r.clone(), RouteSource::Api));
        }
        for r in &self.intent.config.routes {
            by_prefix.insert(r.prefix, (r.clone(), RouteSource::Config));
        }
        by_prefix.into_values().collect()
    }

    /// Every originated route.
    pub fn originated(&self) -> Vec<Route> {
        self.routes().into_iter().map(|(r, _)| r).collect()
    }

    /// The source of every originated prefix (the configuration's win, as in
    /// [`routes`](Self::routes)).
    pub fn sources(&self) -> HashMap<Prefix, RouteSource> {
        let api = self
            .intent
            .api_routes
            .iter()
            .map(|r| (r.prefix, RouteSource::Api));
        let config = self.intent.config.routes.iter();
        api.chain(config.map(|r| (r.prefix, RouteSource::Config)))
            .collect()
    }

    /// Every peer with its source and whether it is enabled: the config's, in file order, then
    /// the run-time ones (by address) for addresses the config does not name.
    pub fn peers(&self) -> Vec<(Peer, PeerSource, bool)> {
        let config = &self.intent.config.peers;
        let configured = |a: IpAddr| config.iter().any(|p| p.address == a);
        let enabled = |a: IpAddr| !self.intent.disabled_peers.contains(&a);
        let mut api: Vec<&Peer> = self
            .intent
            .api_peers
            .iter()
            .filter(|p| !configured(p.address))
            .collect();
        api.sort_by_key(|p| p.address);
        config
            .iter()
            .map(|p| (p, PeerSource::Config))
            .chain(api.into_iter().map(|p| (p, PeerSource::Api)))
            .map(|(p, source)| (p.clone(), source, enabled(p.address)))
            .collect()
    }

    /// The peer at `addr`, with its source and whether it is enabled.
    pub fn peer(&self, addr: IpAddr) -> Option<(Peer, PeerSource, bool)> {
        self.peers().into_iter().find(|(p, _, _)| p.address == addr)
    }

    /// Add or replace a run-time peer; saved before this returns Ok.
    pub fn put_peer(&mut self, peer: Peer) -> Result<(), String> {
        let mut next = self.intent.clone();
        next.api_peers.retain(|p| p.address != peer.address);
        next.api_peers.push(peer);
        next.api_peers.sort_by_key(|p| p.address);
        self.commit(next)
    }

    /// Remove a run-time peer (and its disabled mark); saved before this returns Ok.
    pub fn remove_peer(&mut self, addr: IpAddr) -> Result<(), String> {
        let mut next = self.intent.clone();
        next.api_peers.retain(|p| p.address != addr);
        next.disabled_peers.retain(|a| *a != addr);
        self.commit(next)
    }

    /// Mark a peer enabled or disabled; saved before this returns Ok.
    pub fn set_enabled(&mut self, addr: IpAddr, enabled: bool) -> Result<(), String> {
        let mut next = self.intent.clone();
        next.disabled_peers.retain(|a| *a != addr);
        if !enabled {
            next.disabled_peers.push(addr);
            next.disabled_peers.sort();
        }
        self.commit(next)
    }

    /// Add (or replace) run-time routes; saved and fsynced before this returns Ok.
    pub fn announce(&mut self, routes: Vec<Route>) -> Result<(), String> {
        let mut next = self.intent.clone();
        let replaced: HashSet<Prefix> = routes.iter().map(|r| r.prefix).collect();
        next.api_routes.retain(|x| !replaced.contains(&x.prefix));
        next.api_routes.extend(routes);
        next.api_routes.sort_by_key(|r| r.prefix);
        // A prefix given twice: the last one wins (the sort is stable).
        next.api_routes.reverse();
        next.api_routes.dedup_by_key(|r| r.prefix);
        next.api_routes.reverse();
        self.commit(next)
    }

    /// Withdraw run-time routes; returns how many there were. Saved before returning Ok.
    pub fn withdraw(&mut self, prefixes: &[Prefix]) -> Result<usize, String> {
        let mut next = self.intent.clone();
        let before = next.api_routes.len();
        let gone: HashSet<&Prefix> = prefixes.iter().collect();
        next.api_routes.retain(|r| !gone.contains(&r.prefix));
        let removed = before - next.api_routes.len();
        self.commit(next)?;
        Ok(removed)
    }

    fn commit(&mut self, next: Intent) -> Result<(), String> {
        match &self.dir {
            Some(d) => d.save_intent(&next).map_err(|e| e.to_string())?,
            None => {
                return Err("the state directory is not usable, so changes cannot be kept".into())
            }
        }
        self.intent = next;
        Ok(())
    }
}
