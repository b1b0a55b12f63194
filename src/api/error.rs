//! Every API error is the same JSON object with the right status:
//!
//! ```json
//! { "error": "\"65536:1\" is not a community: 65536 is larger than 65535",
//!   "code": "invalid_value",
//!   "field": "routes[3].communities[0]" }
//! ```
//!
//! `error` is for people and may be reworded; `code` is for programs and stays as it is (the
//! [`ErrorCode`] names). The backend's domain errors map to a status in one place, `From<BackendError> for
//! ApiError`; the HTTP layer's own refusals (bad input, body too large, no token) are built by
//! the constructors here, and the connection layer's (malformed request line, head too large,
//! too many connections) by [`ApiError::raw_response`] in the same shape.
//!
//! What a client sent is echoed only in part: a quoted value longer than [`MAX_ECHO`]
//! characters is cut with an ellipsis, and no message is longer than [`MAX_MESSAGE`], so a
//! megabyte of garbage does not come back as a megabyte of error.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::backend::BackendError;

/// The longest quoted value of the request an error message repeats, in characters.
pub const MAX_ECHO: usize = 64;
/// The longest error message, in characters; a `field` is held to the same.
pub const MAX_MESSAGE: usize = 1024;

/// What kind of error, in words a program can match on. Stable: a new kind gets a new code,
/// an existing code keeps its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: a value, or the shape of the body, is refused; `field` names it.
    InvalidValue,
    /// 400: the body is not JSON; `line` and `column` say where.
    MalformedJson,
    /// 400: a JSON object has the same key twice; `field` names the second one.
    DuplicateKey,
    /// 400: the request line or a header is not HTTP/1.1.
    MalformedRequest,
    /// 401: the bearer token is missing or wrong.
    Unauthorized,
    /// 404: no such endpoint.
    NotFound,
    /// 404: no neighbor has this address.
    UnknownNeighbor,
    /// 405: the endpoint does not take this method.
    MethodNotAllowed,
    /// 409: the request clashes with the daemon's state.
    Conflict,
    /// 409: a neighbor already has this address.
    DuplicateNeighbor,
    /// 413: the body is larger than the limit.
    BodyTooLarge,
    /// 414: the request target (path and query) is longer than the limit.
    UriTooLong,
    /// 415: the body is not declared as JSON.
    UnsupportedMediaType,
    /// 431: the request line and headers are larger than the limit.
    HeadersTooLarge,
    /// 429: this client sent more requests than `[api] rate_limit` allows; `Retry-After` says
    /// when to try again.
    RateLimited,
    /// 500: a bug or an unexpected failure; nothing was applied.
    Internal,
    /// 503: the daemon cannot serve the request now (stopping, state not writable, disk
    /// full); nothing was applied.
    Unavailable,
    /// 503: the API already serves its maximum of connections; try again.
    TooManyConnections,
    /// 503: the state directory cannot be written now, so a change cannot be kept; nothing
    /// was applied. Writes succeed again once it is writable.
    StateNotWritable,
}

impl ErrorCode {
    /// The code an error of this status has unless it says otherwise.
    fn of_status(status: StatusCode) -> ErrorCode {
        match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
            StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorCode::HeadersTooLarge,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
            s if s.is_server_error() => ErrorCode::Internal,
            _ => ErrorCode::InvalidValue,
        }
    }
}

/// The body of every error reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in one line.
    #[schema(example = "\"65536:1\" is not a community: 65536 is larger than 65535")]
    pub error: String,
    /// What kind of error: stable, for programs.
    #[schema(example = "invalid_value")]
    pub code: ErrorCode,
    /// The request field to blame (`routes[3].communities[0]`, `remote_as`, `prefix`), or
    /// `null` when the error is not about one field.
    #[schema(example = "routes[3].communities[0]")]
    pub field: Option<String>,
    /// For malformed JSON: the line of the error, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For malformed JSON: the column of the error, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// An error reply: a status and an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with this status about no particular field, with the status's usual code.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: shorten(&message.into()),
                code: ErrorCode::of_status(status),
                field: None,
                line: None,
                column: None,
            },
        }
    }

    /// The same error with another code.
    pub fn with_code(mut self, code: ErrorCode) -> ApiError {
        self.body.code = code;
        self
    }

    /// 400 about `field`.
    pub fn invalid(field: Option<String>, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, message);
        e.body.field = field.map(|f| shorten_field(&f));
        e
    }

    /// 400 about the field `field`.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::invalid(Some(field.to_string()), message)
    }

    /// 400: the body is not JSON; `line` and `column` from 1.
    pub fn malformed(message: &str, line: usize, column: usize) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("malformed JSON at line {line}, column {column}: {message}"),
        )
        .with_code(ErrorCode::MalformedJson);
        e.body.line = Some(line);
        e.body.column = Some(column);
        e
    }

    /// 400: the key `field` (its whole path) is given twice in one JSON object.
    pub fn duplicate_key(field: &str) -> ApiError {
        ApiError::field(
            field,
            "this key is given twice in the same object: which one is meant is ambiguous",
        )
        .with_code(ErrorCode::DuplicateKey)
    }

    /// 401: the bearer token is missing or wrong.
    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 413: the body is larger than `limit` bytes.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 415: the body is not declared as JSON.
    pub fn unsupported_media_type(content_type: Option<&str>) -> ApiError {
        let got = content_type.map_or("no Content-Type".to_string(), |c| format!("{c:?}"));
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the request body must be JSON with Content-Type application/json (got {got})"),
        )
    }

    /// The whole HTTP/1.1 response for this error, closing the connection: for the connection
    /// layer, which answers before (or instead of) the router.
    pub fn raw_response(&self) -> Vec<u8> {
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or(""),
            body.len()
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            out.push_str("retry-after: 1\r\n");
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(&body);
        out
    }
}

