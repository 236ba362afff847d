//! What the catalogers find: packages, their type, purl and where each was found.

use serde::Serialize;
use strata_oci::Digest;

use super::purl;

/// The ecosystem a package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageType {
    Deb,
    Apk,
    Python,
    Npm,
    Go,
    Rust,
}

impl PackageType {
    /// The name shown in tables and properties (`deb`, `python`, `go`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Python => "python",
            PackageType::Npm => "npm",
            PackageType::Go => "go",
            PackageType::Rust => "rust",
        }
    }
}

/// Where a package was found: a path of the image's final filesystem and the layer that
/// put the file there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Found {
    /// Absolute path in the image (`/var/lib/dpkg/status`).
    pub path: String,
    /// The layer's uncompressed digest (its `diff_id`; the blob digest when the config
    /// has none).
    pub layer: Digest,
    /// 0 for the bottom layer.
    pub layer_index: usize,
}

/// One package of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    #[serde(rename = "type")]
    pub kind: PackageType,
    /// Package URL (`pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12`).
    pub purl: String,
    /// Every place it was found, sorted.
    pub locations: Vec<Found>,
}

/// A package as a cataloger reads it, before its location is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cataloged {
    pub name: String,
    pub version: String,
    pub kind: PackageType,
    pub purl: String,
}

impl Cataloged {
    /// A package whose purl is `pkg:TYPE/NAME@VERSION` (name segments encoded).
    pub fn simple(kind: PackageType, purl_type: &str, name: &str, version: &str) -> Cataloged {
        Cataloged {
            name: name.to_string(),
            version: version.to_string(),
            kind,
            purl: purl::make(purl_type, None, name, version, &[]),
        }
    }
}
