//! SBOM: the packages of an image's final filesystem, as SPDX 2.3 or CycloneDX 1.6 JSON.
//!
//! - [`collect`]: every layer is walked once ([`crate::image::walk`], in parallel) keeping
//!   only the candidate files of the catalogers (capped) and the packages of ELF binaries;
//!   the layers are then merged bottom-up, whiteouts and overwrites applied, so a package
//!   whose files a later layer deleted is not listed;
//! - [`catalog`]: one cataloger per ecosystem (dpkg, apk, Python, npm, Go build info,
//!   `cargo auditable`), each turning a file into packages with their purl;
//! - [`format`]: the documents (SPDX 2.3 JSON, CycloneDX 1.6 JSON, a table), deterministic:
//!   packages sorted, identifiers derived from the image digest and the purls.
//!
//! syft's catalogers are the reference for what is found and how it is named.

pub mod catalog;
pub mod collect;
pub mod format;
pub mod package;
pub mod purl;

use std::collections::{BTreeMap, BTreeSet};

use strata_content::{BlobSource, Image};
use strata_oci::Digest;

use crate::image::{self, LayerInfo, WalkError};
use catalog::os_release::{self, Distro};
use catalog::{apk, dpkg, npm, python, Kind};
use collect::{Content, Final, LayerFiles};
pub use package::{Cataloged, Found, Package, PackageType};

/// Why an image's SBOM could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("layer {index} ({digest}): cannot spool a binary to a temporary file: {source}")]
    Spool {
        index: usize,
        digest: Digest,
        source: std::io::Error,
    },
    #[error("invalid created time {value:?}: {reason}")]
    Created { value: String, reason: String },
}

/// The image an SBOM describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The name the user gave (`app:1.0`, `oci:dir`, `docker://…`).
    pub name: String,
    /// The image manifest's digest.
    pub digest: Digest,
    /// The document's creation time, RFC 3339 UTC to the second.
    pub created: String,
}

/// An image's packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sbom {
    pub subject: Subject,
    /// Sorted by type, name, version, purl.
    pub packages: Vec<Package>,
}

/// The packages of `image` (its layer blobs read from `blobs`), `jobs` layers read at a
/// time.
pub fn catalog<B: BlobSource + ?Sized>(
    blobs: &B,
    image: &Image,
    jobs: usize,
) -> Result<Vec<Package>, SbomError> {
    let layers = image::layers(image);
    let walked = image::walk(blobs, &layers, jobs, LayerFiles::new)?;
    for l in &walked {
        if let Some(e) = &l.error {
            return Err(SbomError::Spool {
                index: l.layer.index,
                digest: l.layer.digest.clone(),
                source: std::io::Error::new(e.kind(), e.to_string()),
            });
        }
    }
    Ok(packages(&collect::merge(walked), &layers))
}

/// The creation time of a document: `SOURCE_DATE_EPOCH` when given (reproducible
/// builds), else the image's `created`, else the epoch.
pub fn created_time(
    source_date_epoch: Option<i64>,
    image_created: Option<&str>,
) -> Result<String, SbomError> {
    use time::format_description::well_known::Rfc3339;
    let t = match (source_date_epoch, image_created) {
        (Some(s), _) => {
            time::OffsetDateTime::from_unix_timestamp(s).map_err(|e| SbomError::Created {
                value: s.to_string(),
                reason: e.to_string(),
            })?
        }
        (None, Some(c)) => {
            time::OffsetDateTime::parse(c, &Rfc3339).map_err(|e| SbomError::Created {
                value: c.to_string(),
                reason: e.to_string(),
            })?
        }
        (None, None) => time::OffsetDateTime::UNIX_EPOCH,
    };
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("0 ns is valid");
    Ok(t.format(&Rfc3339).expect("a UTC time formats"))
}

/// Runs the catalogers over the final filesystem.
fn packages(fs: &Final, layers: &[LayerInfo]) -> Vec<Package> {
    let distro = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| match fs.get(*p) {
            Some((_, Content::Text(_, b))) => Some(os_release::parse(&String::from_utf8_lossy(b))),
            _ => None,
        })
        .unwrap_or_default();
    let projects = npm_projects(fs);
    let mut found: BTreeMap<(PackageType, String, String, String), BTreeSet<Found>> =
        BTreeMap::new();
    for (path, (index, content)) in fs {
        let layer = &layers[*index];
        let at = Found {
            path: format!("/{path}"),
            layer: layer
                .diff_id
                .clone()
                .unwrap_or_else(|| layer.digest.clone()),
            layer_index: *index,
        };
        for p in read(path, content, &distro, &projects) {
            found
                .entry((p.kind, p.name, p.version, p.purl))
                .or_default()
                .insert(at.clone());
        }
    }
    found
        .into_iter()
        .map(|((kind, name, version, purl), at)| Package {
            name,
            version,
            kind,
            purl,
            locations: at.into_iter().collect(),
        })
        .collect()
}

/// The packages one file records.
fn read(
    path: &str,
    content: &Content,
    distro: &Distro,
    projects: &BTreeSet<&str>,
) -> Vec<Cataloged> {
    let (kind, bytes) = match content {
        Content::Binary(found) => return found.clone(),
        Content::Marker(_) => return Vec::new(),
        Content::Text(kind, bytes) => (*kind, bytes),
    };
    let text = || String::from_utf8_lossy(bytes);
    match kind {
        Kind::OsRelease | Kind::NpmLock => Vec::new(),
        Kind::DpkgStatus => dpkg::parse(&text(), false, distro),
        Kind::DpkgStatusD => dpkg::parse(&text(), true, distro),
        Kind::Apk => apk::parse(&text(), distro),
        Kind::Python => python::parse(&text()).into_iter().collect(),
        Kind::NpmProject if !projects.contains(parent(path)) => Vec::new(),
        Kind::NpmModule | Kind::NpmProject => match npm::parse(bytes) {
            Ok(p) => p.into_iter().collect(),
            Err(e) => {
                tracing::warn!(path = %format!("/{path}"), error = %e, "SBOM: package.json is not valid JSON; skipped");
                Vec::new()
            }
        },
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Directories that are npm projects: they hold a `package-lock.json` or packages in a
/// `node_modules`.
fn npm_projects(fs: &Final) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for (path, (_, content)) in fs {
        match content {
            Content::Marker(Kind::NpmLock) => {
                out.insert(parent(path));
            }
            Content::Text(Kind::NpmModule, _) => {
                let top = match path.find("node_modules/") {
                    Some(0) => "",
                    Some(i) => &path[..i - 1],
                    None => continue,
                };
                out.insert(top);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
