//! The one operations core: what an operator may ask of a running speaker — list, add,
//! change, enable, disable, reset and delete neighbors, announce and withdraw routes, read the
//! RIBs, reload the configuration, report status — implemented once, on [`Ops`].
//!
//! The REST API sees it through its [`Backend`](crate::api::Backend) trait (`api_backend.rs`),
//! the control socket through a thin translation of its requests (`control.rs`), a reload
//! through `reload.rs`; all three are `impl` blocks or callers of this one type, so an
//! operation behaves the same whichever way it is asked, and none of them imports another.
//!
//! Changes are refused until the speaker is live (under a supervisor: activated) and again once
//! it stops, so a speaker taking over never starts sessions its predecessor still holds.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use tokio::sync::oneshot;

use super::committer::{Change, Committer};
use super::intent::{IntentKeeper, PeerSource, RouteSource};
use super::peer_set::PeerSet;
use super::rib_task::RibCmd;
use super::status::StatusBoard;
use crate::api::{BackendError, SOURCE_API, SOURCE_CONFIG};
use crate::config::Peer;
use crate::ctl::{FamilyCountersView, NeighborView, RouteView};
use crate::fib::installer::FibQuery;
use crate::metrics::Metrics;
use crate::wire::{notif, Notification, Prefix};

/// The source the RIB gives routes we originate.
const LOCAL: &str = "local";

/// A running speaker's parts, as operations see them.
pub struct Ops {
    /// Live session status.
    pub status: StatusBoard,
    /// The RIB task.
    pub rib: tokio::sync::mpsc::UnboundedSender<RibCmd>,
    /// The operator's intent, saved before a change is acknowledged.
    pub intent: Arc<Mutex<IntentKeeper>>,
    /// Keeps changes of the intent, concurrent ones with one fsync.
    committer: Committer,
    /// The peer tasks, started and stopped as neighbors are added, enabled, disabled, changed
    /// or deleted.
    pub peers: PeerSet,
    /// The counters and gauges.
    pub metrics: Arc<Metrics>,
    /// This speaker's version.
    pub version: String,
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The configuration file; `None` when running on the embedded default.
    pub config_path: Option<PathBuf>,
    /// The kernel route installer, once started (`[fib] enabled`).
    pub fib: OnceLock<FibQuery>,
    started: Instant,
    live: AtomicBool,
}

impl Ops {
    /// The operations of a speaker made of these parts; not live yet. Fails if the thread
    /// that keeps intent changes cannot be started.
    #[allow(clippy::too_many_arguments)] // each part is distinct; a builder would add nothing
    pub fn new(
        status: StatusBoard,
        rib: tokio::sync::mpsc::UnboundedSender<RibCmd>,
        intent: Arc<Mutex<IntentKeeper>>,
        peers: PeerSet,
        metrics: Arc<Metrics>,
        asn: u32,
        router_id: Ipv4Addr,
        config_path: Option<PathBuf>,
    ) -> std::io::Result<Ops> {
        Ok(Ops {
            committer: Committer::start(intent.clone(), rib.clone())?,
            status,
            rib,
            intent,
            peers,
            metrics,
            version: crate::version::current(),
            asn,
            router_id,
            config_path,
            fib: OnceLock::new(),
            started: Instant::now(),
            live: AtomicBool::new(false),
        })
    }

