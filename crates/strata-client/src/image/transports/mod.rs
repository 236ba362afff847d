//! The two ends of a transfer. A [`Source`] gives manifests (exact bytes) and puts blobs
//! into the *hub* store, verified; a [`Destination`] takes blobs from the hub and writes
//! manifests. The hub is the local store when one end is the store, else a temporary
//! spool store ([`spool`]), so every blob is verified before it goes anywhere.

pub(crate) mod archive;
pub(crate) mod oci;
pub(crate) mod registry;
pub(crate) mod store;

use std::path::PathBuf;

use strata_content::Store;
use strata_distribution::{ManifestKind, RepositoryName};
use strata_oci::{Descriptor, Digest};

use super::error::{Result, TransferError};
use super::progress::{BlobOutcome, TransferProgress};
use crate::pull::Manifest;

/// Where an image comes from.
pub(crate) trait Source: Sync {
    /// How errors and progress name it.
    fn describe(&self) -> String;
    /// The manifest the location names (an image manifest or an index), exact bytes.
    fn top(&self) -> Result<Manifest>;
    /// A manifest an index lists, checked against its descriptor.
    fn child(&self, desc: &Descriptor) -> Result<Manifest>;
    /// Puts blob `desc` into `hub`, verified, unless it is there.
    fn fetch(&self, desc: &Descriptor, hub: &Store, on_bytes: &dyn Fn(u64)) -> Result<()>;
    /// A repository of registry `host` that has blob `digest`, to mount it from.
    fn mount_origin(&self, _host: &str, _digest: &Digest) -> Option<RepositoryName> {
        None
    }
}

/// Where an image goes.
pub(crate) trait Destination: Sync {
    fn describe(&self) -> String;
    /// Whether it keeps an index and its children (else only one image manifest).
    fn accepts_index(&self) -> bool;
    /// Called once everything was read and checked, before the first write.
    fn prepare(&self) -> Result<()> {
        Ok(())
    }
    /// The registry host blobs may be mounted on (a registry destination's).
    fn mount_host(&self) -> Option<String> {
        None
    }
    /// Whether the blob is there already (nothing to move).
    fn has_blob(&self, desc: &Descriptor) -> Result<bool>;
    /// Writes the blob; `fetch` puts it into the hub first (called at most once, maybe
    /// not at all when the destination mounts it from `mount_from`).
    fn put_blob(&self, blob: &BlobJob, fetch: &dyn Fn() -> Result<()>) -> Result<BlobOutcome>;
    /// Writes a manifest: a child of an index (by digest), or the top one (by tag).
    fn put_manifest(&self, manifest: &Manifest, top: bool) -> Result<()>;
}

/// One blob to write, with what the destination may need to write it.
pub(crate) struct BlobJob<'a> {
    pub desc: &'a Descriptor,
    pub hub: &'a Store,
    pub mount_from: Option<RepositoryName>,
    pub progress: &'a dyn TransferProgress,
}

/// The media type of a manifest read from a file or store: the declared one (a
/// descriptor's), checked against the body; a missing one told from the body.
pub(crate) fn manifest_kind(
    declared: Option<&str>,
    bytes: &[u8],
    digest: &Digest,
    image: &str,
) -> Result<ManifestKind> {
    ManifestKind::resolve(declared, bytes).map_err(|source| TransferError::Media {
        image: image.to_owned(),
        digest: digest.clone(),
        source,
    })
}

/// A temporary store for copies between places that are not the local store: under
/// `$TMPDIR`, else `/var/tmp` (as containers/image puts big temporary files), removed when
/// dropped.
pub(crate) struct Spool {
    pub store: Store,
    _dir: tempfile::TempDir,
}

pub(crate) fn spool() -> Result<Spool> {
    let base = spool_base();
    let dir = tempfile::Builder::new()
        .prefix("strata-copy-")
        .tempdir_in(&base)
        .map_err(TransferError::io(&base))?;
    let store = Store::open(dir.path())?;
    Ok(Spool { store, _dir: dir })
}

/// `$TMPDIR` when it is a directory, else `/var/tmp`, else the system's temp dir.
pub(crate) fn spool_base() -> PathBuf {
    let candidates = [
        std::env::var_os("TMPDIR").map(PathBuf::from),
        Some(PathBuf::from("/var/tmp")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Copies blob `desc` from file `path` into `hub`, verifying its digest and size.
pub(crate) fn import_file(
    path: &std::path::Path,
    desc: &Descriptor,
    hub: &Store,
    on_bytes: &dyn Fn(u64),
) -> Result<()> {
    if hub.blob_size(&desc.digest).is_ok_and(|s| s == desc.size) {
        return Ok(());
    }
    let file = std::fs::File::open(path).map_err(TransferError::io(path))?;
    let mut writer = hub.blob_writer()?;
    let mut reader = super::progress::CountingReader {
        inner: std::io::BufReader::with_capacity(1 << 16, file),
        done: 0,
        report: on_bytes,
    };
    let n = std::io::copy(&mut reader, &mut writer).map_err(TransferError::io(path))?;
    if n != desc.size {
        return Err(TransferError::layout(
            path,
            format!(
                "blob {} has {n} bytes, its descriptor says {}",
                desc.digest, desc.size
            ),
        ));
    }
    match writer.commit(Some(&desc.digest)) {
        Ok(_) => Ok(()),
        Err(strata_content::Error::DigestMismatch { expected, actual }) => {
            Err(TransferError::Digest {
                what: format!("blob {}", desc.digest),
                path: path.to_owned(),
                expected,
                actual,
            })
        }
        Err(e) => Err(e.into()),
    }
}
