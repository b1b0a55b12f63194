//! The bearer token: every request but the OpenAPI document must carry
//! `Authorization: Bearer <token>` when the daemon has one, or is answered 401 with
//! `WWW-Authenticate: Bearer`.
//!
//! The comparison takes a time that depends only on the secret's length, never on how much of
//! a guess is right, so the token cannot be found a byte at a time by timing replies. Whether
//! a request carried the right token is written into its [`AuditRecord`] for the audit log.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::audit::{AuditRecord, Who};
use super::error::ApiError;
use super::OPENAPI_PATH;

/// Refuse a request without the right bearer token (401), except for the OpenAPI document.
pub(super) async fn require_token(
    State(token): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == OPENAPI_PATH {
        return next.run(request).await;
    }
    let record = request.extensions().get::<AuditRecord>().cloned();
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let who = match given {
        Some(t) if same_secret(t.as_bytes(), token.as_bytes()) => Who::Token,
        Some(_) => Who::WrongToken,
        None => Who::Anonymous,
    };
    if let Some(record) = record {
        record.set_who(who);
    }
    match who {
        Who::Token => next.run(request).await,
        Who::WrongToken => ApiError::unauthorized("wrong bearer token").into_response(),
        _ => ApiError::unauthorized("this API needs an Authorization: Bearer <token> header")
            .into_response(),
    }
}

/// True if `given` equals `secret`, in a time that depends on the length of `secret` only:
/// every byte of it is compared, whatever `given` is.
pub(super) fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != secret.len());
    for (i, s) in secret.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(!s) ^ s;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_are_equal_only_when_every_byte_and_the_length_are() {
        assert!(same_secret(b"tok-123", b"tok-123"));
        assert!(!same_secret(b"tok-124", b"tok-123"));
        assert!(!same_secret(b"uok-123", b"tok-123"));
        assert!(!same_secret(b"tok-12", b"tok-123"));
        assert!(!same_secret(b"tok-1234", b"tok-123"));
        assert!(!same_secret(b"", b"tok-123"));
        // A guess that is the secret followed by zero bytes is still wrong.
        assert!(!same_secret(b"tok-123\0", b"tok-123"));
        assert!(same_secret(b"", b""));
        assert!(!same_secret(b"x", b""));
    }
}
