//! Who may use the REST API of a running batond: an API on a non-loopback address without a
//! token keeps batond from starting; with a token, requests without it (or with a wrong one)
//! are refused 401 JSON and change nothing at the peer, requests with it do; every change
//! request, refused or not, leaves one `baton::audit` line naming who, what and the outcome;
//! the per-client rate limit answers 429 with `Retry-After`; with a certificate and key the API
//! speaks HTTPS only.
//!
//! The API listens on the baton host's 198.18 address and the requests come from another
//! namespace (the gobgpd host), as they would from an operator's machine.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::baton::{global_toml, peer_toml, Baton};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::http::{
    http_at, in_namespace, parse_reply, request_bytes, write_token_file, Reply, API_PORT,
    HTTP_TIMEOUT,
};
use common::netns::{Host, Lab};
use common::{poll, Family};

const OUR_AS: u32 = 65001;
const PEER_AS: u32 = 65002;
const TOKEN: &str = "ab1e-t0ken-9f3c";
/// gobgpd refuses connections for ~5 s after any loss, so be generous.
const SESSION_UP: Duration = Duration::from_secs(30);
const ROUTE_ARRIVES: Duration = Duration::from_secs(20);
/// How long batond may take to refuse a configuration and exit.
const EXITS: Duration = Duration::from_secs(20);
/// How long an audit line may take to reach the log file.
const LOGGED: Duration = Duration::from_secs(10);

/// The API address of baton on `a`: its own 198.18 address, not loopback.
fn api_addr(a: &Host) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(a.ipv4), API_PORT)
}

/// `[global]` of baton on `a` with `[api]` on its 198.18 address and these extra keys.
fn config(a: &Host, api_keys: &str) -> String {
    let mut toml = global_toml(
        &Baton::paths(a),
        OUR_AS,
        &a.ipv4.to_string(),
        &[format!("{}:179", a.ipv4)],
    );
    toml += &format!("[api]\nlisten = \"{}\"\n{api_keys}\n", api_addr(a));
    toml
}

/// The audit lines baton has logged so far.
fn audit_lines(baton: &Baton) -> Vec<String> {
    baton
        .log()
        .lines()
        .filter(|l| l.contains("baton::audit"))
        .map(String::from)
        .collect()
}

/// Waits until baton has logged an audit line containing every one of `parts`, and returns it.
fn audited(baton: &Baton, parts: &[&str]) -> String {
    let found = poll::within(LOGGED, || {
        audit_lines(baton)
            .into_iter()
            .find(|l| parts.iter().all(|p| l.contains(p)))
    });
    found.unwrap_or_else(|| {
        panic!(
            "no audit line with {parts:?}; audit lines:\n{}",
            audit_lines(baton).join("\n")
        )
    })
}

/// A 401 as the API gives it: JSON with code `unauthorized`, and `WWW-Authenticate: Bearer`.
fn assert_unauthorized(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    assert_eq!(reply.body["code"], "unauthorized", "{what}: {}", reply.body);
    assert!(reply.body["error"].is_string(), "{what}: {}", reply.body);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{what}");
}

#[test]
fn an_api_beyond_loopback_without_a_token_keeps_batond_from_starting() {
    let lab = Lab::new();
    let a = lab.host("baton");
    let toml = config(&a, "");
    let mut baton = Baton::spawn(&a, &toml);
    let status = baton.wait_exit(EXITS);
    assert!(!status.success(), "batond started: {status}");
    let log = baton.log();
    let line = log
        .lines()
        .find(|l| l.contains("api.listen"))
        .unwrap_or_else(|| panic!("no error naming api.listen:\n{log}"));
    let at = format!("{}:", baton.paths_of().config.display());
    assert!(line.contains(&at), "{line}");
    assert!(line.contains("not a loopback address"), "{line}");
    assert!(line.contains("[api] token_file"), "{line}");
}

