//! Python: the core metadata (`Name:`, `Version:` headers) of installed distributions,
//! `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` or a `*.egg-info` file, in a
//! `site-packages` or `dist-packages` directory.

use crate::sbom::package::{Cataloged, PackageType};
use crate::sbom::purl;

/// The distribution a metadata file describes; `None` without a name and version.
pub fn parse(text: &str) -> Option<Cataloged> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.is_empty() {
            break; // the headers end; the body is the description
        }
        if let Some((k, v)) = line.split_once(':') {
            match k {
                "Name" if name.is_none() => name = Some(v.trim()),
                "Version" if version.is_none() => version = Some(v.trim()),
                _ => {}
            }
        }
    }
    let (name, version) = (name?, version?);
    Some(Cataloged {
        name: name.to_string(),
        version: version.to_string(),
        kind: PackageType::Python,
        purl: purl::make("pypi", None, &normalize(name), version, &[]),
    })
}

/// PEP 503's normalized name (lower case, runs of `-_.` as one `-`), as the purl spec asks.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_headers() {
        let p = parse(
            "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.1\nSummary: x\n\nName: not-this\n",
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("PyYAML", "6.0.1"));
        assert_eq!(p.purl, "pkg:pypi/pyyaml@6.0.1");
        assert_eq!(normalize("zope.interface__x"), "zope-interface-x");
        assert!(parse("Name: x\n").is_none());
    }
}
