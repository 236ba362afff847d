//! The build cache shared through a registry or an OCI layout directory (`strata build
//! --cache-to/--cache-from`), carrier side.
//!
//! A cache is one OCI artifact ([`format`]): a manifest, a config blob holding the records
//! (a step's key → the builder's opaque record value and the blobs it needs) and the cache
//! mounts, and those blobs as layers. [`registry`] pushes it (blobs in parallel, manifest
//! last) and reads it back (one manifest and one config fetch; layers only when asked);
//! [`layout`] does the same with a directory (blobs and `index.json` written atomically).
//! What the records mean is the builder's business: this module never looks inside a value.

pub mod format;
pub mod layout;
pub mod registry;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use strata_content::Store;
use strata_distribution::RepositoryName;
use strata_oci::{Descriptor, Digest};

use crate::error::ClientError;
use crate::transport::Registry;

/// One record: the step's key, the builder's value (JSON), the blobs it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRecord {
    pub key: Digest,
    pub value: Vec<u8>,
    pub blobs: Vec<Descriptor>,
}

/// The contents of one cache mount (by id) as a layer blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactMount {
    pub id: String,
    pub layer: Descriptor,
}

/// A whole cache: what [`registry::push`] and [`layout::write`] store, and what the readers
/// give back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheArtifact {
    pub records: Vec<ArtifactRecord>,
    pub mounts: Vec<ArtifactMount>,
}

/// Why a cache cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{reference} is not a strata build cache: it is {found}")]
    NotStrataCache { reference: String, found: String },
    #[error("build cache {reference} has format version {version}; this strata reads version 1")]
    Version { reference: String, version: u64 },
    #[error("build cache {reference}: malformed {what}")]
    Malformed {
        reference: String,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("build cache {reference} names blob {digest}, which its manifest does not list")]
    UnlistedBlob { reference: String, digest: Digest },
    #[error("build cache record {key}: its value is not JSON")]
    RecordValue {
        key: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("blob {digest} is not part of build cache {reference}")]
    UnknownBlob { reference: String, digest: Digest },
    #[error("build cache {reference}")]
    Registry {
        reference: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("build cache {reference}: blob {digest}")]
    Store {
        reference: String,
        digest: Digest,
        #[source]
        source: Box<strata_content::Error>,
    },
    #[error("build cache directory {path}")]
    Layout {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where an imported cache's blobs are fetched from.
enum Origin {
    Registry {
        registry: Arc<Registry>,
        repo: RepositoryName,
    },
    Layout {
        dir: PathBuf,
    },
}

/// A cache read from a registry or a directory: its records by key and its mounts by id,
/// with the blobs left where they are until [`ImportedCache::fetch`].
pub struct ImportedCache {
    /// What it was read from, as errors name it.
    pub reference: String,
    /// The manifest's digest.
    pub digest: Digest,
    pub records: HashMap<Digest, ArtifactRecord>,
    pub mounts: HashMap<String, Descriptor>,
    /// Every blob it lists, by digest.
    blobs: HashMap<Digest, Descriptor>,
    origin: Origin,
}

impl std::fmt::Debug for ImportedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedCache")
            .field("reference", &self.reference)
            .field("digest", &self.digest)
            .field("records", &self.records.len())
            .field("mounts", &self.mounts.len())
            .finish()
    }
}

impl ImportedCache {
    fn new(reference: String, digest: Digest, artifact: CacheArtifact, origin: Origin) -> Self {
        let mut blobs = HashMap::new();
        for d in artifact.records.iter().flat_map(|r| r.blobs.iter()) {
            blobs.insert(d.digest.clone(), d.clone());
        }
        for m in &artifact.mounts {
            blobs.insert(m.layer.digest.clone(), m.layer.clone());
        }
        ImportedCache {
            reference,
            digest,
            records: artifact
                .records
                .into_iter()
                .map(|r| (r.key.clone(), r))
                .collect(),
            mounts: artifact
                .mounts
                .into_iter()
                .map(|m| (m.id, m.layer))
                .collect(),
            blobs,
            origin,
        }
    }

    /// Whether blob `digest` is one of this cache's.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blobs.contains_key(digest)
    }

    /// Brings `digests` (each one of this cache's blobs) into `store`, verified; those the
    /// store has are skipped. From a registry, [`crate::parallel::DEFAULT_PARALLELISM`] at a
    /// time.
    pub fn fetch(&self, store: &Store, digests: &[Digest]) -> Result<(), CacheError> {
        let mut wanted = Vec::with_capacity(digests.len());
        for d in digests {
            let desc = self.blobs.get(d).ok_or_else(|| CacheError::UnknownBlob {
                reference: self.reference.clone(),
                digest: d.clone(),
            })?;
            if !store.has_blob(d) {
                wanted.push((d.clone(), desc.size));
            }
        }
        match &self.origin {
            Origin::Registry { registry, repo } => {
                registry::fetch(self, registry, repo, store, &wanted)
            }
            Origin::Layout { dir } => layout::fetch(self, dir, store, &wanted),
        }
    }
}
