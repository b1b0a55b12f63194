//! The OpenAPI document: every endpoint is in it, every reference resolves, and the schemas
//! declared for shared types list exactly the keys those types serialize.

use std::collections::BTreeSet;

use super::*;
use crate::config::GracefulRestart;

async fn document() -> Value {
    let (app, _) = app();
    let (status, doc) = call(&app, Method::GET, OPENAPI_PATH, None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

#[tokio::test]
async fn openapi_lists_every_endpoint() {
    let doc = document().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                found.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let expected: BTreeSet<String> = [
        "GET /v1/status",
        "GET /v1/neighbors",
        "POST /v1/neighbors",
        "GET /v1/neighbors/{addr}",
        "PATCH /v1/neighbors/{addr}",
        "DELETE /v1/neighbors/{addr}",
        "POST /v1/neighbors/{addr}/enable",
        "POST /v1/neighbors/{addr}/disable",
        "POST /v1/neighbors/{addr}/soft-reset",
        "GET /v1/neighbors/{addr}/adj-in",
        "GET /v1/neighbors/{addr}/adj-out",
        "GET /v1/rib/{family}",
        "POST /v1/routes",
        "DELETE /v1/routes",
        "GET /v1/openapi.json",
        "GET /metrics",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);

    // The filters are documented where they are taken.
    let params = &doc["paths"]["/v1/rib/{family}"]["get"]["parameters"];
    let names: Vec<&str> = params
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["family", "prefix"]);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn every_operation_lists_the_statuses_it_can_answer() {
    let doc = document().await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let listed = keys(&op["responses"]);
            let mut expected: Vec<&str> = vec!["400", "414", "429", "431", "503"];
            if path != OPENAPI_PATH {
                expected.extend(["401", "500"]);
            }
            if op["requestBody"].is_object() {
                expected.extend(["413", "415"]);
            }
            for status in expected {
                assert!(
                    listed.contains(status),
                    "{method} {path} lacks {status}: {listed:?}"
                );
                if status != "200" {
                    let schema = &op["responses"][status]["content"]["application/json"]["schema"];
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    // The error codes are listed, as the stable names they are.
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [
        "duplicate_key",
        "malformed_request",
        "too_many_connections",
        "headers_too_large",
        "unauthorized",
        "rate_limited",
    ] {
        assert!(codes.as_array().unwrap().contains(&json!(code)), "{codes}");
    }
    let writes = &doc["paths"]["/v1/routes"]["post"]["responses"]["503"]["description"];
    assert!(writes.as_str().unwrap().contains("disk full"), "{writes}");
}

#[tokio::test]
async fn openapi_served_is_the_one_generated() {
    let doc = document().await;
    assert_eq!(doc, serde_json::to_value(openapi()).unwrap());
}

/// Every `$ref` in `value`.
fn references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_schema_reference_resolves() {
    let doc = document().await;
    let mut refs = BTreeSet::new();
    references(&doc, &mut refs);
    assert!(refs.contains("#/components/schemas/Peer"), "{refs:?}");
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is not in the document"
        );
    }
}

/// The keys of a JSON object.
fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

/// The properties the document declares for schema `name`.
fn properties(doc: &Value, name: &str) -> BTreeSet<String> {
    keys(&doc["components"]["schemas"][name]["properties"])
}

#[tokio::test]
async fn shared_type_schemas_match_the_types() {
    let doc = document().await;

    let mut peer = Peer::new(ip("198.18.0.2"), 65002);
    peer.families = vec![Family::IPV4_UNICAST];
    peer.local_address = Some(ip("198.18.0.1"));
    peer.description = Some("d".into());
    // The session security keys, each away from its default so that it is written out.
    let security: Peer = serde_json::from_value(serde_json::json!({
        "address": "198.18.0.2", "remote_as": 65002, "password_file": "/k",
        "ttl_security": true, "max_prefixes": 10, "max_prefixes_warning": 50,
        "max_prefixes_action": "warn", "max_prefixes_restart_after": 60,
    }))
    .unwrap();
    peer.password_file = security.password_file;
    peer.ttl_security = security.ttl_security;
    peer.max_prefixes = security.max_prefixes;
    peer.max_prefixes_warning = security.max_prefixes_warning;
    peer.max_prefixes_action = security.max_prefixes_action;
    peer.max_prefixes_restart_after = security.max_prefixes_restart_after;
    let peer = serde_json::to_value(&peer).unwrap();
    assert_eq!(properties(&doc, "Peer"), keys(&peer));
    let gr = serde_json::to_value(GracefulRestart::default()).unwrap();
    assert_eq!(properties(&doc, "GracefulRestart"), keys(&gr));

    // A patch can change every setting of a peer but its address and its session security
    // (password, GTSM, prefix limit: set when the neighbor is added, or in the file).
    let mut settings = keys(&peer);
    settings.remove("address");
    settings.retain(|k| {
        !matches!(k.as_str(), "password_file" | "ttl_security") && !k.starts_with("max_prefixes")
    });
    assert_eq!(properties(&doc, "PeerPatch"), settings);

    let route = Route {
        next_hop: Some(ip("198.18.0.1")),
        communities: vec!["65001:1".parse().unwrap()],
        large_communities: vec!["65001:1:1".parse().unwrap()],
        med: Some(1),
        local_pref: Some(1),
        as_path_prepend: 1,
        ..super::route(prefix("198.18.7.0/24"))
    };
    let route = serde_json::to_value(&route).unwrap();
    assert_eq!(properties(&doc, "Route"), keys(&route));

    let mut view = route_view(&super::route(prefix("198.18.7.0/24")), SOURCE_API);
    view.accepted = Some(true);
    assert_eq!(
        properties(&doc, "RouteView"),
        keys(&serde_json::to_value(&view).unwrap())
    );

    let mut neighbor = neighbor_view(&Peer::new(ip("198.18.0.2"), 65002), true);
    neighbor.description = Some("d".into());
    neighbor.families.push(FamilyCountersView {
        family: "ipv4-unicast".into(),
        received: 1,
        accepted: 1,
        advertised: 1,
    });
    let neighbor = serde_json::to_value(&neighbor).unwrap();
    assert_eq!(properties(&doc, "NeighborView"), keys(&neighbor));
    assert_eq!(
        properties(&doc, "FamilyCountersView"),
        keys(&neighbor["families"][0])
    );
}
