//! strata's registry client.
//!
//! **Owns** configuration ([`config`]), read from the very files docker, podman and skopeo
//! read, so a machine set up for them works for strata unchanged:
//!
//! - [`config::credentials`]: where credentials come from (`$REGISTRY_AUTH_FILE`,
//!   containers' `auth.json`, docker's `config.json`, `~/.dockercfg`), the `auths` map,
//!   `credsStore`/`credHelpers` through the `docker-credential-*` helper protocol, and the
//!   atomic writes `login`/`logout` make;
//! - [`config::registries`]: containers' `registries.conf` v2 (mirrors, `insecure`,
//!   `blocked`, unqualified-search registries) and the endpoints to try for an image;
//! - [`config::certs`]: TLS material per host from the `certs.d` directories (extra CA
//!   roots, client certificate pairs), as paths and bytes.
//!
//! and the HTTP layer (synchronous, `ureq` + rustls, threads for parallelism), on the
//! protocol types of `strata-distribution`:
//!
//! - [`transport`]: a [`Registry`] handle per host: HTTPS, or plain HTTP for `insecure`
//!   endpoints and loopback hosts when HTTPS does not answer; `WWW-Authenticate` answered
//!   with basic auth (the stored credential) or a bearer token from the realm, cached per
//!   scope until its lifetime runs out; retries with backoff on connection errors, 429 and
//!   5xx (bounded `Retry-After`); typed errors for 401/403/404 and the registry's
//!   `{"errors":[…]}` body;
//! - [`pull`]: manifests whose digest is checked against `Docker-Content-Digest` and the
//!   reference, blobs streamed into `strata-content`'s verified writer (skipped when stored,
//!   resumed with `Range` after a dropped connection);
//! - [`push`]: `HEAD` skips, monolithic or chunked (`PATCH` + `Content-Range`) uploads,
//!   cross-repository mounts, manifests whose digest the registry must confirm;
//! - [`parallel`]: several blobs at once on scoped threads sharing one [`Registry`];
//! - [`cache`]: the build cache shared through a registry or an OCI layout directory
//!   (`strata build --cache-to/--cache-from`): strata's artifact format, pushed blobs first
//!   and manifest last, read as one manifest and one config fetch, blobs fetched on demand.
//!
//! **Comes next** (issue "Ship"): image-level pull/push/copy (walking indexes, refs in the
//! store) and the commands; identity tokens (OAuth2).
//!
//! **Must not**: parse command lines or print (the binary does), install a tracing
//! subscriber, keep protocol types of its own (they belong to `strata-distribution`,
//! shared with the server), or store anything it has not verified. Configuration is read
//! and written only in the formats and places the other tools use: never a strata-only
//! credential file.

pub mod cache;
pub mod config;
mod error;
pub mod parallel;
pub mod pull;
pub mod push;
pub mod transport;

pub use error::{ClientError, Result};
pub use pull::{FetchedBlob, Manifest};
pub use push::BlobPush;
pub use transport::{Registry, RegistryOptions, RetryPolicy};
