//! Reading a manifest to show it (the web view): its bytes, without announcing a pull or
//! touching its last-pull time, since looking at an image is not pulling it.
//!
//! Must not: emit events or write anything.

use futures_util::StreamExt;
use strata_distribution::{ManifestRef, RepositoryName};
use strata_oci::Digest;

use super::{ManifestRead, Registry, ServiceError};

impl Registry {
    /// The manifest `digest` of `name`, read for display only.
    pub async fn inspect_manifest(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<ManifestRead, ServiceError> {
        let reference = ManifestRef::Digest(digest.clone());
        let record = self.meta.manifest(name, &reference).await?.ok_or_else(|| {
            ServiceError::ManifestUnknown {
                name: name.clone(),
                reference: reference.clone(),
            }
        })?;
        let mut body = Vec::new();
        let mut reader = self.blobs.read(&record.digest, None).await?;
        while let Some(chunk) = reader.next().await {
            body.extend_from_slice(&chunk.map_err(|source| ServiceError::Body { source })?);
        }
        Ok(ManifestRead {
            digest: record.digest,
            media_type: record.media_type,
            body: body.into(),
        })
    }
}