#[test]
fn with_a_token_only_its_bearer_changes_routes_and_the_audit_log_names_each_change() {
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = Gobgpd::start(
        &g,
        GobgpConfig {
            asn: PEER_AS,
            neighbors: vec![GobgpNeighbor::new(a.ipv4.into(), OUR_AS)],
            ..GobgpConfig::default()
        },
    );
    let token_file = Baton::paths(&a).dir.join("api-token");
    write_token_file(&token_file, TOKEN);
    let mut toml = config(&a, &format!("token_file = \"{}\"\n", token_file.display()));
    toml += &peer_toml(g.ipv4.into(), PEER_AS, "ipv4-unicast", "");
    let baton = Baton::start(&a, &toml);
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    let api = api_addr(&a);
    let client = g.ipv4.to_string();
    let call = |method: &str, path: &str, body: Option<Value>, token: Option<&str>| {
        http_at(&g, api, method, path, body.as_ref(), token)
    };
    let at_gobgpd = |prefix: &str| {
        gobgpd
            .adj_in(a.ipv4.into(), Family::Ipv4Unicast)
            .iter()
            .any(|r| r.prefix == prefix)
    };

    // Without the token, or with a wrong one: 401 JSON, reads and changes alike, /metrics too.
    let prefix = "198.18.77.0/24";
    assert_unauthorized(&call("GET", "/v1/status", None, None), "status");
    assert_unauthorized(&call("GET", "/metrics", None, None), "metrics");
    let route = json!({ "prefix": prefix });
    let anonymous = call("POST", "/v1/routes", Some(route.clone()), None);
    assert_unauthorized(&anonymous, "announce without a token");
    let wrong = call(
        "POST",
        "/v1/routes",
        Some(route.clone()),
        Some("ab1e-t0ken-9f3d"),
    );
    assert_unauthorized(&wrong, "announce with a wrong token");
    // The OpenAPI document stays public.
    assert_eq!(call("GET", "/v1/openapi.json", None, None).status, 200);
    // Nothing refused reached the peer.
    poll::always(Duration::from_secs(2), "no refused route at gobgpd", || {
        !at_gobgpd(prefix)
    });

    // With the token: served.
    let status = call("GET", "/v1/status", None, Some(TOKEN));
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.body["asn"], OUR_AS);
    assert_eq!(call("GET", "/metrics", None, Some(TOKEN)).status, 200);
    let announced = call("POST", "/v1/routes", Some(route.clone()), Some(TOKEN));
    assert_eq!(announced.status, 200, "{}", announced.body);
    poll::until_true(ROUTE_ARRIVES, "gobgpd to hold the announced route", || {
        at_gobgpd(prefix)
    });
    let neighbor = json!({ "address": "198.18.99.9", "remote_as": 65099, "passive": true });
    let added = call("POST", "/v1/neighbors", Some(neighbor), Some(TOKEN));
    assert_eq!(added.status, 201, "{}", added.body);
    let deleted = call("DELETE", "/v1/neighbors/198.18.99.9", None, Some(TOKEN));
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let withdrawn = call("DELETE", "/v1/routes", Some(route), Some(TOKEN));
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    poll::until_true(ROUTE_ARRIVES, "gobgpd to lose the withdrawn route", || {
        !at_gobgpd(prefix)
    });

    // One audit line per change request: who, what, the outcome; none for reads. (The body of
    // a refused request is never read, so its line names the path only.)
    let client_is = format!("client={client}:");
    let expected: [&[&str]; 6] = [
        &[
            "who=anonymous",
            "method=POST",
            "path=/v1/routes",
            "what=-",
            "status=401",
        ],
        &[
            "who=wrong-token",
            "method=POST",
            "path=/v1/routes",
            "what=-",
            "status=401",
        ],
        &[
            "who=token",
            "method=POST",
            "path=/v1/routes",
            prefix,
            "status=200",
        ],
        &[
            "who=token",
            "method=POST",
            "path=/v1/neighbors",
            "198.18.99.9",
            "status=201",
        ],
        &[
            "who=token",
            "method=DELETE",
            "path=/v1/neighbors/198.18.99.9",
            "status=200",
        ],
        &[
            "who=token",
            "method=DELETE",
            "path=/v1/routes",
            prefix,
            "status=200",
        ],
    ];
    for parts in expected {
        let mut parts = parts.to_vec();
        parts.push(&client_is);
        let line = audited(&baton, &parts);
        assert!(line.contains("INFO"), "{line}");
    }
    let lines = audit_lines(&baton);
    assert_eq!(lines.len(), expected.len(), "{}", lines.join("\n"));

    // The refusals are counted with the other requests.
    let metrics = baton.ctl_output(&["metrics"]);
    let metrics = String::from_utf8_lossy(&metrics.stdout).to_string();
    let refused = metrics
        .lines()
        .find(|l| {
            l.starts_with("baton_api_requests")
                && l.contains("route=\"/v1/routes\"")
                && l.contains("status=\"401\"")
        })
        .unwrap_or_else(|| panic!("no count of 401 on /v1/routes:\n{metrics}"));
    assert!(refused.ends_with(" 2"), "{refused}");

    // A reload that would leave the API beyond loopback without a token is refused with
    // nothing applied (not the route it also adds), and the token stays required.
    let mut without = toml.replace(&format!("token_file = \"{}\"\n", token_file.display()), "");
    assert_ne!(without, toml);
    let reload_prefix = "198.18.78.0/24";
    without += &format!("[[route]]\nprefix = \"{reload_prefix}\"\n");
    std::fs::write(&baton.paths_of().config, &without).unwrap();
    let out = baton.ctl_output(&["reload"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the reload was accepted: {text}");
    assert!(
        text.contains("api.listen") && text.contains("[api] token_file"),
        "{text}"
    );
    poll::always(
        Duration::from_secs(2),
        "no route of the refused reload",
        || !at_gobgpd(reload_prefix),
    );
    assert_unauthorized(
        &call("GET", "/v1/status", None, None),
        "status after the reload",
    );
    assert_eq!(call("GET", "/v1/status", None, Some(TOKEN)).status, 200);
}

#[test]
fn a_client_over_the_rate_limit_is_answered_429_with_retry_after() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("client"));
    let token_file = Baton::paths(&a).dir.join("api-token");
    write_token_file(&token_file, TOKEN);
    let keys = format!(
        "token_file = \"{}\"\nrate_limit = 1\nrate_burst = 3\n",
        token_file.display()
    );
    let baton = Baton::start(&a, &config(&a, &keys));
    let api = api_addr(&a);
    let call = |method: &str, path: &str, body: Option<Value>| {
        http_at(&b, api, method, path, body.as_ref(), Some(TOKEN))
    };

    // A burst of 3 is served; the refill is 1 a second, so of 10 quick requests most are
    // refused.
    let started = Instant::now();
    let replies: Vec<Reply> = (0..10).map(|_| call("GET", "/v1/status", None)).collect();
    let took = started.elapsed();
    let served = replies.iter().filter(|r| r.status == 200).count();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(replies[..3].iter().all(|r| r.status == 200), "{statuses:?}");
    assert!(
        served as f64 <= 3.0 + took.as_secs_f64() + 1.0,
        "{served} served in {took:?}: {statuses:?}"
    );
    let refused = replies
        .iter()
        .find(|r| r.status == 429)
        .unwrap_or_else(|| panic!("none refused in {took:?}: {statuses:?}"));
    assert_eq!(refused.body["code"], "rate_limited", "{}", refused.body);
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", refused.headers));
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");

    // A refused change is audited with its 429; after the wait, the client is served again.
    let withdraw = json!({ "prefix": "198.18.66.0/24" });
    let limited = poll::until(
        Duration::from_secs(5),
        "a change to be rate limited",
        || {
            let r = call("DELETE", "/v1/routes", Some(withdraw.clone()));
            (r.status == 429).then_some(r)
        },
    );
    assert_eq!(limited.body["code"], "rate_limited");
    audited(
        &baton,
        &[
            "who=unverified",
            "method=DELETE",
            "path=/v1/routes",
            "status=429",
        ],
    );
    poll::until_true(
        Duration::from_secs(10),
        "the client to be served again",
        || call("GET", "/v1/status", None).status == 200,
    );
    // Another client has its own bucket.
    let other = http_at(&a, api, "GET", "/v1/status", None, Some(TOKEN));
    assert_eq!(other.status, 200, "{}", other.body);
}

