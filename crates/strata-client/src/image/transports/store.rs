//! The local store as either end. It keeps single-platform images only (an index is
//! never a destination here); a stored manifest keeps its exact bytes, so its digest is
//! the one it had where it came from.

use std::collections::HashMap;
use std::sync::OnceLock;

use strata_content::{Image, Store};
use strata_distribution::RepositoryName;
use strata_oci::{Descriptor, Digest, Reference};

use super::{import_file, manifest_kind, BlobJob, Destination, Source};
use crate::image::error::Result;
use crate::image::progress::BlobOutcome;
use crate::pull::Manifest;

/// An image of the store.
pub(crate) struct StoreSource {
    pub store: Store,
    pub image: Image,
    pub shown: String,
    /// Per registry host: which repository each blob was tagged in (built on first use).
    origins: OnceLock<HashMap<String, HashMap<Digest, RepositoryName>>>,
    /// A repository to mount every blob from first (host, repository).
    first: Option<(String, RepositoryName)>,
}

impl StoreSource {
    pub fn new(store: &Store, image: Image, shown: String) -> StoreSource {
        StoreSource {
            store: store.clone(),
            image,
            shown,
            origins: OnceLock::new(),
            first: None,
        }
    }

    /// Mounts are tried from `from`'s repository first (on its registry).
    pub fn mount_first(mut self, from: &Reference) -> Result<StoreSource> {
        let (repo, _) = super::registry::split_reference(from)?;
        self.first = Some((registry_host(from), repo));
        Ok(self)
    }

    /// Where the store's blobs were (most likely) pulled from: the repositories of the
    /// tags of the images holding them. Read only when a push misses a blob.
    fn origins(&self) -> &HashMap<String, HashMap<Digest, RepositoryName>> {
        self.origins.get_or_init(|| {
            let mut out: HashMap<String, HashMap<Digest, RepositoryName>> = HashMap::new();
            let rows = self.store.list_images().unwrap_or_default();
            for row in rows {
                let Some(r) = &row.reference else { continue };
                let Ok(repo) = r.repository().parse::<RepositoryName>() else {
                    continue;
                };
                let m = &row.image.manifest;
                let by_blob = out.entry(registry_host(r)).or_default();
                for d in m.layers.iter().chain([&m.config]) {
                    by_blob
                        .entry(d.digest.clone())
                        .or_insert_with(|| repo.clone());
                }
            }
            out
        })
    }
}

/// The host a reference's registry is reached at (Docker Hub's API host for docker.io).
pub(crate) fn registry_host(r: &Reference) -> String {
    crate::image::api_host(r.registry()).to_owned()
}

impl Source for StoreSource {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn top(&self) -> Result<Manifest> {
        let digest = self.image.manifest_digest.clone();
        let bytes = self.store.read_blob(&digest)?;
        let declared = self.image.manifest.media_type.as_deref();
        let kind = manifest_kind(declared, &bytes, &digest, &self.shown)?;
        Ok(Manifest {
            bytes,
            media_type: kind.media_type().to_owned(),
            digest,
        })
    }

    fn child(&self, desc: &Descriptor) -> Result<Manifest> {
        // A stored image is never an index, so nothing asks for its children.
        let bytes = self.store.read_blob(&desc.digest)?;
        let kind = manifest_kind(Some(&desc.media_type), &bytes, &desc.digest, &self.shown)?;
        Ok(Manifest {
            bytes,
            media_type: kind.media_type().to_owned(),
            digest: desc.digest.clone(),
        })
    }

    fn fetch(&self, desc: &Descriptor, hub: &Store, on_bytes: &dyn Fn(u64)) -> Result<()> {
        if hub.root() == self.store.root() {
            return Ok(());
        }
        import_file(&self.store.blob_path(&desc.digest), desc, hub, on_bytes)
    }

    fn mount_origin(&self, host: &str, digest: &Digest) -> Option<RepositoryName> {
        if let Some((h, repo)) = &self.first {
            if h == host {
                return Some(repo.clone());
            }
        }
        self.origins().get(host)?.get(digest).cloned()
    }
}

/// Stores an image and tags it.
pub(crate) struct StoreDest {
    pub store: Store,
    pub reference: Option<Reference>,
    pub shown: String,
}

impl Destination for StoreDest {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn accepts_index(&self) -> bool {
        false
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        Ok(self
            .store
            .blob_size(&desc.digest)
            .is_ok_and(|s| s == desc.size))
    }

    fn put_blob(&self, _job: &BlobJob, fetch: &dyn Fn() -> Result<()>) -> Result<BlobOutcome> {
        fetch()?;
        Ok(BlobOutcome::Fetched)
    }

    /// The record and its tag are written only now, after every blob is stored and
    /// verified: a failed pull leaves images and tags as they were.
    fn put_manifest(&self, manifest: &Manifest, _top: bool) -> Result<()> {
        let digest = self.store.put_manifest_bytes(&manifest.bytes)?;
        if let Some(r) = self.reference.as_ref().filter(|r| r.tag().is_some()) {
            self.store.tag(r, &digest)?;
        }
        Ok(())
    }
}
