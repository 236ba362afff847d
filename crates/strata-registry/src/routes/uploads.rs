//! Uploads: `POST /v2/<name>/blobs/uploads/` (session, monolithic `?digest=`, mount),
//! `PATCH`/`PUT`/`GET`/`DELETE /v2/<name>/blobs/uploads/<id>`.

use axum::http::Method;
use axum::response::Response;
use strata_distribution::headers::{DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID};
use strata_distribution::{ByteRange, ErrorCode, RepositoryName, Route, UploadStart};
use strata_oci::Digest;

use super::response::{self, empty, header, service_error, unsupported};
use super::Req;
use crate::services::{ChunkRange, MountOutcome, ServiceError, UploadState};

fn upload_location(name: &RepositoryName, id: &str) -> String {
    Route::Upload {
        name: name.clone(),
        id: id.to_owned(),
        digest: None,
    }
    .path()
}

fn blob_location(name: &RepositoryName, digest: &Digest) -> String {
    Route::Blob {
        name: name.clone(),
        digest: digest.clone(),
    }
    .path()
}

/// 202 with the session's `Location`, `Range` and id.
fn accepted(name: &RepositoryName, id: &str, state: UploadState, status: u16) -> Response {
    let response = header(empty(status), "location", upload_location(name, id));
    let response = header(response, "range", state.range().to_string());
    let response = header(response, "content-length", "0");
    header(response, DOCKER_UPLOAD_UUID, id)
}

/// 201 for a blob now in `name`.
fn created(name: &RepositoryName, digest: &Digest) -> Response {
    let response = header(empty(201), "location", blob_location(name, digest));
    let response = header(response, "content-length", "0");
    header(response, DOCKER_CONTENT_DIGEST, digest.to_string())
}

pub async fn start(req: Req<'_>, name: RepositoryName, start: UploadStart) -> Response {
    let registry = req.registry;
    match start {
        UploadStart::Session => match registry.start_upload(&name).await {
            Ok(id) => accepted(&name, &id, UploadState { size: 0 }, 202),
            Err(e) => service_error(&e),
        },
        UploadStart::Monolithic { digest } => {
            let length = req.content_length();
            let body = Req::stream(req.body);
            match registry.push_blob(&name, &digest, length, body).await {
                Ok(_) => created(&name, &digest),
                Err(e) => service_error(&e),
            }
        }
        UploadStart::Mount { digest, from } => {
            match registry.mount_blob(&name, &digest, from.as_ref()).await {
                Ok(MountOutcome::Mounted) => created(&name, &digest),
                Ok(MountOutcome::Session(id)) => accepted(&name, &id, UploadState { size: 0 }, 202),
                Err(e) => service_error(&e),
            }
        }
    }
}

pub async fn handle(
    req: Req<'_>,
    method: Method,
    name: RepositoryName,
    id: String,
    digest: Option<Digest>,
) -> Response {
    let registry = req.registry;
    match method {
        Method::GET => match registry.upload_state(&name, &id).await {
            Ok(state) => accepted(&name, &id, state, 204),
            Err(e) => service_error(&e),
        },
        Method::PATCH => patch(req, name, id).await,
        Method::PUT => put(req, name, id, digest).await,
        Method::DELETE => match registry.cancel_upload(&name, &id).await {
            Ok(()) => empty(204),
            Err(e) => service_error(&e),
        },
        m => unsupported(&m),
    }
}

async fn patch(req: Req<'_>, name: RepositoryName, id: String) -> Response {
    let range = match req
        .header("content-range")
        .map(str::parse::<ByteRange>)
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            let message = format!("bad Content-Range header: {e}");
            return response::error(416, ErrorCode::BlobUploadInvalid, message);
        }
    };
    let chunk = ChunkRange {
        range,
        length: req.content_length(),
    };
    let registry = req.registry;
    match registry
        .append_chunk(&name, &id, chunk, Req::stream(req.body))
        .await
    {
        Ok(state) => accepted(&name, &id, state, 202),
        Err(e @ (ServiceError::ChunkOutOfOrder { .. } | ServiceError::ChunkLength { .. })) => {
            out_of_order(req.registry, &name, &id, &e).await
        }
        Err(e) => service_error(&e),
    }
}

/// 416 with where the upload stands, so the client can resume.
async fn out_of_order(
    registry: &crate::services::Registry,
    name: &RepositoryName,
    id: &str,
    e: &ServiceError,
) -> Response {
    let response = service_error(e);
    let response = header(response, "location", upload_location(name, id));
    let response = header(response, DOCKER_UPLOAD_UUID, id);
    match registry.upload_state(name, id).await {
        Ok(state) => header(response, "range", state.range().to_string()),
        Err(_) => response,
    }
}

async fn put(req: Req<'_>, name: RepositoryName, id: String, digest: Option<Digest>) -> Response {
    let Some(digest) = digest else {
        let message = format!("PUT on upload {id} needs ?digest=");
        return response::error(400, ErrorCode::DigestInvalid, message);
    };
    let length = req.content_length();
    let body = Req::stream(req.body);
    match req
        .registry
        .finish_upload(&name, &id, &digest, length, body)
        .await
    {
        Ok(_) => created(&name, &digest),
        Err(e) => service_error(&e),
    }
}
