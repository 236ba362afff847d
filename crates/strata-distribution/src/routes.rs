//! The API's paths: parsing a request path into a typed [`Route`] (the server) and building a
//! path from one (the client), round-trip exact.
//!
//! Names may contain `/`, so a path is matched from the right: the last segments say which
//! endpoint it is (`…/manifests/<ref>`, `…/blobs/uploads/<id>`, `…/tags/list`), and everything
//! before them is the repository name. The HTTP method is not part of a route: the same
//! `/v2/<name>/manifests/<ref>` serves GET, HEAD, PUT and DELETE.

use std::fmt;

use strata_oci::{Digest, DigestError};
use thiserror::Error;

use crate::errors::ErrorCode;
use crate::names::{ManifestRef, NameError, RepositoryName};
use crate::query::{self, QueryError};

/// Pagination of `tags/list` and `_catalog`: at most `n` entries after `last`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Page {
    pub n: Option<u32>,
    pub last: Option<String>,
}

/// What a `POST /v2/<name>/blobs/uploads/` asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UploadStart {
    /// Open an upload session (chunked or streamed, finished by a PUT).
    Session,
    /// The body is the whole blob (`?digest=`).
    Monolithic { digest: Digest },
    /// Mount a blob from another repository (`?mount=&from=`), or, without `from`, from
    /// wherever the registry knows it (automatic content discovery).
    Mount {
        digest: Digest,
        from: Option<RepositoryName>,
    },
}

/// One endpoint of the distribution API (spec v1.1, plus the `_catalog` extension).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `/v2/`: the API version check.
    Base,
    /// `/v2/_catalog?n=&last=`.
    Catalog { page: Page },
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        name: RepositoryName,
        reference: ManifestRef,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob {
        name: RepositoryName,
        digest: Digest,
    },
    /// `/v2/<name>/blobs/uploads/` with its query.
    UploadStart {
        name: RepositoryName,
        start: UploadStart,
    },
    /// `/v2/<name>/blobs/uploads/<id>`; a PUT that finishes it carries `?digest=`.
    Upload {
        name: RepositoryName,
        id: String,
        digest: Option<Digest>,
    },
    /// `/v2/<name>/tags/list?n=&last=`.
    Tags { name: RepositoryName, page: Page },
    /// `/v2/<name>/referrers/<digest>?artifactType=`.
    Referrers {
        name: RepositoryName,
        digest: Digest,
        artifact_type: Option<String>,
    },
}

/// Why a path is not a route of the API.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RouteError {
    #[error("path {path:?} is not under /v2/")]
    NotV2 { path: String },
    #[error("no endpoint of the distribution API at {path:?}")]
    UnknownEndpoint { path: String },
    #[error("bad repository name in {path:?}")]
    Name {
        path: String,
        #[source]
        source: NameError,
    },
    #[error("bad manifest reference in {path:?}")]
    Reference {
        path: String,
        #[source]
        source: NameError,
    },
    #[error("bad digest {value:?} in {path:?}")]
    Digest {
        path: String,
        value: String,
        #[source]
        source: DigestError,
    },
    #[error("bad upload session id {id:?} in {path:?}")]
    UploadId { path: String, id: String },
    #[error("bad query parameter in {path:?}")]
    Query {
        path: String,
        #[source]
        source: QueryError,
    },
    #[error("query parameter {param}={value:?} in {path:?}: {reason}")]
    Param {
        path: String,
        param: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl RouteError {
    /// The spec's error code a server answers this with; `None` means a plain 404.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            RouteError::NotV2 { .. } | RouteError::UnknownEndpoint { .. } => None,
            RouteError::Name { .. } => Some(ErrorCode::NameInvalid),
            RouteError::Reference { source, .. } => Some(match source {
                NameError::Digest { .. } => ErrorCode::DigestInvalid,
                _ => ErrorCode::ManifestInvalid,
            }),
            RouteError::Digest { .. } => Some(ErrorCode::DigestInvalid),
            RouteError::UploadId { .. } => Some(ErrorCode::BlobUploadUnknown),
            RouteError::Query { .. } | RouteError::Param { .. } => Some(ErrorCode::Unsupported),
        }
    }
}

