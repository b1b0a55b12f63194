//! The in-memory backend the HTTP tests run against: all or nothing like the daemon, and it
//! records every call so a test can tell whether the backend was reached at all.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::api::*;
use crate::config::{Peer, Route};
use crate::ctl::{FamilyCountersView, NeighborView, RouteView};
use crate::session::SessionState;
use crate::wire::{Family, Prefix};

/// One call the handlers made to the backend.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Call {
    Status,
    Neighbors,
    Neighbor(IpAddr),
    AddNeighbor(Box<Peer>),
    UpdateNeighbor(IpAddr, PeerPatch),
    DeleteNeighbor(IpAddr),
    SetEnabled(IpAddr, bool),
    SoftReset(IpAddr),
    Rib(Family, Option<Prefix>),
    AdjIn(IpAddr, Option<Prefix>),
    AdjOut(IpAddr, Option<Prefix>),
    /// The number of routes, to keep 10,000-route batches out of the log.
    Announce(usize),
    Withdraw(Vec<Prefix>),
}

/// The daemon's state, as far as the API can change it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct State {
    /// Neighbors and whether they are enabled.
    pub(super) peers: BTreeMap<IpAddr, (Peer, bool)>,
    /// Routes originated by the configuration file.
    pub(super) config_routes: BTreeMap<Prefix, Route>,
    /// Routes originated through the API.
    pub(super) api_routes: BTreeMap<Prefix, Route>,
}

/// An in-memory backend: all-or-nothing like the daemon, and it records every call.
#[derive(Default)]
pub(super) struct TestBackend {
    state: Mutex<State>,
    calls: Mutex<Vec<Call>>,
    /// When set, every changing call fails with this error and changes nothing.
    pub(super) fail_with: Mutex<Option<BackendError>>,
}

impl TestBackend {
    /// Two neighbors and one configured route.
    pub(super) fn new() -> Arc<TestBackend> {
        let backend = TestBackend::default();
        {
            let mut state = backend.state.lock().unwrap();
            for (addr, asn) in [("198.18.0.2", 65002), ("2001:db8::2", 65003)] {
                let mut peer = Peer::new(addr.parse().unwrap(), asn);
                peer.families = peer.session_families();
                state.peers.insert(peer.address, (peer, true));
            }
            let prefix: Prefix = "198.18.100.0/24".parse().unwrap();
            state.config_routes.insert(prefix, route(prefix));
        }
        Arc::new(backend)
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }

    pub(super) fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub(super) fn snapshot(&self) -> State {
        self.state.lock().unwrap().clone()
    }

    fn failure(&self) -> Result<(), BackendError> {
        match self.fail_with.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn known(&self, addr: IpAddr) -> Result<(Peer, bool), BackendError> {
        self.state
            .lock()
            .unwrap()
            .peers
            .get(&addr)
            .cloned()
            .ok_or(BackendError::UnknownNeighbor(addr))
    }

    fn routes(&self, keep: impl Fn(&Prefix) -> bool) -> Vec<RouteView> {
        let state = self.state.lock().unwrap();
        let mut views: Vec<RouteView> = state
            .config_routes
            .values()
            .map(|r| (r, SOURCE_CONFIG))
            .chain(state.api_routes.values().map(|r| (r, SOURCE_API)))
            .filter(|(r, _)| keep(&r.prefix))
            .map(|(r, source)| route_view(r, source))
            .collect();
        views.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        views
    }
}

/// A route with only a prefix.
pub(super) fn route(prefix: Prefix) -> Route {
    Route::new(prefix)
}

pub(super) fn route_view(r: &Route, source: &str) -> RouteView {
    RouteView {
        prefix: r.prefix.to_string(),
        source: source.to_string(),
        next_hop: r.next_hop.map(|n| n.to_string()),
        origin: Some("igp".into()),
        as_path: Vec::new(),
        as_path_text: String::new(),
        med: r.med,
        local_pref: r.local_pref,
        communities: r.communities.iter().map(|c| c.to_string()).collect(),
        large_communities: r.large_communities.iter().map(|c| c.to_string()).collect(),
        best: Some(true),
        stale: false,
        accepted: None,
    }
}

pub(super) fn neighbor_view(peer: &Peer, enabled: bool) -> NeighborView {
    NeighborView {
        address: peer.address,
        remote_as: peer.remote_as,
        description: peer.description.clone(),
        state: if enabled {
            SessionState::Active
        } else {
            SessionState::Idle
        },
        uptime_secs: None,
        end_of_rib_sent_ms: None,
        end_of_rib_received_ms: None,
        remote_id: None,
        last_error: None,
        established_count: 0,
        martian_next_hops: 0,
        graceful_restart: "Idle".into(),
        families: peer
            .families
            .iter()
            .map(|f| FamilyCountersView {
                family: f.name(),
                received: 0,
                accepted: 0,
                advertised: 0,
            })
            .collect(),
    }
}

#[async_trait]
impl Backend for TestBackend {
    async fn metrics(&self) -> Result<String, BackendError> {
        Ok("# HELP baton_test A test metric.\n# TYPE baton_test gauge\nbaton_test 1\n".into())
    }

