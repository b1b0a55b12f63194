//! The REST API's [`Backend`], implemented by the one operations core ([`Ops`]): it reads peer
//! status and the RIB task, and changes originated routes and neighbors through the intent — saved and fsynced before the RIB or the peer tasks hear of it, so a 2xx
//! survives a crash. Neighbors named by the configuration file can be enabled, disabled and
//! soft-reset, not changed or deleted (the file says what they are); neighbors added through
//! the API can be all of that.
//!
//! Also here: serving the API while the speaker is live ([`ApiServer`]), so an upgrade hands
//! the socket from the old speaker to the new one without refusing a connection.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::intent::RouteSource;
use super::ops::Ops;
use super::peer::PeerEvent;
use super::rib_task::RibCmd;
use crate::api::{
    AnnounceReport, ApiError, ApiOptions, Backend, BackendError, PeerPatch, ServeOptions,
    StatusView, WithdrawReport,
};
use crate::config::{Config, Peer, Route};
use crate::ctl::{NeighborView, RouteView};
use crate::session::SessionState;
use crate::wire::{notif, Family, Notification, Prefix};

/// How long a stopping speaker waits for API requests in flight to finish: well within the
/// supervisor's bound on a quiescing speaker (5 s), which also has sessions to close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

#[async_trait]
impl Backend for Ops {
    async fn metrics(&self) -> Result<String, BackendError> {
        self.metrics_text().await.map_err(BackendError::Unavailable)
    }

    fn count_request(&self, route: &str, status: u16) {
        let label = crate::metrics::ApiLabel {
            route: route.to_string(),
            status: status.to_string(),
        };
        self.metrics.api.requests.get_or_create(&label).inc();
    }

    async fn status(&self) -> Result<StatusView, BackendError> {
        let established = self
            .status
            .snapshot()
            .values()
            .filter(|s| s.state == SessionState::Established)
            .count();
        let (config_routes, api_routes) = self.intent().route_counts();
        Ok(StatusView {
            version: self.version.clone(),
            asn: self.asn,
            router_id: self.router_id,
            uptime_secs: self.uptime_secs(),
            neighbors: self.peer_list().len(),
            established,
            config_routes,
            api_routes,
            state_not_writable: self.probe_state().await,
        })
    }

    async fn neighbors(&self) -> Result<Vec<NeighborView>, BackendError> {
        let mut views = self
            .neighbor_views()
            .await
            .map_err(BackendError::Unavailable)?;
        views.sort_by_key(|v| v.address);
        Ok(views)
    }

    async fn neighbor(&self, addr: IpAddr) -> Result<NeighborView, BackendError> {
        self.known(addr)?;
        self.neighbors()
            .await?
            .into_iter()
            .find(|v| v.address == addr)
            .ok_or(BackendError::UnknownNeighbor(addr))
    }

    async fn add_neighbor(&self, peer: Peer) -> Result<NeighborView, BackendError> {
        self.live()?;
        let _turn = self.peers.changing().await;
        let addr = peer.address;
        let saved = peer.clone();
        self.change_intent(move |keeper| {
            if keeper.peer(addr).is_some() {
                return Err(BackendError::DuplicateNeighbor(addr));
            }
            keeper.put_peer(saved).map_err(BackendError::from)?;
            Ok(((), None))
        })
        .await?;
        self.peers.start(peer, false);
        self.neighbor(addr).await
    }

    async fn update_neighbor(
        &self,
        addr: IpAddr,
        patch: PeerPatch,
    ) -> Result<NeighborView, BackendError> {
        self.live()?;
        let _turn = self.peers.changing().await;
        let (old, enabled) = self.added_at_run_time(addr, "change")?;
        let mut new = old.clone();
        patch.apply(&mut new);
        crate::config::check_peer(&new, crate::config::FieldPath::default()).map_err(
            |(field, message)| BackendError::Invalid {
                field: Some(field.to_string()).filter(|f| !f.is_empty()),
                message,
            },
        )?;
        if new != old {
            let saved = new.clone();
            self.change_intent(move |keeper| {
                keeper.put_peer(saved).map_err(BackendError::from)?;
                Ok(((), None))
            })
            .await?;
            if enabled {
                let cease = Notification::new(notif::CEASE, notif::OTHER_CONFIG_CHANGE);
                self.peers.stop(addr, Some(cease)).await;
                self.peers.start(new, false);
            }
        }
        self.neighbor(addr).await
    }

