//! The operator's intent as the speaker keeps it: the configuration's routes plus the routes
//! added at run time (CLI, API), saved to the state directory and fsynced before a change is
//! acknowledged, so nothing acknowledged is lost to a crash, a kill -9 or an upgrade.
//!
//! The configuration wins for what it names: a run-time route for a prefix the config also
//! originates is shadowed by the config's. Run-time routes survive restarts and reloads.

use std::collections::{BTreeMap, HashMap, HashSet};

use tracing::warn;

use std::net::IpAddr;

use crate::api::BackendError;
use crate::config::{Config, Peer, Route};
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
    /// The prefixes the configuration originates, for [`source_of`](Self::source_of).
    config_prefixes: foldhash::HashSet<Prefix>,
    /// What loading found wrong (torn or corrupt files), for `batonctl status`.
    pub problems: Vec<String>,
}

/// Journal this many route changes, then save the whole intent instead (which empties the
/// journal), so that loading never replays more than this.
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
        let dir = match StateDir::join(&config.global.state_dir)
            .or_else(|_| StateDir::open(&config.global.state_dir))
        {
            Ok(d) => {
                let _ = d.probe();
                Ok(std::sync::Arc::new(d))
            }
            Err(e) => Err(format!("state not kept: {e}")),
        };
        IntentKeeper::load(config, dir)
    }

    fn load(config: Config, dir: Result<std::sync::Arc<StateDir>, String>) -> IntentKeeper {
        let mut problems = Vec::new();
        let dir = dir.map_err(|e| problems.push(e)).ok();
        for p in &problems {
            warn!(problem = %p, "state");
        }
        let mut keeper = IntentKeeper {
            config_prefixes: prefixes_of(&config),
            dir,
            intent: Intent::new(config),
            saved_whole: false,
            problems,
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
            .iter()
            .filter(|r| !self.config_prefixes.contains(&r.prefix))
            .map(|r| (r.prefix, r.clone()))
            .collect()
    }

    /// The configuration in force (replaced by a reload).
    pub fn config(&self) -> &Config {
        &self.intent.config
    }

    /// What [`peers`](Self::peers) and [`originated`](Self::originated) would be with `config`
    /// instead of the one in force (the run-time peers and routes kept): a reload's target.
    pub fn preview(&self, config: Config) -> (Vec<(Peer, PeerSource, bool)>, Vec<Route>) {
        let preview = IntentKeeper {
            dir: None,
            config_prefixes: prefixes_of(&config),
            intent: Intent {
                config,
                ..self.intent.clone()
            },
            saved_whole: false,
            problems: Vec::new(),
        };
        (preview.peers(), preview.originated())
    }

    /// Put `config` in force (a reload); saved before this returns Ok.
    pub fn set_config(&mut self, config: Config) -> Result<(), CommitError> {
        let mut next = self.intent.clone();
        next.config = config;
        self.commit(next)?;
        self.config_prefixes = prefixes_of(&self.intent.config);
        Ok(())
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

    /// The state directory, when usable (the RIB snapshot lives there too).
    pub fn state_dir(&self) -> Option<std::sync::Arc<StateDir>> {
        self.dir.clone()
    }

    /// Every originated route.
    pub fn originated(&self) -> Vec<Route> {
        // What `routes` gives, without sorting a million routes through a map: the RIB keys
        // them by prefix itself.
        let config = &self.intent.config.routes;
        let mut routes = Vec::with_capacity(config.len() + self.intent.api_routes.len());
        routes.extend(config.iter().cloned());
        routes.extend(
            self.intent
                .api_routes
                .iter()
                .filter(|r| !self.config_prefixes.contains(&r.prefix))
                .cloned(),
        );
        routes
    }

    /// Where `prefix` is originated from, if it is (the configuration wins, as in
    /// [`routes`](Self::routes)): a hash lookup and a binary search, however many routes.
    pub fn source_of(&self, prefix: &Prefix) -> Option<RouteSource> {
        if self.config_prefixes.contains(prefix) {
            return Some(RouteSource::Config);
        }
        self.intent
            .api_routes
            .binary_search_by_key(prefix, |r| r.prefix)
            .ok()
            .map(|_| RouteSource::Api)
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
    pub fn put_peer(&mut self, peer: Peer) -> Result<(), CommitError> {
        let mut next = self.intent.clone();
        next.api_peers.retain(|p| p.address != peer.address);
        next.api_peers.push(peer);
        next.api_peers.sort_by_key(|p| p.address);
        self.commit(next)
    }

    /// Remove a run-time peer (and its disabled mark); saved before this returns Ok.
    pub fn remove_peer(&mut self, addr: IpAddr) -> Result<(), CommitError> {
        let mut next = self.intent.clone();
        next.api_peers.retain(|p| p.address != addr);
        next.disabled_peers.retain(|a| *a != addr);
        self.commit(next)
    }

    /// Mark a peer enabled or disabled; saved before this returns Ok.
    pub fn set_enabled(&mut self, addr: IpAddr, enabled: bool) -> Result<(), CommitError> {
        let mut next = self.intent.clone();
        next.disabled_peers.retain(|a| *a != addr);
        if !enabled {
            next.disabled_peers.push(addr);
            next.disabled_peers.sort();
        }
        self.commit(next)
    }

    /// Add (or replace) run-time routes; journaled and fsynced before this returns Ok.
    pub fn announce(&mut self, routes: Vec<Route>) -> Result<(), CommitError> {
        self.change(IntentChange::Announce(routes))
    }

    /// Withdraw run-time routes; returns how many there were. Journaled before returning Ok.
    pub fn withdraw(&mut self, prefixes: &[Prefix]) -> Result<usize, CommitError> {
        let present: HashSet<&Prefix> = prefixes
            .iter()
            .filter(|p| {
                self.intent
                    .api_routes
                    .binary_search_by_key(*p, |r| r.prefix)
                    .is_ok()
            })
            .collect();
        let removed = present.len();
        self.change(IntentChange::Withdraw(prefixes.to_vec()))?;
        Ok(removed)
    }

    /// Keep one change of routes: appended to the journal (O(1) disk work however many routes
    /// the intent holds), or, for the first change and every [`COMPACT_AFTER`] changes, by
    /// saving the whole intent (which empties the journal); so does a journal past
    /// [`COMPACT_BYTES`].
    fn change(&mut self, change: IntentChange) -> Result<(), CommitError> {
        let dir = self.dir.as_ref().ok_or(CommitError::NoStateDir)?;
        if !self.saved_whole
            || dir.journal_records() >= COMPACT_AFTER
            || dir.journal_bytes() >= COMPACT_BYTES
        {
            let mut next = self.intent.clone();
            next.apply(&change);
            return self.commit(next);
        }
        dir.journal_intent(&change)?;
        self.intent.apply(&change);
        Ok(())
    }

    fn commit(&mut self, next: Intent) -> Result<(), CommitError> {
        self.dir
            .as_ref()
            .ok_or(CommitError::NoStateDir)?
            .save_intent(&next)?;
        self.intent = next;
        self.saved_whole = true;
        Ok(())
    }
}

/// The prefixes `config` originates.
fn prefixes_of(config: &Config) -> foldhash::HashSet<Prefix> {
    config.routes.iter().map(|r| r.prefix).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> Config {
        let text = format!(
            "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\nlisten = []\nstate_dir = {:?}\n\n\
             [[peer]]\naddress = \"198.18.0.2\"\nremote_as = 65002\n\n\
             [[route]]\nprefix = \"198.18.100.0/24\"\n",
            dir.display().to_string()
        );
        crate::config::parse(&text, "baton.toml").unwrap()
    }

    fn route(prefix: &str, med: Option<u32>) -> Route {
        let mut r: Route = serde_json::from_value(serde_json::json!({ "prefix": prefix })).unwrap();
        r.med = med;
        r
    }

    #[test]
    fn route_changes_after_the_first_are_journaled_and_replayed_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut keeper = IntentKeeper::open(&config);
        keeper
            .announce(vec![route("198.18.7.0/24", Some(1))])
            .unwrap();
        let state = dir.path().join(crate::store::INTENT_FILE);
        let journal = dir.path().join(crate::store::INTENT_JOURNAL);
        let whole = std::fs::read(&state).unwrap();
        for i in 0..20u8 {
            keeper
                .announce(vec![route(&format!("198.18.{}.0/24", 100 + i), None)])
                .unwrap();
        }
        assert_eq!(
            keeper
                .withdraw(&[p("198.18.100.0/24"), p("198.18.100.0/24")])
                .unwrap(),
            1
        );
        assert_eq!(
            std::fs::read(&state).unwrap(),
            whole,
            "the intent file is not rewritten"
        );
        let lines = std::fs::read_to_string(&journal).unwrap().lines().count();
        assert_eq!(lines, 21, "one journal record per change");
        drop(keeper);

        let mut keeper = IntentKeeper::open(&config);
        assert!(keeper.problems.is_empty(), "{:?}", keeper.problems);
        let api = keeper
            .routes()
            .into_iter()
            .filter(|(_, s)| *s == RouteSource::Api)
            .count();
        assert_eq!(api, 20);
        // A whole save (a peer change) empties the journal and keeps everything.
        let mut added = Peer::new("198.18.0.9".parse().unwrap(), 65009);
        crate::config::complete_peer(&mut added);
        keeper.put_peer(added).unwrap();
        assert_eq!(std::fs::read(&journal).unwrap_or_default().len(), 0);
        drop(keeper);
        let keeper = IntentKeeper::open(&config);
        let api = keeper
            .routes()
            .into_iter()
            .filter(|(_, s)| *s == RouteSource::Api)
            .count();
        assert_eq!(api, 20);
    }

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn the_last_of_a_prefix_given_twice_wins_and_everything_is_kept_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut keeper = IntentKeeper::open(&config);
        keeper
            .announce(vec![
                route("198.18.7.0/24", Some(1)),
                route("198.18.8.0/24", None),
            ])
            .unwrap();
        keeper
            .announce(vec![
                route("198.18.7.0/24", Some(2)),
                route("198.18.7.0/24", Some(3)),
            ])
            .unwrap();
        let mut added = Peer::new("198.18.0.9".parse().unwrap(), 65009);
        crate::config::complete_peer(&mut added);
        keeper.put_peer(added.clone()).unwrap();
        keeper
            .set_enabled("198.18.0.2".parse().unwrap(), false)
            .unwrap();
        drop(keeper);

        let keeper = IntentKeeper::open(&config);
        let routes = keeper.routes();
        let meds: Vec<_> = routes
            .iter()
            .map(|(r, s)| (r.prefix.to_string(), r.med, *s))
            .collect();
        assert_eq!(
            meds,
            vec![
                ("198.18.7.0/24".to_string(), Some(3), RouteSource::Api),
                ("198.18.8.0/24".to_string(), None, RouteSource::Api),
                ("198.18.100.0/24".to_string(), None, RouteSource::Config),
            ]
        );
        let peers: Vec<_> = keeper
            .peers()
            .into_iter()
            .map(|(p, s, enabled)| (p.address.to_string(), s, enabled))
            .collect();
        assert_eq!(
            peers,
            vec![
                ("198.18.0.2".to_string(), PeerSource::Config, false),
                ("198.18.0.9".to_string(), PeerSource::Api, true),
            ]
        );
        assert_eq!(keeper.peer(added.address).unwrap().0, added);
    }

    #[test]
    fn the_configuration_wins_over_a_run_time_peer_or_route_of_the_same_address() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut keeper = IntentKeeper::open(&config);
        keeper
            .put_peer(Peer::new("198.18.0.2".parse().unwrap(), 65111))
            .unwrap();
        keeper
            .announce(vec![route("198.18.100.0/24", Some(9))])
            .unwrap();
        let (peer, source, _) = keeper.peer("198.18.0.2".parse().unwrap()).unwrap();
        assert_eq!((peer.remote_as, source), (65002, PeerSource::Config));
        assert_eq!(keeper.peers().len(), 1);
        let prefix: Prefix = "198.18.100.0/24".parse().unwrap();
        assert_eq!(keeper.sources()[&prefix], RouteSource::Config);
        assert_eq!(keeper.originated().len(), 1);
        assert_eq!(keeper.originated()[0].med, None);
        // Removing the run-time peer leaves the configured one.
        keeper.remove_peer("198.18.0.2".parse().unwrap()).unwrap();
        assert_eq!(keeper.peers().len(), 1);
    }

    #[test]
    fn a_change_the_state_directory_cannot_keep_is_refused_and_changes_nothing() {
        let top = tempfile::tempdir().unwrap();
        let path = top.path().join("state");
        let config = config(&path);
        let mut keeper = IntentKeeper::open(&config);
        keeper.announce(vec![route("198.18.7.0/24", None)]).unwrap();
        let moved = top.path().join("moved");
        std::fs::rename(&path, &moved).unwrap();
        let e = keeper
            .announce(vec![route("198.18.8.0/24", None)])
            .unwrap_err();
        assert!(
            matches!(&e, CommitError::Store(s) if s.not_writable().is_some()),
            "{e}"
        );
        assert!(e.to_string().starts_with("state not writable: "), "{e}");
        assert_eq!(
            keeper.originated().len(),
            2,
            "the refused route was applied"
        );
        assert!(keeper.state_dir().unwrap().not_writable().is_some());
        std::fs::rename(&moved, &path).unwrap();
        keeper.announce(vec![route("198.18.8.0/24", None)]).unwrap();
        let again = IntentKeeper::load(config.clone(), Ok(keeper.state_dir().unwrap()));
        assert_eq!(again.originated().len(), 3);
    }

    #[test]
    fn rereading_the_run_time_intent_gives_only_what_another_keeper_changed_since() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut old = IntentKeeper::open(&config);
        let mut new = IntentKeeper::load(config.clone(), Ok(old.state_dir().unwrap()));
        assert_eq!(new.reread_run_time(), (vec![], vec![]));

        // The configured 198.18.100.0/24 shadows a run-time route for the same prefix.
        let x = route("198.18.7.0/24", Some(1));
        old.announce(vec![x.clone(), route("198.18.100.0/24", Some(9))])
            .unwrap();
        assert_eq!(new.reread_run_time(), (vec![x.clone()], vec![]));

        let (x2, y) = (
            route("198.18.7.0/24", Some(2)),
            route("198.18.8.0/24", None),
        );
        old.announce(vec![x2.clone()]).unwrap();
        old.announce(vec![y.clone()]).unwrap();
        let (mut announce, withdraw) = new.reread_run_time();
        announce.sort_by_key(|r| r.prefix);
        assert_eq!((announce, withdraw), (vec![x2, y.clone()], vec![]));

        old.withdraw(&[y.prefix]).unwrap();
        assert_eq!(new.reread_run_time(), (vec![], vec![y.prefix]));
        assert_eq!(new.originated(), old.originated());
    }
}
