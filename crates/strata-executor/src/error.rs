//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Errors of runtime detection and container runs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable OCI runtime was found.
    #[error("no usable oci runtime found ({tried}); install one with `apt-get install runc`")]
    NoRuntime { tried: String },

    /// The requested runtime cannot be used.
    #[error("oci runtime {path} is not usable: {reason}")]
    RuntimeUnusable { path: PathBuf, reason: String },

    /// A filesystem operation failed.
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A command could not be started.
    #[error("failed to start `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },

    /// The runtime itself failed (as opposed to the container's process).
    #[error("`{command}` failed with exit code {code:?}: {message}")]
    RuntimeFailed {
        command: String,
        code: Option<i32>,
        message: String,
    },

    /// The run spec is invalid.
    #[error("invalid run spec: {reason}")]
    InvalidSpec { reason: String },

    /// Building or writing the OCI runtime config failed.
    #[error("failed to build the oci runtime config")]
    Config(#[from] oci_spec::OciSpecError),

    /// A snapshot-side failure (cleanup registry, mounts).
    #[error(transparent)]
    Snapshot(#[from] strata_snapshot::Error),
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
