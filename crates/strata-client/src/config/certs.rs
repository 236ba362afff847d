//! TLS material for a registry host from the `certs.d` directories, as containers/image
//! (`docker/docker_client.go` `dockerCertDir`, `pkg/tlsclientconfig`) and docker
//! (`registry.ReadCertsDirectory`) read them:
//!
//! - the first of `~/.config/containers/certs.d/<host[:port]>/`,
//!   `/etc/containers/certs.d/<host[:port]>/`, `/etc/docker/certs.d/<host[:port]>/` that
//!   exists is used (only that one);
//! - in it, `*.crt` files are extra CA roots (added to the system roots), and each
//!   `*.cert` with the `*.key` of the same stem is a client certificate pair; a `.cert`
//!   without its `.key`, or a `.key` without its `.cert`, is an error, as in both.
//!
//! Only paths and bytes come back: the TLS library that uses them comes with the HTTP
//! client.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("missing key {key} for client certificate {cert}; CA certificates must use the extension .crt")]
    MissingKey { cert: PathBuf, key: PathBuf },
    #[error("missing client certificate {cert} for key {key}")]
    MissingCert { key: PathBuf, cert: PathBuf },
    #[error("invalid registry host {host:?} for a certs.d directory")]
    InvalidHost { host: String },
}

/// A file and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemFile {
    pub path: PathBuf,
    pub pem: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub cert: PemFile,
    pub key: PemFile,
}

/// What a host's `certs.d` directory holds; empty when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    /// The directory used, if one exists.
    pub dir: Option<PathBuf>,
    /// Extra CA roots, by file name.
    pub roots: Vec<PemFile>,
    /// Client certificate pairs, by file name.
    pub client_certs: Vec<ClientCert>,
}

/// The `certs.d` roots searched, in order (the default: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertsDirs {
    pub roots: Vec<PathBuf>,
}

impl CertsDirs {
    /// `~/.config/containers/certs.d`, `/etc/containers/certs.d`, `/etc/docker/certs.d`.
    pub fn from_env() -> CertsDirs {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
        let user = home.map(|h| PathBuf::from(h).join(".config/containers/certs.d"));
        let system = ["/etc/containers/certs.d", "/etc/docker/certs.d"].map(PathBuf::from);
        CertsDirs {
            roots: user.into_iter().chain(system).collect(),
        }
    }

    /// The TLS material for `host` (`host[:port]`, as the registry is addressed).
    pub fn for_host(&self, host: &str) -> Result<TlsMaterial, CertsError> {
        let bad = host.is_empty() || host.contains('/') || host == "." || host == "..";
        if bad {
            return Err(CertsError::InvalidHost {
                host: host.to_owned(),
            });
        }
        for root in &self.roots {
            let dir = root.join(host);
            match fs::metadata(&dir) {
                Ok(_) => return read_dir(&dir),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                // containers/image skips a directory it may not read.
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => continue,
                Err(source) => return Err(CertsError::Read { path: dir, source }),
            }
        }
        Ok(TlsMaterial::default())
    }
}

fn read_dir(dir: &Path) -> Result<TlsMaterial, CertsError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| CertsError::Read { path, source }
    };
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_error(dir))? {
        let entry = entry.map_err(read_error(dir))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort();
    let mut material = TlsMaterial {
        dir: Some(dir.to_owned()),
        ..TlsMaterial::default()
    };
    let read = |name: &str| -> Result<PemFile, CertsError> {
        let path = dir.join(name);
        let pem = fs::read(&path).map_err(read_error(&path))?;
        Ok(PemFile { path, pem })
    };
    for name in &names {
        if name.ends_with(".crt") {
            material.roots.push(read(name)?);
        } else if let Some(stem) = name.strip_suffix(".cert") {
            let key = format!("{stem}.key");
            if !names.contains(&key) {
                return Err(CertsError::MissingKey {
                    cert: dir.join(name),
                    key: dir.join(key),
                });
            }
            material.client_certs.push(ClientCert {
                cert: read(name)?,
                key: read(&key)?,
            });
        } else if let Some(stem) = name.strip_suffix(".key") {
            let cert = format!("{stem}.cert");
            if !names.contains(&cert) {
                return Err(CertsError::MissingCert {
                    key: dir.join(name),
                    cert: dir.join(cert),
                });
            }
        }
    }
    Ok(material)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> CertsDirs {
        CertsDirs {
            roots: ["user", "containers", "docker"]
                .map(|d| root.join(d))
                .to_vec(),
        }
    }

    fn put(path: PathBuf, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn crt_files_are_roots_and_cert_key_pairs_are_client_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let host = tmp.path().join("containers/reg.example:5000");
        put(host.join("ca.crt"), "CA");
        put(host.join("extra.crt"), "CA2");
        put(host.join("client.cert"), "CERT");
        put(host.join("client.key"), "KEY");
        put(host.join("README"), "ignored");
        let m = dirs(tmp.path()).for_host("reg.example:5000").unwrap();
        assert_eq!(m.dir.as_deref(), Some(host.as_path()));
        let roots: Vec<_> = m
            .roots
            .iter()
            .map(|r| (r.path.clone(), r.pem.clone()))
            .collect();
        assert_eq!(
            roots,
            vec![
                (host.join("ca.crt"), b"CA".to_vec()),
                (host.join("extra.crt"), b"CA2".to_vec())
            ]
        );
        assert_eq!(m.client_certs.len(), 1);
        assert_eq!(m.client_certs[0].cert.pem, b"CERT");
        assert_eq!(m.client_certs[0].key.path, host.join("client.key"));
    }

    #[test]
    fn the_first_existing_directory_is_the_only_one_used() {
        let tmp = tempfile::tempdir().unwrap();
        put(tmp.path().join("user/reg.example/ca.crt"), "USER");
        put(tmp.path().join("docker/reg.example/ca.crt"), "DOCKER");
        put(tmp.path().join("docker/other.example/ca.crt"), "OTHER");
        let d = dirs(tmp.path());
        assert_eq!(d.for_host("reg.example").unwrap().roots[0].pem, b"USER");
        assert_eq!(d.for_host("other.example").unwrap().roots[0].pem, b"OTHER");
        // The port is part of the directory name.
        assert_eq!(
            d.for_host("reg.example:443").unwrap(),
            TlsMaterial::default()
        );
    }

    #[test]
    fn a_cert_without_its_key_or_a_key_without_its_cert_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        put(tmp.path().join("docker/a.example/ca.cert"), "x");
        match dirs(tmp.path()).for_host("a.example") {
            Err(e @ CertsError::MissingKey { .. }) => {
                assert!(e.to_string().contains("a.example/ca.key"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        put(tmp.path().join("docker/b.example/client.key"), "x");
        assert!(matches!(
            dirs(tmp.path()).for_host("b.example"),
            Err(CertsError::MissingCert { .. })
        ));
    }

    #[test]
    fn hosts_cannot_escape_the_certs_directories() {
        let d = dirs(Path::new("/nonexistent"));
        for host in ["", "..", "a/../../etc", "."] {
            assert!(matches!(
                d.for_host(host),
                Err(CertsError::InvalidHost { .. })
            ));
        }
        assert_eq!(d.for_host("ok.example").unwrap(), TlsMaterial::default());
    }
}
