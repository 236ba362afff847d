//! strata-distribution: the OCI distribution protocol (spec v1.1) as types.
//!
//! Owns what the registry client and the registry server must agree on:
//! - [`names`]: repository names, tags and manifest references with the spec's grammars;
//! - [`routes`]: request paths ↔ a typed [`Route`] (parsed from the right, since names
//!   contain `/`), with the query parameters each endpoint takes;
//! - [`errors`]: the spec's error codes, their HTTP statuses and the `{"errors":[…]}` body;
//! - [`auth`]: `WWW-Authenticate` challenges (RFC 7235), token scopes, docker's token flow
//!   (request query, response, JWT claims);
//! - [`headers`]: header names and the `Link: <url>; rel="next"` of pagination;
//! - [`ranges`]: upload ranges (`0-1023`), blob `Range: bytes=` and `Content-Range`;
//! - [`retry_after`]: `Retry-After` in seconds or as an HTTP-date (all three forms);
//! - [`lists`]: the tag list and `_catalog` bodies;
//! - [`media`]: the manifest media types a registry accepts, detected from the body when the
//!   `Content-Type` is missing;
//! - [`govern`]: strata's governance API under `/strata/v1/` (JSON bodies, paths);
//! - [`referrers`]: referrer descriptors of manifests with a `subject`, the referrers index
//!   and its `artifactType` filter, the fallback tag schema.
//!
//! Must not: do I/O (no sockets, files or clocks: callers pass the header values, bodies and
//! times in), pull in an async runtime or an HTTP library, or know about the content store.
//! Every parser returns a typed error for malformed input and never panics.

pub mod auth;
pub mod errors;
pub mod govern;
pub mod headers;
mod json;
pub mod lists;
pub mod media;
pub mod names;
mod query;
pub mod ranges;
pub mod referrers;
pub mod retry_after;
pub mod routes;

pub use auth::{Challenge, Scope, TokenClaims, TokenRequest, TokenResponse};
pub use errors::{ErrorBody, ErrorCode, ErrorInfo};
pub use lists::{Catalog, ListError, TagList};
pub use media::{ManifestKind, MediaError};
pub use names::{ManifestRef, NameError, RepositoryName, Tag};
pub use query::QueryError;
pub use ranges::{ByteRange, ContentRange, RangeError, RangeRequest};
pub use referrers::{Referrer, ReferrersError};
pub use routes::{Page, Route, RouteError, UploadStart};
