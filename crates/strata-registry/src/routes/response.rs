//! Building responses: empty ones with headers, the spec's JSON error bodies.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use strata_distribution::{ErrorBody, ErrorCode, ErrorInfo, RouteError};

use crate::services::ServiceError;

/// A response of `status` with no body.
pub fn empty(status: u16) -> Response {
    with_body(status, Body::empty())
}

pub fn with_body(status: u16, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
}

/// Adds a header (values the server builds itself are always valid).
pub fn header(mut response: Response, name: &'static str, value: impl AsRef<str>) -> Response {
    if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
    response
}

/// An error response: `status` and `{"errors":[{"code","message","detail"}]}`.
pub fn error(status: u16, code: ErrorCode, message: String) -> Response {
    let body = ErrorBody {
        errors: vec![ErrorInfo::new(code).with_message(message)],
    };
    let response = with_body(status, Body::from(body.to_json()));
    header(response, "content-type", "application/json")
}

/// The message of an error with its causes, `: `-joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// A service failure as the spec's error (a server fault is logged and answered 500).
pub fn service_error(e: &ServiceError) -> Response {
    if let ServiceError::GateRefused { violations, .. } = e {
        return gate_refused(violations);
    }
    let status = e.status();
    match e.code() {
        Some(code) => error(status, code, chain(e)),
        None => {
            tracing::error!(error = chain(e), "request failed");
            error(status, ErrorCode::Other("UNKNOWN".into()), chain(e))
        }
    }
}

/// A push the gate policy refused: 403, one `DENIED` entry `gate <rule>: <message>` per
/// failed rule (its `detail` the violation).
fn gate_refused(violations: &[strata_govern::gates::Violation]) -> Response {
    let errors = violations
        .iter()
        .map(|v| {
            ErrorInfo::new(ErrorCode::Denied)
                .with_message(format!("gate {}: {}", v.rule, v.message))
                .with_detail(serde_json::json!(v))
        })
        .collect();
    let body = ErrorBody { errors };
    let response = with_body(403, Body::from(body.to_json()));
    header(response, "content-type", "application/json")
}

/// A path that is not a route: 404, or the spec's error for a bad name, digest or query.
/// A reference that is no valid tag names no manifest: reading or deleting it is 404
/// `MANIFEST_UNKNOWN` (what the conformance suite expects), pushing to it 400
/// `MANIFEST_INVALID`.
pub fn route_error(e: &RouteError, method: &Method) -> Response {
    if matches!(e, RouteError::Reference { .. }) && method != Method::PUT {
        return error(404, ErrorCode::ManifestUnknown, chain(e));
    }
    match e.code() {
        Some(code) => {
            let status = if code == ErrorCode::BlobUploadUnknown {
                404
            } else {
                code.status()
            };
            let status = if code == ErrorCode::Unsupported {
                400
            } else {
                status
            };
            error(status, code, chain(e))
        }
        None => error(404, ErrorCode::Other("NOT_FOUND".into()), chain(e)),
    }
}

/// A method the endpoint does not have.
pub fn unsupported(method: &Method) -> Response {
    error(
        405,
        ErrorCode::Unsupported,
        format!("method {method} is not supported on this endpoint"),
    )
}
