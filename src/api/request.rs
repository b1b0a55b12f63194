//! Reading requests: the JSON body, the path and the query, each checked completely before a
//! handler calls the backend.
//!
//! Peers and routes deserialize into the configuration file's own [`Peer`] and [`Route`], so
//! every value check (AS 0, host bits, a community out of range) is the config's, and the
//! checks across values (next hop family, duplicate prefixes) are the config's too
//! ([`config::check_peer`], [`config::check_routes`]). Only the field paths differ:
//! `routes[3].communities[0]` instead of `route[3].communities[0]`.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::audit::AuditRecord;
use super::backend::PeerPatch;
use super::error::ApiError;
use super::strict_json::{self, StrictError};
use super::AppState;
use crate::config::{self, FieldPath, Peer, Route};
use crate::wire::{Family, Prefix};

/// A request body declared as JSON, read within the body limit; not parsed yet.
pub(super) struct JsonBody(pub Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !content_type.as_deref().is_some_and(is_json) {
            return Err(ApiError::unsupported_media_type(content_type.as_deref()));
        }
        let record = req.extensions().get::<AuditRecord>().cloned();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(state.body_limit),
                status => ApiError::new(status, rejection.body_text()),
            }
        })?;
        if let Some(record) = record {
            record.set_body(&bytes);
        }
        Ok(JsonBody(bytes))
    }
}

/// `application/json` or `application/<something>+json`, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The neighbor address in the path (`/v1/neighbors/{addr}`).
pub(super) struct NeighborAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for NeighborAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let text = path_param(parts, state).await?;
        text.parse()
            .map(NeighborAddr)
            .map_err(|_| ApiError::field("addr", format!("{text:?} is not an IP address")))
    }
}

/// The family in the path (`/v1/rib/{family}`).
pub(super) struct FamilyParam(pub Family);

impl<S: Send + Sync> FromRequestParts<S> for FamilyParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let text = path_param(parts, state).await?;
        config::parse_text(&text)
            .map(FamilyParam)
            .map_err(|message| ApiError::field("family", message))
    }
}

async fn path_param<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    let Path(text) = Path::<String>::from_request_parts(parts, state)
        .await
        .map_err(|rejection| ApiError::invalid(None, rejection.body_text()))?;
    Ok(text)
}

/// The `?prefix=` filter, parsed; any other parameter, or `prefix` twice, is refused.
pub(super) struct PrefixFilter(pub Option<Prefix>);

impl<S: Send + Sync> FromRequestParts<S> for PrefixFilter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::invalid(None, rejection.body_text()))?;
        let mut prefix = None;
        for (key, value) in pairs {
            if key != "prefix" {
                return Err(ApiError::field(
                    &key,
                    "unknown query parameter, expected `prefix`",
                ));
            }
            if prefix.is_some() {
                return Err(ApiError::field("prefix", "given twice"));
            }
            let parsed =
                config::parse_text(&value).map_err(|message| ApiError::field("prefix", message))?;
            prefix = Some(parsed);
        }
        Ok(PrefixFilter(prefix))
    }
}

/// `POST /v1/neighbors`: a peer as a `[[peer]]` table would give it, with `families` filled in.
pub(super) fn peer(body: &[u8]) -> Result<Peer, ApiError> {
    let mut peer: Peer = from_value(&Value::Object(object(body)?))?;
    config::complete_peer(&mut peer);
    config::check_peer(&peer, FieldPath::default()).map_err(failure)?;
    Ok(peer)
}

/// An AS number to stand in for the one a patch does not change; never used.
const PLACEHOLDER_AS: u32 = 64512;

/// `PATCH /v1/neighbors/{addr}`: some keys of a `[[peer]]` table.
///
/// The keys are laid over a default peer at `addr` and the result is deserialized and checked
/// as a whole [`Peer`], so a patched value passes exactly the checks a config file's would.
pub(super) fn patch(addr: IpAddr, body: &[u8]) -> Result<PeerPatch, ApiError> {
    let mut changes = object(body)?;
    if let Some(given) = changes.remove("address") {
        if given.as_str().and_then(|s| s.parse::<IpAddr>().ok()) != Some(addr) {
            return Err(ApiError::field(
                "address",
                format!(
                    "the address of neighbor {addr} cannot be changed; delete the neighbor and \
                     add it again"
                ),
            ));
        }
    }
    if changes.is_empty() {
        return Err(ApiError::invalid(
            None,
            "nothing to change: give at least one setting",
        ));
    }
    let mut whole = match serde_json::to_value(Peer::new(addr, PLACEHOLDER_AS)) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot represent a default peer as JSON",
            ))
        }
    };
    // Left out, `families` follows the address; an empty list would be refused.
    whole.remove("families");
    whole.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
    let peer: Peer = from_value(&Value::Object(whole))?;
    config::check_peer(&peer, FieldPath::default()).map_err(failure)?;

    let has = |key: &str| changes.contains_key(key);
    Ok(PeerPatch {
        remote_as: has("remote_as").then_some(peer.remote_as),
        port: has("port").then_some(peer.port),
        passive: has("passive").then_some(peer.passive),
        hold_time: has("hold_time").then_some(peer.hold_time),
        connect_retry: has("connect_retry").then_some(peer.connect_retry),
        families: has("families").then(|| peer.families.clone()),
        local_address: has("local_address").then_some(peer.local_address),
        description: has("description").then(|| peer.description.clone()),
        graceful_restart: has("graceful_restart").then(|| peer.graceful_restart.clone()),
    })
}

