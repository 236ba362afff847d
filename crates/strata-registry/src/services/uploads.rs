//! Upload sessions: opening one, appending streamed or ranged chunks in order, reporting
//! progress, finishing with a digest (verified before the blob becomes visible), cancelling,
//! and removing the ones left unused past the expiry.

use std::sync::Arc;
use std::time::SystemTime;

use strata_distribution::{ByteRange, RepositoryName};
use strata_oci::Digest;

use super::{now, Registry, ServiceError};
use crate::events::Action;
use crate::meta::{UploadHold, UploadRecord};
use crate::storage::{random_name, ByteStream};

/// Where an upload stands: the bytes it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadState {
    pub size: u64,
}

impl UploadState {
    /// The `Range` header value (`0-<last byte>`; `0-0` when empty, as distribution sends).
    pub fn range(&self) -> ByteRange {
        ByteRange::uploaded(self.size)
    }
}

/// An upload held by one request (released on drop).
struct UploadHeld {
    _local: tokio::sync::OwnedMutexGuard<()>,
    _shared: UploadHold,
}

/// A chunk's declared place: its `Content-Range` and `Content-Length`, when sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkRange {
    pub range: Option<ByteRange>,
    pub length: Option<u64>,
}

impl Registry {
    /// Opens an upload session in `name`; returns its id.
    pub async fn start_upload(&self, name: &RepositoryName) -> Result<String, ServiceError> {
        let id = random_name();
        self.blobs.start_upload(&id).await?;
        let record = UploadRecord {
            id: id.clone(),
            name: name.clone(),
            updated: now(),
        };
        if let Err(e) = self.meta.create_upload(record).await {
            self.blobs.abort_upload(&id).await?;
            return Err(e.into());
        }
        Ok(id)
    }

