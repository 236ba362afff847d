//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`: whole blobs, `Range` → 206, deletion.

use axum::body::Body;
use axum::http::Method;
use axum::response::Response;
use strata_distribution::headers::DOCKER_CONTENT_DIGEST;
use strata_distribution::{ContentRange, ErrorCode, RangeRequest, RepositoryName};
use strata_oci::Digest;

use super::response::{self, empty, header, service_error, unsupported};
use super::Req;

pub async fn handle(
    req: Req<'_>,
    method: Method,
    name: RepositoryName,
    digest: Digest,
) -> Response {
    match method {
        Method::GET => get(req, name, digest).await,
        Method::HEAD => head(req, name, digest).await,
        Method::DELETE => match req.registry.delete_blob(&name, &digest).await {
            Ok(()) => empty(202),
            Err(e) => service_error(&e),
        },
        m => unsupported(&m),
    }
}

fn blob_headers(response: Response, digest: &Digest, length: u64) -> Response {
    let response = header(response, "content-type", "application/octet-stream");
    let response = header(response, "accept-ranges", "bytes");
    let response = header(response, DOCKER_CONTENT_DIGEST, digest.to_string());
    header(response, "content-length", length.to_string())
}

async fn head(req: Req<'_>, name: RepositoryName, digest: Digest) -> Response {
    match req.registry.stat_blob(&name, &digest).await {
        Ok(size) => blob_headers(empty(200), &digest, size),
        Err(e) => service_error(&e),
    }
}

async fn get(req: Req<'_>, name: RepositoryName, digest: Digest) -> Response {
    let range = match req
        .header("range")
        .map(str::parse::<RangeRequest>)
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            return response::error(
                416,
                ErrorCode::BlobUnknown,
                format!("bad Range header: {e}"),
            )
        }
    };
    let read = match req.registry.read_blob(&name, &digest, range).await {
        Ok(Ok(read)) => read,
        Ok(Err(size)) => {
            let r = ContentRange {
                range: None,
                total: Some(size),
            };
            return header(empty(416), "content-range", r.to_string());
        }
        Err(e) => return service_error(&e),
    };
    let body = Body::from_stream(read.reader);
    match read.range {
        None => blob_headers(response::with_body(200, body), &digest, read.size),
        Some(r) => {
            let content_range = ContentRange {
                range: Some(r),
                total: Some(read.size),
            };
            let response = blob_headers(response::with_body(206, body), &digest, r.len());
            header(response, "content-range", content_range.to_string())
        }
    }
}
