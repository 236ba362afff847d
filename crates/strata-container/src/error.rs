//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Errors of container lifecycle operations.
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

    /// A state or config file is not valid JSON of the expected shape.
    #[error("invalid {path}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// No container matches the name or id (prefix).
    #[error("no such container: {0}")]
    NotFound(String),

    /// An id prefix matches several containers.
    #[error("multiple containers match {0:?}: use more characters of the id")]
    Ambiguous(String),

    /// `--name` is taken.
    #[error("conflict: the container name \"{name}\" is already in use by container {id}")]
    NameInUse { name: String, id: String },

    /// The operation needs another state (`rm` of a running container…).
    #[error("container {id} is {state}: {hint}")]
    WrongState {
        id: String,
        state: String,
        hint: &'static str,
    },

    /// A flag's value is invalid (limits, ports, mounts, env files…).
    #[error("invalid {flag}: {reason}")]
    InvalidArg { flag: String, reason: String },

    /// The OCI runtime failed.
    #[error(transparent)]
    Executor(#[from] strata_executor::Error),

    /// Snapshots (mounting the rootfs).
    #[error(transparent)]
    Snapshot(#[from] strata_snapshot::Error),

    /// The container's network (slirp4netns, published ports).
    #[error(transparent)]
    Net(#[from] crate::net::NetError),

    /// Terminals and attach sockets.
    #[error(transparent)]
    Tty(#[from] crate::tty::TtyError),

    /// `runc exec`.
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),

    /// Something the network, tty, health or exec modules report.
    #[error("{what}")]
    Other {
        what: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds a closure that wraps an `io::Error` with an operation and a path.
pub fn io_err(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}

/// An `InvalidArg` error.
pub fn invalid(flag: &str, reason: impl Into<String>) -> Error {
    Error::InvalidArg {
        flag: flag.to_string(),
        reason: reason.into(),
    }
}
