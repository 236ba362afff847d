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
//!   `blocked`, unqualified-search registries, `short-name-mode`, `[aliases]` and podman's
//!   `short-name-aliases.conf`), the endpoints to try for an image, and short names
//!   resolved as podman resolves them, without prompting ([`config::registries::shortnames`]:
//!   the candidates to pull and those to look up in the store);
//! - [`config::certs`]: TLS material per host from the `certs.d` directories (extra CA
//!   roots, client certificate pairs), as paths and bytes.
//!
//! and the HTTP layer (synchronous, `ureq` + rustls, threads for parallelism), on the
//! protocol types of `strata-distribution`:
//!
//! - [`transport`]: a [`Registry`] handle per host: HTTPS (system roots plus `certs.d`; of
//!   several client pairs, the one the server accepts), or plain HTTP for `insecure`
//!   endpoints and loopback hosts when HTTPS does not answer; `WWW-Authenticate` answered
//!   with basic auth (the stored credential) or a bearer token from the realm (a `GET` with
//!   basic auth, or an OAuth2 `refresh_token` `POST` for an identity token), cached per
//!   scope until its lifetime runs out and renewed when the registry refuses it; retries
//!   with backoff on connection errors, 429 and 5xx (bounded `Retry-After`, seconds or
//!   HTTP-date); typed errors for 401/403/404 (`insufficient_scope` is a 403-style
//!   refusal naming the scope), HTML pages, and the registry's `{"errors":[…]}` body;
//! - [`pull`]: manifests whose digest is checked against `Docker-Content-Digest` and the
//!   reference and whose body must parse as the media type says, blobs streamed into `strata-content`'s verified writer (skipped when stored,
//!   resumed with `Range` after a dropped connection);
//! - [`push`]: `HEAD` skips, monolithic or chunked (`PATCH` + `Content-Range`, at least
//!   `OCI-Chunk-Min-Length`) uploads,
//!   cross-repository mounts, manifests whose digest the registry must confirm;
//! - [`referrers`]: an artifact (an SBOM) pushed as an OCI 1.1 referrer of an image, with
//!   the referrers tag schema (`sha256-<hex>` index) on registries without the API;
//! - [`parallel`]: several blobs at once on scoped threads sharing one [`Registry`];
//! - [`cache`]: the build cache shared through a registry or an OCI layout directory
//!   (`strata build --cache-to/--cache-from`): strata's artifact format, pushed blobs first
//!   and manifest last, read as one manifest and one config fetch, blobs fetched on demand.
//!
//! and whole images ([`image`]): a [`Client`] (the configuration above and one connected
//! [`Registry`] per host) with [`Client::pull_image`] (registries.conf mirrors first, the
//! `--platform` image of an index, only missing blobs, record and tag written last),
//! [`Client::pull_first`] (a short name's candidates in order, the first that pulls wins,
//! every failure listed when none does), [`Client::push_image`] (`HEAD`s in parallel, cross-repository mounts from where the
//! store's tags say a blob came from, the manifest last with its exact bytes) and
//! [`Client::copy`] between registries, the store, OCI layouts and docker-archives (`--all`
//! for a whole index), through the store or a temporary spool store so every blob is
//! verified before it is written; manifests are never re-serialised. Progress is reported
//! through [`TransferProgress`].
//!
//! Pulls and pushes record docker's repo digests in the store. Short names are never prompted for
//! (`short-name-mode = "enforcing"` with several candidates is an error), so no alias is
//! ever recorded.
//!
//! **Must not**: parse command lines or print (the binary does), install a tracing
//! subscriber, keep protocol types of its own (they belong to `strata-distribution`,
//! shared with the server), or store anything it has not verified. Configuration is read
//! and written only in the formats and places the other tools use: never a strata-only
//! credential file.

pub mod cache;
pub mod config;
mod error;
pub mod govern;
pub mod image;
pub mod parallel;
pub mod pull;
pub mod push;
pub mod referrers;
pub mod transport;

pub use error::{ClientError, Result};
pub use image::{
    Client, Copied, CopyOptions, Location, OpenedImage, PullOptions, PulledImage, PushOptions,
    TransferError, TransferProgress,
};
pub use pull::{FetchedBlob, Manifest};
pub use push::BlobPush;
pub use transport::{Registry, RegistryOptions, RetryPolicy};
