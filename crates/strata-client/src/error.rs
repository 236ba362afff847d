//! The errors of the HTTP layer: each names the registry and what was asked of it.

use strata_distribution::auth::{ChallengeError, TokenError};
use strata_distribution::MediaError;
use strata_oci::Digest;

/// Why a request to a registry failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach registry {registry} ({method} {target})")]
    Connect {
        registry: String,
        method: &'static str,
        target: String,
        #[source]
        source: Box<ureq::Transport>,
    },
    #[error(
        "TLS certificate check with registry {registry} failed \
         (a private CA goes in certs.d/{registry}/ca.crt)"
    )]
    Certificate {
        registry: String,
        #[source]
        source: Box<rustls::Error>,
    },
    #[error("TLS configuration for registry {registry}")]
    Tls {
        registry: String,
        #[source]
        source: Box<crate::transport::TlsError>,
    },
    #[error("reading the answer of registry {registry} to {target}")]
    Read {
        registry: String,
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("registry {registry} refused the credentials for {scope} ({detail})")]
    Unauthorized {
        registry: String,
        scope: String,
        detail: String,
    },
    #[error("registry {registry} denied {scope} ({detail})")]
    Forbidden {
        registry: String,
        scope: String,
        detail: String,
    },
    #[error("{reference} not found on registry {registry} ({detail})")]
    NotFound {
        registry: String,
        reference: String,
        detail: String,
    },
    #[error("registry {registry} answered {status} to {method} {target} ({detail})")]
    Status {
        registry: String,
        method: &'static str,
        target: String,
        status: u16,
        detail: String,
    },
    #[error(
        "registry {registry} answered {method} {target} with an HTML page, not the registry \
         API (a proxy or captive portal in the way?)"
    )]
    Html {
        registry: String,
        method: &'static str,
        target: String,
    },
    #[error("registry {registry} sent a bad WWW-Authenticate challenge")]
    Challenge {
        registry: String,
        #[source]
        source: ChallengeError,
    },
    #[error("registry {registry} answered 401 without a challenge strata can answer ({offered})")]
    NoChallenge { registry: String, offered: String },
    #[error("token realm {realm} of registry {registry} answered {status} for {scope}")]
    TokenStatus {
        registry: String,
        realm: String,
        scope: String,
        status: u16,
    },
    #[error("token realm {realm} of registry {registry} sent no usable token")]
    Token {
        registry: String,
        realm: String,
        #[source]
        source: TokenError,
    },
    #[error("{reference} on registry {registry}: expected digest {expected}, got {actual}")]
    DigestMismatch {
        registry: String,
        reference: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{reference} on registry {registry}: bad Docker-Content-Digest {value:?}")]
    BadDigestHeader {
        registry: String,
        reference: String,
        value: String,
    },
    #[error("{reference} on registry {registry}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        registry: String,
        reference: String,
        expected: u64,
        actual: u64,
    },
    #[error("{reference} on registry {registry} is larger than {limit} bytes")]
    TooLarge {
        registry: String,
        reference: String,
        limit: u64,
    },
    #[error("manifest {reference} on registry {registry}")]
    Media {
        registry: String,
        reference: String,
        #[source]
        source: MediaError,
    },
    #[error("manifest {reference} on registry {registry} is not a valid {media_type}")]
    BadManifest {
        registry: String,
        reference: String,
        media_type: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("registry {registry} gave no upload location for {repository}")]
    NoLocation {
        registry: String,
        repository: String,
    },
    #[error("storing blob {digest} from registry {registry}")]
    Store {
        registry: String,
        digest: Digest,
        #[source]
        source: Box<strata_content::Error>,
    },
    #[error("reading blob {digest} to push to registry {registry}")]
    Source {
        registry: String,
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("looking up the credential of registry {registry}")]
    Credentials {
        registry: String,
        #[source]
        source: Box<crate::config::credentials::CredentialsError>,
    },
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
