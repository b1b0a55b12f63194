//! The operator's intent as the speaker keeps it: the configuration's routes plus the routes
//! added at run time (CLI, API), saved to the state directory and fsynced before a change is
//! acknowledged, so nothing acknowledged is lost to a crash, a kill -9 or an upgrade.
//!
//! The speaker makes changes through its committer (`committer.rs`), which runs concurrent
//! requests as one batch (`staging.rs`): made in memory, kept with one fsync, taken back if the
//! disk refuses them. A change made outside a batch is a batch of one.
//!
//! The configuration wins for what it names: a run-time route for a prefix the config also
//! originates is shadowed by the config's. Run-time routes survive restarts and reloads.

use std::collections::{HashMap, HashSet};

use tracing::warn;

use std::net::IpAddr;

use crate::api::BackendError;
use std::sync::Arc;

use crate::config::{Config, Peer, Route};
use crate::rib::{PrefixSet, RouteRuns};
use crate::store::{Intent, IntentChange, StateDir, StoreError};
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

/// Why a change to the intent was not made (nothing changed, in memory or on disk).
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The speaker runs without a state directory.
    #[error("the state directory is not usable, so changes cannot be kept")]
    NoStateDir,
    /// Saving failed ([`StoreError::NotWritable`] when the directory cannot be written now).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change the intent could not save: refused as the state directory's fault (503).
impl From<CommitError> for BackendError {
    fn from(e: CommitError) -> BackendError {
        match e {
            CommitError::Store(e) => match e.not_writable() {
                Some(why) => BackendError::StateNotWritable(why),
                None => BackendError::Unavailable(e.to_string()),
            },
            e @ CommitError::NoStateDir => BackendError::Unavailable(e.to_string()),
        }
    }
}

/// The intent and the directory it is saved in.
#[derive(Debug)]
pub struct IntentKeeper {
    dir: Option<std::sync::Arc<StateDir>>,
    intent: Intent,
    /// The intent file exists (loaded or saved by this keeper), so changes may be journaled.
    saved_whole: bool,
    /// The configuration's routes. `intent.config` is kept without them: they are held here,
    /// once, as runs (see [`ConfigRoutes`]).
    config_routes: Arc<ConfigRoutes>,
    /// What loading found wrong (torn or corrupt files), for `batonctl status`.
    pub problems: Vec<String>,
    /// The changes of the open batch, not on disk yet (`staging.rs`).
    staged: Option<staging::Staged>,
}

/// The configuration's routes as the keeper holds them: runs of equal attributes (18 bytes a
/// prefix where a `Route` took about 136 with its community list; a million configured routes
/// were the speaker's largest single item) and their prefix set, for
/// [`source_of`](IntentKeeper::source_of). Shared, so a peer change or a reload that copies the
/// intent does not copy them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ConfigRoutes {
    runs: RouteRuns,
    prefixes: PrefixSet,
}

impl ConfigRoutes {
    fn new(routes: &[Route]) -> ConfigRoutes {
        ConfigRoutes {
            runs: RouteRuns::new(routes),
            prefixes: routes.iter().map(|r| r.prefix).collect(),
        }
    }
}

/// Journal this many route changes, or as many as the intent holds run-time routes if more,
/// then save the whole intent instead (which empties the journal): loading never replays much
/// more than it reads from the file, and a whole save, which costs what the intent holds, comes
/// once per that many changes (with a million routes held, not every 10,000 changes, which
/// would cost a third of a second each second at 10,000 changes a second).
pub const COMPACT_AFTER: usize = 10_000;
/// Or this many bytes of journal (large batches), whichever comes first.
pub const COMPACT_BYTES: u64 = 64 << 20;

impl IntentKeeper {
    /// [`open_owned`](Self::open_owned) with a copy of `config` (for tests).
    #[cfg(test)]
    pub fn open(config: &Config) -> IntentKeeper {
        IntentKeeper::open_owned(config.clone())
    }

    /// Load the intent saved in the config's state directory (falling back to the previous good
    /// copy, or to the config alone, and saying so), with `config` as the configuration; the
    /// keeper takes it, so that a million routes are not copied.
    ///
    /// A directory that cannot be written is used all the same (changes are refused until it
    /// is writable again): probed here, so that the log and `batonctl status` say so at once.
    pub fn open_owned(config: Config) -> IntentKeeper {
        let dir = open_dir(&config);
        IntentKeeper::load(config, dir)
    }

    fn load(config: Config, dir: Result<std::sync::Arc<StateDir>, String>) -> IntentKeeper {
        let (config, routes) = config.split_routes();
        let routes = Arc::new(ConfigRoutes::new(&routes));
        IntentKeeper::load_with(config, routes, dir)
    }

