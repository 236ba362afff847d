//! strata's registry client.
//!
//! **Owns now: configuration only** ([`config`]), read from the very files docker, podman
//! and skopeo read, so a machine set up for them works for strata unchanged:
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
//! **Comes next** (issue "Ship"): HTTP pull/push/copy over the OCI distribution protocol
//! (auth challenges and token caching, parallel verified transfers, resume, retries), on
//! the protocol types of `strata-distribution`, storing into `strata-content`; then the
//! build cache export/import (`--cache-to/--cache-from type=registry`).
//!
//! **Must not**: parse command lines or print (the binary does), install a tracing
//! subscriber, keep protocol types of its own (they belong to `strata-distribution`,
//! shared with the server), or store anything it has not verified. Configuration is read
//! and written only in the formats and places the other tools use: never a strata-only
//! credential file.

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
