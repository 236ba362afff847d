//! Helpers of the network tests: the real Debian mirror, fixtures cached under
//! `target/fixtures/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const MIRROR: &str = "http://deb.debian.org/debian";
pub const SECURITY: &str = "http://deb.debian.org/debian-security";

pub fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/strata-base");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The real InRelease of `suite`, fetched once and kept under `target/fixtures/`.
pub fn inrelease(suite: &str) -> String {
    let path = fixtures().join(format!("{suite}.InRelease"));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return text;
    }
    let url = format!("{MIRROR}/dists/{suite}/InRelease");
    let text = ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .into_string()
        .unwrap();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    text
}

/// A shared index/deb cache for the network tests (warm after the first run).
pub fn cache_dir() -> PathBuf {
    fixtures().join("base-cache")
}

pub const KEYRING: &str = strata_base::repo::DEFAULT_KEYRING;

/// Panics unless Debian's archive keyring is installed (CI installs it in .ci/run).
pub fn require_keyring() {
    assert!(
        Path::new(KEYRING).exists(),
        "needs {KEYRING}: apt-get install debian-archive-keyring (CI installs it in .ci/run)"
    );
}
