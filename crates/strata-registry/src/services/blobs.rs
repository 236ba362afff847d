//! Blobs of a repository: pulling (whole or a range), deleting, mounting from another
//! repository or, without one, from wherever the registry holds the digest.

use strata_distribution::{ByteRange, RangeRequest, RepositoryName};
use strata_oci::Digest;

use super::{Registry, ServiceError};
use crate::events::Action;
use crate::storage::BlobReader;

/// A blob being read.
pub struct BlobRead {
    /// The blob's whole size.
    pub size: u64,
    /// The range served, `None` for the whole blob.
    pub range: Option<ByteRange>,
    pub reader: BlobReader,
}

/// What a mount request ended as.
#[derive(Debug, PartialEq, Eq)]
pub enum MountOutcome {
    /// The blob is now in the repository (201).
    Mounted,
    /// The source does not have it: an upload session was opened instead (202).
    Session(String),
}

impl Registry {
    /// The size of blob `digest` in `name`.
    pub async fn blob_size(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<u64, ServiceError> {
        self.meta
            .blob(name, digest)
            .await?
            .ok_or_else(|| ServiceError::BlobUnknown {
                name: name.clone(),
                digest: digest.clone(),
            })
    }

    /// The size of blob `digest` in `name`, answering a `HEAD`: a pull event, as in
    /// distribution (receivers tell it from a download by `request.method`).
    pub async fn stat_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<u64, ServiceError> {
        let size = self.blob_size(name, digest).await?;
        self.events.blob(Action::Pull, name, digest, size, None);
        Ok(size)
    }

    /// Opens blob `digest` of `name`, or the range of it a `Range` header asked for (an
    /// unsatisfiable range is an error the caller answers with 416).
    pub async fn read_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        range: Option<RangeRequest>,
    ) -> Result<Result<BlobRead, u64>, ServiceError> {
        let size = self.blob_size(name, digest).await?;
        let range = match range.map(|r| r.resolve(size)).transpose() {
            Ok(r) => r,
            Err(_) => return Ok(Err(size)),
        };
        let reader = self.blobs.read(digest, range).await?;
        self.events.blob(Action::Pull, name, digest, size, None);
        Ok(Ok(BlobRead {
            size,
            range,
            reader,
        }))
    }

    /// Removes blob `digest` from `name` (its bytes stay for other repositories and for
    /// garbage collection).
    pub async fn delete_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<(), ServiceError> {
        if self.meta.unlink_blob(name, digest).await? {
            tracing::info!(name = %name, %digest, "blob deleted");
            self.events.deleted(name, Some(digest), None);
            Ok(())
        } else {
            Err(ServiceError::BlobUnknown {
                name: name.clone(),
                digest: digest.clone(),
            })
        }
    }

    /// Mounts `digest` into `name` from `from`, or, without `from`, from any repository
    /// holding it; opens an upload session when the blob cannot be mounted.
    pub async fn mount_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        from: Option<&RepositoryName>,
    ) -> Result<MountOutcome, ServiceError> {
        // Pinned before the bytes are looked at: garbage collection either removed them
        // already (then they are missing here) or keeps them until the link is recorded.
        let pin = self.meta.pin_blob(digest).await?;
        let mounted = self.mount_pinned(name, digest, from).await;
        self.meta.unpin_blob(&pin).await?;
        if let Some(size) = mounted? {
            tracing::info!(name = %name, %digest, from = ?from.map(|f| f.as_str()), "blob mounted");
            self.events.blob(Action::Mount, name, digest, size, from);
            return Ok(MountOutcome::Mounted);
        }
        Ok(MountOutcome::Session(self.start_upload(name).await?))
    }

    /// Links `digest` into `name` when `from` (or the store) has it; its size if it did.
    async fn mount_pinned(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        from: Option<&RepositoryName>,
    ) -> Result<Option<u64>, ServiceError> {
        let size = match from {
            Some(from) => self.meta.blob(from, digest).await?,
            None => self.blobs.size(digest).await?,
        };
        let stored = self.blobs.size(digest).await?;
        match (size, stored) {
            (Some(size), Some(stored)) if size == stored => {
                self.meta.link_blob(name, digest, size).await?;
                Ok(Some(size))
            }
            _ => Ok(None),
        }
    }
}
