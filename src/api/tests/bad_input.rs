//! Refused requests: each gets the right status and a JSON error naming the field, and a
//! request refused by the HTTP layer never reaches the backend, so nothing changes.

use super::*;

/// One bad request and what the client must be told.
struct Case {
    name: &'static str,
    method: Method,
    uri: &'static str,
    /// `None`: no Content-Type header.
    content_type: Option<&'static str>,
    /// The raw body.
    body: String,
    status: StatusCode,
    /// The field the error must name (`None`: `"field": null`).
    field: Option<&'static str>,
    /// Words the error must contain.
    message: &'static str,
    /// The stable error code.
    code: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    uri: &'static str,
    body: Value,
    status: StatusCode,
    field: Option<&'static str>,
    message: &'static str,
) -> Case {
    Case {
        name,
        method,
        uri,
        content_type: Some("application/json"),
        body: body.to_string(),
        status,
        field,
        message,
        code: "invalid_value",
    }
}

const BAD: StatusCode = StatusCode::BAD_REQUEST;

fn route_case(
    name: &'static str,
    route: Value,
    field: &'static str,
    message: &'static str,
) -> Case {
    case(
        name,
        Method::POST,
        "/v1/routes",
        route,
        BAD,
        Some(field),
        message,
    )
}

fn peer_case(name: &'static str, peer: Value, field: &'static str, message: &'static str) -> Case {
    case(
        name,
        Method::POST,
        "/v1/neighbors",
        peer,
        BAD,
        Some(field),
        message,
    )
}

/// A batch of five good routes with `bad` in place of the fourth.
fn batch_with(bad: Value) -> Value {
    let mut routes: Vec<Value> = (0..5)
        .map(|i| json!({"prefix": format!("198.18.{i}.0/24")}))
        .collect();
    routes[3] = bad;
    json!({ "routes": routes })
}

