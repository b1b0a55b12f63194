//! The endpoints: each reads and checks its request completely, then makes one backend call,
//! and replies 2xx only once that call returned `Ok`.
//!
//! The `#[utoipa::path]` on each handler is both its route (utoipa-axum registers it under that
//! path and method) and its entry in the OpenAPI document, so the two cannot drift apart.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::backend::{AnnounceReport, PeerPatch, StatusView, WithdrawReport};
use super::error::{ApiError, ErrorBody};
use super::request::{self, FamilyParam, JsonBody, NeighborAddr, PrefixFilter};
use super::schema::{AnnounceDoc, PeerDoc, PrefixQuery};
use super::AppState;
use crate::ctl::{NeighborView, RouteView};

/// `GET /v1/neighbors`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct NeighborsReply {
    /// Every neighbor, sorted by address.
    #[schema(value_type = Vec<super::schema::NeighborViewDoc>)]
    neighbors: Vec<NeighborView>,
}

/// What an action on a neighbor did.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ActionReply {
    /// The neighbor.
    #[schema(value_type = String, example = "198.18.0.2")]
    neighbor: IpAddr,
    /// `deleted`, `enabled`, `disabled` or `soft-reset`.
    #[schema(example = "disabled")]
    action: &'static str,
}

/// `GET /v1/rib/{family}`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct RibReply {
    /// The family, by its full name.
    #[schema(example = "ipv4-unicast")]
    family: String,
    /// The Loc-RIB: every candidate, `best` marking the selected one; sorted by prefix.
    #[schema(value_type = Vec<super::schema::RouteViewDoc>)]
    routes: Vec<RouteView>,
}

/// `GET /v1/neighbors/{addr}/adj-in` and `adj-out`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AdjRibReply {
    /// The neighbor.
    #[schema(value_type = String, example = "198.18.0.2")]
    neighbor: IpAddr,
    /// The neighbor's routes, sorted by prefix.
    #[schema(value_type = Vec<super::schema::RouteViewDoc>)]
    routes: Vec<RouteView>,
}

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(
    get, path = "/v1/status", tag = "status",
    responses(
        (status = 200, description = "The speaker at a glance", body = StatusView),
        (status = 401, description = "Bearer token missing or wrong", body = ErrorBody),
        (status = 503, description = "Daemon unavailable", body = ErrorBody),
    )
)]
pub(super) async fn status(State(s): State<AppState>) -> ApiResult<Json<StatusView>> {
    Ok(Json(s.backend.status().await?))
}

#[utoipa::path(
    get, path = "/v1/neighbors", tag = "neighbors",
    responses(
        (status = 200, description = "Every neighbor", body = NeighborsReply),
        (status = 401, description = "Bearer token missing or wrong", body = ErrorBody),
    )
)]
pub(super) async fn list_neighbors(State(s): State<AppState>) -> ApiResult<Json<NeighborsReply>> {
    let neighbors = s.backend.neighbors().await?;
    Ok(Json(NeighborsReply { neighbors }))
}

#[utoipa::path(
    get, path = "/v1/neighbors/{addr}", tag = "neighbors",
    params(("addr" = String, Path, description = "The neighbor's address")),
    responses(
        (status = 200, description = "The neighbor", body = super::schema::NeighborViewDoc),
        (status = 400, description = "Not an IP address", body = ErrorBody),
        (status = 404, description = "No such neighbor", body = ErrorBody),
    )
)]
pub(super) async fn get_neighbor(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
) -> ApiResult<Json<NeighborView>> {
    Ok(Json(s.backend.neighbor(addr).await?))
}

