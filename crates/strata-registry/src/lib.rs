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
//!   ([`GcPolicy`], [`Registry::collect_garbage`]: untagged manifests (opt-in), links no
//!   manifest of their repository uses, then unreferenced blobs; pushes pin digests; the
//!   sweep removes a blob only in a write transaction that re-checks it is unreferenced and
//!   unpinned, in short batches).
//! - [`storage`]: the [`Blobs`](storage::Blobs) trait and the filesystem implementation
//!   (`blobs/sha256/<hex>`, temp + verify + rename; paths only from digests and the
//!   server's own upload ids; what a killed process left removed with the upload expiry).
//! - [`meta`]: the [`Meta`](meta::Meta) trait and its SQLite implementation (repositories,
//!   dated repository→blob links, manifests with media type/size/subject/artifactType,
//!   references, tags, uploads, pins; a manifest recorded in one transaction after its
//!   references are checked; the schema versioned and migrated on open).
//! - [`config`] and [`server`]: the TOML/YAML configuration and starting/stopping.
//!
//! Must not: build a path from a repository name, make a blob visible before its digest is
//! verified, or accept a configuration it does not implement (S3 and PostgreSQL parse and
//! are refused until they exist).
//!
//! Comes next (issue 10): blobs in S3-compatible storage (`object_store`) and metadata in
//! PostgreSQL behind the same traits (GC's sweep then needs the blob delete fenced by the
//! metadata transaction); auth (htpasswd, tokens, per-repository permissions); promotion
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
