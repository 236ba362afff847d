//! `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::Method;
use axum::response::Response;
use strata_distribution::headers::{DOCKER_CONTENT_DIGEST, OCI_SUBJECT};
use strata_distribution::{ManifestRef, RepositoryName, Route};

use super::response::{self, empty, header, service_error, unsupported};
use super::Req;
use crate::services::ServiceError;

pub async fn handle(
    req: Req<'_>,
    method: Method,
    name: RepositoryName,
    reference: ManifestRef,
) -> Response {
    match method {
        Method::GET | Method::HEAD => get(req, method == Method::GET, name, reference).await,
        Method::PUT => put(req, name, reference).await,
        Method::DELETE => match req.registry.delete_manifest(&name, &reference).await {
            Ok(()) => empty(202),
            Err(e) => service_error(&e),
        },
        m => unsupported(&m),
    }
}

async fn get(
    req: Req<'_>,
    with_body: bool,
    name: RepositoryName,
    reference: ManifestRef,
) -> Response {
    let (read, size) = match req
        .registry
        .get_manifest(&name, &reference, with_body)
        .await
    {
        Ok(found) => found,
        Err(e) => return service_error(&e),
    };
    let response = if with_body {
        response::with_body(200, Body::from(read.body))
    } else {
        empty(200)
    };
    let response = header(response, "content-type", &read.media_type);
    let response = header(response, DOCKER_CONTENT_DIGEST, read.digest.to_string());
    header(response, "content-length", size.to_string())
}

async fn put(req: Req<'_>, name: RepositoryName, reference: ManifestRef) -> Response {
    let limit = req.registry.limits().manifest_max;
    let content_type = req.header("content-type").map(str::to_owned);
    if let Some(size) = req.content_length().filter(|&l| l > limit) {
        return service_error(&ServiceError::ManifestTooLarge { size, limit });
    }
    let body = match axum::body::to_bytes(req.body, limit as usize + 1).await {
        Ok(b) => b,
        Err(_) => {
            let e = ServiceError::ManifestTooLarge {
                size: limit + 1,
                limit,
            };
            return service_error(&e);
        }
    };
    let pushed = match req
        .registry
        .put_manifest(&name, &reference, content_type.as_deref(), body)
        .await
    {
        Ok(p) => p,
        Err(e) => return service_error(&e),
    };
    let location = Route::Manifest {
        name,
        reference: ManifestRef::Digest(pushed.digest.clone()),
    }
    .path();
    let response = header(empty(201), "location", location);
    let response = header(response, "content-length", "0");
    let response = header(response, DOCKER_CONTENT_DIGEST, pushed.digest.to_string());
    match pushed.subject {
        Some(subject) => header(response, OCI_SUBJECT, subject.to_string()),
        None => response,
    }
}
