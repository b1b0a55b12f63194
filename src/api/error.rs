//! Every API error is the same JSON object with the right status:
//!
//! ```json
//! { "error": "\"65536:1\" is not a community: 65536 is larger than 65535",
//!   "field": "routes[3].communities[0]" }
//! ```
//!
//! The backend's domain errors map to a status in one place, `From<BackendError> for
//! ApiError`; the HTTP layer's own refusals (bad input, body too large, no token) are built by
//! the constructors here.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::backend::BackendError;

/// The body of every error reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in one line.
    #[schema(example = "\"65536:1\" is not a community: 65536 is larger than 65535")]
    pub error: String,
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
    /// An error with this status about no particular field.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: message.into(),
                field: None,
                line: None,
                column: None,
            },
        }
    }

    /// 400 about `field`.
    pub fn invalid(field: Option<String>, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, message);
        e.body.field = field;
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
        );
        e.body.line = Some(line);
        e.body.column = Some(column);
        e
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
}

/// The one mapping of domain errors to HTTP statuses.
impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> ApiError {
        let message = e.to_string();
        let (status, field) = match e {
            BackendError::UnknownNeighbor(_) => (StatusCode::NOT_FOUND, None),
            BackendError::DuplicateNeighbor(_) => {
                (StatusCode::CONFLICT, Some("address".to_string()))
            }
            BackendError::Invalid { field, .. } => (StatusCode::BAD_REQUEST, field),
            BackendError::Conflict { field, .. } => (StatusCode::CONFLICT, field),
            BackendError::Unavailable(_) | BackendError::StateNotWritable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, None)
            }
            BackendError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        let mut e = ApiError::new(status, message);
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
