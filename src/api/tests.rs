//! Tests of the HTTP layer: requests go through the real router (`oneshot`) to an in-memory
//! backend that records every call, so a test can say both what the client saw and what the
//! daemon was asked to do.

mod backend;
mod bad_input;
mod openapi;
mod server;
mod tls;

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;
use crate::config::{Peer, Route};
use crate::ctl::FamilyCountersView;
use crate::wire::{Family, Prefix};
use backend::{neighbor_view, route, route_view, Call, TestBackend};

/// The API over a fresh test backend, without a token.
fn app() -> (Router, Arc<TestBackend>) {
    app_with(ApiOptions::default())
}

fn app_with(options: ApiOptions) -> (Router, Arc<TestBackend>) {
    let backend = TestBackend::new();
    (router(backend.clone(), options), backend)
}

/// A request with a JSON body (or none).
fn request(method: Method, uri: &str, body: Option<&Value>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(uri);
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Send `request`; the status and the JSON reply (every reply must be JSON).
async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "reply with status {status} is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{status} {body}"
    );
    (status, body)
}

async fn call(app: &Router, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    send(app, request(method, uri, body.as_ref())).await
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[tokio::test]
async fn status_reports_the_backend_view() {
    let (app, backend) = app();
    let (status, body) = call(&app, Method::GET, "/v1/status", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["asn"], 65001);
    assert_eq!(body["router_id"], "198.18.0.1");
    assert_eq!(body["neighbors"], 2);
    assert_eq!(body["config_routes"], 1);
    assert_eq!(backend.calls(), vec![Call::Status]);
}

#[tokio::test]
async fn neighbors_are_listed_and_looked_up() {
    let (app, backend) = app();
    let (status, body) = call(&app, Method::GET, "/v1/neighbors", None).await;
    assert_eq!(status, StatusCode::OK);
    let addresses: Vec<&str> = body["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, ["198.18.0.2", "2001:db8::2"]);

    let (status, body) = call(&app, Method::GET, "/v1/neighbors/2001:db8::2", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["remote_as"], 65003);
    assert_eq!(body["families"][0]["family"], "ipv6-unicast");
    assert_eq!(body["martian_next_hops"], 0);
    assert_eq!(
        backend.calls(),
        vec![Call::Neighbors, Call::Neighbor(ip("2001:db8::2"))]
    );
}

#[tokio::test]
async fn a_neighbor_is_added_as_a_peer_table_would_write_it() {
    let (app, backend) = app();
    let body = json!({
        "address": "198.18.0.9",
        "remote_as": 4200000000u32,
        "port": 1179,
        "passive": true,
        "hold_time": 30,
        "families": ["ipv4-unicast", "ipv6"],
        "local_address": "198.18.0.1",
        "description": "transit A",
        "graceful_restart": {"enabled": true, "restart_time": 90},
    });
    let (status, reply) = send(&app, request(Method::POST, "/v1/neighbors", Some(&body))).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["address"], "198.18.0.9");
    assert_eq!(reply["description"], "transit A");

    let mut expected = Peer::new(ip("198.18.0.9"), 4_200_000_000);
    expected.port = 1179;
    expected.passive = true;
    expected.hold_time = 30;
    expected.families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
    expected.local_address = Some(ip("198.18.0.1"));
    expected.description = Some("transit A".into());
    expected.graceful_restart.enabled = true;
    expected.graceful_restart.restart_time = 90;
    assert_eq!(
        backend.calls(),
        vec![Call::AddNeighbor(Box::new(expected.clone()))]
    );
    assert_eq!(backend.snapshot().peers[&expected.address].0, expected);
}

#[tokio::test]
async fn an_added_neighbor_gets_the_family_of_its_address_by_default() {
    let (app, backend) = app();
    let response = app
        .clone()
        .oneshot(request(
            Method::POST,
            "/v1/neighbors",
            Some(&json!({"address": "2001:db8::9", "remote_as": 65009})),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/v1/neighbors/2001:db8::9"
    );
    let peer = backend.snapshot().peers[&ip("2001:db8::9")].0.clone();
    assert_eq!(peer.families, vec![Family::IPV6_UNICAST]);
    assert_eq!(peer.port, 179);
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_it_names() {
    let (app, backend) = app();
    let addr = ip("198.18.0.2");
    let (status, reply) = call(
        &app,
        Method::PATCH,
        "/v1/neighbors/198.18.0.2",
        Some(json!({"remote_as": 65020, "description": "renumbered", "hold_time": 9})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["remote_as"], 65020);
    let patch = PeerPatch {
        remote_as: Some(65020),
        hold_time: Some(9),
        description: Some(Some("renumbered".into())),
        ..PeerPatch::default()
    };
    assert_eq!(backend.calls(), vec![Call::UpdateNeighbor(addr, patch)]);
    let peer = backend.snapshot().peers[&addr].0.clone();
    let mut expected = Peer::new(addr, 65020);
    expected.families = vec![Family::IPV4_UNICAST];
    expected.hold_time = 9;
    expected.description = Some("renumbered".into());
    assert_eq!(peer, expected);

    // `null` removes a setting; repeating the address unchanged is allowed.
    let (status, reply) = call(
        &app,
        Method::PATCH,
        "/v1/neighbors/198.18.0.2",
        Some(json!({"address": "198.18.0.2", "description": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(backend.snapshot().peers[&addr].0.description, None);
}

#[tokio::test]
async fn neighbors_are_enabled_disabled_reset_and_deleted() {
    let (app, backend) = app();
    let addr = ip("198.18.0.2");
    for (path, action) in [
        ("disable", "disabled"),
        ("enable", "enabled"),
        ("soft-reset", "soft-reset"),
    ] {
        let uri = format!("/v1/neighbors/198.18.0.2/{path}");
        let (status, reply) = call(&app, Method::POST, &uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {reply}");
        assert_eq!(reply, json!({"neighbor": "198.18.0.2", "action": action}));
    }
    let (status, reply) = call(&app, Method::DELETE, "/v1/neighbors/198.18.0.2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["action"], "deleted");
    assert_eq!(
        backend.calls(),
        vec![
            Call::SetEnabled(addr, false),
            Call::SetEnabled(addr, true),
            Call::SoftReset(addr),
            Call::DeleteNeighbor(addr),
        ]
    );
    assert!(!backend.snapshot().peers.contains_key(&addr));
}

#[tokio::test]
async fn one_route_is_announced_and_withdrawn() {
    let (app, backend) = app();
    let body = json!({
        "prefix": "198.18.7.0/24",
        "next_hop": "198.18.0.1",
        "communities": ["65001:100", "no-export"],
        "large_communities": ["65001:1:1"],
        "med": 10,
        "local_pref": 200,
        "as_path_prepend": 2,
    });
    let (status, reply) = call(&app, Method::POST, "/v1/routes", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply, json!({"added": 1, "replaced": 0}));
    let stored = backend.snapshot().api_routes[&prefix("198.18.7.0/24")].clone();
    assert_eq!(stored.next_hop, Some(ip("198.18.0.1")));
    assert_eq!(stored.communities.len(), 2);
    assert_eq!(stored.large_communities[0].to_string(), "65001:1:1");
    assert_eq!((stored.med, stored.local_pref), (Some(10), Some(200)));
    assert_eq!(stored.as_path_prepend, 2);

    // The Loc-RIB shows it with its source, beside the configured route.
    let (status, reply) = call(&app, Method::GET, "/v1/rib/ipv4-unicast", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["family"], "ipv4-unicast");
    let sources: Vec<(&str, &str)> = reply["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["prefix"].as_str().unwrap(), r["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sources,
        [("198.18.100.0/24", "config"), ("198.18.7.0/24", "api")]
    );

    let (status, reply) = call(
        &app,
        Method::DELETE,
        "/v1/routes",
        Some(json!({"prefix": "198.18.7.0/24"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply, json!({"withdrawn": 1, "not_found": []}));
    assert!(backend.snapshot().api_routes.is_empty());
}

#[tokio::test]
async fn batches_are_announced_and_withdrawn_whole() {
    let (app, backend) = app();
    let body = json!({"routes": [
        {"prefix": "198.18.7.0/24"},
        {"prefix": "2001:db8:7::/48", "next_hop": "2001:db8::1"},
        {"prefix": "198.18.8.0/24", "communities": ["blackhole"]},
    ]});
    let (status, reply) = call(&app, Method::POST, "/v1/routes", Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply, json!({"added": 3, "replaced": 0}));
    // Announcing again replaces.
    let (_, reply) = call(&app, Method::POST, "/v1/routes", Some(body)).await;
    assert_eq!(reply, json!({"added": 0, "replaced": 3}));

    let (status, reply) = call(
        &app,
        Method::DELETE,
        "/v1/routes",
        Some(json!({"prefixes": ["198.18.7.0/24", "2001:db8:7::/48", "198.18.9.0/24"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        reply,
        json!({"withdrawn": 2, "not_found": ["198.18.9.0/24"]})
    );
    let left: Vec<Prefix> = backend.snapshot().api_routes.into_keys().collect();
    assert_eq!(left, [prefix("198.18.8.0/24")]);
    assert_eq!(
        backend.calls(),
        vec![
            Call::Announce(3),
            Call::Announce(3),
            Call::Withdraw(vec![
                prefix("198.18.7.0/24"),
                prefix("2001:db8:7::/48"),
                prefix("198.18.9.0/24")
            ]),
        ]
    );
}

#[tokio::test]
async fn ten_thousand_routes_are_accepted_in_one_request() {
    let (app, backend) = app();
    let routes: Vec<Value> = (0..10_000u32)
        .map(|i| {
            json!({
                "prefix": format!("198.18.{}.{}/32", i / 256, i % 256),
                "next_hop": "198.18.0.1",
                "communities": ["65001:100"],
                "med": i,
            })
        })
        .collect();
    let (status, reply) = call(
        &app,
        Method::POST,
        "/v1/routes",
        Some(json!({ "routes": routes })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply, json!({"added": 10_000, "replaced": 0}));
    assert_eq!(backend.calls(), vec![Call::Announce(10_000)]);
    assert_eq!(backend.snapshot().api_routes.len(), 10_000);
}

#[tokio::test]
async fn ribs_are_filtered_by_family_and_prefix() {
    let (app, backend) = app();
    let (_, _) = call(
        &app,
        Method::POST,
        "/v1/routes",
        Some(json!({"routes": [{"prefix": "198.18.7.0/24"}, {"prefix": "2001:db8:7::/48"}]})),
    )
    .await;
    let (status, reply) = call(&app, Method::GET, "/v1/rib/ipv6", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["family"], "ipv6-unicast");
    assert_eq!(reply["routes"].as_array().unwrap().len(), 1);
    assert_eq!(reply["routes"][0]["source"], "api");

    let (status, reply) = call(
        &app,
        Method::GET,
        "/v1/rib/ipv4-unicast?prefix=198.18.100.0/24",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["routes"].as_array().unwrap().len(), 1);
    assert_eq!(reply["routes"][0]["source"], "config");

    let (status, reply) = call(
        &app,
        Method::GET,
        "/v1/neighbors/198.18.0.2/adj-in?prefix=198.18.7.0%2F24",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["neighbor"], "198.18.0.2");
    assert_eq!(reply["routes"][0]["source"], "198.18.0.2");
    assert_eq!(reply["routes"].as_array().unwrap().len(), 1);

    let (status, reply) = call(&app, Method::GET, "/v1/neighbors/198.18.0.2/adj-out", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["routes"].as_array().unwrap().len(), 3);

    assert_eq!(
        backend.calls()[1..],
        [
            Call::Rib(Family::IPV6_UNICAST, None),
            Call::Rib(Family::IPV4_UNICAST, Some(prefix("198.18.100.0/24"))),
            Call::AdjIn(ip("198.18.0.2"), Some(prefix("198.18.7.0/24"))),
            Call::AdjOut(ip("198.18.0.2"), None),
        ]
    );
}

#[tokio::test]
async fn a_token_is_required_when_configured() {
    let (app, backend) = app_with(ApiOptions::new(Some("s3cret".into())));
    let with = |value: Option<&str>| {
        let mut builder = Request::builder().uri("/v1/status");
        if let Some(v) = value {
            builder = builder.header(header::AUTHORIZATION, v);
        }
        builder.body(Body::empty()).unwrap()
    };
    for (auth, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("Bearer wrong"), StatusCode::UNAUTHORIZED),
        (Some("Bearer s3cre"), StatusCode::UNAUTHORIZED),
        (Some("Basic s3cret"), StatusCode::UNAUTHORIZED),
        (Some("s3cret"), StatusCode::UNAUTHORIZED),
        (Some("Bearer s3cret"), StatusCode::OK),
        (Some("bearer s3cret"), StatusCode::OK),
    ] {
        let (status, body) = send(&app, with(auth)).await;
        assert_eq!(status, expected, "{auth:?}: {body}");
        if expected == StatusCode::UNAUTHORIZED {
            assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
            assert_eq!(body["field"], Value::Null);
        }
    }
    assert_eq!(backend.calls(), vec![Call::Status, Call::Status]);

    // A refused change is not applied, and unknown paths do not tell they are unknown.
    let (status, _) = call(
        &app,
        Method::POST,
        "/v1/routes",
        Some(json!({"prefix": "198.18.7.0/24"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&app, Method::GET, "/v1/nowhere", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(backend.calls().len(), 2);
    assert!(backend.snapshot().api_routes.is_empty());

    // The OpenAPI document is public.
    let (status, doc) = call(&app, Method::GET, OPENAPI_PATH, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"].is_object());
}

#[tokio::test]
async fn unknown_paths_and_methods_are_json_errors() {
    let (app, backend) = app();
    let (status, body) = call(&app, Method::GET, "/v1/nowhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("/v1/nowhere"));
    let (status, body) = call(&app, Method::PUT, "/v1/routes", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["field"], Value::Null);
    assert!(backend.calls().is_empty());
}
