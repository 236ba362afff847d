//! What a transfer tells its display: one blob at a time (started, bytes so far, how it
//! ended), manifests, and notes. The library prints nothing; the binary draws bars on a
//! terminal or writes docker's lines.

use std::io::Read;

use strata_oci::Digest;

/// What is being moved: docker's pull/push lines name layers; skopeo names config blobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobKind {
    Config,
    Layer,
}

/// The direction of the bytes of a [`TransferProgress::blob_bytes`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Into the local store or the copy's spool (from a registry, a layout, an archive).
    Download,
    /// To a registry or a layout.
    Upload,
}

/// How one blob's transfer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The destination already had it (a `HEAD`, or a file or store blob): nothing moved.
    Exists,
    /// Mounted from another repository of the same registry (named).
    Mounted { from: String },
    /// Downloaded (pull) or copied into the destination.
    Fetched,
    /// Uploaded to a registry.
    Pushed,
}

/// Receives a transfer's events; called from several threads at once.
#[allow(unused_variables)]
pub trait TransferProgress: Send + Sync {
    /// A blob starts moving (after the destination said it does not have it).
    fn blob_start(&self, digest: &Digest, size: u64, kind: BlobKind) {}
    /// `done` bytes of the blob's current phase have moved.
    fn blob_bytes(&self, digest: &Digest, phase: Phase, done: u64) {}
    /// The blob is done.
    fn blob_done(&self, digest: &Digest, kind: BlobKind, outcome: &BlobOutcome) {}
    /// A manifest was written to the destination.
    fn manifest_written(&self, digest: &Digest, media_type: &str, size: u64) {}
    /// Something worth a line (a mirror that failed, the endpoint used).
    fn note(&self, message: &str) {}
}

/// A transfer nobody watches.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl TransferProgress for NoProgress {}

/// A reader that reports the bytes read so far.
pub(crate) struct CountingReader<'a, R> {
    pub inner: R,
    pub done: u64,
    pub report: &'a dyn Fn(u64),
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        (self.report)(self.done);
        Ok(n)
    }
}
