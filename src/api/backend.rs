//! What the REST API asks of the daemon: the [`Backend`] trait, its domain errors, and the few
//! values that only the API speaks of (status, patches, reports).
//!
//! The HTTP layer validates every request completely before it calls the backend, so a backend
//! only ever sees well-formed peers, patches, routes and prefixes. What the backend alone can
//! know (is there such a neighbor, is the intent store writable) comes back as a
//! [`BackendError`], which the API maps to an HTTP status in one place.

use std::net::{IpAddr, Ipv4Addr};

use async_trait::async_trait;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::config::{GracefulRestart, Peer, Route};
use crate::ctl::{NeighborView, RouteView};
use crate::wire::{Family, Prefix};

/// The `source` of a route the daemon originates because the configuration file lists it.
pub const SOURCE_CONFIG: &str = "config";
/// The `source` of a route the daemon originates because the API announced it.
pub const SOURCE_API: &str = "api";

/// The daemon, as the REST API sees it.
///
/// Every method is called only with input the API has fully validated: peers and routes passed
/// the same checks as the configuration file, prefixes have no host bits, and a batch is
/// checked whole before it is passed on.
///
/// # Durability and atomicity
///
/// The handler replies 2xx only after the method returned `Ok`, and an `Err` becomes an error
/// reply. So a method that changes state must make the change durable (the daemon writes its
/// intent store and fsyncs) before it returns `Ok`, and must apply all of it or none of it:
/// a batch of routes that fails halfway must leave nothing applied.
///
/// Routes in the Loc-RIB that the daemon originates carry `source` [`SOURCE_CONFIG`] or
/// [`SOURCE_API`]; learned routes carry the peer address.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The speaker's status.
    async fn status(&self) -> Result<StatusView, BackendError>;

    /// Every neighbor, sorted by address.
    async fn neighbors(&self) -> Result<Vec<NeighborView>, BackendError>;

    /// One neighbor; [`BackendError::UnknownNeighbor`] if there is none at `addr`.
    async fn neighbor(&self, addr: IpAddr) -> Result<NeighborView, BackendError>;

    /// Add a neighbor ([`BackendError::DuplicateNeighbor`] if one has its address). `families`
    /// is already filled in from the address when the request left it out.
    async fn add_neighbor(&self, peer: Peer) -> Result<NeighborView, BackendError>;

    /// Change some settings of a neighbor ([`PeerPatch::apply`] does the change on a [`Peer`]).
    async fn update_neighbor(
        &self,
        addr: IpAddr,
        patch: PeerPatch,
    ) -> Result<NeighborView, BackendError>;

    /// Remove a neighbor, closing its session.
    async fn delete_neighbor(&self, addr: IpAddr) -> Result<(), BackendError>;

    /// Start (`true`) or administratively stop (`false`) a neighbor's session.
    async fn set_enabled(&self, addr: IpAddr, enabled: bool) -> Result<(), BackendError>;

    /// Ask the neighbor to resend its routes (ROUTE-REFRESH, RFC 2918) and resend ours.
    async fn soft_reset(&self, addr: IpAddr) -> Result<(), BackendError>;

    /// The Loc-RIB of one family (every candidate, `best` marking the selected one), sorted by
    /// prefix; only `prefix` when given (it is of `family`).
    async fn rib(
        &self,
        family: Family,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError>;

    /// The Adj-RIB-In of a neighbor, sorted by prefix; only `prefix` when given.
    async fn adj_in(
        &self,
        addr: IpAddr,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError>;

    /// The Adj-RIB-Out of a neighbor, sorted by prefix; only `prefix` when given.
    async fn adj_out(
        &self,
        addr: IpAddr,
        prefix: Option<Prefix>,
    ) -> Result<Vec<RouteView>, BackendError>;

    /// Originate these routes (at least one; no prefix twice), replacing the attributes of any
    /// prefix the API already announced. All or nothing.
    async fn announce(&self, routes: Vec<Route>) -> Result<AnnounceReport, BackendError>;

    /// Stop originating these prefixes (at least one; none twice). A prefix the API did not
    /// announce is reported in [`WithdrawReport::not_found`], not refused.
    async fn withdraw(&self, prefixes: Vec<Prefix>) -> Result<WithdrawReport, BackendError>;

    /// The metrics, in the Prometheus text exposition format.
    async fn metrics(&self) -> Result<String, BackendError>;

    /// Count one answered request: the route pattern it matched (`/v1/neighbors/{addr}`, or
    /// `other`) and its status. Nothing by default.
    fn count_request(&self, _route: &str, _status: u16) {}
}

/// Why the backend refused or failed a request. Each maps to one HTTP status, in the API's
/// `From<BackendError> for ApiError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No neighbor has this address (404).
    #[error("no neighbor has the address {0}")]
    UnknownNeighbor(IpAddr),
    /// A neighbor already has this address (409).
    #[error("a neighbor with the address {0} already exists")]
    DuplicateNeighbor(IpAddr),
    /// The request is well-formed but the daemon cannot take it, e.g. a family the speaker
    /// does not run (400).
    #[error("{message}")]
    Invalid {
        /// The request field to blame (`routes[3].next_hop`), when there is one.
        field: Option<String>,
        /// What is wrong, in one line.
        message: String,
    },
    /// The request clashes with the daemon's state, e.g. withdrawing a route the
    /// configuration file originates (409).
    #[error("{message}")]
    Conflict {
        /// The request field to blame, when there is one.
        field: Option<String>,
        /// What clashes, in one line.
        message: String,
    },
    /// The daemon cannot serve the request now: shutting down, intent store not writable
    /// (503). Nothing was applied.
    #[error("the daemon cannot serve the request now: {0}")]
    Unavailable(String),
    /// The change cannot be kept: the state directory cannot be written now (503), e.g. a
    /// read-only file system. Nothing was applied; the same request succeeds once it is
    /// writable again. Holds the directory and the reason.
    #[error("state not writable: {0}; nothing was changed (changes are accepted again once it is writable)")]
    StateNotWritable(String),
    /// A bug or an unexpected failure (500). Nothing was applied.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `GET /v1/status`: the speaker at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusView {
    /// baton's version.
    #[schema(example = "0.1.0")]
    pub version: String,
    /// Our AS number.
    pub asn: u32,
    /// Our BGP identifier.
    #[schema(value_type = String, example = "198.18.0.1")]
    pub router_id: Ipv4Addr,
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// Neighbors configured.
    pub neighbors: usize,
    /// Of those, neighbors whose session is Established.
    pub established: usize,
    /// Routes originated from the configuration file.
    pub config_routes: usize,
    /// Routes originated through the API.
    pub api_routes: usize,
    /// Why the state directory cannot be written, or `null` when it can: while it cannot,
    /// the daemon serves from the state it read and refuses changes with 503.
    #[schema(example = json!(null))]
    pub state_not_writable: Option<String>,
}