    /// Open again on the same state directory, the configuration and its routes as they are
    /// (a new speaker that took over without a usable state directory).
    pub fn reopen(&self) -> IntentKeeper {
        let config = self.intent.config.clone();
        let dir = match &self.dir {
            Some(d) => Ok(d.clone()),
            None => open_dir(&config),
        };
        IntentKeeper::load_with(config, self.config_routes.clone(), dir)
    }

    fn load_with(
        config: Config,
        config_routes: Arc<ConfigRoutes>,
        dir: Result<std::sync::Arc<StateDir>, String>,
    ) -> IntentKeeper {
        let mut problems = Vec::new();
        let dir = dir.map_err(|e| problems.push(e)).ok();
        for p in &problems {
            warn!(problem = %p, "state");
        }
        let mut keeper = IntentKeeper {
            config_routes,
            dir,
            intent: Intent::new(config),
            saved_whole: false,
            problems,
            staged: None,
        };
        keeper.load_run_time();
        keeper
    }

    /// Read the run-time part of the intent (routes and peers added, peers disabled) from the
    /// state directory into this keeper, replacing what it held (and what loading found wrong).
    fn load_run_time(&mut self) {
        let Some(d) = &self.dir else {
            return;
        };
        let intent = &mut self.intent;
        (intent.api_routes, intent.api_peers, intent.disabled_peers) = Default::default();
        let mut problems = Vec::new();
        match d.load_intent() {
            Ok(Some(loaded)) => {
                self.saved_whole = true;
                problems.extend(loaded.problems);
                intent.api_routes = loaded.value.api_routes;
                intent.api_peers = loaded.value.api_peers;
                intent.disabled_peers = loaded.value.disabled_peers;
            }
            Ok(None) => {}
            Err(e) => {
                // The journal stands alone: what it holds was acknowledged, keep it.
                problems.push(format!(
                    "{e}; starting from the configuration and the journal of route changes"
                ));
                if let Ok(replay) = d.intent_journal() {
                    for change in &replay.records {
                        intent.apply(change);
                    }
                    problems.extend(replay.problems);
                }
            }
        }
        for p in &problems {
            warn!(problem = %p, "state");
        }
        self.problems = problems;
    }

    /// Read the run-time part of the intent again (the previous speaker may have acknowledged
    /// changes after this keeper loaded, until it let go), keeping the configuration as it is:
    /// returns the originated routes that changed (announce, withdraw), for the RIB. The cost
    /// is that of the run-time routes: a million configured routes are not gone through again.
    pub fn reread_run_time(&mut self) -> (Vec<Route>, Vec<Prefix>) {
        let before = self.run_time_originated();
        self.load_run_time();
        let after = self.run_time_originated();
        let withdraw = before
            .keys()
            .filter(|p| !after.contains_key(p))
            .copied()
            .collect();
        let announce = after
            .into_iter()
            .filter(|(p, r)| before.get(p) != Some(r))
            .map(|(_, r)| r)
            .collect();
        (announce, withdraw)
    }

    /// The run-time routes the configuration does not shadow, by prefix.
    fn run_time_originated(&self) -> HashMap<Prefix, Route> {
        self.intent
            .api_routes
            .routes()
            .filter(|r| !self.config_routes.prefixes.contains(&r.prefix))
            .map(|r| (r.prefix, r))
            .collect()
    }

    /// The configuration in force (replaced by a reload), without its routes: those are in
    /// [`originated`](Self::originated).
    pub fn config(&self) -> &Config {
        &self.intent.config
    }

    /// What [`peers`](Self::peers) and [`originated`](Self::originated) would be with `config`
    /// instead of the one in force (the run-time peers and routes kept): a reload's target.
    pub fn preview(&self, config: Config) -> (Vec<(Peer, PeerSource, bool)>, Vec<Route>) {
        let (config, routes) = config.split_routes();
        let preview = IntentKeeper {
            dir: None,
            config_routes: Arc::new(ConfigRoutes::new(&routes)),
            intent: Intent {
                config,
                ..self.intent.clone()
            },
            saved_whole: false,
            problems: Vec::new(),
            staged: None,
        };
        (preview.peers(), preview.originated())
    }

    /// Put `config` in force (a reload); saved before this returns Ok.
    pub fn set_config(&mut self, config: Config) -> Result<(), CommitError> {
        let (config, routes) = config.split_routes();
        let routes = Arc::new(ConfigRoutes::new(&routes));
        let mut next = self.intent.clone();
        next.config = config;
        self.commit(next, Some(routes))
    }

    /// Every originated route with its source, by prefix (for tests).
    #[cfg(test)]
    pub fn routes(&self) -> Vec<(Route, RouteSource)> {
        let mut by_prefix = std::collections::BTreeMap::new();
        for r in self.intent.api_routes.routes() {
            by_prefix.insert(r.prefix, (r, RouteSource::Api));
        }
        for r in self.config_routes.runs.routes() {
            by_prefix.insert(r.prefix, (r, RouteSource::Config));
        }
        by_prefix.into_values().collect()
    }

