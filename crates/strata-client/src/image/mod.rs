//! Image-level transfers: [`Client::pull_image`], [`Client::push_image`] and
//! [`Client::copy`], on one engine.
//!
//! - [`location`]: the places an image is copied from and to (`docker://`, `store:`,
//!   `oci:`, `docker-archive:`), in skopeo's grammar;
//! - [`select`]: the image of an index a `--platform` picks;
//! - `engine`: top manifest → platform or whole index → blobs the destination lacks, in
//!   parallel → manifests with their exact bytes, the top one last;
//! - `transports/`: each place as a source and a destination;
//! - [`progress`]: the events a display receives;
//! - `pull.rs`, `push.rs`, `copy.rs`: the three verbs on [`Client`].
//!
//! A [`Client`] holds what docker and podman read (credentials, `registries.conf`,
//! `certs.d`) and one connected [`Registry`] per host, so a copy between two repositories
//! of one registry shares its connections and tokens.

mod copy;
mod engine;
pub mod error;
pub mod location;
mod open;
pub mod progress;
mod pull;
mod push;
pub mod select;
mod transports;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use strata_oci::{Digest, Platform, Reference};

use crate::config::certs::CertsDirs;
use crate::config::credentials::CredentialStore;
use crate::config::registries::{Endpoint, RegistriesConf, RegistriesError, RegistriesPaths};
use crate::error::ClientError;
use crate::parallel::DEFAULT_PARALLELISM;
use crate::transport::{Registry, RegistryOptions};

pub use engine::Copied;
pub use error::{PullAttempt, Result, TransferError};
pub use location::Location;
pub use open::OpenedImage;
pub use progress::{BlobKind, BlobOutcome, NoProgress, Phase, TransferProgress};

/// Where Docker Hub's registry API answers for `docker.io` references.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The host to connect to for a reference's registry (`docker.io` is Docker Hub's API).
pub fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => DOCKER_HUB_API,
        other => other,
    }
}

/// The registry client for whole images. Cheap to share between threads.
pub struct Client {
    credentials: CredentialStore,
    registries: RegistriesConf,
    certs: CertsDirs,
    connected: Mutex<HashMap<String, Arc<Registry>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// How [`Client::pull_image`] runs.
#[derive(Clone)]
pub struct PullOptions {
    /// The image to pick from an index (default: the host's platform).
    pub platform: Option<Platform>,
    /// Blobs moved at once.
    pub jobs: usize,
    pub progress: Arc<dyn TransferProgress>,
}

/// How [`Client::push_image`] runs.
#[derive(Clone)]
pub struct PushOptions {
    pub jobs: usize,
    pub progress: Arc<dyn TransferProgress>,
    /// A repository of the destination's registry to mount missing blobs from, tried
    /// before the repositories of the store's tags that hold them.
    pub mount_from: Option<Reference>,
}

/// How [`Client::copy`] runs.
#[derive(Clone)]
pub struct CopyOptions {
    /// Copy a whole index: every image and the index itself, bytes as they are.
    pub all: bool,
    /// The image to pick from an index without `all` (default: the host's platform).
    pub platform: Option<Platform>,
    pub jobs: usize,
    pub progress: Arc<dyn TransferProgress>,
}

impl Default for PullOptions {
    fn default() -> PullOptions {
        PullOptions {
            platform: None,
            jobs: DEFAULT_PARALLELISM,
            progress: Arc::new(NoProgress),
        }
    }
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            jobs: DEFAULT_PARALLELISM,
            progress: Arc::new(NoProgress),
            mount_from: None,
        }
    }
}

impl Default for CopyOptions {
    fn default() -> CopyOptions {
        CopyOptions {
            all: false,
            platform: None,
            jobs: DEFAULT_PARALLELISM,
            progress: Arc::new(NoProgress),
        }
    }
}

/// What [`Client::pull_image`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledImage {
    /// The image manifest stored (and tagged).
    pub manifest_digest: Digest,
    /// The index it was picked from, when the reference named one: the "repo digest"
    /// `docker pull` prints.
    pub index_digest: Option<Digest>,
    pub reference: Reference,
    /// The tag already pointed at this image and no blob was missing.
    pub up_to_date: bool,
}

impl PulledImage {
    /// The digest the registry knows the reference by: the index's, else the image's.
    pub fn repo_digest(&self) -> &Digest {
        self.index_digest.as_ref().unwrap_or(&self.manifest_digest)
    }
}

impl Client {
    /// A client with the configuration docker, podman and skopeo read: credentials
    /// ([`CredentialStore::from_env`]), `registries.conf` ([`RegistriesPaths::from_env`])
    /// and `certs.d` ([`CertsDirs::from_env`]).
    pub fn from_env() -> Result<Client> {
        let registries = RegistriesConf::load(&RegistriesPaths::from_env())?;
        Ok(Client::new(
            CredentialStore::from_env(),
            registries,
            CertsDirs::from_env(),
        ))
    }

    pub fn new(credentials: CredentialStore, registries: RegistriesConf, certs: CertsDirs) -> Self {
        Client {
            credentials,
            registries,
            certs,
            connected: Mutex::new(HashMap::new()),
        }
    }

    pub fn registries_conf(&self) -> &RegistriesConf {
        &self.registries
    }

    /// The connected registry for an endpoint (connected once per host and kept).
    pub fn registry(&self, endpoint: &Endpoint) -> Result<Arc<Registry>> {
        let host = api_host(&endpoint.host);
        let mut connected = self.connected.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = connected.get(host) {
            return Ok(r.clone());
        }
        let credential =
            self.credentials
                .lookup(&endpoint.host)
                .map_err(|source| ClientError::Credentials {
                    registry: endpoint.host.clone(),
                    source: Box::new(source),
                })?;
        let options = RegistryOptions {
            credential,
            allow_http: endpoint.allows_http(),
            insecure_tls: endpoint.insecure,
            certs: self.certs.clone(),
            ..RegistryOptions::default()
        };
        let registry = Arc::new(Registry::connect(host, options)?);
        connected.insert(host.to_owned(), registry.clone());
        Ok(registry)
    }

    /// Where a push of `reference` goes: its own registry (mirrors are for pulls), refused
    /// when registries.conf blocks it, `insecure` as it says.
    pub fn push_endpoint(&self, reference: &Reference) -> Result<Endpoint> {
        let entry = self.registries.find(reference);
        if let Some(blocked) = entry.filter(|r| r.blocked) {
            return Err(RegistriesError::Blocked {
                reference: reference.to_string(),
                prefix: blocked.prefix.clone(),
            }
            .into());
        }
        Ok(Endpoint {
            host: reference.registry().to_owned(),
            reference: reference.clone(),
            insecure: entry.is_some_and(|r| r.insecure),
            is_mirror: false,
        })
    }
}