/// Upload ids are the server's own: RFC 3986 unreserved characters and `=`, as UUIDs and
/// base64url ids use.
fn valid_upload_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'='))
}

struct Parser<'a> {
    path: &'a str,
    params: Vec<(String, String)>,
}

impl Parser<'_> {
    fn err_path(&self) -> String {
        self.path.to_owned()
    }

    fn name(&self, segments: &[&str]) -> Result<RepositoryName, RouteError> {
        segments
            .join("/")
            .parse()
            .map_err(|source| RouteError::Name {
                path: self.err_path(),
                source,
            })
    }

    fn digest(&self, value: &str) -> Result<Digest, RouteError> {
        value.parse().map_err(|source| RouteError::Digest {
            path: self.err_path(),
            value: value.to_owned(),
            source,
        })
    }

    /// The last value of a query parameter (later ones win, as Go's `Query().Get` does not,
    /// but no client sends one twice).
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn digest_param(&self, key: &'static str) -> Result<Option<Digest>, RouteError> {
        self.param(key).map(|v| self.digest(v)).transpose()
    }

    fn page(&self) -> Result<Page, RouteError> {
        let n = match self.param("n") {
            None => None,
            Some(v) => Some(v.parse::<u32>().map_err(|_| RouteError::Param {
                path: self.err_path(),
                param: "n",
                value: v.to_owned(),
                reason: "not a non-negative integer",
            })?),
        };
        Ok(Page {
            n,
            last: self.param("last").map(str::to_owned),
        })
    }

    fn upload_start(&self) -> Result<UploadStart, RouteError> {
        if let Some(digest) = self.digest_param("mount")? {
            let from = match self.param("from") {
                None | Some("") => None,
                Some(v) => Some(v.parse().map_err(|source| RouteError::Name {
                    path: self.err_path(),
                    source,
                })?),
            };
            return Ok(UploadStart::Mount { digest, from });
        }
        Ok(match self.digest_param("digest")? {
            Some(digest) => UploadStart::Monolithic { digest },
            None => UploadStart::Session,
        })
    }

    fn route(&self, rest: &str) -> Result<Route, RouteError> {
        if rest.is_empty() {
            return Ok(Route::Base);
        }
        if rest == "_catalog" {
            return Ok(Route::Catalog { page: self.page()? });
        }
        let segs: Vec<&str> = rest.split('/').collect();
        let n = segs.len();
        let tail = |k: usize| &segs[n.saturating_sub(k)..];
        let head = |k: usize| &segs[..n.saturating_sub(k)];
        if n > 3 && tail(3)[..2] == ["blobs", "uploads"] {
            let id = tail(1)[0];
            if id.is_empty() {
                let name = self.name(head(3))?;
                return Ok(Route::UploadStart {
                    name,
                    start: self.upload_start()?,
                });
            }
            let name = self.name(head(3))?;
            if !valid_upload_id(id) {
                return Err(RouteError::UploadId {
                    path: self.err_path(),
                    id: id.to_owned(),
                });
            }
            let digest = self.digest_param("digest")?;
            let id = id.to_owned();
            return Ok(Route::Upload { name, id, digest });
        }
        if n > 2 && tail(2) == ["blobs", "uploads"] {
            let name = self.name(head(2))?;
            return Ok(Route::UploadStart {
                name,
                start: self.upload_start()?,
            });
        }
        if n > 2 && tail(2) == ["tags", "list"] {
            let name = self.name(head(2))?;
            return Ok(Route::Tags {
                name,
                page: self.page()?,
            });
        }
        if n > 2 {
            let last = tail(1)[0];
            match tail(2)[0] {
                "manifests" => {
                    let name = self.name(head(2))?;
                    let reference = last.parse().map_err(|source| RouteError::Reference {
                        path: self.err_path(),
                        source,
                    })?;
                    return Ok(Route::Manifest { name, reference });
                }
                "blobs" => {
                    let name = self.name(head(2))?;
                    let digest = self.digest(last)?;
                    return Ok(Route::Blob { name, digest });
                }
                "referrers" => {
                    let name = self.name(head(2))?;
                    let digest = self.digest(last)?;
                    let artifact_type = self.param("artifactType").map(str::to_owned);
                    return Ok(Route::Referrers {
                        name,
                        digest,
                        artifact_type,
                    });
                }
                _ => {}
            }
        }
        Err(RouteError::UnknownEndpoint {
            path: self.err_path(),
        })
    }
}