    async fn status(&self) -> Result<StatusView, BackendError> {
        self.record(Call::Status);
        let state = self.snapshot();
        Ok(StatusView {
            version: "0.1.0".into(),
            asn: 65001,
            router_id: "198.18.0.1".parse().unwrap(),
            uptime_secs: 7,
            neighbors: state.peers.len(),
            established: 0,
            config_routes: state.config_routes.len(),
            api_routes: state.api_routes.len(),
            state_not_writable: None,
        })
    }

    async fn neighbors(&self) -> Result<Vec<NeighborView>, BackendError> {
        self.record(Call::Neighbors);
        let state = self.snapshot();
        Ok(state
            .peers
            .values()
            .map(|(p, enabled)| neighbor_view(p, *enabled))
            .collect())
    }

    async fn neighbor(&self, addr: IpAddr) -> Result<NeighborView, BackendError> {
        self.record(Call::Neighbor(addr));
        let (peer, enabled) = self.known(addr)?;
        Ok(neighbor_view(&peer, enabled))
    }

    async fn add_neighbor(&self, peer: Peer) -> Result<NeighborView, BackendError> {
        self.record(Call::AddNeighbor(Box::new(peer.clone())));
        self.failure()?;
        let mut state = self.state.lock().unwrap();
        if state.peers.contains_key(&peer.address) {
            return Err(BackendError::DuplicateNeighbor(peer.address));
        }
        let view = neighbor_view(&peer, true);
        state.peers.insert(peer.address, (peer, true));
        Ok(view)
    }

    async fn update_neighbor(
        &self,
        addr: IpAddr,
        patch: PeerPatch,
    ) -> Result<NeighborView, BackendError> {
        self.record(Call::UpdateNeighbor(addr, patch.clone()));
        self.failure()?;
        let mut state = self.state.lock().unwrap();
        let (peer, enabled) = state
            .peers
            .get_mut(&addr)
            .ok_or(BackendError::UnknownNeighbor(addr))?;
        patch.apply(peer);
        Ok(neighbor_view(peer, *enabled))
    }

    async fn delete_neighbor(&self, addr: IpAddr) -> Result<(), BackendError> {
        self.record(Call::DeleteNeighbor(addr));
        self.failure()?;
        let mut state = self.state.lock().unwrap();
        state
            .peers
            .remove(&addr)
            .map(|_| ())
            .ok_or(BackendError::UnknownNeighbor(addr))
    }

    async fn set_enabled(&self, addr: IpAddr, enabled: bool) -> Result<(), BackendError> {
        self.record(Call::SetEnabled(addr, enabled));
        self.failure()?;
        let mut state = self.state.lock().unwrap();
        let entry = state
            .peers
            .get_mut(&addr)
            .ok_or(BackendError::UnknownNeighbor(addr))?;
        entry.1 = enabled;
        Ok(())
    }

    async fn soft_reset(&self, addr: IpAddr) -> Result<(), BackendError> {
        self.record(Call::SoftReset(addr));
        self.failure()?;
        self.known(addr).map(|_| ())
    }

    async fn rib(
        &self,
        family: Family,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError> {
        self.record(Call::Rib(family, prefix));
        Ok(self.routes(|p| p.family() == family && prefix.is_none_or(|q| q == *p)))
    }

    async fn adj_in(
        &self,
        addr: IpAddr,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError> {
        self.record(Call::AdjIn(addr, prefix));
        self.known(addr)?;
        // Pretend the neighbor sent us back what we originate, from its own address.
        let mut routes = self.routes(|p| prefix.is_none_or(|q| q == *p));
        for r in &mut routes {
            r.source = addr.to_string();
            r.accepted = Some(true);
            r.best = None;
        }
        Ok(routes)
    }

    async fn adj_out(
        &self,
        addr: IpAddr,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError> {
        self.record(Call::AdjOut(addr, prefix));
        self.known(addr)?;
        Ok(self.routes(|p| prefix.is_none_or(|q| q == *p)))
    }

    async fn announce(&self, routes: Vec<Route>) -> Result<AnnounceReport, BackendError> {
        self.record(Call::Announce(routes.len()));
        self.failure()?;
        let mut state = self.state.lock().unwrap();
        // Check all, then apply all.
        for (i, r) in routes.iter().enumerate() {
            if state.config_routes.contains_key(&r.prefix) {
                return Err(BackendError::Conflict {
                    field: Some(format!("routes[{i}].prefix")),
                    message: format!("{} is originated by the configuration file", r.prefix),
                });
            }
        }
        let mut report = AnnounceReport::default();
        for r in routes {
            match state.api_routes.insert(r.prefix, r) {
                Some(_) => report.replaced += 1,
                None => report.added += 1,
            }
        }
        Ok(report)
    }

    async fn withdraw(&self, prefixes: Vec<Prefix>) -> Result<WithdrawReport, BackendError> {
        self.record(Call::Withdraw(prefixes.clone()));
        self.failure()?;
        let mut state = self.state.lock().unwrap();
        let mut report = WithdrawReport::default();
        for p in prefixes {
            match state.api_routes.remove(&p) {
                Some(_) => report.withdrawn += 1,
                None => report.not_found.push(p),
            }
        }
        Ok(report)
    }
}