/// `{"routes": [...]}`: a batch of routes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteBatch {
    routes: Vec<Route>,
}

/// `POST /v1/routes`: one route object, or a batch `{"routes": [...]}`, checked whole.
pub(super) fn routes(body: &[u8]) -> Result<Vec<Route>, ApiError> {
    let value = Value::Object(object(body)?);
    if value.get("routes").is_none() {
        let route: Route = from_value(&value)?;
        config::check_route(&route, FieldPath::default()).map_err(failure)?;
        return Ok(vec![route]);
    }
    if let Some(routes) = value["routes"].as_array() {
        if let Some(i) = routes.iter().position(|r| !r.is_object()) {
            return Err(ApiError::field(
                &format!("routes[{i}]"),
                "expected a route object",
            ));
        }
    }
    let batch: RouteBatch = from_value(&value)?;
    if batch.routes.is_empty() {
        return Err(ApiError::field(
            "routes",
            "the list is empty: give at least one route",
        ));
    }
    config::check_routes(&batch.routes, "routes").map_err(failure)?;
    Ok(batch.routes)
}

/// `DELETE /v1/routes`: `{"prefix": ...}` or `{"prefixes": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WithdrawRequest {
    /// One prefix to withdraw.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "198.18.7.0/24")]
    prefix: Option<PrefixText>,
    /// Several prefixes to withdraw, all or none.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, example = json!(["198.18.7.0/24", "2001:db8:7::/48"]))]
    prefixes: Option<Vec<PrefixText>>,
}

/// `DELETE /v1/routes`: the prefixes to withdraw, at least one, none twice.
pub(super) fn prefixes(body: &[u8]) -> Result<Vec<Prefix>, ApiError> {
    let request: WithdrawRequest = from_value(&Value::Object(object(body)?))?;
    let prefixes = match (request.prefix, request.prefixes) {
        (Some(one), None) => vec![one.0],
        (None, Some(list)) => list.into_iter().map(|p| p.0).collect(),
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "prefixes",
                "give either prefix or prefixes, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::field(
                "prefix",
                "missing required field: give prefix or prefixes",
            ))
        }
    };
    if prefixes.is_empty() {
        return Err(ApiError::field(
            "prefixes",
            "the list is empty: give at least one prefix",
        ));
    }
    let mut seen = HashMap::new();
    for (i, prefix) in prefixes.iter().enumerate() {
        if let Some(first) = seen.insert(*prefix, i) {
            return Err(ApiError::field(
                &format!("prefixes[{i}]"),
                format!("{prefix} is listed twice (also prefixes[{first}])"),
            ));
        }
    }
    Ok(prefixes)
}

/// A prefix written as text, parsed and explained as the config file does.
#[derive(Debug)]
struct PrefixText(Prefix);

impl<'de> Deserialize<'de> for PrefixText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PrefixVisitor;
        impl Visitor<'_> for PrefixVisitor {
            type Value = PrefixText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a prefix such as \"198.18.0.0/24\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PrefixText, E> {
                config::parse_text(v).map(PrefixText).map_err(E::custom)
            }
        }
        d.deserialize_str(PrefixVisitor)
    }
}

/// A config check's failure as a 400 naming the field.
fn failure((path, message): (FieldPath, String)) -> ApiError {
    let field = path.to_string();
    ApiError::invalid((!field.is_empty()).then_some(field), message)
}

/// Parse a body that must be a JSON object. (Serde would also take a struct written as an
/// array of its values, which no operator means.)
fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match from_slice(body)? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(
            None,
            format!("expected a JSON object, not {}", json_kind(&other)),
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse a body as one JSON value, saying where a syntax error is and naming a key given
/// twice.
fn from_slice(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            None,
            "the request body is empty: expected a JSON object",
        ));
    }
    strict_json::parse(body).map_err(|e| match e {
        StrictError::DuplicateKey(path) => ApiError::duplicate_key(&path),
        StrictError::Json(e) => serde_error(None, e),
    })
}

/// Deserialize an already parsed body, naming the field of a bad value.
fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(json_error)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().clone();
    serde_error(Some(&path), error.into_inner())
}

/// A data error names the field at `path`; a syntax error says where it is.
fn serde_error(path: Option<&serde_path_to_error::Path>, error: serde_json::Error) -> ApiError {
    // serde_json appends the position to its message; we give it separately.
    let mut message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    if let Some(bare) = message.strip_suffix(&position) {
        message = bare.to_string();
    }
    match (error.classify(), path) {
        (serde_json::error::Category::Data, Some(path)) => {
            let (field, message) = config::serde_field(path, message);
            ApiError::invalid(field, message)
        }
        (serde_json::error::Category::Data, None) => ApiError::invalid(None, message),
        _ => ApiError::malformed(&message, error.line(), error.column()),
    }
}