impl Route {
    /// Parses a request target (`/v2/…` with an optional `?query`).
    pub fn parse(target: &str) -> Result<Route, RouteError> {
        match target.split_once('?') {
            Some((path, query)) => Route::parse_parts(path, Some(query)),
            None => Route::parse_parts(target, None),
        }
    }

    /// Parses a path and its query string (without `?`), as a server framework hands them.
    pub fn parse_parts(path: &str, query: Option<&str>) -> Result<Route, RouteError> {
        let rest = match path.strip_prefix("/v2") {
            Some("") => "",
            Some(r) if r.starts_with('/') => &r[1..],
            _ => {
                return Err(RouteError::NotV2 {
                    path: path.to_owned(),
                })
            }
        };
        let params = query::parse(query.unwrap_or("")).map_err(|source| RouteError::Query {
            path: path.to_owned(),
            source,
        })?;
        Parser { path, params }.route(rest)
    }

    /// The repository the route is about (`None` for `/v2/` and `_catalog`).
    pub fn name(&self) -> Option<&RepositoryName> {
        match self {
            Route::Base | Route::Catalog { .. } => None,
            Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::UploadStart { name, .. }
            | Route::Upload { name, .. }
            | Route::Tags { name, .. }
            | Route::Referrers { name, .. } => Some(name),
        }
    }

    /// The path without the query (`/v2/a/b/tags/list`).
    pub fn path(&self) -> String {
        match self {
            Route::Base => "/v2/".to_owned(),
            Route::Catalog { .. } => "/v2/_catalog".to_owned(),
            Route::Manifest { name, reference } => format!("/v2/{name}/manifests/{reference}"),
            Route::Blob { name, digest } => format!("/v2/{name}/blobs/{digest}"),
            Route::UploadStart { name, .. } => format!("/v2/{name}/blobs/uploads/"),
            Route::Upload { name, id, .. } => format!("/v2/{name}/blobs/uploads/{id}"),
            Route::Tags { name, .. } => format!("/v2/{name}/tags/list"),
            Route::Referrers { name, digest, .. } => format!("/v2/{name}/referrers/{digest}"),
        }
    }

    /// The query string without `?` (empty when there is none).
    pub fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        match self {
            Route::Catalog { page } | Route::Tags { page, .. } => {
                if let Some(n) = page.n {
                    pairs.push(("n", n.to_string()));
                }
                if let Some(last) = &page.last {
                    pairs.push(("last", last.clone()));
                }
            }
            Route::UploadStart { start, .. } => match start {
                UploadStart::Session => {}
                UploadStart::Monolithic { digest } => pairs.push(("digest", digest.to_string())),
                UploadStart::Mount { digest, from } => {
                    pairs.push(("mount", digest.to_string()));
                    if let Some(from) = from {
                        pairs.push(("from", from.to_string()));
                    }
                }
            },
            Route::Upload {
                digest: Some(d), ..
            } => pairs.push(("digest", d.to_string())),
            Route::Referrers {
                artifact_type: Some(t),
                ..
            } => pairs.push(("artifactType", t.clone())),
            _ => {}
        }
        query::render(pairs.iter().map(|(k, v)| (*k, v.as_str())))
    }

    /// Path and query, as a request target (`/v2/a/tags/list?n=10`).
    pub fn target(&self) -> String {
        let query = self.query();
        if query.is_empty() {
            self.path()
        } else {
            format!("{}?{query}", self.path())
        }
    }

    /// A full URL under `base` (`https://registry.example:5000`, a trailing `/` is ignored).
    pub fn url(&self, base: &str) -> String {
        format!("{}{}", base.trim_end_matches('/'), self.target())
    }
}

/// Appends `digest=<digest>` to an upload `Location` (which may already carry a query, as
/// distribution's `_state` does) for the PUT that finishes the upload.
pub fn location_with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    let pair = query::render([("digest", digest.to_string().as_str())]);
    format!("{location}{sep}{pair}")
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.target())
    }
}

#[cfg(test)]
mod tests;