#[utoipa::path(
    post, path = "/v1/neighbors", tag = "neighbors",
    request_body(content = PeerDoc, content_type = "application/json",
        description = "A neighbor, written as a `[[peer]]` table of the configuration file"),
    responses(
        (status = 201, description = "Added", body = super::schema::NeighborViewDoc),
        (status = 400, description = "Invalid; `field` names the value", body = ErrorBody),
        (status = 409, description = "A neighbor has this address", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body not JSON", body = ErrorBody),
    )
)]
pub(super) async fn add_neighbor(
    State(s): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let peer = request::peer(&body)?;
    let addr = peer.address;
    let view = s.backend.add_neighbor(peer).await?;
    tracing::info!(peer = %addr, "neighbor added through the API");
    let location = format!("/v1/neighbors/{addr}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

#[utoipa::path(
    patch, path = "/v1/neighbors/{addr}", tag = "neighbors",
    params(("addr" = String, Path, description = "The neighbor's address")),
    request_body(content = PeerPatch, content_type = "application/json",
        description = "Some keys of a `[[peer]]` table; `null` removes `local_address` or \
                       `description`; `address` cannot change"),
    responses(
        (status = 200, description = "Updated", body = super::schema::NeighborViewDoc),
        (status = 400, description = "Invalid; `field` names the value", body = ErrorBody),
        (status = 404, description = "No such neighbor", body = ErrorBody),
        (status = 409, description = "The neighbor is in the configuration file", body = ErrorBody),
        (status = 415, description = "Body not JSON", body = ErrorBody),
    )
)]
pub(super) async fn update_neighbor(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<NeighborView>> {
    let patch = request::patch(addr, &body)?;
    let view = s.backend.update_neighbor(addr, patch).await?;
    tracing::info!(peer = %addr, "neighbor updated through the API");
    Ok(Json(view))
}

#[utoipa::path(
    delete, path = "/v1/neighbors/{addr}", tag = "neighbors",
    params(("addr" = String, Path, description = "The neighbor's address")),
    responses(
        (status = 200, description = "Deleted", body = ActionReply),
        (status = 404, description = "No such neighbor", body = ErrorBody),
        (status = 409, description = "The neighbor is in the configuration file", body = ErrorBody),
    )
)]
pub(super) async fn delete_neighbor(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
) -> ApiResult<Json<ActionReply>> {
    s.backend.delete_neighbor(addr).await?;
    tracing::info!(peer = %addr, "neighbor deleted through the API");
    Ok(Json(ActionReply {
        neighbor: addr,
        action: "deleted",
    }))
}

#[utoipa::path(
    post, path = "/v1/neighbors/{addr}/enable", tag = "neighbors",
    params(("addr" = String, Path, description = "The neighbor's address")),
    responses(
        (status = 200, description = "Session started", body = ActionReply),
        (status = 404, description = "No such neighbor", body = ErrorBody),
    )
)]
pub(super) async fn enable_neighbor(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
) -> ApiResult<Json<ActionReply>> {
    s.backend.set_enabled(addr, true).await?;
    tracing::info!(peer = %addr, "neighbor enabled through the API");
    Ok(Json(ActionReply {
        neighbor: addr,
        action: "enabled",
    }))
}

#[utoipa::path(
    post, path = "/v1/neighbors/{addr}/disable", tag = "neighbors",
    params(("addr" = String, Path, description = "The neighbor's address")),
    responses(
        (status = 200, description = "Session stopped", body = ActionReply),
        (status = 404, description = "No such neighbor", body = ErrorBody),
    )
)]
pub(super) async fn disable_neighbor(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
) -> ApiResult<Json<ActionReply>> {
    s.backend.set_enabled(addr, false).await?;
    tracing::info!(peer = %addr, "neighbor disabled through the API");
    Ok(Json(ActionReply {
        neighbor: addr,
        action: "disabled",
    }))
}

#[utoipa::path(
    post, path = "/v1/neighbors/{addr}/soft-reset", tag = "neighbors",
    params(("addr" = String, Path, description = "The neighbor's address")),
    responses(
        (status = 200, description = "Routes asked for again and resent", body = ActionReply),
        (status = 404, description = "No such neighbor", body = ErrorBody),
        (status = 409, description = "The neighbor is disabled, or its session is not Established",
            body = ErrorBody),
    )
)]
pub(super) async fn soft_reset_neighbor(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
) -> ApiResult<Json<ActionReply>> {
    s.backend.soft_reset(addr).await?;
    tracing::info!(peer = %addr, "neighbor soft reset through the API");
    Ok(Json(ActionReply {
        neighbor: addr,
        action: "soft-reset",
    }))
}

#[utoipa::path(
    get, path = "/v1/rib/{family}", tag = "routes",
    params(
        ("family" = String, Path,
            description = "`ipv4-unicast` or `ipv6-unicast` (also `ipv4`, `ipv6`)"),
        PrefixQuery,
    ),
    responses(
        (status = 200, description = "The Loc-RIB of the family", body = RibReply),
        (status = 400, description = "Unknown family, or a prefix not of the family",
            body = ErrorBody),
    )
)]
pub(super) async fn rib(
    State(s): State<AppState>,
    FamilyParam(family): FamilyParam,
    PrefixFilter(prefix): PrefixFilter,
) -> ApiResult<Json<RibReply>> {
    if let Some(prefix) = prefix {
        if prefix.family() != family {
            return Err(ApiError::field(
                "prefix",
                format!(
                    "{prefix} is {} but the RIB asked for is {family}",
                    prefix.family()
                ),
            ));
        }
    }
    let routes = s.backend.rib(family, prefix).await?;
    Ok(Json(RibReply {
        family: family.name(),
        routes,
    }))
}

