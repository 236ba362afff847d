//! strata-registry: the registry server — the OCI distribution spec v1.1 on axum/tokio.
//!
//! Layers, each calling only the one below:
//! - [`routes`] (private): axum handlers, thin. Paths are parsed by
//!   [`strata_distribution::Route`]; handlers read headers, call a service and map its
//!   result to the spec's statuses, headers and `{"errors":[…]}` bodies; one access-log
//!   record per request (request id, peer, [`actor::Actor`], route kind, status, bytes,
//!   duration), to `tracing` or a JSON-lines file (`[log] access`). Beside the API, the
//!   web view (`routes/ui/`, `/ui`): server-rendered HTML pages of repositories, images and
//!   the lineage tree (an inline SVG), checking the viewer's pull permissions itself.
//! - [`services`]: what the registry does — uploads (sessions, ordered chunks, finishing
//!   with a verified digest, expiry), blobs (pull with ranges, mount, delete), manifests
//!   (size limit, kind from `Content-Type` and body, digest of the exact bytes, every
//!   reference checked), tags, catalog and referrers, and online garbage collection
//!   ([`GcPolicy`], [`Registry::collect_garbage`]: untagged manifests (opt-in), links no
//!   manifest of their repository uses, then unreferenced blobs; pushes pin digests; the
//!   sweep removes a blob only in a write transaction that re-checks it is unreferenced and
//!   unpinned, in short batches).
//! - [`storage`]: the [`Blobs`](storage::Blobs) trait, the filesystem implementation
//!   (`blobs/sha256/<hex>`, temp + verify + rename; paths only from digests and the
//!   server's own upload ids; what a killed process left removed with the upload expiry)
//!   and the S3 one (`object_store`: uploads as one object per
//!   chunk, so replicas share them; a blob written only once its digest matched).
//! - [`meta`]: the [`Meta`](meta::Meta) trait and its SQLite and PostgreSQL implementations
//!   (repositories, dated repository→blob links, manifests with media type/size/subject/
//!   artifactType, references, tags, uploads, pins, robot accounts; a manifest recorded in
//!   one transaction after its references are checked; schemas versioned and migrated on
//!   open; on PostgreSQL, row and advisory
//!   locks give the serialisation SQLite's single writer gives, including GC's per-digest
//!   fence).
//! - [`auth`] (with `[auth]` only): htpasswd users and robot accounts, the registry's own
//!   bearer tokens (docker's token flow at `/token`), `[[auth.access]]` rules; a layer in
//!   front of the routes answers 401 (with the challenge) or 403, and puts the caller's
//!   [`actor::Actor`] into the request's extensions.
//! - [`events`]: webhooks in CNCF distribution's format on push, pull (`GET` and `HEAD`, as
//!   distribution), mount and delete, emitted by the services with the [`request`] being
//!   served, queued per endpoint (bounded, oldest dropped) and delivered in order by a
//!   sender thread per endpoint, retried with exponential backoff, signed with HMAC-SHA256
//!   (`X-Strata-Signature-256`).
//! - [`config`] and [`server`]: the TOML/YAML configuration and starting/stopping; two
//!   backend pairs: filesystem + SQLite (the embedded default) and S3 + PostgreSQL (several
//!   stateless replicas); a mix is refused. [`tls`]: HTTPS (rustls, optional client
//!   certificates), each handshake on its own task.
//!
//! Must not: build a path from a repository name, make a blob visible before its digest is
//! verified, remove a blob's bytes outside the metadata transaction that re-checked it is
//! garbage, accept a configuration it does not implement, with `[auth]` let through a
//! request its caller may not make, make a request wait on a webhook receiver, or log a
//! secret (`Authorization`, endpoint secrets, header values and URLs).
//!
//! Governance (issue 11, docs/GOVERN.md): `/strata/v1/` (routes `govern`) over
//! [`services::govern`] — images with their facts, labels, owners, promotion behind the gate
//! policy, tag history, the lineage index in memory — and the governance tables of
//! [`meta`]; the gate at push runs before a manifest is stored. Tag immutability rules are
//! in `services::immutable`.

pub mod actor;
pub mod auth;
pub mod config;
pub mod events;
pub mod meta;
pub mod request;
mod routes;
pub mod server;
pub mod services;
pub mod storage;
pub mod tls;

pub use config::{Config, ConfigError};
pub use server::{shutdown_signal, ServeError, Server};
pub use services::{GcPolicy, GcReport, Limits, Registry, ServiceError};
