//! The `no-secrets` gate's scan: `strata-check`'s secret rules over an image's layers and
//! config, read from the registry's own blob store. The scanner is synchronous (it walks
//! layers on threads), so it runs on the blocking pool and reads each blob through
//! [`StoreSource`], which pulls the store's async stream chunk by chunk (a layer is never
//! held whole in memory).
//!
//! Must not: keep or log a secret (findings are counted; the scanner redacts them anyway).

use std::io::{self, Read};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use strata_content::{BlobSource, Image};
use strata_oci::{Digest, ImageConfig, ImageManifest};
use tokio::runtime::Handle;

use crate::storage::{BlobReader, Blobs};

/// The registry's blobs as `strata-check` reads them.
struct StoreSource {
    blobs: Arc<dyn Blobs>,
    runtime: Handle,
}

/// A blob's async stream read synchronously, on a thread outside the runtime.
struct StreamRead {
    stream: BlobReader,
    chunk: Bytes,
    runtime: Handle,
}

impl Read for StreamRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                Some(chunk) => self.chunk = chunk?,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

impl BlobSource for StoreSource {
    fn blob_reader(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        let stream = self
            .runtime
            .block_on(self.blobs.read(digest, None))
            .map_err(io::Error::other)?;
        Ok(Box::new(StreamRead {
            stream,
            chunk: Bytes::new(),
            runtime: self.runtime.clone(),
        }))
    }

    /// The store verified every blob's digest before it became visible.
    fn verified(&self) -> bool {
        true
    }
}

/// Why an image could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("reading blob {digest}")]
    Read {
        digest: Digest,
        #[source]
        source: io::Error,
    },
    #[error("{what} {digest} is not valid JSON")]
    Json {
        what: &'static str,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("scanning the layers")]
    Walk(#[from] strata_check::image::WalkError),
    #[error("the scan task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// How many secrets the image of manifest `body` (digest `digest`) holds.
pub async fn count(blobs: Arc<dyn Blobs>, digest: Digest, body: Bytes) -> Result<usize, ScanError> {
    let runtime = Handle::current();
    tokio::task::spawn_blocking(move || {
        let source = StoreSource { blobs, runtime };
        let manifest: ImageManifest =
            serde_json::from_slice(&body).map_err(|source| ScanError::Json {
                what: "manifest",
                digest: digest.clone(),
                source,
            })?;
        let config_digest = manifest.config.digest.clone();
        let mut text = Vec::new();
        source
            .blob_reader(&config_digest)
            .and_then(|mut r| r.read_to_end(&mut text))
            .map_err(|source| ScanError::Read {
                digest: config_digest.clone(),
                source,
            })?;
        let config: ImageConfig =
            serde_json::from_slice(&text).map_err(|source| ScanError::Json {
                what: "config",
                digest: config_digest.clone(),
                source,
            })?;
        let size = manifest.layers.iter().map(|l| l.size).sum::<u64>() + text.len() as u64;
        let image = Image {
            manifest_digest: digest,
            manifest,
            config_digest,
            config,
            size,
            created: None,
            added_at: SystemTime::now(),
        };
        let report = strata_check::secrets::scan_image(&source, &image, 2)?;
        Ok(report.findings.len())
    })
    .await?
}
