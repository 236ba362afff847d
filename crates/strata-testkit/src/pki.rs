//! Certificates for TLS tests, made with `openssl` in a temp dir: a server CA with a server
//! certificate for `127.0.0.1`, a client CA with a client certificate, and more CAs and
//! leaves on demand.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::registry::TlsFiles;
use crate::{require_tool, run_ok};

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(Command::new("openssl").current_dir(dir).args(args));
}

/// A temp dir of PEM files: `<name>.crt` and `<name>.key` for every CA and leaf made.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// `server-ca` signing `server` (SAN `IP:127.0.0.1`, serverAuth), and `client-ca`
    /// signing `client` (clientAuth).
    pub fn new() -> Pki {
        require_tool("openssl");
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
        };
        pki.ca("server-ca");
        pki.leaf(
            "server-ca",
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        pki.ca("client-ca");
        pki.leaf("client-ca", "client", "extendedKeyUsage=clientAuth\n");
        pki
    }

    /// The file `name` (`server.crt`, `client-ca.crt`, …).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The server's certificate and key, asking for a `client-ca` client certificate when
    /// `client_ca`.
    pub fn server(&self, client_ca: bool) -> TlsFiles {
        TlsFiles {
            certificate: self.path("server.crt"),
            key: self.path("server.key"),
            client_ca: client_ca.then(|| self.path("client-ca.crt")),
        }
    }

    /// A self-signed CA `name`: `name.key`, `name.crt`.
    pub fn ca(&self, name: &str) {
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        let dir = self.dir.path();
        openssl(dir, &["genrsa", "-out", &key, "2048"]);
        let subj = format!("/CN=strata test {name}");
        openssl(
            dir,
            &[
                "req", "-x509", "-new", "-key", &key, "-out", &crt, "-days", "2", "-subj", &subj,
            ],
        );
    }

    /// A certificate `name` signed by CA `ca`, with `ext` (an openssl extension section
    /// body).
    pub fn leaf(&self, ca: &str, name: &str, ext: &str) {
        let dir = self.dir.path();
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        let ext_file = format!("{name}.ext");
        fs::write(dir.join(&ext_file), ext).unwrap();
        openssl(dir, &["genrsa", "-out", &key, "2048"]);
        let subj = format!("/CN={name}");
        openssl(
            dir,
            &["req", "-new", "-key", &key, "-out", &csr, "-subj", &subj],
        );
        let (ca_crt, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_crt,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &ext_file,
            ],
        );
    }
}

impl Default for Pki {
    fn default() -> Pki {
        Pki::new()
    }
}
