//! The token endpoint, `/token` (docker's token flow, distribution's token and OAuth2
//! specs):
//!
//! - `GET /token?service=…&scope=…[&account=…]` with Basic credentials, or none for an
//!   anonymous token (granting only what anonymous may do). Wrong credentials are 401.
//! - `POST /token`, an OAuth2 form with `grant_type=password` (`username`, `password`,
//!   `client_id`, `scope`). No refresh tokens are issued, so `grant_type=refresh_token` (and
//!   any other grant) is refused; `access_type=offline` gets no `refresh_token`, and docker
//!   then keeps the password, as it does with registries that issue none.
//!
//! The answer is `{"token","access_token","expires_in","issued_at"}`, the token granting
//! the intersection of the scopes asked and what the account may do (possibly nothing).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use strata_distribution::auth::{Grant, OAuthTokenRequest, TokenError};
use strata_distribution::{ErrorBody, ErrorCode, ErrorInfo, Scope, TokenRequest, TokenResponse};

use super::middleware::basic_credentials;
use super::{chain, Auth, Identity, Refusal};

/// The `/token` route (GET and POST) on `auth`.
pub fn token_routes(auth: Arc<Auth>) -> Router {
    Router::new()
        .route("/token", get(get_token).post(post_token))
        .with_state(auth)
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

/// A registry-style error body (what docker prints for a GET token failure).
fn registry_error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = ErrorBody {
        errors: vec![ErrorInfo::new(code).with_message(message)],
    };
    json(status, body.to_json())
}

/// An OAuth2 error body (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    json(status, body.to_string().into_bytes())
}

fn issued(auth: &Auth, who: &Identity, scopes: &[Scope]) -> Response {
    let response: TokenResponse = auth.issue(who, scopes);
    json(StatusCode::OK, response.to_json())
}

/// A `service` that is not this registry's.
fn wrong_service(auth: &Auth, service: Option<&str>) -> Option<String> {
    service.filter(|s| *s != auth.service).map(|s| {
        format!(
            "token requested for service {s:?}, this registry is {:?}",
            auth.service
        )
    })
}

async fn get_token(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request = match TokenRequest::parse_query(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(e) => {
            return registry_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::Other("INVALID_REQUEST".into()),
                &chain(&e),
            )
        }
    };
    if let Some(message) = wrong_service(&auth, request.service.as_deref()) {
        return registry_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::Other("INVALID_REQUEST".into()),
            &message,
        );
    }
    let who = match caller(&auth, &headers).await {
        Ok(who) => who,
        Err(refusal) => {
            tracing::info!(refusal = %refusal, "token request refused");
            return registry_error(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                &refusal.to_string(),
            );
        }
    };
    if let (Some(account), Some(name)) = (&request.account, who.name()) {
        if *account != name {
            let message =
                format!("account {account:?} does not match the credentials' user {name:?}");
            return registry_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::Other("INVALID_REQUEST".into()),
                &message,
            );
        }
    }
    issued(&auth, &who, &request.scopes)
}

/// The identity of Basic credentials, or anonymous without any.
async fn caller(auth: &Auth, headers: &HeaderMap) -> Result<Identity, Refusal> {
    let Some(value) = headers.get("authorization") else {
        return Ok(Identity::Anonymous);
    };
    let value = value.to_str().map_err(|_| Refusal::MalformedBasic)?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Refusal::Scheme);
    }
    let (user, password) = basic_credentials(rest)?;
    auth.login(&user, &password).await
}

async fn post_token(State(auth): State<Arc<Auth>>, body: Bytes) -> Response {
    let Ok(form) = std::str::from_utf8(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the form is not UTF-8",
        );
    };
    let request = match OAuthTokenRequest::parse_form(form) {
        Ok(request) => request,
        Err(e @ TokenError::UnsupportedGrant { .. }) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &chain(&e),
            )
        }
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &chain(&e)),
    };
    if let Some(message) = wrong_service(&auth, request.service.as_deref()) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &message);
    }
    let (username, password) = match &request.grant {
        Grant::Password { username, password } => (username, password),
        Grant::RefreshToken(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "this registry issues no refresh tokens: use grant_type=password",
            )
        }
    };
    match auth.login(username, password).await {
        Ok(who) => issued(&auth, &who, &request.scopes),
        Err(refusal) => {
            tracing::info!(refusal = %refusal, "token request refused");
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                &refusal.to_string(),
            )
        }
    }
}
