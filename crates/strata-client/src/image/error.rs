//! The errors of image-level transfers: each names the image, location or file it is about.

use std::path::PathBuf;

use strata_distribution::{MediaError, NameError};
use strata_oci::{Digest, ReferenceError};

use crate::config::registries::{RegistriesError, ShortNameError};
use crate::error::ClientError;

/// Why a pull, push or copy failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Registry(#[from] ClientError),
    #[error("registries.conf")]
    Registries(#[from] RegistriesError),
    #[error(transparent)]
    ShortName(#[from] ShortNameError),
    /// Every candidate of a short name failed (podman's "N errors occurred while pulling").
    #[error("no candidate could be pulled:{}", list_attempts(attempts))]
    Candidates { attempts: Vec<PullAttempt> },
    #[error("local store")]
    Store(#[from] strata_content::Error),
    #[error("invalid image reference {input:?}")]
    Reference {
        input: String,
        #[source]
        source: ReferenceError,
    },
    #[error("{reference} is not a valid repository name")]
    Name {
        reference: String,
        #[source]
        source: NameError,
    },
    #[error(
        "unknown transport {transport:?} in {input:?} (supported: docker://REF or a bare \
         REF, store:NAME, oci:PATH[:TAG], docker-archive:PATH[:REF])"
    )]
    UnknownTransport { input: String, transport: String },
    #[error("invalid location {input:?}: {reason}")]
    Location { input: String, reason: String },
    #[error("{image} has no image for platform {wanted} (it has: {available})")]
    NoPlatform {
        image: String,
        wanted: String,
        available: String,
    },
    #[error("manifest {digest} of {image}")]
    Media {
        image: String,
        digest: Digest,
        #[source]
        source: MediaError,
    },
    #[error("manifest {digest} of {image} does not parse")]
    Manifest {
        image: String,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("{image}: {reason}")]
    Unsupported { image: String, reason: String },
    #[error(
        "--all copies a whole index, and {destination} keeps single-platform images \
         (copy the index to a registry or an oci: layout, or pick one with --platform)"
    )]
    AllNeedsIndexDestination { destination: String },
    #[error("{path}: {reason}")]
    Layout { path: PathBuf, reason: String },
    #[error("i/o error on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} in {path}: expected {expected}, content hashes to {actual}")]
    Digest {
        what: String,
        path: PathBuf,
        expected: Digest,
        actual: Digest,
    },
}

/// A candidate [`Client::pull_first`](crate::Client::pull_first) tried, and why it failed.
#[derive(Debug)]
pub struct PullAttempt {
    pub reference: strata_oci::Reference,
    pub error: TransferError,
}

/// One line per attempt: the candidate, then its error and causes (each error's own
/// cause chain, since several cannot be one `source`).
fn list_attempts(attempts: &[PullAttempt]) -> String {
    let mut text = String::new();
    for attempt in attempts {
        text.push_str(&format!(
            "\n * {}: {}",
            attempt.reference,
            chain(&attempt.error)
        ));
    }
    text
}

/// An error and its causes, `: `-joined, a cause already in the text not repeated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text.push_str(": ");
            text.push_str(&c_text);
        }
        cause = c.source();
    }
    text
}

pub type Result<T, E = TransferError> = std::result::Result<T, E>;

impl TransferError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TransferError {
        let path = path.into();
        move |source| TransferError::Io { path, source }
    }

    pub(crate) fn layout(path: impl Into<PathBuf>, reason: impl Into<String>) -> TransferError {
        TransferError::Layout {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
