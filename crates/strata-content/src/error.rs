//! The errors of the store. Variants carry the path, digest or reference they are about.

use std::io;
use std::path::PathBuf;

use strata_oci::{Digest, Reference};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the local store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("i/o error on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("store database error")]
    Db(#[from] rusqlite::Error),
    #[error("database {path} has schema version {found}; this strata supports up to {supported}")]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("store {path} is busy: another strata process is using it")]
    Busy { path: PathBuf },
    #[error("blob {digest} not found")]
    BlobNotFound { digest: Digest },
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest} is corrupt: its content hashes to {actual}")]
    BlobCorrupt { digest: Digest, actual: Digest },
    #[error("invalid json in blob {digest}")]
    Json {
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid image {digest}: {reason}")]
    InvalidImage { digest: Digest, reason: String },
    #[error("cannot tag {reference}: a tag needs a tag name, not only a digest")]
    InvalidTag { reference: String },
    #[error("no such image: {name}")]
    NoSuchImage { name: String },
    #[error("ambiguous image id prefix {prefix}")]
    AmbiguousId { prefix: String },
    #[error("conflict: unable to delete {name} (must be forced) - image is referenced in multiple repositories")]
    ImageInUse {
        name: String,
        references: Vec<Reference>,
    },
    #[error(transparent)]
    Reference(#[from] strata_oci::ReferenceError),
    #[error("cannot load {path}: {entry}: {reason}")]
    Load {
        path: PathBuf,
        entry: String,
        reason: String,
    },
    #[error("cannot load {path}: reading {entry}")]
    LoadIo {
        path: PathBuf,
        entry: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot export to {path}: {reason}")]
    Export { path: PathBuf, reason: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