#[utoipa::path(
    get, path = "/v1/neighbors/{addr}/adj-in", tag = "routes",
    params(("addr" = String, Path, description = "The neighbor's address"), PrefixQuery),
    responses(
        (status = 200, description = "Routes received from the neighbor", body = AdjRibReply),
        (status = 404, description = "No such neighbor", body = ErrorBody),
    )
)]
pub(super) async fn adj_in(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
    PrefixFilter(prefix): PrefixFilter,
) -> ApiResult<Json<AdjRibReply>> {
    let routes = s.backend.adj_in(addr, prefix).await?;
    Ok(Json(AdjRibReply {
        neighbor: addr,
        routes,
    }))
}

#[utoipa::path(
    get, path = "/v1/neighbors/{addr}/adj-out", tag = "routes",
    params(("addr" = String, Path, description = "The neighbor's address"), PrefixQuery),
    responses(
        (status = 200, description = "Routes sent to the neighbor", body = AdjRibReply),
        (status = 404, description = "No such neighbor", body = ErrorBody),
    )
)]
pub(super) async fn adj_out(
    State(s): State<AppState>,
    NeighborAddr(addr): NeighborAddr,
    PrefixFilter(prefix): PrefixFilter,
) -> ApiResult<Json<AdjRibReply>> {
    let routes = s.backend.adj_out(addr, prefix).await?;
    Ok(Json(AdjRibReply {
        neighbor: addr,
        routes,
    }))
}

#[utoipa::path(
    post, path = "/v1/routes", tag = "routes",
    request_body(content = AnnounceDoc, content_type = "application/json",
        description = "One route, or `{\"routes\": [...]}`: all are checked before any is \
                       applied"),
    responses(
        (status = 200, description = "Announced", body = AnnounceReport),
        (status = 400, description = "Invalid; `field` names the route and value \
            (`routes[3].communities[0]`); nothing applied", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 409, description = "A prefix is originated by the configuration file",
            body = ErrorBody),
        (status = 415, description = "Body not JSON", body = ErrorBody),
    )
)]
pub(super) async fn announce(
    State(s): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<AnnounceReport>> {
    let routes = request::routes(&body)?;
    let count = routes.len();
    let report = s.backend.announce(routes).await?;
    tracing::info!(
        routes = count,
        added = report.added,
        replaced = report.replaced,
        "routes announced through the API"
    );
    Ok(Json(report))
}

#[utoipa::path(
    delete, path = "/v1/routes", tag = "routes",
    request_body(content = request::WithdrawRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Withdrawn", body = WithdrawReport),
        (status = 400, description = "Invalid; `field` names the prefix; nothing applied",
            body = ErrorBody),
        (status = 415, description = "Body not JSON", body = ErrorBody),
        (status = 409, description = "A prefix is originated by the configuration file",
            body = ErrorBody),
    )
)]
pub(super) async fn withdraw(
    State(s): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<WithdrawReport>> {
    let prefixes = request::prefixes(&body)?;
    let count = prefixes.len();
    let report = s.backend.withdraw(prefixes).await?;
    tracing::info!(
        prefixes = count,
        withdrawn = report.withdrawn,
        "routes withdrawn through the API"
    );
    Ok(Json(report))
}

#[utoipa::path(
    get, path = "/v1/openapi.json", tag = "status", security(()),
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub(super) async fn openapi_json(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.openapi.clone(),
    )
        .into_response()
}

#[utoipa::path(
    get, path = "/metrics", tag = "status",
    responses((status = 200, description = "Prometheus metrics, text exposition format 0.0.4",
        content_type = "text/plain; version=0.0.4"))
)]
pub(super) async fn metrics(State(s): State<AppState>) -> Result<Response, ApiError> {
    let text = s.backend.metrics().await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Any path the API does not have.
pub(super) async fn no_such_path(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", uri.path()),
    )
}

/// A path the API has, with a method it does not take.
pub(super) async fn no_such_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}