/// The one mapping of domain errors to HTTP statuses.
impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> ApiError {
        let message = e.to_string();
        let (status, code, field) = match e {
            BackendError::UnknownNeighbor(_) => {
                (StatusCode::NOT_FOUND, ErrorCode::UnknownNeighbor, None)
            }
            BackendError::DuplicateNeighbor(_) => (
                StatusCode::CONFLICT,
                ErrorCode::DuplicateNeighbor,
                Some("address".to_string()),
            ),
            BackendError::Invalid { field, .. } => {
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidValue, field)
            }
            BackendError::Conflict { field, .. } => {
                (StatusCode::CONFLICT, ErrorCode::Conflict, field)
            }
            BackendError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                None,
            ),
            BackendError::StateNotWritable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StateNotWritable,
                None,
            ),
            BackendError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, None)
            }
        };
        let mut e = ApiError::new(status, message).with_code(code);
        e.body.field = field;
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let mut response = (self.status, Json(self.body)).into_response();
        if unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `text` with every quoted run (`"…"` or `` `…` ``) longer than [`MAX_ECHO`] characters cut
/// to that many and an ellipsis, and the whole cut to [`MAX_MESSAGE`] characters.
pub(super) fn shorten(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * MAX_MESSAGE));
    let mut count = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if count >= MAX_MESSAGE {
            out.push('…');
            break;
        }
        out.push(c);
        count += 1;
        if c != '"' && c != '`' {
            continue;
        }
        // Inside quotes: keep MAX_ECHO characters, skip the rest up to the closing quote.
        let (mut kept, mut escaped, mut closed) = (0, false, false);
        for q in chars.by_ref() {
            if q == c && !escaped {
                closed = true;
                break;
            }
            escaped = c == '"' && q == '\\' && !escaped;
            kept += 1;
            if kept <= MAX_ECHO {
                out.push(q);
                count += 1;
            }
        }
        if kept > MAX_ECHO {
            out.push('…');
            count += 1;
        }
        if closed {
            out.push(c);
            count += 1;
        }
    }
    out
}

/// A field path (`routes[3].communities[0]`) with every key longer than [`MAX_ECHO`]
/// characters cut to that many and an ellipsis: a key is what the client wrote.
fn shorten_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len().min(4 * MAX_MESSAGE));
    let mut run = 0;
    for c in field.chars() {
        if matches!(c, '.' | '[' | ']') {
            run = 0;
        } else {
            run += 1;
            if run == MAX_ECHO + 1 {
                out.push('…');
            }
            if run > MAX_ECHO {
                continue;
            }
        }
        out.push(c);
    }
    shorten(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_long_quoted_runs_and_long_messages() {
        assert_eq!(shorten("\"abc\" is bad"), "\"abc\" is bad");
        let long = "y".repeat(100);
        assert_eq!(
            shorten(&format!("{long:?} is bad")),
            format!("\"{}…\" is bad", "y".repeat(MAX_ECHO))
        );
        assert_eq!(
            shorten(&format!("unknown field `{long}`, expected x")),
            format!("unknown field `{}…`, expected x", "y".repeat(MAX_ECHO))
        );
        // An escaped quote does not end the run.
        assert_eq!(shorten(r#""a\"b" c"#), r#""a\"b" c"#);
        let plain = "z ".repeat(MAX_MESSAGE);
        assert_eq!(shorten(&plain).chars().count(), MAX_MESSAGE + 1);
    }
}