// One case per line, so the table reads as a table.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let p = "/v1/neighbors/198.18.0.2";
    let d = Method::DELETE;
    let r = "/v1/routes";
    let get = |name, uri, field, message| case(name, Method::GET, uri, Value::Null, BAD, field, message);
    let array = |name| Case { field: None, message: "expected a JSON object, not an array", ..case(name, Method::POST, r, Value::Null, BAD, None, "") };
    vec![
        // Routes.
        route_case("prefix length", json!({"prefix": "198.18.7.0/33"}), "prefix", "prefix length 33 is too long"),
        route_case("prefix syntax", json!({"prefix": "198.18.7.0"}), "prefix", "is not a prefix of the form ADDR/LEN"),
        route_case("prefix type", json!({"prefix": 7}), "prefix", "expected a prefix such as"),
        route_case("host bits", json!({"prefix": "198.18.7.1/24"}), "prefix", "198.18.7.1/24 has host bits set (did you mean 198.18.7.0/24?)"),
        route_case("missing prefix", json!({"med": 5}), "prefix", "missing required field"),
        route_case("unknown key", json!({"prefix": "198.18.7.0/24", "colour": "red"}), "colour", "unknown field"),
        route_case("bad community", json!({"prefix": "198.18.7.0/24", "communities": ["65001:1", "65536:1"]}), "communities[1]", "\"65536:1\" is not a community: 65536 is larger than 65535"),
        route_case("community garbage", json!({"prefix": "198.18.7.0/24", "communities": ["no-exports"]}), "communities[0]", "is not a community"),
        route_case("bad large community", json!({"prefix": "198.18.7.0/24", "large_communities": ["65001:1"]}), "large_communities[0]", "is not a large community"),
        route_case("large community range", json!({"prefix": "198.18.7.0/24", "large_communities": ["1:2:4294967296"]}), "large_communities[0]", "larger than 4294967295"),
        route_case("next hop family", json!({"prefix": "198.18.7.0/24", "next_hop": "2001:db8::1"}), "next_hop", "next hop 2001:db8::1 is IPv6 but prefix 198.18.7.0/24 is IPv4"),
        route_case("next hop unusable", json!({"prefix": "198.18.7.0/24", "next_hop": "0.0.0.0"}), "next_hop", "is not a usable next hop"),
        route_case("next hop syntax", json!({"prefix": "198.18.7.0/24", "next_hop": "198.18.0"}), "next_hop", "invalid IP address"),
        route_case("med negative", json!({"prefix": "198.18.7.0/24", "med": -1}), "med", "-1 is out of range 0..=4294967295"),
        route_case("local_pref too big", json!({"prefix": "198.18.7.0/24", "local_pref": 4294967296u64}), "local_pref", "4294967296 is out of range 0..=4294967295"),
        route_case("prepend 11", json!({"prefix": "198.18.7.0/24", "as_path_prepend": 11}), "as_path_prepend", "at most 10"),
        Case { body: json!(["198.18.7.0/24", null, [], [], null, null, 0]).to_string(), ..array("route as an array") },
        route_case("batch community", batch_with(json!({"prefix": "198.18.9.0/24", "communities": ["65536:1"]})), "routes[3].communities[0]", "is not a community"),
        route_case("batch host bits", batch_with(json!({"prefix": "198.18.9.9/24"})), "routes[3].prefix", "did you mean 198.18.9.0/24?"),
        route_case("batch next hop", batch_with(json!({"prefix": "198.18.9.0/24", "next_hop": "2001:db8::1"})), "routes[3].next_hop", "is IPv6 but prefix"),
        route_case("batch duplicate", batch_with(json!({"prefix": "198.18.1.0/24"})), "routes[3].prefix", "198.18.1.0/24 is already originated by routes[1]"),
        route_case("batch unknown key", batch_with(json!({"prefix": "198.18.9.0/24", "nexthop": "198.18.0.1"})), "routes[3].nexthop", "unknown field"),
        route_case("batch route as an array", batch_with(json!(["198.18.7.0/24", null, [], [], null, null, 0])), "routes[3]", "expected a route object"),
        route_case("batch not a list", json!({"routes": {"prefix": "198.18.9.0/24"}}), "routes", "expected a sequence"),
        route_case("empty batch", json!({"routes": []}), "routes", "the list is empty"),
        route_case("batch beside a route", json!({"routes": [{"prefix": "198.18.9.0/24"}], "prefix": "198.18.9.0/24"}), "prefix", "unknown field"),
        // Withdrawals.
        case("withdraw nothing", d.clone(), r, json!({}), BAD, Some("prefix"), "give prefix or prefixes"),
        case("withdraw both", d.clone(), r, json!({"prefix": "198.18.7.0/24", "prefixes": ["198.18.8.0/24"]}), BAD, Some("prefixes"), "not both"),
        case("withdraw host bits", d.clone(), r, json!({"prefix": "198.18.7.1/24"}), BAD, Some("prefix"), "did you mean 198.18.7.0/24?"),
        case("withdraw batch bad", d.clone(), r, json!({"prefixes": ["198.18.7.0/24", "198.18.8.0/24", "nope"]}), BAD, Some("prefixes[2]"), "is not a prefix"),
        case("withdraw twice", d.clone(), r, json!({"prefixes": ["198.18.7.0/24", "198.18.7.0/24"]}), BAD, Some("prefixes[1]"), "listed twice"),
        case("withdraw empty", d.clone(), r, json!({"prefixes": []}), BAD, Some("prefixes"), "the list is empty"),
        case("withdraw a route", d.clone(), r, json!({"prefix": "198.18.7.0/24", "med": 1}), BAD, Some("med"), "unknown field"),
        case("withdraw a string", d.clone(), r, json!("198.18.7.0/24"), BAD, None, "expected a JSON object, not a string"),
        // Neighbors.
        peer_case("AS 0", json!({"address": "198.18.0.9", "remote_as": 0}), "remote_as", "AS 0 is not a valid AS number"),
        peer_case("AS_TRANS", json!({"address": "198.18.0.9", "remote_as": 23456}), "remote_as", "AS_TRANS"),
        peer_case("AS too big", json!({"address": "198.18.0.9", "remote_as": 4294967296u64}), "remote_as", "out of range 0..=4294967295"),
        peer_case("AS negative", json!({"address": "198.18.0.9", "remote_as": -1}), "remote_as", "-1 is out of range"),
        peer_case("AS as text", json!({"address": "198.18.0.9", "remote_as": "65009"}), "remote_as", "invalid type"),
        peer_case("missing AS", json!({"address": "198.18.0.9"}), "remote_as", "missing required field"),
        peer_case("address syntax", json!({"address": "198.18.0.256", "remote_as": 65009}), "address", "invalid IP address"),
        peer_case("address unspecified", json!({"address": "::", "remote_as": 65009}), "address", "not a unicast address"),
        peer_case("port 0", json!({"address": "198.18.0.9", "remote_as": 65009, "port": 0}), "port", "0 is out of range 1..=65535"),
        peer_case("hold time 2", json!({"address": "198.18.0.9", "remote_as": 65009, "hold_time": 2}), "hold_time", "hold time 2 is not allowed"),
        peer_case("unknown family", json!({"address": "198.18.0.9", "remote_as": 65009, "families": ["ipv4-unicast", "ipv5-unicast"]}), "families[1]", "unknown address family"),
        peer_case("family twice", json!({"address": "198.18.0.9", "remote_as": 65009, "families": ["ipv4-unicast", "ipv4"]}), "families[1]", "listed twice"),
        peer_case("no families", json!({"address": "198.18.0.9", "remote_as": 65009, "families": []}), "families", "the list is empty"),
        peer_case("local address family", json!({"address": "198.18.0.9", "remote_as": 65009, "local_address": "2001:db8::1"}), "local_address", "2001:db8::1 is IPv6 but the peer address 198.18.0.9 is IPv4"),
        peer_case("restart time", json!({"address": "198.18.0.9", "remote_as": 65009, "graceful_restart": {"restart_time": 5000}}), "graceful_restart.restart_time", "at most 4095"),
        peer_case("unknown key", json!({"address": "198.18.0.9", "remote-as": 65009}), "remote-as", "unknown field"),
        Case { uri: "/v1/neighbors", body: json!(["198.18.0.9", 65009]).to_string(), ..array("peer as an array") },
        // Patches.
        case("patch AS 0", Method::PATCH, p, json!({"remote_as": 0}), BAD, Some("remote_as"), "AS 0"),
        case("patch address", Method::PATCH, p, json!({"address": "198.18.0.3"}), BAD, Some("address"), "cannot be changed"),
        case("patch nothing", Method::PATCH, p, json!({}), BAD, None, "nothing to change"),
        case("patch unknown key", Method::PATCH, p, json!({"holdtime": 30}), BAD, Some("holdtime"), "unknown field"),
        case("patch local address family", Method::PATCH, p, json!({"local_address": "2001:db8::1"}), BAD, Some("local_address"), "is IPv6 but the peer address"),
        case("patch families", Method::PATCH, p, json!({"families": ["ipv6", "ipv6-unicast"]}), BAD, Some("families[1]"), "listed twice"),
        case("patch null AS", Method::PATCH, p, json!({"remote_as": null}), BAD, Some("remote_as"), "invalid type: null"),
        Case { method: Method::PATCH, uri: p, body: "[1]".into(), ..array("patch not an object") },
        case("patch bad path", Method::PATCH, "/v1/neighbors/banana", json!({"remote_as": 65009}), BAD, Some("addr"), "\"banana\" is not an IP address"),
        // Paths and queries.
        get("rib family", "/v1/rib/ipv5", Some("family"), "unknown address family \"ipv5\""),
        get("rib prefix family", "/v1/rib/ipv4-unicast?prefix=2001:db8::/32", Some("prefix"), "2001:db8::/32 is ipv6-unicast but the RIB asked for is ipv4-unicast"),
        get("rib host bits", "/v1/rib/ipv4?prefix=198.18.0.1/24", Some("prefix"), "did you mean 198.18.0.0/24?"),
        get("rib unknown query", "/v1/rib/ipv4?colour=red", Some("colour"), "unknown query parameter"),
        get("rib prefix twice", "/v1/rib/ipv4?prefix=198.18.0.0/24&prefix=198.18.1.0/24", Some("prefix"), "given twice"),
        get("adj-in address", "/v1/neighbors/banana/adj-in", Some("addr"), "is not an IP address"),
        get("adj-out prefix", "/v1/neighbors/198.18.0.2/adj-out?prefix=x", Some("prefix"), "is not a prefix"),
        get("neighbor address", "/v1/neighbors/198.18.0.300", Some("addr"), "is not an IP address"),
        case("delete address", d.clone(), "/v1/neighbors/fe80::1%eth0", Value::Null, BAD, Some("addr"), "is not an IP address"),
        // Bodies.
        Case { body: "{\"prefix\": \"198.18.7.0/24\",\n".into(), code: "malformed_json", ..case("truncated JSON", Method::POST, r, Value::Null, BAD, None, "malformed JSON at line 2, column 0: EOF while parsing") },
        Case { body: "{\"prefix\": '198.18.7.0/24'}".into(), code: "malformed_json", ..case("not JSON", Method::POST, r, Value::Null, BAD, None, "malformed JSON at line 1, column 12") },
        Case { body: "{\"address\": \"198.18.0.9\", \"remote_as\": 65009} {}".into(), code: "malformed_json", ..case("trailing JSON", Method::POST, "/v1/neighbors", Value::Null, BAD, None, "trailing characters") },
        // A key given twice: ambiguous, whichever of the two was meant.
        Case { body: r#"{"prefix": "198.18.7.0/24", "med": 10, "med": 20}"#.into(), code: "duplicate_key", ..route_case("route key twice", Value::Null, "med", "given twice") },
        Case { body: r#"{"routes": [{"prefix": "198.18.7.0/24"}, {"prefix": "198.18.8.0/24", "prefix": "198.18.9.0/24"}]}"#.into(), code: "duplicate_key", ..route_case("batch key twice", Value::Null, "routes[1].prefix", "given twice") },
        Case { body: r#"{"address": "198.18.0.9", "remote_as": 65009, "remote_as": 65010}"#.into(), code: "duplicate_key", ..peer_case("peer key twice", Value::Null, "remote_as", "given twice") },
        Case { body: r#"{"graceful_restart": {"enabled": true, "enabled": false}}"#.into(), code: "duplicate_key", ..case("patch key twice", Method::PATCH, p, Value::Null, BAD, Some("graceful_restart.enabled"), "given twice") },
        Case { body: r#"{"prefix": "198.18.7.0/24", "prefix": "198.18.8.0/24"}"#.into(), code: "duplicate_key", ..case("withdraw key twice", d.clone(), r, Value::Null, BAD, Some("prefix"), "given twice") },
        // Prefixes written other than canonically.
        route_case("prefix length with a leading zero", json!({"prefix": "10.0.0.0/08"}), "prefix", "\"10.0.0.0/08\" is not written canonically"),
        route_case("prefix length with a sign", json!({"prefix": "198.18.7.0/+24"}), "prefix", "did you mean 198.18.7.0/24?"),
        case("withdraw non-canonical", d.clone(), r, json!({"prefixes": ["198.18.7.0/24", "2001:db8::/032"]}), BAD, Some("prefixes[1]"), "did you mean 2001:db8::/32?"),
        get("rib non-canonical", "/v1/rib/ipv4?prefix=198.18.0.0/024", Some("prefix"), "not written canonically"),
        // Ports and integers out of range say the range.
        peer_case("port too large", json!({"address": "198.18.0.9", "remote_as": 65009, "port": 70000}), "port", "70000 is out of range 1..=65535"),
        case("patch port too large", Method::PATCH, p, json!({"port": 70000}), BAD, Some("port"), "70000 is out of range 1..=65535"),
        peer_case("hold time too large", json!({"address": "198.18.0.9", "remote_as": 65009, "hold_time": 65536}), "hold_time", "65536 is out of range 0..=65535"),
        Case { body: String::new(), ..case("empty body", Method::POST, r, Value::Null, BAD, None, "the request body is empty") },
        Case { content_type: Some("text/plain"), ..route_case("text body", json!({"prefix": "198.18.7.0/24"}), "", "") },
        Case { content_type: None, ..peer_case("no content type", json!({"address": "198.18.0.9", "remote_as": 65009}), "", "") },
    ]
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    for mut c in cases() {
        if c.content_type != Some("application/json") {
            c.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            c.field = None;
            c.message = "Content-Type application/json";
            c.code = "unsupported_media_type";
        }
        let (app, backend) = app();
        let before = backend.snapshot();
        let mut builder = Request::builder().method(c.method.clone()).uri(c.uri);
        if let Some(ct) = c.content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        let body = if c.body == "null" {
            String::new()
        } else {
            c.body.clone()
        };
        let (status, reply) = send(&app, builder.body(Body::from(body)).unwrap()).await;
        let name = c.name;
        assert_eq!(status, c.status, "{name}: {reply}");
        assert_eq!(reply["field"], json!(c.field), "{name}: {reply}");
        assert_eq!(reply["code"], c.code, "{name}: {reply}");
        let error = reply["error"].as_str().unwrap();
        assert!(
            error.contains(c.message),
            "{name}: {error:?} lacks {:?}",
            c.message
        );
        assert_eq!(backend.calls(), vec![], "{name}: the backend was called");
        assert_eq!(backend.snapshot(), before, "{name}: the state changed");
    }
}

#[tokio::test]
async fn malformed_json_says_where() {
    let (app, _) = app();
    let body = "{\n  \"prefix\": \"198.18.7.0/24\",\n  \"med\": 5,,\n}";
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/routes")
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(body))
        .unwrap();
    let (status, reply) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reply["line"], 3);
    assert_eq!(reply["column"], 12);
    assert_eq!(reply["field"], Value::Null);
}

#[tokio::test]
async fn a_huge_bad_value_is_not_echoed_whole() {
    let huge = "x".repeat(1 << 20);
    let bodies = [
        ("/v1/routes", json!({"prefix": huge})),
        (
            "/v1/routes",
            json!({"prefix": "198.18.7.0/24", "communities": [huge]}),
        ),
        (
            "/v1/routes",
            json!({"prefix": "198.18.7.0/24", "large_communities": [huge]}),
        ),
        (
            "/v1/routes",
            json!({"prefix": "198.18.7.0/24", "next_hop": huge}),
        ),
        (
            "/v1/routes",
            json!({"prefix": "198.18.7.0/24", huge.clone(): 1}),
        ),
        (
            "/v1/neighbors",
            json!({"address": huge, "remote_as": 65009}),
        ),
        (
            "/v1/neighbors",
            json!({"address": "198.18.0.9", "remote_as": 65009, "families": [huge]}),
        ),
        (
            "/v1/neighbors",
            json!({"address": "198.18.0.9", "remote_as": huge}),
        ),
    ];
    for (uri, body) in bodies {
        let (app, _) = app();
        let (status, reply) = call(&app, Method::POST, uri, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply:.200}");
        let error = reply["error"].as_str().unwrap();
        let field = reply["field"].as_str().unwrap_or("");
        assert!(
            error.chars().count() <= MAX_MESSAGE + 80,
            "{uri}: {} characters: {error:.300}",
            error.len()
        );
        assert!(
            field.chars().count() <= MAX_MESSAGE + 80,
            "{uri}: field {field:.300}"
        );
        let too_much = "x".repeat(MAX_ECHO + 1);
        assert!(
            !error.contains(&too_much) && !field.contains(&too_much),
            "{uri}: {error:.300} / {field:.300}"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let options = ApiOptions {
        body_limit: 4096,
        ..ApiOptions::default()
    };
    let (app, backend) = app_with(options);
    let routes: Vec<Value> = (0..200)
        .map(|i| json!({"prefix": format!("198.18.{i}.0/24")}))
        .collect();
    let (status, reply) = call(
        &app,
        Method::POST,
        "/v1/routes",
        Some(json!({ "routes": routes })),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{reply}");
    assert!(reply["error"].as_str().unwrap().contains("4096 bytes"));
    assert_eq!(reply["field"], Value::Null);
    assert!(backend.calls().is_empty());
    assert!(backend.snapshot().api_routes.is_empty());

    // The default limit is 16 MiB.
    let (app, backend) = super::app();
    let padding = " ".repeat(ApiOptions::DEFAULT_BODY_LIMIT);
    let body = format!("{{\"prefix\": \"198.18.7.0/24\"{padding}}}");
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/routes")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let (status, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(backend.calls().is_empty());
}

#[tokio::test]
async fn backend_refusals_map_to_statuses_and_change_nothing() {
    let unknown = StatusCode::NOT_FOUND;
    let cases = [
        (
            Method::GET,
            "/v1/neighbors/198.18.0.99",
            None,
            unknown,
            None,
        ),
        (
            Method::PATCH,
            "/v1/neighbors/198.18.0.99",
            Some(json!({"passive": true})),
            unknown,
            None,
        ),
        (
            Method::DELETE,
            "/v1/neighbors/198.18.0.99",
            None,
            unknown,
            None,
        ),
        (
            Method::POST,
            "/v1/neighbors/198.18.0.99/enable",
            None,
            unknown,
            None,
        ),
        (
            Method::POST,
            "/v1/neighbors/198.18.0.99/disable",
            None,
            unknown,
            None,
        ),
        (
            Method::POST,
            "/v1/neighbors/198.18.0.99/soft-reset",
            None,
            unknown,
            None,
        ),
        (
            Method::GET,
            "/v1/neighbors/198.18.0.99/adj-in",
            None,
            unknown,
            None,
        ),
        (
            Method::GET,
            "/v1/neighbors/198.18.0.99/adj-out",
            None,
            unknown,
            None,
        ),
        (
            Method::POST,
            "/v1/neighbors",
            Some(json!({"address": "198.18.0.2", "remote_as": 65009})),
            StatusCode::CONFLICT,
            Some("address"),
        ),
        (
            Method::POST,
            "/v1/routes",
            Some(json!({"routes": [{"prefix": "198.18.7.0/24"}, {"prefix": "198.18.100.0/24"}]})),
            StatusCode::CONFLICT,
            Some("routes[1].prefix"),
        ),
    ];
    for (method, uri, body, status, field) in cases {
        let (app, backend) = app();
        let before = backend.snapshot();
        let (got, reply) = call(&app, method.clone(), uri, body).await;
        assert_eq!(got, status, "{method} {uri}: {reply}");
        assert_eq!(reply["field"], json!(field), "{method} {uri}: {reply}");
        assert_eq!(backend.calls().len(), 1, "{method} {uri}");
        assert_eq!(backend.snapshot(), before, "{method} {uri}");
    }
}

#[tokio::test]
async fn a_backend_that_cannot_persist_applies_nothing() {
    let (app, backend) = app();
    *backend.fail_with.lock().unwrap() = Some(BackendError::StateNotWritable(
        "/var/lib/baton: Read-only file system (os error 30)".into(),
    ));
    let before = backend.snapshot();
    let (status, reply) = call(
        &app,
        Method::POST,
        "/v1/routes",
        Some(json!({"prefix": "198.18.7.0/24"})),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.starts_with("state not writable: /var/lib/baton: Read-only file system"),
        "{reply}"
    );
    assert_eq!(reply["field"], Value::Null, "{reply}");
    assert_eq!(backend.snapshot(), before);
}

#[test]
fn each_domain_error_has_its_status() {
    let invalid = |field: Option<&str>| BackendError::Invalid {
        field: field.map(String::from),
        message: "m".into(),
    };
    let cases = [
        (
            BackendError::UnknownNeighbor(ip("198.18.0.9")),
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            BackendError::DuplicateNeighbor(ip("198.18.0.9")),
            StatusCode::CONFLICT,
            Some("address"),
        ),
        (
            invalid(Some("routes[0].prefix")),
            StatusCode::BAD_REQUEST,
            Some("routes[0].prefix"),
        ),
        (invalid(None), StatusCode::BAD_REQUEST, None),
        (
            BackendError::Conflict {
                field: None,
                message: "m".into(),
            },
            StatusCode::CONFLICT,
            None,
        ),
        (
            BackendError::Unavailable("x".into()),
            StatusCode::SERVICE_UNAVAILABLE,
            None,
        ),
        (
            BackendError::StateNotWritable("/var/lib/baton: Read-only file system".into()),
            StatusCode::SERVICE_UNAVAILABLE,
            None,
        ),
        (
            BackendError::Internal("x".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
        ),
    ];
    for (error, status, field) in cases {
        let message = error.to_string();
        let e = ApiError::from(error);
        assert_eq!(e.status, status, "{message}");
        assert_eq!(e.body.field.as_deref(), field, "{message}");
        assert_eq!(e.body.error, message);
    }
}
