//! The responses every endpoint can give, added to each operation of the OpenAPI document in
//! one place rather than repeated on each handler: the connection layer's refusals (malformed
//! request, 414, 431, 503 too many connections), the token's 401, the rate limit's 429, the
//! bodies' 413 and 415, and 500 and 503 from the daemon. A status a handler documents itself keeps its own description.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder};

use super::OPENAPI_PATH;

/// 503, for every operation (replacing a handler's own).
const UNAVAILABLE: &str = "Too many connections (`too_many_connections`: try again), or the \
     daemon cannot serve or save the request now (`unavailable`: stopping, state directory not \
     writable, disk full); nothing was applied";

/// Add the common responses to every operation of `doc`.
pub(super) fn add_common_responses(mut doc: OpenApiDoc) -> OpenApiDoc {
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = path == OPENAPI_PATH;
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            add_to(op, public);
        }
    }
    doc
}

fn add_to(op: &mut Operation, public: bool) {
    let mut common = vec![
        (
            "400",
            "Malformed HTTP request (`malformed_request`), or invalid input",
        ),
        (
            "414",
            "Request target too long, or request line too long for the head limit (`uri_too_long`)",
        ),
        (
            "431",
            "Request line and headers over 64 KiB, or over 100 headers (`headers_too_large`)",
        ),
        (
            "429",
            "More requests from this client than `[api] rate_limit` allows (`rate_limited`); \
             `Retry-After` says in how many seconds to try again",
        ),
    ];
    if !public {
        common.push((
            "401",
            "Bearer token missing or wrong, when the daemon has one (`unauthorized`, with \
             `WWW-Authenticate: Bearer`); a token is required when the API listens beyond \
             loopback",
        ));
        common.push((
            "500",
            "Unexpected failure (`internal`); nothing was applied",
        ));
    }
    if op.request_body.is_some() {
        common.push(("413", "Body over the limit (`body_too_large`)"));
        common.push((
            "415",
            "Body not declared as JSON (`unsupported_media_type`)",
        ));
    }
    let responses = &mut op.responses.responses;
    for (status, description) in common {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    }
    responses.insert("503".to_string(), error_response(UNAVAILABLE));
}

/// A response with an `ErrorBody`.
fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
        .into()
}