    /// The state directory, when usable (the RIB snapshot lives there too).
    pub fn state_dir(&self) -> Option<std::sync::Arc<StateDir>> {
        self.dir.clone()
    }

    /// Every originated route: the configuration's, then the run-time ones for prefixes the
    /// configuration does not name. Unsorted: the RIB keys them by prefix itself.
    pub fn originated(&self) -> Vec<Route> {
        let config = &self.config_routes.runs;
        let mut routes = Vec::with_capacity(config.len() + self.intent.api_routes.len());
        routes.extend(config.routes());
        routes.extend(
            self.intent
                .api_routes
                .routes()
                .filter(|r| !self.config_routes.prefixes.contains(&r.prefix)),
        );
        routes
    }

    /// [`originated`](Self::originated) as runs of equal attributes, for the RIB: no copy of
    /// each route (see [`RouteRuns`](crate::rib::RouteRuns)).
    pub fn originated_runs(&self) -> crate::rib::RouteRuns {
        let api = self.intent.api_routes.iter();
        let api = api.filter(|(p, _)| !self.config_routes.prefixes.contains(p));
        let mut runs = self.config_routes.runs.clone();
        for (prefix, attrs) in api {
            runs.push(*prefix, attrs);
        }
        runs
    }

    /// Where `prefix` is originated from, if it is (the configuration wins, as in
    /// [`originated`](Self::originated)): a binary search and a tree search, however many routes.
    pub fn source_of(&self, prefix: &Prefix) -> Option<RouteSource> {
        if self.config_routes.prefixes.contains(prefix) {
            return Some(RouteSource::Config);
        }
        self.intent
            .api_routes
            .contains_key(prefix)
            .then_some(RouteSource::Api)
    }

    /// How many originated routes come from the configuration, and how many from run time (not
    /// counting those the configuration shadows): counted, not copied, so that a status read
    /// holds the intent (and the changes waiting for it) for as little as it can.
    pub fn route_counts(&self) -> (usize, usize) {
        let api = self.intent.api_routes.keys();
        let api = api
            .filter(|p| !self.config_routes.prefixes.contains(p))
            .count();
        (self.config_routes.prefixes.len(), api)
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
    pub fn put_peer(&mut self, peer: Peer) -> Result<(), CommitError> {
        let mut next = self.intent.clone();
        next.api_peers.retain(|p| p.address != peer.address);
        next.api_peers.push(peer);
        next.api_peers.sort_by_key(|p| p.address);
        self.commit(next, None)
    }

    /// Remove a run-time peer (and its disabled mark); saved before this returns Ok.
    pub fn remove_peer(&mut self, addr: IpAddr) -> Result<(), CommitError> {
        let mut next = self.intent.clone();
        next.api_peers.retain(|p| p.address != addr);
        next.disabled_peers.retain(|a| *a != addr);
        self.commit(next, None)
    }

    /// Mark a peer enabled or disabled; saved before this returns Ok.
    pub fn set_enabled(&mut self, addr: IpAddr, enabled: bool) -> Result<(), CommitError> {
        let mut next = self.intent.clone();
        next.disabled_peers.retain(|a| *a != addr);
        if !enabled {
            next.disabled_peers.push(addr);
            next.disabled_peers.sort();
        }
        self.commit(next, None)
    }

    /// Add (or replace) run-time routes; journaled and fsynced before this returns Ok.
    pub fn announce(&mut self, routes: Vec<Route>) -> Result<(), CommitError> {
        self.change(IntentChange::Announce(routes))
    }

    /// Withdraw run-time routes; returns how many there were. Journaled before returning Ok.
    pub fn withdraw(&mut self, prefixes: &[Prefix]) -> Result<usize, CommitError> {
        let present: HashSet<&Prefix> = prefixes
            .iter()
            .filter(|p| self.intent.api_routes.contains_key(p))
            .collect();
        let removed = present.len();
        self.change(IntentChange::Withdraw(prefixes.to_vec()))?;
        Ok(removed)
    }
}

/// The state directory `config` names, probed (so the log and `batonctl status` say at once
/// that it cannot be written; changes are refused until it can).
fn open_dir(config: &Config) -> Result<Arc<StateDir>, String> {
    match StateDir::join(&config.global.state_dir)
        .or_else(|_| StateDir::open(&config.global.state_dir))
    {
        Ok(d) => {
            let _ = d.probe();
            Ok(Arc::new(d))
        }
        Err(e) => Err(format!("state not kept: {e}")),
    }
}

mod staging;
#[cfg(test)]
pub(super) mod tests;
