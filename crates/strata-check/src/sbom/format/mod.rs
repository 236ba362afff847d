//! The documents an [`Sbom`] is written as. All are deterministic: the same image gives
//! the same bytes (packages sorted; identifiers derived from the image digest and the
//! packages; the time is [`Subject::created`](super::Subject)).

pub mod cyclonedx;
pub mod spdx;
pub mod table;

use sha2::{Digest as _, Sha256};

use super::{Package, Sbom};

/// A document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// CycloneDX 1.6 JSON.
    CycloneDxJson,
    /// A table for people: NAME VERSION TYPE.
    Table,
}

impl Format {
    /// The media type of the document, the `artifactType` of its referrer manifest.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::SpdxJson => "application/spdx+json",
            Format::CycloneDxJson => "application/vnd.cyclonedx+json",
            Format::Table => "text/plain",
        }
    }
}

/// The document for `sbom`, ending with a newline.
pub fn render(sbom: &Sbom, format: Format) -> String {
    match format {
        Format::SpdxJson => json(&spdx::document(sbom)),
        Format::CycloneDxJson => json(&cyclonedx::document(sbom)),
        Format::Table => table::render(sbom),
    }
}

fn json(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a JSON value serializes");
    s.push('\n');
    s
}

/// The tool that made the document, `strata-VERSION`.
pub(crate) fn tool_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// A short stable identifier of a package: 16 hex digits of the SHA-256 of its type,
/// name, version and purl.
pub(crate) fn package_hash(p: &Package) -> String {
    let mut h = Sha256::new();
    for part in [p.kind.as_str(), &p.name, &p.version, &p.purl] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// `pkg:oci/NAME@sha256%3A…` for the image (the name's last path component, as the
/// purl spec's oci type asks).
pub(crate) fn image_purl(sbom: &Sbom) -> String {
    let name = sbom
        .subject
        .name
        .rsplit('/')
        .next()
        .unwrap_or(&sbom.subject.name);
    let name = name
        .split([':', '@'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    super::purl::make("oci", None, &name, &sbom.subject.digest.to_string(), &[])
}

#[cfg(test)]
mod tests;
