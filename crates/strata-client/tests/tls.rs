//! TLS against a real registry (Debian's `docker-registry` serving HTTPS with certificates
//! the test makes with `openssl`): the CA is trusted only through `certs.d/<host>/ca.crt`,
//! and a registry that asks for a client certificate gets the `certs.d` pair.

mod common;

use std::fs;
use std::path::Path;

use common::chain;
use strata_client::config::certs::CertsDirs;
use strata_client::transport::TlsError;
use strata_client::{ClientError, Registry, RegistryOptions};
use strata_testkit::pki::Pki;
use strata_testkit::registry::TestRegistry;

/// A `certs.d` root with `files` (name, source path) in `<root>/<host>/`.
fn certs_d(host: &str, files: &[(&str, &Path)]) -> (tempfile::TempDir, CertsDirs) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(host);
    fs::create_dir_all(&dir).unwrap();
    for (name, from) in files {
        fs::copy(from, dir.join(name)).unwrap();
    }
    let dirs = CertsDirs {
        roots: vec![root.path().to_owned()],
    };
    (root, dirs)
}

fn options(certs: CertsDirs) -> RegistryOptions {
    RegistryOptions {
        certs,
        ..RegistryOptions::default()
    }
}

fn tls_error(err: &ClientError) -> Option<&TlsError> {
    match err {
        ClientError::Tls { source, .. } => Some(source),
        _ => None,
    }
}

#[test]
fn the_ca_in_certs_d_is_trusted_and_without_it_the_certificate_is_refused() {
    let pki = Pki::new();
    let server = TestRegistry::start_tls(&pki.server(false));
    let host = server.host();

    let (_root, dirs) = certs_d(&host, &[("ca.crt", &pki.path("server-ca.crt"))]);
    let reg = Registry::connect(&host, options(dirs)).unwrap();
    assert_eq!(reg.base_url(), format!("https://{host}"));

    // Without the CA: a certificate error (no fallback to plain HTTP on loopback).
    let err = Registry::connect(&host, options(CertsDirs::default())).unwrap_err();
    let text = chain(&err);
    assert!(matches!(err, ClientError::Certificate { .. }), "{text}");
    assert!(text.contains(&format!("certs.d/{host}/ca.crt")), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");

    // An endpoint marked `insecure` in registries.conf: the certificate is not verified.
    let insecure = RegistryOptions {
        insecure_tls: true,
        ..RegistryOptions::default()
    };
    let reg = Registry::connect(&host, insecure).unwrap();
    assert_eq!(reg.base_url(), format!("https://{host}"));
}

#[test]
fn a_registry_that_asks_for_a_client_certificate_gets_the_certs_d_pair() {
    let pki = Pki::new();
    let server = TestRegistry::start_tls(&pki.server(true));
    let host = server.host();
    let ca = pki.path("server-ca.crt");

    let (_root, dirs) = certs_d(
        &host,
        &[
            ("ca.crt", &ca),
            ("client.cert", &pki.path("client.crt")),
            ("client.key", &pki.path("client.key")),
        ],
    );
    Registry::connect(&host, options(dirs)).unwrap();

    // Without a client certificate, the server refuses the handshake.
    let (_root, dirs) = certs_d(&host, &[("ca.crt", &ca)]);
    let err = Registry::connect(&host, options(dirs)).unwrap_err();
    assert!(
        matches!(err, ClientError::Certificate { .. }),
        "{}",
        chain(&err)
    );
}

#[test]
fn a_malformed_ca_or_key_is_an_error_naming_the_file() {
    let pki = Pki::new();
    let host = "127.0.0.1:1";
    let bad = pki.path("bad.pem");
    fs::write(&bad, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let (root, dirs) = certs_d(host, &[("ca.crt", &bad)]);
    let err = Registry::connect(host, options(dirs)).unwrap_err();
    let text = chain(&err);
    assert!(
        tls_error(&err).is_some_and(|e| matches!(e, TlsError::Pem { path, .. }
            if path == &root.path().join(host).join("ca.crt"))),
        "{text}"
    );
    assert!(text.contains("ca.crt"), "{text}");

    let empty = pki.path("empty.pem");
    fs::write(&empty, "no PEM here\n").unwrap();
    let (_root, dirs) = certs_d(
        host,
        &[
            ("client.cert", &pki.path("client.crt")),
            ("client.key", &empty),
        ],
    );
    let err = Registry::connect(host, options(dirs)).unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(tls_error(&err), Some(TlsError::NoKey { .. })),
        "{text}"
    );
    assert!(text.contains("client.key"), "{text}");
}

#[test]
fn of_several_client_pairs_the_one_the_server_accepts_is_presented() {
    let pki = Pki::new();
    // A second client pair, from a CA the registry does not accept; it sorts first.
    pki.ca("other-ca");
    pki.leaf("other-ca", "other", "extendedKeyUsage=clientAuth\n");
    let server = TestRegistry::start_tls(&pki.server(true));
    let host = server.host();
    let ca_crt = pki.path("server-ca.crt");
    let (other_crt, other_key) = (pki.path("other.crt"), pki.path("other.key"));

    let (_root, dirs) = certs_d(
        &host,
        &[
            ("ca.crt", &ca_crt),
            ("a-other.cert", &other_crt),
            ("a-other.key", &other_key),
            ("b-client.cert", &pki.path("client.crt")),
            ("b-client.key", &pki.path("client.key")),
        ],
    );
    let reg = Registry::connect(&host, options(dirs)).unwrap();
    assert_eq!(reg.base_url(), format!("https://{host}"));

    // Only pairs the server does not accept: none is sent (as Go), and the server refuses.
    let (_root, dirs) = certs_d(
        &host,
        &[
            ("ca.crt", &ca_crt),
            ("a-other.cert", &other_crt),
            ("a-other.key", &other_key),
        ],
    );
    let err = Registry::connect(&host, options(dirs)).unwrap_err();
    assert!(
        matches!(err, ClientError::Certificate { .. }),
        "{}",
        chain(&err)
    );
}

#[test]
fn a_client_key_that_is_not_the_certificates_is_an_error_naming_both() {
    let pki = Pki::new();
    let host = "127.0.0.1:1";
    let (_root, dirs) = certs_d(
        host,
        &[
            ("client.cert", &pki.path("client.crt")),
            ("client.key", &pki.path("server.key")),
        ],
    );
    let err = Registry::connect(host, options(dirs)).unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(tls_error(&err), Some(TlsError::ClientCert { cert, key, .. })
            if cert.ends_with("client.cert") && key.ends_with("client.key")),
        "{text}"
    );
}
