//! A build cache in a registry: pushed as blobs in parallel then the manifest under a tag;
//! read as one manifest and one config fetch, the layers fetched later, in parallel, only
//! those the build asks for.

use std::sync::Arc;

use strata_content::Store;
use strata_distribution::media::OCI_MANIFEST;
use strata_distribution::{ManifestRef, RepositoryName, Tag};
use strata_oci::Digest;

use super::format::{check_manifest, decode, encode};
use super::{CacheArtifact, CacheError, ImportedCache, Origin};
use crate::error::ClientError;
use crate::parallel::DEFAULT_PARALLELISM;
use crate::pull::display_ref;
use crate::transport::Registry;

fn shown(registry: &Registry, repo: &RepositoryName, reference: &ManifestRef) -> String {
    format!("{}/{}", registry.host(), display_ref(repo, reference))
}

/// Pushes `artifact` (its blobs from `store`) as `repo:tag`; the manifest's digest.
pub fn push(
    registry: &Registry,
    repo: &RepositoryName,
    tag: &Tag,
    store: &Store,
    artifact: &CacheArtifact,
) -> Result<Digest, CacheError> {
    let reference = ManifestRef::Tag(tag.clone());
    let name = shown(registry, repo, &reference);
    let encoded = encode(artifact)?;
    let stored = store.put_blob(&encoded.config);
    stored.map_err(|source| CacheError::Store {
        reference: name.clone(),
        digest: encoded.config_descriptor.digest.clone(),
        source: Box::new(source),
    })?;
    let mut digests: Vec<Digest> = encoded.layers.iter().map(|d| d.digest.clone()).collect();
    digests.push(encoded.config_descriptor.digest.clone());
    let client = |source| CacheError::Registry {
        reference: name.clone(),
        source: Box::new(source),
    };
    let pushed = registry.push_blobs_from_store(repo, store, &digests, DEFAULT_PARALLELISM);
    pushed.map_err(client)?;
    let put = registry.put_manifest(repo, &reference, &encoded.manifest, OCI_MANIFEST);
    let digest = put.map_err(client)?;
    tracing::info!(reference = %name, %digest, records = artifact.records.len(), "build cache pushed");
    Ok(digest)
}

/// Reads the cache at `repo` `reference`: `None` when the registry has no such manifest
/// (a first CI run), an error when it holds something else than a strata cache.
pub fn read(
    registry: Arc<Registry>,
    repo: RepositoryName,
    reference: &ManifestRef,
    store: &Store,
) -> Result<Option<ImportedCache>, CacheError> {
    let name = shown(&registry, &repo, reference);
    let client = |source| CacheError::Registry {
        reference: name.clone(),
        source: Box::new(source),
    };
    let manifest = match registry.get_manifest(&repo, reference) {
        Ok(m) => m,
        Err(ClientError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(client(e)),
    };
    let checked = check_manifest(&name, &manifest.media_type, &manifest.bytes)?;
    let config = &checked.config;
    let fetched = registry.fetch_blob(&repo, &config.digest, Some(config.size), store);
    fetched.map_err(client)?;
    let bytes = store
        .read_blob(&config.digest)
        .map_err(|source| CacheError::Store {
            reference: name.clone(),
            digest: config.digest.clone(),
            source: Box::new(source),
        })?;
    let artifact = decode(&name, &checked, &bytes)?;
    let origin = Origin::Registry { registry, repo };
    Ok(Some(ImportedCache::new(
        name,
        manifest.digest,
        artifact,
        origin,
    )))
}

/// Downloads `wanted` `(digest, size)` blobs of `cache` into `store`, in parallel.
pub(super) fn fetch(
    cache: &ImportedCache,
    registry: &Registry,
    repo: &RepositoryName,
    store: &Store,
    wanted: &[(Digest, u64)],
) -> Result<(), CacheError> {
    let fetched = registry.fetch_blobs(repo, wanted, store, DEFAULT_PARALLELISM);
    fetched.map_err(|source| CacheError::Registry {
        reference: cache.reference.clone(),
        source: Box::new(source),
    })?;
    Ok(())
}
