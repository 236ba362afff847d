//! The TLS configuration for one registry host, as containers/image
//! (`pkg/tlsclientconfig.SetupCertificates`) and docker build it: the system roots plus the
//! `*.crt` roots of the host's `certs.d` directory, and its client certificate pair if any.
//!
//! - System roots: `$SSL_CERT_FILE`, else the first CA bundle found where Go's
//!   `crypto/x509` looks on Linux; when there is none, the Mozilla roots of `webpki-roots`.
//!   Certificates of the system bundle that do not parse are skipped, as Go does.
//! - A `*.crt` of `certs.d`, or a client certificate or key, that does not parse is an
//!   error naming the file.
//! - With several `*.cert`/`*.key` pairs, the first (by file name) is presented.
//! - `insecure` (an endpoint marked `insecure = true` in registries.conf, only): the server
//!   certificate is not verified, as containers/image's `InsecureSkipVerify`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::certs::{CertsDirs, CertsError, PemFile};

/// The CA bundles Go's `crypto/x509` reads on Linux, in its order.
const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Why the TLS configuration of a host could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Certs(#[from] CertsError),
    #[error("{path} is not valid PEM")]
    Pem {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key")]
    NoKey { path: PathBuf },
    #[error("CA certificate in {path} is not usable")]
    BadRoot {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("client certificate {cert} with key {key} is not usable")]
    ClientCert {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("setting up TLS")]
    Config(#[source] rustls::Error),
}

/// The rustls configuration for `host` (`host[:port]`), from its `certs.d` material.
pub(crate) fn client_config(
    host: &str,
    dirs: &CertsDirs,
    insecure: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    let material = dirs.for_host(host)?;
    let provider = Arc::new(ring::default_provider());
    let mut roots = RootCertStore {
        roots: system_roots().to_vec(),
    };
    for file in &material.roots {
        for cert in certificates(file)? {
            roots.add(cert).map_err(|source| TlsError::BadRoot {
                path: file.path.clone(),
                source,
            })?;
        }
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?;
    let builder = match insecure {
        true => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider))),
        false => builder.with_root_certificates(roots),
    };
    let config = match material.client_certs.first() {
        None => builder.with_no_client_auth(),
        Some(pair) => {
            let chain = certificates(&pair.cert)?;
            let key = private_key(&pair.key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|source| TlsError::ClientCert {
                    cert: pair.cert.path.clone(),
                    key: pair.key.path.clone(),
                    source,
                })?
        }
    };
    Ok(Arc::new(config))
}

/// The certificates of a PEM file: at least one, and all of them well-formed.
fn certificates(file: &PemFile) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(&file.pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| pem_error(&file.path, source))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: file.path.clone(),
        });
    }
    Ok(certs)
}

fn private_key(file: &PemFile) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&file.pem).map_err(|source| match source {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: file.path.clone(),
        },
        source => pem_error(&file.path, source),
    })
}

fn pem_error(path: &Path, source: pem::Error) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        source,
    }
}

/// The system's roots, read once per process.
fn system_roots() -> &'static [rustls::pki_types::TrustAnchor<'static>] {
    static ROOTS: OnceLock<Vec<rustls::pki_types::TrustAnchor<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let from_env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
        let candidates = from_env
            .into_iter()
            .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from));
        for path in candidates {
            let Ok(pem) = std::fs::read(&path) else {
                continue;
            };
            let mut store = RootCertStore::empty();
            let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
            let (added, skipped) = store.add_parsable_certificates(certs);
            tracing::debug!(path = %path.display(), added, skipped, "system CA bundle");
            if added > 0 {
                return store.roots;
            }
        }
        tracing::debug!("no system CA bundle; using the webpki-roots Mozilla roots");
        webpki_roots::TLS_SERVER_ROOTS.to_vec()
    })
}

/// Accepts any server certificate (signatures are still checked), for `insecure` endpoints.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls error in a transport error's chain (rustls errors travel inside `io::Error`,
/// whose `source` skips them, so each `io::Error`'s inner error is looked at too).
fn rustls_error(transport: &ureq::Transport) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(transport);
    while let Some(err) = next {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.get_ref())
        {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(r);
            }
        }
        next = err.source();
    }
    None
}

/// The server speaks TLS but the handshake failed on certificates (its or ours): no plain
/// HTTP fallback and no retry will help.
pub(crate) fn certificate_error(transport: &ureq::Transport) -> Option<&rustls::Error> {
    rustls_error(transport).filter(|e| {
        matches!(
            e,
            rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::AlertReceived(_)
        )
    })
}