    /// From now on, changes are carried out (`true`), or refused (`false`: stopping).
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
    }

    /// Whether the speaker is live; `Err` says why not, for a refusal.
    pub fn live(&self) -> Result<(), BackendError> {
        if self.live.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(BackendError::Unavailable(
                "the speaker is not live (starting, taking over or stopping); try again".into(),
            ))
        }
    }

    /// Seconds since this speaker started.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The intent, locked.
    pub fn intent(&self) -> MutexGuard<'_, IntentKeeper> {
        self.intent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every peer (the configuration's in file order, then those added at run time), with its
    /// source and whether it is enabled.
    pub fn peer_list(&self) -> Vec<(Peer, PeerSource, bool)> {
        self.intent().peers()
    }

    /// Every peer's view (the order of [`peer_list`](Self::peer_list)): session status and route
    /// counters.
    pub async fn neighbor_views(&self) -> Result<Vec<NeighborView>, String> {
        let counters = self.status.rib_counters();
        let snapshot = self.status.snapshot();
        let views = self
            .peer_list()
            .iter()
            .map(|(p, _, _)| {
                let s = snapshot.get(&p.address).cloned().unwrap_or_default();
                NeighborView {
                    address: p.address,
                    remote_as: p.remote_as,
                    description: p.description.clone(),
                    state: s.state,
                    uptime_secs: s.established_at.map(|t| t.elapsed().as_secs()),
                    end_of_rib_sent_ms: s
                        .established_at
                        .zip(s.end_of_rib_sent_at)
                        .map(|(up, eor)| eor.saturating_duration_since(up).as_millis() as u64),
                    end_of_rib_received_ms: s
                        .established_at
                        .zip(s.end_of_rib_received_at)
                        .map(|(up, eor)| eor.saturating_duration_since(up).as_millis() as u64),
                    remote_id: s.remote_id.map(|r| r.to_string()),
                    last_error: s.last_error,
                    established_count: s.established_count,
                    martian_next_hops: s.martian_next_hops,
                    graceful_restart: s.graceful_restart.to_string(),
                    families: counters.peers.get(&p.address).cloned().unwrap_or_else(|| {
                        p.session_families()
                            .iter()
                            .map(|f| FamilyCountersView {
                                family: f.name(),
                                received: 0,
                                accepted: 0,
                                advertised: 0,
                            })
                            .collect()
                    }),
                }
            })
            .collect();
        Ok(views)
    }

    /// Whether the state directory can be written now (tried afresh, so that a directory
    /// made writable again shows at once): why not, when not.
    pub async fn probe_state(&self) -> Option<String> {
        let dir = self.intent().state_dir()?;
        tokio::task::spawn_blocking(move || {
            let _ = dir.probe();
            dir.not_writable()
        })
        .await
        .unwrap_or_else(|e| Some(format!("cannot probe the state directory: {e}")))
    }

    /// The neighbor at `addr`: its settings, where it comes from, whether it is enabled.
    pub fn known(&self, addr: IpAddr) -> Result<(Peer, PeerSource, bool), BackendError> {
        self.intent()
            .peer(addr)
            .ok_or(BackendError::UnknownNeighbor(addr))
    }

    /// The neighbor at `addr`, refused (409) if the configuration file names it: what the file
    /// says is changed in the file.
    pub fn added_at_run_time(
        &self,
        addr: IpAddr,
        what: &str,
    ) -> Result<(Peer, bool), BackendError> {
        match self.known(addr)? {
            (_, PeerSource::Config, _) => Err(BackendError::Conflict {
                field: None,
                message: format!("neighbor {addr} is in the configuration file: {what} it there"),
            }),
            (peer, PeerSource::Api, enabled) => Ok((peer, enabled)),
        }
    }

    pub async fn rib_call<T>(
        &self,
        cmd: impl FnOnce(oneshot::Sender<T>) -> RibCmd,
    ) -> Result<T, BackendError> {
        let gone = || BackendError::Unavailable("the RIB task is not running".into());
        let (tx, rx) = oneshot::channel();
        self.rib.send(cmd(tx)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Close the session of the neighbor at `addr` with Cease / Administrative Reset (RFC 4486)
    /// and start a new one, its settings and enabled state unchanged (nothing is saved: a
    /// crash half way cannot leave it disabled). Refused for a disabled neighbor.
    pub async fn hard_reset(&self, addr: IpAddr) -> Result<(), BackendError> {
        self.live()?;
        let _turn = self.peers.changing().await;
        let (peer, _, _) = self.known(addr)?;
        let reset = Notification::new(notif::CEASE, notif::ADMIN_RESET);
        if !self.peers.stop(addr, Some(reset)).await {
            return Err(BackendError::Conflict {
                field: None,
                message: format!("neighbor {addr} is disabled"),
            });
        }
        self.peers.start(peer, false);
        Ok(())
    }

    /// Name originated routes by where they come from (`config`, `api`) instead of `local`.
    pub fn name_sources(&self, routes: &mut [RouteView]) {
        if !routes.iter().any(|r| r.source == LOCAL) {
            return;
        }
        // A tree search and a binary search a route: a listing of a few routes does not go
        // through all of a million originated ones.
        let intent = self.intent();
        for r in routes.iter_mut().filter(|r| r.source == LOCAL) {
            let source = r
                .prefix
                .parse::<Prefix>()
                .ok()
                .and_then(|p| intent.source_of(&p));
            r.source = match source {
                Some(RouteSource::Api) => SOURCE_API,
                // A route the RIB still holds from a change not yet applied: call it config.
                Some(RouteSource::Config) | None => SOURCE_CONFIG,
            }
            .to_string();
        }
    }

    /// Make `change` to the intent and hand the RIB the command it returns, if any (what the
    /// change did to the originated routes): through the committer, which keeps concurrent
    /// changes with one fsync and tells the RIB in the order they were saved.
    pub async fn change_intent<T: Send + 'static>(
        &self,
        change: impl Change<T>,
    ) -> Result<T, BackendError> {
        self.committer.change(change).await
    }

    /// Forget a deleted peer: its status and its metrics.
    pub fn forget_peer(&self, addr: std::net::IpAddr) {
        self.status.remove(addr);
        self.metrics.forget_peer(addr);
    }

    /// The metrics in the Prometheus text format, with the peer gauges refreshed from the
    /// sessions as they are now.
    pub async fn metrics_text(&self) -> Result<String, String> {
        let rib = self.status.rib_counters();
        let families = [
            (crate::wire::Family::IPV4_UNICAST.name(), rib.loc.ipv4),
            (crate::wire::Family::IPV6_UNICAST.name(), rib.loc.ipv6),
        ];
        self.metrics.rib.set(&families, rib.best_changes);
        for view in self.neighbor_views().await? {
            let peer = view.address.to_string();
            self.metrics
                .set_peer_state(view.address, &view.state.to_string());
            let label = crate::metrics::PeerLabel { peer: peer.clone() };
            self.metrics
                .peers
                .uptime
                .get_or_create(&label)
                .set(view.uptime_secs.unwrap_or(0) as i64);
            self.metrics
                .peers
                .established
                .get_or_create(&label)
                .set(view.established_count as i64);
            self.metrics
                .peers
                .martian_next_hops
                .get_or_create(&label)
                .set(view.martian_next_hops as i64);
            for f in &view.families {
                let label = crate::metrics::PeerFamilyLabel {
                    peer: peer.clone(),
                    family: f.family.clone(),
                };
                let p = &self.metrics.peers;
                p.received.get_or_create(&label).set(f.received as i64);
                p.accepted.get_or_create(&label).set(f.accepted as i64);
                p.advertised.get_or_create(&label).set(f.advertised as i64);
            }
        }
        Ok(self.metrics.render())
    }
}
