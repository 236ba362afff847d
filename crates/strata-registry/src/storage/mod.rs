//! Where blob bytes live: the [`Blobs`] trait, its filesystem implementation ([`FsBlobs`],
//! the embedded default) and S3-compatible object storage ([`S3Blobs`], shared by several
//! replicas). Paths are built only from digests and from the
//! server's own upload ids, never from repository names.
//!
//! A blob becomes visible only once its bytes hash to its digest and it is renamed into
//! place; an upload in progress is a file of its own that nothing reads as a blob.

mod fs;
mod s3;

use std::collections::HashSet;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::Stream;
use strata_distribution::ByteRange;
use strata_oci::Digest;
use thiserror::Error;

pub use fs::{random_name, FsBlobs};
pub use s3::{S3Blobs, S3Settings};

/// A request body as it arrives.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;
/// A blob's bytes (or a range of them) as they are read, in chunks the HTTP layer sends
/// as they are (no copy in between).
pub type BlobReader = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Why the blob store failed.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading the request body for upload {id}")]
    Body {
        id: String,
        #[source]
        source: io::Error,
    },
    #[error("blob {digest} not found")]
    BlobNotFound { digest: Digest },
    #[error("upload {id} not found")]
    UploadNotFound { id: String },
    #[error("cannot {action} object {key}")]
    Object {
        action: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },
    #[error("S3 storage settings")]
    S3Config(#[source] object_store::Error),
    #[error("no S3 credentials: {reason}")]
    S3Credentials { reason: &'static str },
    #[error("content hashes to {actual}, not {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },
}

/// A stored blob as garbage collection sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    pub digest: Digest,
    pub size: u64,
    /// When its bytes were last put in place.
    pub modified: SystemTime,
}

/// Blob bytes by digest, and the upload sessions that become blobs.
///
/// Implementations must make a blob visible atomically and only after verifying its digest,
/// and must leave an upload at its previous length when an append fails part-way.
pub trait Blobs: Send + Sync + 'static {
    /// The size of a stored blob, `None` when there is none.
    fn size<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<Option<u64>, StorageError>>;
    /// Reads a blob, or the `range` of it.
    fn read<'a>(
        &'a self,
        digest: &'a Digest,
        range: Option<ByteRange>,
    ) -> BoxFuture<'a, Result<BlobReader, StorageError>>;
    /// Stores small content whole (manifests), verified against `digest`.
    fn put<'a>(
        &'a self,
        digest: &'a Digest,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<(), StorageError>>;
    /// Opens an empty upload `id`.
    fn start_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;
    /// The number of bytes upload `id` holds.
    fn upload_size<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<u64, StorageError>>;
    /// Appends `body` to upload `id`, which must hold `offset` bytes; returns its new size.
    fn append_upload<'a>(
        &'a self,
        id: &'a str,
        offset: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, StorageError>>;
    /// Verifies upload `id` against `expected` and makes it that blob; returns its size. On a
    /// mismatch the upload is removed and nothing becomes visible.
    fn finish_upload<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Digest,
    ) -> BoxFuture<'a, Result<u64, StorageError>>;
    /// Drops upload `id` (no error when it is already gone).
    fn abort_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;
    /// Removes what writers that died left behind (a process killed mid-write): temp files
    /// and upload files that belong to none of `sessions`, last written before `before`;
    /// returns how many. Stores without temps of their own keep this default (nothing).
    fn remove_orphans(
        &self,
        before: SystemTime,
        sessions: HashSet<String>,
    ) -> BoxFuture<'_, Result<usize, StorageError>> {
        let _ = (before, sessions);
        Box::pin(async { Ok(0) })
    }
    /// Every stored blob (not uploads in progress).
    fn list_blobs(&self) -> BoxFuture<'_, Result<Vec<StoredBlob>, StorageError>>;
    /// Removes blob `digest` unless it was put in place at or after `keep_since`; the bytes
    /// freed, `None` when kept or already gone. Garbage collection runs it inside a metadata
    /// write transaction (the fence against pushes), so it must be one quick call.
    fn remove_blob(
        &self,
        digest: &Digest,
        keep_since: SystemTime,
    ) -> BoxFuture<'static, io::Result<Option<u64>>>;
}

#[cfg(test)]
mod tests;
