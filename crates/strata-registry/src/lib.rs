//! strata-registry: the registry server — the OCI distribution spec v1.1 on axum/tokio.
//!
//! Layers, each calling only the one below:
//! - [`routes`] (private): axum handlers, thin. Paths are parsed by
//!   [`strata_distribution::Route`]; handlers read headers, call a service and map its
//!   result to the spec's statuses, headers and `{"errors":[…]}` bodies; one access-log
//!   line per request.
//! - [`services`]: what the registry does — uploads (sessions, ordered chunks, finishing
//!   with a verified digest, expiry), blobs (pull with ranges, mount, delete), manifests
//!   (size limit, kind from `Content-Type` and body, digest of the exact bytes, every
//!   reference checked), tags, catalog and referrers, and online garbage collection
//!   ([`GcPolicy`], [`Registry::collect_garbage`]: pushes pin digests; the sweep removes
//!   a blob only in a write transaction that re-checks it is unreferenced and unpinned).
//! - [`storage`]: the [`Blobs`](storage::Blobs) trait, the filesystem implementation
//!   (`blobs/sha256/<hex>`, temp + verify + rename; paths only from digests and the
//!   server's own upload ids) and the S3 one (`object_store`: uploads as one object per
//!   chunk, so replicas share them; a blob written only once its digest matched).
//! - [`meta`]: the [`Meta`](meta::Meta) trait and its SQLite and PostgreSQL implementations
//!   (repositories, repository→blob links, manifests with media type/size/subject/
//!   artifactType, references, tags, uploads, pins; a manifest recorded in one transaction
//!   after its references are checked; on PostgreSQL, row and advisory locks give the
//!   serialisation SQLite's single writer gives, including GC's per-digest fence).
//! - [`config`] and [`server`]: the TOML/YAML configuration and starting/stopping; two
//!   backend pairs: filesystem + SQLite (the embedded default) and S3 + PostgreSQL (several
//!   stateless replicas); a mix is refused.
//!
//! Must not: build a path from a repository name, make a blob visible before its digest is
//! verified, remove a blob's bytes outside the metadata transaction that re-checked it is
//! garbage, or accept a configuration it does not implement.
//!
//! Comes next (issue 10): auth (htpasswd, tokens, per-repository permissions); promotion
//! labels (through [`GcPolicy::protected`]); events. Tag immutability rules are there
//! (`services::immutable`).

pub mod config;
pub mod meta;
mod routes;
pub mod server;
pub mod services;
pub mod storage;

pub use config::{Config, ConfigError};
pub use server::{shutdown_signal, ServeError, Server};
pub use services::{GcPolicy, GcReport, Limits, Registry, ServiceError};