/// `PATCH /v1/neighbors/{addr}`: the settings to change; a setting left out (`None`) stays
/// as it is.
///
/// Built only by the API from a validated request: every value passed the checks of the
/// configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PeerPatch {
    /// New remote AS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_as: Option<u32>,
    /// New TCP port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// New passive flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passive: Option<bool>,
    /// New hold time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<u16>,
    /// New connect retry time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_retry: Option<u16>,
    /// New families (never empty).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "names::option"
    )]
    #[schema(value_type = Option<Vec<String>>, example = json!(["ipv4-unicast"]))]
    pub families: Option<Vec<Family>>,
    /// New source address; JSON `null` (`Some(None)`) removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable)]
    pub local_address: Option<Option<IpAddr>>,
    /// New description; JSON `null` (`Some(None)`) removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    /// New graceful restart settings, replacing the whole table (keys left out take their
    /// defaults, as in the configuration file).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::api::schema::GracefulRestartDoc>)]
    pub graceful_restart: Option<GracefulRestart>,
}

impl PeerPatch {
    /// True if the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == PeerPatch::default()
    }

    /// Change `peer` as the patch says.
    pub fn apply(&self, peer: &mut Peer) {
        fn set<T: Clone>(field: &mut T, new: &Option<T>) {
            if let Some(v) = new {
                *field = v.clone();
            }
        }
        set(&mut peer.remote_as, &self.remote_as);
        set(&mut peer.port, &self.port);
        set(&mut peer.passive, &self.passive);
        set(&mut peer.hold_time, &self.hold_time);
        set(&mut peer.connect_retry, &self.connect_retry);
        set(&mut peer.families, &self.families);
        set(&mut peer.local_address, &self.local_address);
        set(&mut peer.description, &self.description);
        set(&mut peer.graceful_restart, &self.graceful_restart);
    }
}

/// What `POST /v1/routes` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AnnounceReport {
    /// Prefixes the API did not announce before.
    pub added: usize,
    /// Prefixes the API announced before, whose attributes were replaced.
    pub replaced: usize,
}

/// What `DELETE /v1/routes` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct WithdrawReport {
    /// Prefixes no longer originated.
    pub withdrawn: usize,
    /// Prefixes the API had not announced (nothing to do for them).
    #[serde(serialize_with = "names::list")]
    #[schema(value_type = Vec<String>, example = json!(["198.18.7.0/24"]))]
    pub not_found: Vec<Prefix>,
}

/// Serialize wire values by their text form.
mod names {
    use super::*;

    pub(super) fn list<T: std::fmt::Display, S: Serializer>(
        v: &[T],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }

    pub(super) fn option<T: std::fmt::Display, S: Serializer>(
        v: &Option<Vec<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => list(v, s),
            None => s.serialize_none(),
        }
    }
}
