//! The audit log: one INFO line, target `baton::audit`, for every request that asks for a
//! change (any method but GET, HEAD and OPTIONS), whatever its outcome, refused ones included:
//!
//! ```text
//! INFO baton::audit: API change client=198.18.0.2:40122 who=token method=POST path=/v1/routes what=198.18.10.0/24 status=200
//! ```
//!
//! Who changed a site's routes, and who tried, must be answerable after the fact, and
//! separately from the daemon's other chatter: `RUST_LOG=info,baton::audit=info` keeps it, a
//! log shipper can route on the target. `who` is `token` (the right bearer token), `wrong-token`,
//! `anonymous` (none, or the daemon needs none) or `unverified` (refused by the rate limit
//! before the token was looked at); `what` sums up the body: the prefixes of an
//! announce or withdraw (the first few and how many more), a neighbor's address.
//!
//! The layer sits outside the token check and the rate limit, so their refusals are logged
//! too; those layers and the body reader fill in the request's [`AuditRecord`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

/// The tracing target of the audit lines.
pub const AUDIT_TARGET: &str = "baton::audit";
/// The most prefixes named in one line; the rest are counted.
const MAX_NAMED: usize = 3;
/// The most characters of one value from the body in a line.
const MAX_VALUE_CHARS: usize = 64;

/// Who made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Who {
    /// No token given, or none needed.
    Anonymous,
    /// The right bearer token.
    Token,
    /// A bearer token, not the right one.
    WrongToken,
    /// A token is needed but was not checked: the request was refused before (rate limit).
    Unverified,
}

impl Who {
    fn as_str(self) -> &'static str {
        match self {
            Who::Anonymous => "anonymous",
            Who::Token => "token",
            Who::WrongToken => "wrong-token",
            Who::Unverified => "unverified",
        }
    }
}

/// What the layers inside learn about a change request for its audit line; shared through the
/// request's extensions.
#[derive(Debug, Clone)]
pub(super) struct AuditRecord(Arc<Mutex<Entry>>);

#[derive(Debug)]
struct Entry {
    who: Who,
    what: Option<String>,
}

impl AuditRecord {
    fn new(who: Who) -> AuditRecord {
        AuditRecord(Arc::new(Mutex::new(Entry { who, what: None })))
    }

    fn entry(&self) -> std::sync::MutexGuard<'_, Entry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record who sent the request.
    pub(super) fn set_who(&self, who: Who) {
        self.entry().who = who;
    }

    /// Record the gist of the request's JSON body.
    pub(super) fn set_body(&self, body: &[u8]) {
        self.entry().what = summarize(body);
    }
}

/// Log every change request, with its outcome; `token_needed` when the API has a token.
pub(super) async fn audit(
    State(token_needed): State<bool>,
    mut request: Request,
    next: Next,
) -> Response {
    if [Method::GET, Method::HEAD, Method::OPTIONS].contains(request.method()) {
        return next.run(request).await;
    }
    let record = AuditRecord::new(if token_needed {
        Who::Unverified
    } else {
        Who::Anonymous
    });
    request.extensions_mut().insert(record.clone());
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_string(), |c| c.0.to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let entry = record.entry();
    tracing::info!(
        target: AUDIT_TARGET,
        %client,
        who = %entry.who.as_str(),
        %method,
        %path,
        what = %entry.what.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        "API change"
    );
    drop(entry);
    response
}

/// The parts of a request body the audit line names; anything else is ignored.
#[derive(Deserialize)]
struct Gist {
    #[serde(default)]
    address: Option<Value>,
    #[serde(default)]
    prefix: Option<Value>,
    #[serde(default)]
    prefixes: Option<Vec<Value>>,
    #[serde(default)]
    routes: Option<Vec<RouteGist>>,
}

#[derive(Deserialize)]
struct RouteGist {
    #[serde(default)]
    prefix: Option<Value>,
}

/// The gist of a JSON body: the neighbor address or the prefixes it names, escaped and cut
/// short; `None` for a body that names none (or is not such JSON).
pub(super) fn summarize(body: &[u8]) -> Option<String> {
    let gist: Gist = serde_json::from_slice(body).ok()?;
    let mut named: Vec<Value> = Vec::new();
    named.extend(gist.address);
    named.extend(gist.prefix);
    named.extend(gist.prefixes.into_iter().flatten());
    named.extend(gist.routes.into_iter().flatten().filter_map(|r| r.prefix));
    if named.is_empty() {
        return None;
    }
    let mut text = named
        .iter()
        .take(MAX_NAMED)
        .map(|v| clean(v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect::<Vec<_>>()
        .join(", ");
    if named.len() > MAX_NAMED {
        text += &format!(" (+{} more)", named.len() - MAX_NAMED);
    }
    Some(text)
}

/// A value from a client, made safe for a log line: control characters escaped, at most
/// [`MAX_VALUE_CHARS`] characters.
fn clean(value: String) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_VALUE_CHARS)
        .flat_map(char::escape_default)
        .collect();
    if value.chars().count() > MAX_VALUE_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn the_gist_names_prefixes_and_addresses() {
        let s = |body: &str| summarize(body.as_bytes());
        assert_eq!(
            s(r#"{"prefix": "198.18.7.0/24"}"#).as_deref(),
            Some("198.18.7.0/24")
        );
        assert_eq!(
            s(r#"{"prefixes": ["198.18.7.0/24", "2001:db8:7::/48"]}"#).as_deref(),
            Some("198.18.7.0/24, 2001:db8:7::/48")
        );
        assert_eq!(
            s(
                r#"{"routes": [{"prefix": "198.18.1.0/24"}, {"prefix": "198.18.2.0/24"},
                 {"prefix": "198.18.3.0/24"}, {"prefix": "198.18.4.0/24"}, {"prefix": "x"}]}"#
            )
            .as_deref(),
            Some("198.18.1.0/24, 198.18.2.0/24, 198.18.3.0/24 (+2 more)")
        );
        assert_eq!(
            s(r#"{"address": "198.18.0.9", "remote_as": 65009}"#).as_deref(),
            Some("198.18.0.9")
        );
        assert_eq!(s(r#"{"prefix": 7}"#).as_deref(), Some("7"));
        assert_eq!(s(r#"{"hold_time": 30}"#), None);
        assert_eq!(s("not json"), None);
    }

    #[test]
    fn client_text_cannot_forge_a_log_line() {
        let long = "a".repeat(100);
        let body = format!(r#"{{"prefix": "x\nINFO forged {long}"}}"#);
        let gist = summarize(body.as_bytes()).unwrap();
        assert!(!gist.contains('\n'), "{gist}");
        assert!(gist.starts_with("x\\nINFO forged aaa"), "{gist}");
        assert!(gist.ends_with('…'), "{gist}");
    }
}
