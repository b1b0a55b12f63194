//! Entry points for the fuzz targets (`fuzz/`): the request body readers are private to the
//! API, and a target must reach exactly the code a handler runs on a body.

use std::net::IpAddr;

use serde_json::Value;

use super::backend::PeerPatch;
use super::error::ApiError;
use super::{request, strict_json};
use crate::config::{Peer, Route};
use crate::wire::Prefix;

/// The strict JSON reader every body goes through (no duplicate keys, nothing after the value).
pub fn strict_json(body: &[u8]) -> Result<Value, String> {
    strict_json::parse(body).map_err(|e| format!("{e:?}"))
}

/// `POST /v1/neighbors`.
pub fn peer(body: &[u8]) -> Result<Peer, ApiError> {
    request::peer(body)
}

/// `PATCH /v1/neighbors/{addr}`.
pub fn patch(addr: IpAddr, body: &[u8]) -> Result<PeerPatch, ApiError> {
    request::patch(addr, body)
}

/// `POST /v1/routes`.
pub fn routes(body: &[u8]) -> Result<Vec<Route>, ApiError> {
    request::routes(body)
}

/// `DELETE /v1/routes`.
pub fn prefixes(body: &[u8]) -> Result<Vec<Prefix>, ApiError> {
    request::prefixes(body)
}