    fn upload_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.upload_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.to_owned()).or_default().clone()
    }

    /// Holds upload `id` against other requests: this process's lock first, then the
    /// metadata store's (other replicas sharing it), so two requests on one upload never
    /// interleave wherever they arrive.
    async fn hold_upload(&self, id: &str) -> Result<UploadHeld, ServiceError> {
        let local = self.upload_lock(id).lock_owned().await;
        let shared = self.meta.hold_upload(id).await?;
        Ok(UploadHeld {
            _local: local,
            _shared: shared,
        })
    }

    async fn check_upload(&self, name: &RepositoryName, id: &str) -> Result<(), ServiceError> {
        match self.meta.upload(id).await? {
            Some(u) if &u.name == name => Ok(()),
            _ => Err(ServiceError::UploadUnknown {
                name: name.clone(),
                id: id.to_owned(),
            }),
        }
    }

    /// The state of upload `id` of `name`.
    pub async fn upload_state(
        &self,
        name: &RepositoryName,
        id: &str,
    ) -> Result<UploadState, ServiceError> {
        self.check_upload(name, id).await?;
        let size = self.blobs.upload_size(id).await?;
        Ok(UploadState { size })
    }

    /// Appends a chunk. With a `Content-Range`, it must start where the upload ends
    /// ([`ServiceError::ChunkOutOfOrder`], answered with 416 and the current range).
    pub async fn append_chunk(
        &self,
        name: &RepositoryName,
        id: &str,
        chunk: ChunkRange,
        body: ByteStream,
    ) -> Result<UploadState, ServiceError> {
        let _held = self.hold_upload(id).await?;
        let state = self.upload_state(name, id).await?;
        if let Some(range) = chunk.range {
            if range.start != state.size {
                return Err(ServiceError::ChunkOutOfOrder {
                    id: id.to_owned(),
                    size: state.size,
                    start: range.start,
                });
            }
            if chunk.length.is_some_and(|l| l != range.len()) {
                return Err(ServiceError::ChunkLength {
                    id: id.to_owned(),
                    range,
                    actual: chunk.length.unwrap_or(0),
                });
            }
        }
        let size = self.blobs.append_upload(id, state.size, body).await?;
        self.meta.touch_upload(id, now()).await?;
        if let Some(range) = chunk.range {
            if size != range.next_offset() {
                return Err(ServiceError::ChunkLength {
                    id: id.to_owned(),
                    range,
                    actual: size - state.size,
                });
            }
        }
        Ok(UploadState { size })
    }

    /// Finishes upload `id` with its last bytes (`body`, possibly empty): verifies the whole
    /// against `digest`, makes it the blob and links it into `name`. On any failure the
    /// upload is gone and nothing is visible.
    pub async fn finish_upload(
        &self,
        name: &RepositoryName,
        id: &str,
        digest: &Digest,
        length: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, ServiceError> {
        let _held = self.hold_upload(id).await?;
        let state = self.upload_state(name, id).await?;
        // Pinned before its bytes go into place, so garbage collection never removes them
        // between the rename and the link (see `services::gc`).
        let pin = self.meta.pin_blob(digest).await?;
        let result = self
            .finish_and_link(name, id, digest, state, length, body)
            .await;
        self.meta.unpin_blob(&pin).await?;
        let size = result?;
        tracing::info!(name = %name, %digest, size, "blob pushed");
        self.events.blob(Action::Push, name, digest, size, None);
        Ok(size)
    }

    /// Finishes the upload's bytes and links the blob; on failure the upload is gone.
    async fn finish_and_link(
        &self,
        name: &RepositoryName,
        id: &str,
        digest: &Digest,
        state: UploadState,
        length: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, ServiceError> {
        let result = self.finish_locked(id, digest, state, length, body).await;
        self.meta.remove_upload(id).await?;
        let size = match result {
            Ok(size) => size,
            Err(e) => {
                self.blobs.abort_upload(id).await?;
                return Err(e);
            }
        };
        self.meta.link_blob(name, digest, size).await?;
        Ok(size)
    }

    async fn finish_locked(
        &self,
        id: &str,
        digest: &Digest,
        state: UploadState,
        length: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, ServiceError> {
        let size = self.blobs.append_upload(id, state.size, body).await?;
        if let Some(declared) = length {
            if declared != size - state.size {
                return Err(ServiceError::LengthMismatch {
                    id: id.to_owned(),
                    declared,
                    actual: size - state.size,
                });
            }
        }
        Ok(self.blobs.finish_upload(id, digest).await?)
    }

    /// A monolithic push: the whole blob in one request body.
    pub async fn push_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        length: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, ServiceError> {
        let id = self.start_upload(name).await?;
        self.finish_upload(name, &id, digest, length, body).await
    }

    /// Cancels upload `id` of `name`.
    pub async fn cancel_upload(&self, name: &RepositoryName, id: &str) -> Result<(), ServiceError> {
        let _held = self.hold_upload(id).await?;
        self.check_upload(name, id).await?;
        self.meta.remove_upload(id).await?;
        self.blobs.abort_upload(id).await?;
        Ok(())
    }

    /// Removes the uploads unused for longer than the expiry, then the temp files a killed
    /// process left (no session, untouched for as long); returns how many uploads.
    pub async fn expire_uploads(&self) -> Result<usize, ServiceError> {
        let before = now() - self.limits.upload_expiry.as_secs() as i64;
        let stale = self.meta.stale_uploads(before).await?;
        let mut removed = 0;
        for id in &stale {
            let _held = self.hold_upload(id).await?;
            // Another replica may have used or removed it meanwhile.
            match self.meta.upload(id).await? {
                Some(u) if u.updated < before => {}
                _ => continue,
            }
            removed += 1;
            self.meta.remove_upload(id).await?;
            self.blobs.abort_upload(id).await?;
            tracing::info!(id, "abandoned upload removed");
        }
        // Every session, listed before the files: a file younger than the expiry is kept
        // whatever it is, an older one is a session's or an orphan.
        let sessions = self.meta.stale_uploads(i64::MAX).await?;
        let written_before = SystemTime::now()
            .checked_sub(self.limits.upload_expiry)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let orphans = self
            .blobs
            .remove_orphans(written_before, sessions.into_iter().collect())
            .await?;
        if orphans > 0 {
            tracing::info!(orphans, "temp files of an interrupted write removed");
        }
        Ok(removed)
    }
}
