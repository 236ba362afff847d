//! [`ServiceError`]: what went wrong, with the spec's error code and HTTP status for it.

use strata_distribution::{ByteRange, ErrorCode, ManifestRef, MediaError, RepositoryName};
use strata_oci::Digest;
use thiserror::Error;

use strata_govern::gates::Violation;

use crate::meta::MetaError;

/// `gate <rule>: <message>` per violation, `; `-joined.
fn gate_message(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("gate {}: {}", v.rule, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}
use crate::storage::StorageError;

/// Why a registry operation failed.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("blob {digest} unknown in {name}")]
    BlobUnknown {
        name: RepositoryName,
        digest: Digest,
    },
    #[error("repository {name} unknown")]
    NameUnknown { name: RepositoryName },
    #[error("upload {id} unknown in {name}")]
    UploadUnknown { name: RepositoryName, id: String },
    #[error("upload {id} holds {size} bytes, the chunk starts at {start}")]
    ChunkOutOfOrder { id: String, size: u64, start: u64 },
    #[error("chunk {range} of upload {id} is {actual} bytes long")]
    ChunkLength {
        id: String,
        range: ByteRange,
        actual: u64,
    },
    #[error("upload {id} has {actual} bytes, Content-Length said {declared}")]
    LengthMismatch {
        id: String,
        declared: u64,
        actual: u64,
    },
    #[error("manifest {reference} unknown in {name}")]
    ManifestUnknown {
        name: RepositoryName,
        reference: ManifestRef,
    },
    #[error("manifest {reference} of {name} is invalid")]
    ManifestMedia {
        name: RepositoryName,
        reference: ManifestRef,
        #[source]
        source: MediaError,
    },
    #[error("manifest {reference} of {name} is invalid: {reason}")]
    ManifestInvalid {
        name: RepositoryName,
        reference: ManifestRef,
        reason: String,
    },
    #[error("manifest pushed as {reference} hashes to {actual}")]
    ManifestDigest { reference: Digest, actual: Digest },
    #[error("manifest of {size} bytes exceeds the limit of {limit} bytes")]
    ManifestTooLarge { size: u64, limit: u64 },
    #[error("manifest references {kind} {digest}, unknown in {name}")]
    ManifestBlobUnknown {
        name: RepositoryName,
        kind: &'static str,
        digest: Digest,
    },
    #[error("tag {tag} of {name} is immutable (rule {rule}): it cannot be moved or deleted")]
    TagImmutable {
        name: RepositoryName,
        tag: String,
        rule: String,
    },
    #[error("{}", gate_message(violations))]
    GateRefused {
        name: RepositoryName,
        reference: ManifestRef,
        violations: Vec<Violation>,
    },
    #[error(
        "promoting {reference} of {name} to {env}: {}",
        gate_message(violations)
    )]
    GateFailed {
        name: RepositoryName,
        reference: ManifestRef,
        env: String,
        violations: Vec<Violation>,
    },
    #[error("gate policy: {reason}")]
    GateUnavailable { reason: String },
    #[error("label {label:?} is invalid: [a-z0-9] then [a-z0-9._-], at most 64 bytes")]
    LabelInvalid { label: String },
    #[error("{reference} of {name} has no label {label}")]
    LabelUnknown {
        name: RepositoryName,
        reference: ManifestRef,
        label: String,
    },
    #[error("owner {owner:?} is invalid: 1 to 128 characters, no control characters")]
    OwnerInvalid { owner: String },
    #[error("bad request body: {reason}")]
    BadBody { reason: String },
    #[error("reading the request body")]
    Body {
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Meta(MetaError),
}

impl From<MetaError> for ServiceError {
    fn from(e: MetaError) -> Self {
        match e {
            MetaError::MissingReference {
                name, kind, digest, ..
            } => ServiceError::ManifestBlobUnknown { name, kind, digest },
            MetaError::TagImmutable {
                name, tag, rule, ..
            } => ServiceError::TagImmutable { name, tag, rule },
            other => ServiceError::Meta(other),
        }
    }
}

impl ServiceError {
    /// The spec's error code, `None` for a server fault (500).
    pub fn code(&self) -> Option<ErrorCode> {
        use ServiceError as E;
        Some(match self {
            E::BlobUnknown { .. } => ErrorCode::BlobUnknown,
            E::NameUnknown { .. } => ErrorCode::NameUnknown,
            E::UploadUnknown { .. } => ErrorCode::BlobUploadUnknown,
            E::ChunkOutOfOrder { .. } | E::ChunkLength { .. } => ErrorCode::BlobUploadInvalid,
            E::LengthMismatch { .. } | E::ManifestTooLarge { .. } => ErrorCode::SizeInvalid,
            E::ManifestUnknown { .. } => ErrorCode::ManifestUnknown,
            E::ManifestMedia { .. } | E::ManifestInvalid { .. } => ErrorCode::ManifestInvalid,
            E::ManifestDigest { .. } => ErrorCode::DigestInvalid,
            E::ManifestBlobUnknown { .. } => ErrorCode::ManifestBlobUnknown,
            E::Body { .. } => ErrorCode::BlobUploadInvalid,
            E::TagImmutable { .. } | E::GateRefused { .. } => ErrorCode::Denied,
            E::GateFailed { .. } => ErrorCode::Other("GATE_FAILED".into()),
            E::LabelInvalid { .. } => ErrorCode::Other("LABEL_INVALID".into()),
            E::LabelUnknown { .. } => ErrorCode::Other("LABEL_UNKNOWN".into()),
            E::OwnerInvalid { .. } | E::BadBody { .. } => ErrorCode::Other("BAD_REQUEST".into()),
            E::GateUnavailable { .. } => ErrorCode::Denied,
            E::Storage(StorageError::DigestMismatch { .. }) => ErrorCode::DigestInvalid,
            E::Storage(StorageError::Body { .. }) => ErrorCode::BlobUploadInvalid,
            E::Storage(StorageError::UploadNotFound { .. }) => ErrorCode::BlobUploadUnknown,
            E::Storage(StorageError::BlobNotFound { .. }) => ErrorCode::BlobUnknown,
            E::Storage(_) | E::Meta(_) => return None,
        })
    }

    /// The HTTP status: the code's, except 416 for a chunk out of order and 413 for an
    /// oversized manifest, as the spec asks.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::ChunkOutOfOrder { .. } | ServiceError::ChunkLength { .. } => 416,
            ServiceError::ManifestTooLarge { .. } => 413,
            ServiceError::GateFailed { .. } => 412,
            ServiceError::LabelUnknown { .. } => 404,
            ServiceError::LabelInvalid { .. }
            | ServiceError::OwnerInvalid { .. }
            | ServiceError::BadBody { .. } => 400,
            other => other.code().map_or(500, |c| c.status()),
        }
    }
}
