//! The control socket: `batonctl` asks, the speaker answers (see [`crate::ctl`]).
//!
//! Reads of the RIB and of peer status are answered here; the neighbor requests, which start
//! and stop sessions, go to the REST API's backend once the speaker is live (`neighbor.rs`).

mod neighbor;

use std::sync::{Arc, OnceLock, Weak};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::api_backend::SpeakerBackend;
use super::intent::{IntentKeeper, PeerSource, RouteSource};
use super::reload::Reloader;
use super::rib_task::RibCmd;
use super::status::StatusBoard;
use crate::api::Backend;
use crate::config::Peer;
use crate::ctl::{
    FamilyCountersView, NeighborView, Reply, Request, RouteAddView, RouteDelView, SpeakerInfoView,
};
use crate::wire::{Family, Prefix};

/// What the control requests read: the configured peers, their status, and the RIB task.
#[derive(Clone)]
pub struct Ctl {
    /// Live session status.
    pub status: StatusBoard,
    /// The RIB task.
    pub rib: mpsc::UnboundedSender<RibCmd>,
    /// The operator's intent (originated routes), saved before changes are acknowledged.
    pub intent: std::sync::Arc<std::sync::Mutex<IntentKeeper>>,
    /// This speaker's version.
    pub version: String,
    /// What starts and stops peers, once the speaker is live (see [`go_live`](Self::go_live)).
    pub live: Arc<OnceLock<Live>>,
}

/// The parts of a live speaker the control requests change it through.
pub struct Live {
    /// The REST API's backend; the speaker's run holds the only strong reference.
    backend: Weak<SpeakerBackend>,
    /// Reloads of the configuration file.
    reloader: Reloader,
}

/// Answer requests on the unix socket until the process ends (standalone speaker).
pub async fn serve(listener: UnixListener, ctl: Ctl) {
    while let Ok((stream, _)) = listener.accept().await {
        let ctl = ctl.clone();
        tokio::spawn(async move {
            let _ = answer(stream, &ctl).await;
        });
    }
}

async fn answer(stream: UnixStream, ctl: &Ctl) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    BufReader::new(rd).read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(e) => Reply::Error {
            error: format!("bad request: {e}"),
        },
        Ok(req) => ctl.execute(req).await,
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    wr.write_all(&out).await?;
    wr.shutdown().await
}

impl Ctl {
    /// From now on, answer the neighbor requests through `backend` (the speaker is live and
    /// its peer tasks run).
    pub fn go_live(&self, backend: &Arc<SpeakerBackend>, reloader: Reloader) {
        let _ = self.live.set(Live {
            backend: Arc::downgrade(backend),
            reloader,
        });
    }

    fn live(&self) -> Result<&Live, String> {
        self.live.get().ok_or_else(|| {
            "the speaker is not live yet (starting or taking over); try again".into()
        })
    }

    /// The backend, if the speaker is live and not yet gone.
    fn backend(&self) -> Result<Arc<SpeakerBackend>, String> {
        self.live()?
            .backend
            .upgrade()
            .ok_or_else(|| "the speaker is stopping".to_string())
    }

    /// Carry out one request.
    pub async fn execute(&self, req: Request) -> Reply {
        match self.execute_inner(req).await {
            Ok(v) => Reply::Ok(v),
            Err(error) => Reply::Error { error },
        }
    }

    /// Every peer (the configuration's in file order, then those added at run time), with its
    /// source and whether it is enabled.
    pub fn peers(&self) -> Vec<(Peer, PeerSource, bool)> {
        self.intent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .peers()
    }

