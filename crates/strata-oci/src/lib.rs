//! The image model of strata: digests, references, media types, manifests and image configs.
//!
//! This crate owns the *shapes* of OCI and Docker image data and the Docker reference grammar
//! (parsing and normalisation: `debian` → `docker.io/library/debian:latest`). It does no I/O and
//! pulls in no async runtime: storing, fetching and building live in other crates. It also
//! holds [`path::clean`] (Go's `path.Clean`), the one lexical path normaliser every crate uses.
//!
//! Manifests and indexes serialise exactly as strata writes them; the image config is Docker's
//! superset of the OCI config (it keeps `Healthcheck`, `OnBuild`, `Shell`, `ArgsEscaped`), so an
//! image built by strata round-trips through docker and podman without losing fields.

pub mod config;
pub mod digest;
pub mod docker_archive;
pub mod manifest;
pub mod media_types;
pub mod path;
pub mod platform;
pub mod reference;

pub use config::{HealthConfig, History, ImageConfig, RootFs, RuntimeConfig};
pub use digest::{Digest, DigestError, Sha256Writer};
pub use manifest::{to_canonical_json, Descriptor, ImageIndex, ImageManifest, Platform};
pub use platform::PlatformError;
pub use reference::{Reference, ReferenceError};
