//! A small archive on a loopback HTTP server, signed by the real `gpg`: the paths the real
//! mirror never takes (no `InRelease`, a missing signature, a corrupted index, an index served
//! from the cache).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use strata_base::repo::{fetch_debs, Cache, RepoError, RepoOptions, Repository, Source};
use strata_base::resolve::{resolve, Request, Variant};
use strata_testkit::http::{respond, HttpServer};
use strata_testkit::require_tool;

/// Files by path, served over HTTP; requests counted by path.
struct Archive {
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    server: HttpServer,
    gpg_home: tempfile::TempDir,
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

impl Archive {
    /// Suite `test`, component `main`, packages `app` (depends on `lib`) and `lib`, with
    /// `Release` + `Release.gpg` only.
    fn new() -> Archive {
        require_tool("gpg");
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (f, h) = (files.clone(), hits.clone());
        let server = HttpServer::start(Arc::new(move |req, stream| {
            let path = req.path().trim_start_matches('/').to_owned();
            *h.lock().unwrap().entry(path.clone()).or_default() += 1;
            match f.lock().unwrap().get(&path) {
                Some(body) => respond(stream, 200, &[], body),
                None => respond(stream, 404, &[], b"not found"),
            }
        }));
        let gpg_home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        let archive = Archive {
            files,
            hits,
            server,
            gpg_home,
        };
        archive.gpg(&[
            "--quick-gen-key",
            "Local Archive <l@example.org>",
            "ed25519",
            "sign",
            "never",
        ]);
        let deb_app = b"!<arch>\napp".to_vec();
        let deb_lib = b"!<arch>\nlib".to_vec();
        let packages = format!(
            "Package: app\nVersion: 1.0-1\nArchitecture: amd64\nDepends: lib (>= 2)\n\
             Filename: pool/main/a/app_1.0-1_amd64.deb\nSize: {}\nSHA256: {}\nDescription: app\n\n\
             Package: lib\nVersion: 2.0-1\nArchitecture: all\n\
             Filename: pool/main/l/lib_2.0-1_all.deb\nSize: {}\nSHA256: {}\nDescription: lib\n",
            deb_app.len(),
            sha(&deb_app),
            deb_lib.len(),
            sha(&deb_lib)
        );
        let packages_gz = gz(packages.as_bytes());
        let release = format!(
            "Origin: Local\nCodename: test\nDate: Sat, 10 Aug 2024 09:00:00 UTC\nSHA256:\n {} {} main/binary-amd64/Packages\n {} {} main/binary-amd64/Packages.gz\n",
            sha(packages.as_bytes()),
            packages.len(),
            sha(&packages_gz),
            packages_gz.len()
        );
        archive.put("dists/test/Release", release.as_bytes().to_vec());
        archive.put(
            "dists/test/Release.gpg",
            archive.detach_sign(release.as_bytes()),
        );
        archive.put("dists/test/main/binary-amd64/Packages.gz", packages_gz);
        archive.put("pool/main/a/app_1.0-1_amd64.deb", deb_app);
        archive.put("pool/main/l/lib_2.0-1_all.deb", deb_lib);
        archive
    }

    fn gpg(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.gpg_home.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn detach_sign(&self, data: &[u8]) -> Vec<u8> {
        let path = self.gpg_home.path().join("to-sign");
        std::fs::write(&path, data).unwrap();
        self.gpg(&["--detach-sign", "-o", "-", path.to_str().unwrap()])
    }

    fn keyring(&self) -> PathBuf {
        let path = self.gpg_home.path().join("keyring.gpg");
        std::fs::write(&path, self.gpg(&["--export"])).unwrap();
        path
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), body);
    }

    fn remove(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn options(&self, cache: &Cache) -> RepoOptions {
        let mirror = format!("http://{}", self.server.host());
        let mut opts = RepoOptions::new(
            vec![Source::new(&mirror, "test", &["main"])],
            "amd64",
            cache.clone(),
        );
        opts.keyring = self.keyring();
        opts
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.gpg_home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

#[test]
fn release_gpg_fallback_resolves_fetches_and_reuses_the_cached_index() {
    let archive = Archive::new();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path()).unwrap();
    let repo = Repository::load(&archive.options(&cache)).unwrap();
    assert_eq!(
        archive.hits("dists/test/InRelease"),
        1,
        "InRelease tried first"
    );
    assert_eq!(repo.suites()[0].date, "Sat, 10 Aug 2024 09:00:00 UTC");
    let res = resolve(&repo, &Request::new(&["app"], Variant::None)).unwrap();
    let names: Vec<&str> = res.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["app", "lib"]);
    let paths = fetch_debs(&cache, &res.packages, 2).unwrap();
    assert_eq!(std::fs::read(&paths[1]).unwrap(), b"!<arch>\nlib");

    // Unchanged Release: the index comes from the cache, not the server.
    Repository::load(&archive.options(&cache)).unwrap();
    assert_eq!(archive.hits("dists/test/main/binary-amd64/Packages.gz"), 1);
    assert_eq!(archive.hits("dists/test/Release"), 2);
}

#[test]
fn an_unsigned_release_is_refused() {
    let archive = Archive::new();
    archive.remove("dists/test/Release.gpg");
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path()).unwrap();
    let err = Repository::load(&archive.options(&cache)).unwrap_err();
    assert!(matches!(err, RepoError::NoSignature { .. }), "{err:?}");
    assert!(err.to_string().contains("test"), "{err}");
}

#[test]
fn a_release_signed_by_another_key_is_refused() {
    let archive = Archive::new();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path()).unwrap();
    let mut opts = archive.options(&cache);
    opts.keyring = PathBuf::from(strata_base::repo::DEFAULT_KEYRING);
    let err = Repository::load(&opts).unwrap_err().to_string();
    assert!(
        err.contains("not in the keyring") && err.contains(" test"),
        "{err}"
    );
}

#[test]
fn a_corrupted_index_is_refused_and_not_cached() {
    let archive = Archive::new();
    let path = "dists/test/main/binary-amd64/Packages.gz";
    let mut bytes = archive.files.lock().unwrap()[path].clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    archive.put(path, bytes);
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path()).unwrap();
    let err = Repository::load(&archive.options(&cache)).unwrap_err();
    assert!(matches!(err, RepoError::IndexMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("Packages.gz"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("indices"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_deb_the_mirror_serves_wrong_is_not_stored() {
    let archive = Archive::new();
    archive.put("pool/main/l/lib_2.0-1_all.deb", b"!<arch>\nLIB".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path()).unwrap();
    let repo = Repository::load(&archive.options(&cache)).unwrap();
    let res = resolve(&repo, &Request::new(&["app"], Variant::None)).unwrap();
    let err = fetch_debs(&cache, &res.packages, 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("lib=2.0-1: ") && err.contains("not stored"),
        "{err}"
    );
    let count = AtomicUsize::new(0);
    for entry in std::fs::read_dir(dir.path().join("debs")).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            name.to_string_lossy().ends_with(".deb"),
            "no temp file left: {name:?}"
        );
        count.fetch_add(1, Ordering::Relaxed);
    }
    assert!(
        count.into_inner() <= 1,
        "only app's verified .deb may be stored"
    );
}