    async fn delete_neighbor(&self, addr: IpAddr) -> Result<(), BackendError> {
        self.live()?;
        let _turn = self.peers.changing().await;
        self.added_at_run_time(addr, "delete")?;
        self.change_intent(move |keeper| {
            keeper.remove_peer(addr).map_err(BackendError::from)?;
            Ok(((), None))
        })
        .await?;
        let cease = Notification::new(notif::CEASE, notif::PEER_DECONFIGURED);
        self.peers.stop(addr, Some(cease)).await;
        self.forget_peer(addr);
        Ok(())
    }

    async fn set_enabled(&self, addr: IpAddr, enabled: bool) -> Result<(), BackendError> {
        self.live()?;
        let _turn = self.peers.changing().await;
        let (peer, _, was) = self.known(addr)?;
        if was != enabled {
            self.change_intent(move |keeper| {
                keeper
                    .set_enabled(addr, enabled)
                    .map_err(BackendError::from)?;
                Ok(((), None))
            })
            .await?;
        }
        let running = self.peers.get(addr).is_some();
        if enabled && !running {
            self.peers.start(peer, false);
        } else if !enabled && running {
            let cease = Notification::cease_with_message(notif::ADMIN_SHUTDOWN, DISABLE_MESSAGE);
            self.peers.stop(addr, Some(cease)).await;
            self.status
                .update(addr, |s| s.last_error = Some(super::DISABLED.into()));
        }
        Ok(())
    }

    async fn soft_reset(&self, addr: IpAddr) -> Result<(), BackendError> {
        self.live()?;
        self.known(addr)?;
        let task = self.peers.get(addr).ok_or_else(|| BackendError::Conflict {
            field: None,
            message: format!("neighbor {addr} is disabled"),
        })?;
        let (tx, rx) = oneshot::channel();
        task.send(PeerEvent::AskRefresh(tx))
            .map_err(|_| BackendError::Unavailable(format!("the task of {addr} has ended")))?;
        let answer = rx
            .await
            .map_err(|_| BackendError::Unavailable(format!("the task of {addr} has ended")))?;
        let Some((families, asked)) = answer else {
            return Err(BackendError::Conflict {
                field: None,
                message: format!("the session with {addr} is not Established"),
            });
        };
        if !asked {
            info!(peer = %addr, "soft reset: the peer does not take ROUTE-REFRESH; resending ours only");
        }
        for family in families {
            self.rib
                .send(RibCmd::Refresh(addr, family))
                .map_err(|_| BackendError::Unavailable("the RIB task is not running".into()))?;
        }
        Ok(())
    }

