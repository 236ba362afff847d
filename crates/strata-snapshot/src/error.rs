//! The crate's error type.

use std::io;
use std::path::PathBuf;

use strata_oci::Digest;

/// Errors of snapshot storage, overlay mounting and upper-dir diffing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The caller's layer opener failed.
    #[error("failed to open layer {diff_id}")]
    OpenLayer {
        diff_id: Digest,
        #[source]
        source: io::Error,
    },

    /// Unpacking a layer tar failed.
    #[error("failed to unpack layer {diff_id} into {path}")]
    Unpack {
        diff_id: Digest,
        path: PathBuf,
        #[source]
        source: strata_archive::Error,
    },

    /// The unpacked tar stream did not hash to the layer's diff id.
    #[error("layer content does not match its diff id: expected {expected}, got {actual}")]
    DiffIdMismatch { expected: Digest, actual: Digest },

    /// mount(2) of an overlay failed.
    #[error("failed to mount overlay on {target} (options: {options})")]
    Mount {
        target: PathBuf,
        options: String,
        #[source]
        source: io::Error,
    },

    /// umount(2) failed.
    #[error("failed to unmount {target}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Even the short symlink form of the overlay options exceeds the kernel limit.
    #[error("overlay mount options are {len} bytes, over the {limit} byte limit")]
    OptionsTooLong { len: usize, limit: usize },

    /// Reading an upper-dir entry failed.
    #[error("failed to read {path} in upper dir")]
    Entry {
        path: String,
        #[source]
        source: strata_archive::Error,
    },

    /// An upper-dir file is a metacopy-only copy-up (its data lives in a lower).
    #[error("{path} is an overlay metacopy or redirect entry; strata mounts overlay with metacopy=off,redirect_dir=off")]
    UnsupportedOverlayFeature { path: String },

    /// Installing the signal handler failed.
    #[error("failed to install signal handlers")]
    Signals(#[source] io::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds a closure that wraps an `io::Error` with an operation and a path.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}
