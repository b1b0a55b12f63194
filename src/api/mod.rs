//! baton's REST API: an axum [`Router`] over an abstract [`Backend`], so the daemon plugs its
//! own state in and tests plug in a fake.
//!
//! Operators who drive ExaBGP usually wrap it in a home-made REST service with little input
//! checking. Here every request is checked completely, with the configuration file's own rules,
//! before anything is applied: a refused request, or a batch with one bad route in it, changes
//! nothing, and the error names the field (`routes[3].communities[0]`).
//!
//! ```text
//! GET    /v1/status
//! GET    /v1/neighbors                     POST /v1/neighbors
//! GET    /v1/neighbors/{addr}              PATCH, DELETE /v1/neighbors/{addr}
//! POST   /v1/neighbors/{addr}/enable|disable|soft-reset
//! GET    /v1/neighbors/{addr}/adj-in|adj-out?prefix=
//! GET    /v1/rib/{family}?prefix=
//! POST   /v1/routes                        DELETE /v1/routes
//! GET    /v1/openapi.json
//! ```
//!
//! Layout: `backend.rs` what the daemon provides; `request.rs` reading and checking requests;
//! `handlers.rs` the endpoints; `error.rs` the JSON errors and the one status mapping;
//! `strict_json.rs` bodies parsed refusing a key given twice; `schema.rs` the OpenAPI schemas
//! of types shared with `config` and `ctl`; `doc.rs` the responses every endpoint can give;
//! `auth.rs` the bearer token; `rate_limit.rs` the per-client rate limit; `audit.rs` the audit
//! log of change requests; `server/` the accept loop and connections: a connection cap, head
//! limits, timeouts.

mod audit;
mod auth;
mod backend;
mod doc;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod handlers;
mod rate_limit;
mod request;
mod schema;
mod server;
mod strict_json;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config;

pub use audit::AUDIT_TARGET;
pub use backend::{
    AnnounceReport, Backend, BackendError, PeerPatch, StatusView, WithdrawReport, SOURCE_API,
    SOURCE_CONFIG,
};
pub use error::{ApiError, ErrorBody, ErrorCode, MAX_ECHO, MAX_MESSAGE};
pub use rate_limit::{RateLimit, MAX_CLIENTS};
pub use server::{serve, ServeOptions, MAX_HEAD, MAX_HEADERS, MAX_TARGET, OVERFLOW_SLOTS};

/// The path of the OpenAPI document, which needs no token.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// How the API is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOptions {
    /// When set, every request but [`OPENAPI_PATH`] needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// The per-client request rate limit; `None` means none.
    pub rate_limit: Option<RateLimit>,
}

impl ApiOptions {
    /// The default body limit: 16 MiB, room for about 100,000 routes in one batch.
    pub const DEFAULT_BODY_LIMIT: usize = 16 << 20;

    /// Options with this token and the default body limit.
    pub fn new(token: Option<String>) -> ApiOptions {
        ApiOptions {
            token,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            rate_limit: None,
        }
    }

    /// The options of an `[api]` table: its token, read now, and its rate limit. Errs if the
    /// token file cannot be used (see [`config::Api::read_token`]).
    pub fn from_config(api: &config::Api) -> Result<ApiOptions, String> {
        let mut options = ApiOptions::new(api.read_token()?);
        options.rate_limit = (api.rate_limit > 0).then(|| RateLimit {
            rate: api.rate_limit,
            burst: api.burst(),
        });
        Ok(options)
    }
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions::new(None)
    }
}

/// What every handler gets.
#[derive(Clone)]
struct AppState {
    backend: Arc<dyn Backend>,
    body_limit: usize,
    /// The OpenAPI document, serialized once.
    openapi: Bytes,
}

/// The title, description and security scheme; the paths and schemas come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "baton REST API",
        description = "Control a baton BGP speaker: neighbors, RIBs, and the routes it \
                       originates. Every request is validated completely before anything is \
                       applied; every error is JSON `{\"error\": ..., \"code\": ..., \"field\": \
                       ...}`, `code` one of the stable names of `ErrorCode`."
    ),
    modifiers(&BearerToken),
    security((), ("bearer" = [])),
    tags(
        (name = "status", description = "The speaker"),
        (name = "neighbors", description = "BGP neighbors and their sessions"),
        (name = "routes", description = "RIBs and originated routes"),
    )
)]
struct ApiDoc;

/// Declares the optional bearer token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Required when the daemon is configured with an API token \
                         (`[api] token_file`), which it must be to listen beyond loopback",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every endpoint, registered with its OpenAPI entry.
fn endpoints() -> OpenApiRouter<AppState> {
    use handlers::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(status))
        .routes(routes!(list_neighbors, add_neighbor))
        .routes(routes!(get_neighbor, update_neighbor, delete_neighbor))
        .routes(routes!(enable_neighbor))
        .routes(routes!(disable_neighbor))
        .routes(routes!(soft_reset_neighbor))
        .routes(routes!(adj_in))
        .routes(routes!(adj_out))
        .routes(routes!(rib))
        .routes(routes!(announce, withdraw))
        .routes(routes!(openapi_json))
        .routes(routes!(metrics))
}

/// The routes and the whole OpenAPI document.
fn parts() -> (Router<AppState>, OpenApiDoc) {
    let (router, doc) = endpoints().split_for_parts();
    (router, doc::add_common_responses(doc))
}

/// The OpenAPI document of the API, as `GET /v1/openapi.json` serves it.
pub fn openapi() -> OpenApiDoc {
    parts().1
}

/// The API over `backend`. Serve it with [`serve`], or nest it in a larger router.
pub fn router(backend: Arc<dyn Backend>, options: ApiOptions) -> Router {
    let (router, doc) = parts();
    let openapi = match doc.to_json() {
        Ok(json) => Bytes::from(json),
        // The document is plain data; serializing it cannot fail.
        Err(e) => Bytes::from(format!(
            "{{\"error\": \"cannot serialize the document: {e}\"}}"
        )),
    };
    let state = AppState {
        backend,
        body_limit: options.body_limit,
        openapi,
    };
    let counted = state.backend.clone();
    let router = router
        .fallback(handlers::no_such_path)
        .method_not_allowed_fallback(handlers::no_such_method)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .with_state(state);
    // Outermost last: the request counts and the audit log see the rate limit's and the
    // token's refusals too.
    let token_needed = options.token.is_some();
    let router = match options.token {
        Some(token) => router.layer(middleware::from_fn_with_state(
            Arc::<str>::from(token),
            auth::require_token,
        )),
        None => router,
    };
    let router = match options.rate_limit {
        Some(limit) => router.layer(middleware::from_fn_with_state(
            Arc::new(rate_limit::Limiter::new(limit)),
            rate_limit::limit,
        )),
        None => router,
    };
    router
        .layer(middleware::from_fn_with_state(counted, count_request))
        .layer(middleware::from_fn_with_state(token_needed, audit::audit))
}

/// Count every answered request by the route pattern it matched and its status.
async fn count_request(
    State(backend): State<Arc<dyn Backend>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "other".to_string(), |m| m.as_str().to_string());
    let response = next.run(request).await;
    backend.count_request(&route, response.status().as_u16());
    response
}