    async fn rib(
        &self,
        family: Family,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError> {
        let view = self
            .rib_call(|reply| RibCmd::Dump {
                family: Some(family),
                prefix,
                reply,
            })
            .await?;
        let mut routes = view.loc_rib;
        self.name_sources(&mut routes);
        Ok(routes)
    }

    async fn adj_in(
        &self,
        addr: IpAddr,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError> {
        self.known(addr)?;
        let view = self
            .rib_call(|reply| RibCmd::Dump {
                family: None,
                prefix,
                reply,
            })
            .await?;
        Ok(view
            .adj_rib_in
            .into_iter()
            .find(|a| a.peer == addr)
            .map(|a| a.routes)
            .unwrap_or_default())
    }

    async fn adj_out(
        &self,
        addr: IpAddr,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError> {
        self.known(addr)?;
        let mut routes = self
            .rib_call(|reply| RibCmd::DumpAdjOut {
                peer: addr,
                prefix,
                reply,
            })
            .await?;
        self.name_sources(&mut routes);
        Ok(routes)
    }

    async fn announce(&self, routes: Vec<Route>) -> Result<AnnounceReport, BackendError> {
        self.live()?;
        let n = routes.len();
        self.change_intent(move |keeper| {
            let mut report = AnnounceReport::default();
            for (i, r) in routes.iter().enumerate() {
                match keeper.source_of(&r.prefix) {
                    Some(RouteSource::Config) => {
                        let field = if n == 1 {
                            "prefix".to_string()
                        } else {
                            format!("routes[{i}].prefix")
                        };
                        return Err(BackendError::Conflict {
                            field: Some(field),
                            message: format!(
                                "{} is originated by the configuration file; change it there",
                                r.prefix
                            ),
                        });
                    }
                    Some(RouteSource::Api) => report.replaced += 1,
                    None => report.added += 1,
                }
            }
            keeper
                .announce(routes.clone())
                .map_err(BackendError::from)?;
            let cmd = RibCmd::ChangeOriginated {
                announce: routes,
                withdraw: Vec::new(),
            };
            Ok((report, Some(cmd)))
        })
        .await
    }

    async fn withdraw(&self, prefixes: Vec<Prefix>) -> Result<WithdrawReport, BackendError> {
        self.live()?;
        let n = prefixes.len();
        self.change_intent(move |keeper| {
            let mut report = WithdrawReport::default();
            let mut ours = Vec::new();
            for (i, p) in prefixes.into_iter().enumerate() {
                match keeper.source_of(&p) {
                    Some(RouteSource::Config) => {
                        let field = if n == 1 {
                            "prefix".to_string()
                        } else {
                            format!("prefixes[{i}]")
                        };
                        return Err(BackendError::Conflict {
                            field: Some(field),
                            message: format!(
                                "{p} is originated by the configuration file; remove it there"
                            ),
                        });
                    }
                    Some(RouteSource::Api) => ours.push(p),
                    None => report.not_found.push(p),
                }
            }
            if ours.is_empty() {
                return Ok((report, None));
            }
            report.withdrawn = keeper.withdraw(&ours).map_err(BackendError::from)?;
            let cmd = RibCmd::ChangeOriginated {
                announce: Vec::new(),
                withdraw: ours,
            };
            Ok((report, Some(cmd)))
        })
        .await
    }
}

/// The message of the Cease / Administrative Shutdown a disabled neighbor gets (RFC 9003).
const DISABLE_MESSAGE: &str = "baton: neighbor disabled";

/// The REST API, served on its listener from when the speaker goes live until it stops.
pub struct ApiServer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl ApiServer {
    /// Serve `router` on `listener` (bound by the supervisor or by a standalone speaker),
    /// within the bounds and with the TLS files of `config`'s `[api]`. Errs without serving
    /// if those files are no longer usable: never plain HTTP in place of HTTPS.
    pub fn start(
        listener: std::net::TcpListener,
        router: axum::Router,
        config: &Config,
    ) -> std::io::Result<Self> {
        let options = match &config.api {
            Some(api) => ServeOptions::from_config(api)
                .map_err(|(key, message)| std::io::Error::other(format!("api.{key}: {message}")))?,
            None => ServeOptions::default(),
        };
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = crate::api::serve(listener, router, options, shutdown).await {
                error!(%addr, error = %e, "REST API failed");
            }
        });
        Ok(ApiServer { stop, task })
    }

    /// Stop accepting requests and let those in flight finish (a change acknowledged by this
    /// speaker is then saved before the next speaker reads the state), within a bound.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(DRAIN_TIMEOUT, &mut task)
            .await
            .is_err()
        {
            warn!(
                timeout_secs = DRAIN_TIMEOUT.as_secs(),
                "REST API requests still running: dropping them"
            );
            task.abort();
        }
        info!("REST API stopped");
    }
}

/// The API's router for `config` over `backend`, with the bearer token of `[api] token_file`
/// and the rate limit of `[api] rate_limit`.
/// If the token cannot be read now (it was when the configuration was loaded), every request
/// is refused with 503 rather than served without the token.
pub fn router(config: &Config, backend: Arc<dyn Backend>) -> axum::Router {
    let options = config
        .api
        .as_ref()
        .map(ApiOptions::from_config)
        .unwrap_or_else(|| Ok(ApiOptions::default()));
    match options {
        Ok(options) => crate::api::router(backend, options),
        Err(e) => {
            error!(error = %e, "REST API token unusable: refusing every request");
            let message = format!("the API token cannot be read: {e}");
            axum::Router::new().fallback(move || {
                let message = message.clone();
                async move { ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).into_response() }
            })
        }
    }
}
