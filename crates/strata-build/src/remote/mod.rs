//! The build cache shared beyond this store (`--cache-to` / `--cache-from`), builder side.
//!
//! The builder knows records (a step's key → what it made) and layers; where a shared cache
//! lives (a registry, a directory) and how it is encoded is not its business. The seam is
//! [`RemoteCache`]: records imported by key, and blobs fetched only when the build needs
//! their bytes — a layer under a step that misses, the final image's layers, a cache mount
//! that starts from imported contents. [`usage`] records what a build used, and [`export`]
//! turns it into the records and cache-mount layers to share ([`CacheExport`]);
//! [`mounts`] packs and restores the contents of `RUN --mount=type=cache` directories.

pub mod export;
pub mod mounts;
pub mod usage;

#[cfg(test)]
mod tests;

use strata_content::Store;
use strata_oci::{Descriptor, Digest};

/// A cause from whatever implements [`RemoteCache`] (an HTTP error, a bad directory).
pub type RemoteCacheError = Box<dyn std::error::Error + Send + Sync>;

/// One cache record as it is shared: the step's key, the record's value (the builder's
/// own encoding, opaque to the carrier) and the blobs it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedRecord {
    pub key: Digest,
    pub value: Vec<u8>,
    pub blobs: Vec<Descriptor>,
}

/// The contents of one cache mount (by its id, as BuildKit names cache mounts: `id=`, else
/// the target) as a layer blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedMount {
    pub id: String,
    pub layer: Descriptor,
}

/// What a build exports: its records (in build order, each once) and, with `mounts=true`,
/// its cache mounts. Every blob named is in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheExport {
    pub records: Vec<SharedRecord>,
    pub mounts: Vec<SharedMount>,
}

impl CacheExport {
    /// Every blob the export names, each once, records' first.
    pub fn blobs(&self) -> Vec<Descriptor> {
        let mut seen = std::collections::HashSet::new();
        let all = self.records.iter().flat_map(|r| r.blobs.iter());
        all.chain(self.mounts.iter().map(|m| &m.layer))
            .filter(|d| seen.insert(d.digest.clone()))
            .cloned()
            .collect()
    }
}

/// Records and blobs imported from elsewhere (`--cache-from`). Implemented outside the
/// builder (strata's binary, over `strata-client`); called from the build's threads.
pub trait RemoteCache: Sync {
    /// The imported record of `key`, if any (a step whose key misses locally hits it).
    fn lookup(&self, key: &Digest) -> Option<SharedRecord>;
    /// The imported contents of cache mount `id`, if any.
    fn mount(&self, id: &str) -> Option<Descriptor>;
    /// Downloads `blobs` (each named by an imported record or mount, missing from `store`)
    /// into `store`, verified, in parallel where it can.
    fn fetch(&self, store: &Store, blobs: &[Descriptor]) -> Result<(), RemoteCacheError>;
}

/// No shared cache: every lookup misses, nothing is fetched.
pub struct NoRemoteCache;

impl RemoteCache for NoRemoteCache {
    fn lookup(&self, _: &Digest) -> Option<SharedRecord> {
        None
    }

    fn mount(&self, _: &str) -> Option<Descriptor> {
        None
    }

    fn fetch(&self, _: &Store, _: &[Descriptor]) -> Result<(), RemoteCacheError> {
        Ok(())
    }
}

/// Fetches those of `blobs` the store lacks through `remote`.
pub(crate) fn ensure_blobs(
    store: &Store,
    remote: &dyn RemoteCache,
    blobs: impl IntoIterator<Item = Descriptor>,
) -> crate::error::Result<()> {
    let mut seen = std::collections::HashSet::new();
    let missing: Vec<Descriptor> = blobs
        .into_iter()
        .filter(|d| !store.has_blob(&d.digest) && seen.insert(d.digest.clone()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    tracing::info!(
        count = missing.len(),
        "fetching layers of the imported cache"
    );
    remote
        .fetch(store, &missing)
        .map_err(|source| crate::error::BuildError::RemoteCache {
            digest: missing[0].digest.clone(),
            count: missing.len(),
            source,
        })
}
