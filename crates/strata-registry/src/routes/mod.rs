//! HTTP, thin: every request path is parsed by [`strata_distribution::Route`] (names hold
//! `/`, so axum's path matching is not used), dispatched by method to a handler that reads
//! headers, calls a service and maps its result to the spec's statuses, headers and error
//! bodies. Every response carries `Docker-Distribution-API-Version: registry/2.0`; every
//! request gets a request id and one structured access-log record ([`access`]).
//! `/strata/v1/…` (strata's governance API, [`govern`]) is parsed by
//! [`strata_distribution::govern::GovRoute`] when a path is no `/v2/` route.

pub(crate) mod access;
mod blobs;
mod discovery;
mod govern;
mod manifests;
mod response;
mod ui;
mod uploads;

use std::io;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware;
use axum::response::Response;
use axum::Router;
use futures_util::TryStreamExt;
use strata_distribution::govern::GovRoute;
use strata_distribution::headers::{API_VERSION, DOCKER_DISTRIBUTION_API_VERSION};
use strata_distribution::Route;

use crate::actor::Actor;
use crate::auth::Auth;
use crate::request::RequestInfo;
use crate::services::Registry;
use crate::storage::ByteStream;
use response::{route_error, unsupported};

/// The registry's HTTP API on `registry`, logging each request to `access`; with `auth`, the
/// token endpoint (`/token`) and the auth layer in front of every API route (inside the
/// access log, so refusals are logged too). The web view ([`ui`], `/ui`) beside it.
pub fn router(
    registry: Arc<Registry>,
    auth: Option<Arc<Auth>>,
    access: Arc<access::AccessLog>,
) -> Router {
    let api = Router::new()
        .fallback(dispatch)
        .with_state(registry.clone());
    let web = ui::router(registry, auth.clone());
    let app = match auth {
        Some(auth) => api
            .layer(middleware::from_fn_with_state(
                auth.clone(),
                crate::auth::layer,
            ))
            .merge(crate::auth::token_routes(auth)),
        None => api,
    };
    // The web view checks its pages itself (it shows each viewer what it may pull).
    app.merge(web)
        .layer(middleware::from_fn_with_state(access, access::middleware))
}

async fn dispatch(State(registry): State<Arc<Registry>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let (Some(actor), Some(info)) = (
        parts.extensions.get::<Actor>(),
        parts.extensions.get::<Arc<RequestInfo>>(),
    ) {
        info.set_actor(actor.clone());
    }
    let mut response = match Route::parse_parts(parts.uri.path(), parts.uri.query()) {
        Ok(route) => {
            let req = Req {
                registry: &registry,
                method: &parts.method,
                headers: &parts.headers,
                body,
            };
            req.handle(route).await
        }
        Err(e) => match GovRoute::parse_parts(parts.uri.path(), parts.uri.query()) {
            Ok(route) => {
                let req = govern::GovReq {
                    registry: &registry,
                    method: &parts.method,
                    extensions: &parts.extensions,
                    body,
                };
                req.handle(route).await
            }
            Err(_)
                if !parts
                    .uri
                    .path()
                    .starts_with(strata_distribution::govern::PREFIX) =>
            {
                route_error(&e, &parts.method)
            }
            Err(gov) => govern::route_error(&gov),
        },
    };
    response.headers_mut().insert(
        DOCKER_DISTRIBUTION_API_VERSION,
        HeaderValue::from_static(API_VERSION),
    );
    response
}

/// One request on its way to a handler.
pub(crate) struct Req<'a> {
    pub registry: &'a Registry,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub body: Body,
}

impl Req<'_> {
    async fn handle(self, route: Route) -> Response {
        let method = self.method.clone();
        match (route, method) {
            (Route::Base, Method::GET | Method::HEAD) => response::empty(200),
            (Route::Catalog { page }, Method::GET) => discovery::catalog(self, page).await,
            (Route::Tags { name, page }, Method::GET) => discovery::tags(self, name, page).await,
            (
                Route::Referrers {
                    name,
                    digest,
                    artifact_type,
                },
                Method::GET,
            ) => discovery::referrers(self, name, digest, artifact_type).await,
            (Route::Manifest { name, reference }, m) => {
                manifests::handle(self, m, name, reference).await
            }
            (Route::Blob { name, digest }, m) => blobs::handle(self, m, name, digest).await,
            (Route::UploadStart { name, start }, Method::POST) => {
                uploads::start(self, name, start).await
            }
            (Route::Upload { name, id, digest }, m) => {
                uploads::handle(self, m, name, id, digest).await
            }
            (_, m) => unsupported(&m),
        }
    }

    /// A header's value as text, when present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Content-Length`, when sent.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// The body as a stream of chunks.
    pub fn stream(body: Body) -> ByteStream {
        Box::pin(body.into_data_stream().map_err(io::Error::other))
    }
}