    /// Every peer's view (the order of [`peers`](Self::peers)): session status and route
    /// counters.
    pub async fn neighbor_views(&self) -> Result<Vec<NeighborView>, String> {
        let gone = "the RIB task is not running".to_string();
        let (tx, rx) = oneshot::channel();
        self.rib
            .send(RibCmd::Counters(tx))
            .map_err(|_| gone.clone())?;
        let counters = rx.await.map_err(|_| gone)?;
        let snapshot = self.status.snapshot();
        let views = self
            .peers()
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
                    remote_id: s.remote_id.map(|r| r.to_string()),
                    last_error: s.last_error,
                    established_count: s.established_count,
                    martian_next_hops: s.martian_next_hops,
                    graceful_restart: s.graceful_restart.to_string(),
                    families: counters.get(&p.address).cloned().unwrap_or_else(|| {
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
        let dir = self
            .intent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state_dir()?;
        tokio::task::spawn_blocking(move || {
            let _ = dir.probe();
            dir.not_writable()
        })
        .await
        .unwrap_or_else(|e| Some(format!("cannot probe the state directory: {e}")))
    }

    async fn execute_inner(&self, req: Request) -> Result<serde_json::Value, String> {
        let rib = &self.rib;
        let gone = |_| "the RIB task is not running".to_string();
        match req {
            Request::Neighbors => {
                let views = self.neighbor_views().await?;
                serde_json::to_value(views).map_err(|e| e.to_string())
            }
            // The same announce and withdraw as the REST API's (a prefix the file owns is
            // refused the same way), checked the same way first.
            Request::RouteAdd { routes } => {
                crate::config::check_routes(&routes, "routes")
                    .map_err(|(field, message)| neighbor::blame(Some(field.to_string()), message))?;
                let announced = routes.len();
                let backend = self.backend()?;
                backend.announce(routes).await.map_err(neighbor::refusal)?;
                to_json(RouteAddView { announced })
            }
            Request::RouteDel { prefixes } => {
                let prefixes = prefixes
                    .iter()
                    .map(|p| p.parse::<Prefix>().map_err(|e| e.to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                let backend = self.backend()?;
                let report = backend.withdraw(prefixes).await.map_err(neighbor::refusal)?;
                to_json(RouteDelView {
                    withdrawn: report.withdrawn,
                })
            }
            Request::SpeakerInfo => {
                let state_not_writable = self.probe_state().await;
                let intent = self.intent.lock().unwrap_or_else(|e| e.into_inner());
                let routes = intent.routes();
                let api = routes
                    .iter()
                    .filter(|(_, s)| *s == RouteSource::Api)
                    .count();
                let view = SpeakerInfoView {
                    version: self.version.clone(),
                    state_problems: intent.problems.clone(),
                    state_not_writable,
                    config_routes: routes.len() - api,
                    api_routes: api,
                };
                serde_json::to_value(view).map_err(|e| e.to_string())
            }
            req @ (Request::Neighbor { .. }
            | Request::AdjIn { .. }
            | Request::AdjOut { .. }
            | Request::NeighborAdd { .. }
            | Request::NeighborDel { .. }
            | Request::NeighborEnable { .. }
            | Request::NeighborDisable { .. }
            | Request::NeighborReset { .. }) => {
                neighbor::execute(self, &*self.backend()?, req).await
            }
            Request::Reload { dry_run } => {
                let view = self.live()?.reloader.reload(self, dry_run).await?;
                serde_json::to_value(view).map_err(|e| e.to_string())
            }
            Request::Status | Request::Upgrade { .. } => {
                Err("status and upgrade are answered by the supervisor (batond --config), not by a standalone speaker".into())
            }
            Request::Rib { family, prefix } => {
                let family = family
                    .map(|f| f.parse::<Family>())
                    .transpose()
                    .map_err(|e| e.to_string())?;
                let prefix = prefix
                    .map(|p| p.parse::<Prefix>())
                    .transpose()
                    .map_err(|e| e.to_string())?;
                let (tx, rx) = oneshot::channel();
                rib.send(RibCmd::Dump {
                    family,
                    prefix,
                    reply: tx,
                })
                .map_err(|_| gone(()))?;
                let view = rx.await.map_err(|_| gone(()))?;
                serde_json::to_value(view).map_err(|e| e.to_string())
            }
        }
    }
}

fn to_json(view: impl serde::Serialize) -> Result<serde_json::Value, String> {
    serde_json::to_value(view).map_err(|e| e.to_string())
}
