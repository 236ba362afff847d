//! Signature checks against keys and signatures made by the real `gpg`: a detached
//! `Release.gpg`, and a key that has expired.

use std::path::{Path, PathBuf};
use std::process::Command;

use strata_base::repo::signature::{Keyring, SignatureError};
use strata_testkit::require_tool;

/// A throw-away GnuPG home; its agent is stopped on drop.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        require_tool("gpg");
        Gpg {
            home: tempfile::Builder::new()
                .prefix("gpg")
                .tempdir_in("/tmp")
                .unwrap(),
        }
    }

    /// Runs gpg with `args` (at `faked_time` when given), panicking on failure.
    fn run(&self, faked_time: Option<&str>, args: &[&str]) -> Vec<u8> {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir").arg(self.home.path()).args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        if let Some(t) = faked_time {
            cmd.args(["--faked-system-time", t]);
        }
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// Exports every public key into a binary keyring file.
    fn keyring(&self) -> PathBuf {
        let path = self.path("keyring.gpg");
        let bytes = self.run(None, &["--export"]);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

const RELEASE: &str = "Origin: Test\nCodename: testsuite\nDate: Sat, 10 Aug 2024 09:00:00 UTC\n\
SHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages.xz\n";

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn detached_release_gpg_verifies_and_a_modified_release_does_not() {
    let gpg = Gpg::new();
    gpg.run(
        None,
        &[
            "--quick-gen-key",
            "Test Archive <a@example.org>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    let release = gpg.path("Release");
    write(&release, RELEASE);
    let sig = gpg.path("Release.gpg");
    gpg.run(
        None,
        &[
            "--armor",
            "--detach-sign",
            "-o",
            sig.to_str().unwrap(),
            release.to_str().unwrap(),
        ],
    );
    let ring = Keyring::open(&gpg.keyring()).unwrap();
    let sig = std::fs::read(&sig).unwrap();
    ring.verify_detached("testsuite", RELEASE.as_bytes(), &sig)
        .unwrap();
    let modified = RELEASE.replace("1234", "1235");
    let err = ring
        .verify_detached("testsuite", modified.as_bytes(), &sig)
        .unwrap_err();
    assert!(matches!(err, SignatureError::Bad { .. }), "{err:?}");
    assert!(err.to_string().contains("testsuite"), "{err}");
}

#[test]
fn a_signature_by_an_expired_key_is_refused_naming_the_key() {
    let gpg = Gpg::new();
    // A key made in 2020 that expired a day later, which signed then.
    let then = Some("20200101T000000!");
    gpg.run(
        then,
        &[
            "--quick-gen-key",
            "Old Archive <o@example.org>",
            "ed25519",
            "sign",
            "1d",
        ],
    );
    let release = gpg.path("Release");
    write(&release, RELEASE);
    let inrelease = gpg.path("InRelease");
    gpg.run(
        then,
        &[
            "--clearsign",
            "-o",
            inrelease.to_str().unwrap(),
            release.to_str().unwrap(),
        ],
    );
    let fpr = String::from_utf8(gpg.run(None, &["--with-colons", "--list-keys"])).unwrap();
    let fpr = fpr
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .unwrap()
        .trim_matches(':')
        .to_owned();
    let ring = Keyring::open(&gpg.keyring()).unwrap();
    let text = std::fs::read_to_string(&inrelease).unwrap();
    let err = ring.verify_inrelease("testsuite", &text).unwrap_err();
    let SignatureError::Expired { keys, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(fpr.ends_with(&keys[keys.len() - 16..]), "{fpr} vs {keys}");
    assert!(err.to_string().contains("expired"), "{err}");
}
