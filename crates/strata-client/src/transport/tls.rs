//! The TLS configuration for one registry host, as containers/image
//! (`pkg/tlsclientconfig.SetupCertificates`) and docker build it: the system roots plus the
//! `*.crt` roots of the host's `certs.d` directory, and its client certificate pair if any.
//!
//! - System roots: `$SSL_CERT_FILE`, else the first CA bundle found where Go's
//!   `crypto/x509` looks on Linux; when there is none, the Mozilla roots of `webpki-roots`.
//!   Certificates of the system bundle that do not parse are skipped, as Go does.
//! - A `*.crt` of `certs.d`, or a client certificate or key, that does not parse is an
//!   error naming the file.
//! - Every `*.cert`/`*.key` pair is loaded (docker's `ReadCertsDirectory` and
//!   containers/image's `SetupCertificates` append each to `tls.Config.Certificates`), and
//!   the handshake presents what Go's `crypto/tls` would: the first pair (by file name)
//!   whose key can sign with a scheme the server accepts and, when the server names the CAs
//!   it accepts, one of whose certificates was issued by one of them; none, if no pair fits.
//! - `insecure` (an endpoint marked `insecure = true` in registries.conf, only): the server
//!   certificate is not verified, as containers/image's `InsecureSkipVerify`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
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
    #[error("a certificate in {path} does not parse")]
    BadCertificate {
        path: PathBuf,
        #[source]
        source: webpki::Error,
    },
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
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider.clone()))),
        false => builder.with_root_certificates(roots),
    };
    let config = match material.client_certs.is_empty() {
        true => builder.with_no_client_auth(),
        false => {
            let pairs = material
                .client_certs
                .iter()
                .map(|pair| client_pair(&pair.cert, &pair.key, &provider))
                .collect::<Result<Vec<_>, _>>()?;
            builder.with_client_cert_resolver(Arc::new(ClientCerts { pairs }))
        }
    };
    Ok(Arc::new(config))
}

/// One client certificate pair, with the issuers of its chain's certificates.
#[derive(Debug)]
struct ClientPair {
    key: Arc<CertifiedKey>,
    /// Each certificate's issuer name (DER, without the outer SEQUENCE).
    issuers: Vec<Vec<u8>>,
}

fn client_pair(
    cert: &PemFile,
    key: &PemFile,
    provider: &CryptoProvider,
) -> Result<ClientPair, TlsError> {
    let chain = certificates(cert)?;
    let bad = |source| TlsError::ClientCert {
        cert: cert.path.clone(),
        key: key.path.clone(),
        source,
    };
    let mut issuers = Vec::new();
    for der in &chain {
        let parsed =
            webpki::EndEntityCert::try_from(der).map_err(|source| TlsError::BadCertificate {
                path: cert.path.clone(),
                source,
            })?;
        issuers.push(parsed.issuer().to_vec());
    }
    let key = CertifiedKey::from_der(chain, private_key(key)?, provider).map_err(bad)?;
    Ok(ClientPair {
        key: Arc::new(key),
        issuers,
    })
}

/// The client certificates of a host, chosen per handshake as Go's `crypto/tls`
/// (`getClientCertificate` with `CertificateRequestInfo.SupportsCertificate`) chooses.
#[derive(Debug)]
struct ClientCerts {
    pairs: Vec<ClientPair>,
}

impl ResolvesClientCert for ClientCerts {
    fn resolve(
        &self,
        acceptable_cas: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let chosen = self.pairs.iter().find(|pair| {
            pair.key.key.choose_scheme(sigschemes).is_some()
                && (acceptable_cas.is_empty()
                    || pair
                        .issuers
                        .iter()
                        .any(|issuer| acceptable_cas.iter().any(|ca| same_name(ca, issuer))))
        });
        if chosen.is_none() {
            tracing::debug!("no client certificate fits the server's request; sending none");
        }
        chosen.map(|pair| pair.key.clone())
    }

    fn has_certs(&self) -> bool {
        !self.pairs.is_empty()
    }
}

/// Whether a distinguished name from the server (DER, normally with its outer SEQUENCE)
/// is `name` (DER without it).
fn same_name(from_server: &[u8], name: &[u8]) -> bool {
    from_server == name || strip_sequence(from_server) == Some(name)
}

/// The contents of a DER SEQUENCE (tag 0x30, short or long form length).
fn strip_sequence(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (len, rest) = match len {
        0..=0x7f => (usize::from(len), rest),
        _ => {
            let n = usize::from(len & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let value = rest[..n]
                .iter()
                .fold(0usize, |v, b| (v << 8) | usize::from(*b));
            (value, &rest[n..])
        }
    };
    (rest.len() == len).then_some(rest)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_server_match_with_or_without_their_sequence() {
        let name = [0x31, 0x03, 0x02, 0x01, 0x05];
        assert!(same_name(
            &[0x30, 0x05, 0x31, 0x03, 0x02, 0x01, 0x05],
            &name
        ));
        assert!(same_name(&name, &name));
        assert!(!same_name(&[0x30, 0x04, 0x31, 0x03, 0x02, 0x01], &name));
        let long: Vec<u8> = [0x30, 0x81, 0x05].iter().chain(&name).copied().collect();
        assert_eq!(strip_sequence(&long), Some(&name[..]));
        for bad in [
            &[][..],
            &[0x30],
            &[0x31, 0x00],
            &[0x30, 0x80],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
        ] {
            assert_eq!(strip_sequence(bad), None, "{bad:?}");
        }
    }
}