/// Sends one request over HTTPS from inside `host`'s namespace to the API at `api`, trusting
/// only the certificate `cert_der`; the reply, or why there was none.
fn https_at(
    host: &Host,
    api: SocketAddr,
    cert_der: Vec<u8>,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Result<Reply, String> {
    let request = request_bytes(api, method, path, None, token);
    in_namespace(host, move || {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(cert_der))
            .map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::IpAddress(api.ip().into());
        let conn =
            rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
        let tcp =
            TcpStream::connect_timeout(&api, Duration::from_secs(5)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(&request).map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).map_err(|e| e.to_string())?;
        parse_reply(&raw)
    })
}

#[test]
fn with_a_certificate_and_key_the_api_speaks_https_only() {
    let lab = Lab::new();
    let (a, b) = (lab.host("baton"), lab.host("client"));
    let dir = Baton::paths(&a).dir;
    let certified = rcgen::generate_simple_self_signed(vec![a.ipv4.to_string()]).unwrap();
    let (cert, key) = (dir.join("api.crt"), dir.join("api.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    write_token_file(&key, &certified.key_pair.serialize_pem());
    let token_file = dir.join("api-token");
    write_token_file(&token_file, TOKEN);
    let keys = format!(
        "token_file = \"{}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        token_file.display(),
        cert.display(),
        key.display()
    );
    let baton = Baton::start(&a, &config(&a, &keys));
    let api = api_addr(&a);
    let der = certified.cert.der().to_vec();

    let reply = https_at(&b, api, der.clone(), "GET", "/v1/status", Some(TOKEN)).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["asn"], OUR_AS);
    let reply = https_at(&b, api, der.clone(), "GET", "/v1/status", None).unwrap();
    assert_unauthorized(&reply, "HTTPS without the token");
    let reply = https_at(
        &b,
        api,
        der.clone(),
        "DELETE",
        "/v1/neighbors/198.18.99.8",
        Some(TOKEN),
    )
    .unwrap();
    assert_eq!(reply.status, 404, "{}", reply.body);
    audited(
        &baton,
        &[
            "who=token",
            "method=DELETE",
            "path=/v1/neighbors/198.18.99.8",
            "status=404",
        ],
    );

    // Plain HTTP gets no HTTP reply at all.
    let plain = request_bytes(api, "GET", "/v1/status", None, Some(TOKEN));
    let raw = in_namespace(&b, move || {
        let mut tcp = TcpStream::connect_timeout(&api, Duration::from_secs(5)).unwrap();
        tcp.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
        tcp.write_all(&plain).unwrap();
        let mut raw = Vec::new();
        let _ = tcp.read_to_end(&mut raw);
        raw
    });
    assert!(
        !raw.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    // A client that does not trust the certificate refuses it.
    let stranger = rcgen::generate_simple_self_signed(vec![a.ipv4.to_string()]).unwrap();
    let refused = https_at(
        &b,
        api,
        stranger.cert.der().to_vec(),
        "GET",
        "/v1/status",
        None,
    );
    assert!(refused.is_err(), "{refused:?}");
}
