use strata_oci::Digest;

use super::*;
use crate::sbom::{Found, PackageType, Subject};

fn sbom() -> Sbom {
    let at = |path: &str| Found {
        path: path.into(),
        layer: Digest::of(b"diff0"),
        layer_index: 0,
    };
    Sbom {
        subject: Subject {
            name: "registry.local/team/app:1.0".into(),
            digest: Digest::of(b"manifest"),
            created: "2024-05-01T08:00:00Z".into(),
        },
        packages: vec![
            Package {
                name: "bash".into(),
                version: "5.2".into(),
                kind: PackageType::Deb,
                purl: "pkg:deb/debian/bash@5.2?arch=amd64".into(),
                locations: vec![at("/var/lib/dpkg/status")],
            },
            Package {
                name: "@babel/core".into(),
                version: "7.24.0".into(),
                kind: PackageType::Npm,
                purl: "pkg:npm/%40babel/core@7.24.0".into(),
                locations: vec![at("/app/node_modules/@babel/core/package.json")],
            },
        ],
    }
}

#[test]
fn spdx_has_the_required_fields_and_valid_ids() {
    let doc = spdx::document(&sbom());
    for key in [
        "spdxVersion",
        "dataLicense",
        "SPDXID",
        "name",
        "documentNamespace",
        "creationInfo",
    ] {
        assert!(doc.get(key).is_some(), "{key}");
    }
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2024-05-01T08:00:00Z");
    let pkgs = doc["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), 3);
    for p in pkgs {
        let id = p["SPDXID"].as_str().unwrap();
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
        for key in ["name", "downloadLocation"] {
            assert!(p.get(key).is_some(), "{id} {key}");
        }
    }
    assert_eq!(
        pkgs[2]["externalRefs"][0]["referenceLocator"],
        "pkg:npm/%40babel/core@7.24.0"
    );
    assert_eq!(doc["relationships"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["documentNamespace"],
        format!(
            "https://strata.dev/sbom/spdx/sha256/{}",
            Digest::of(b"manifest").hex()
        )
    );
}

#[test]
fn cyclonedx_has_the_required_fields() {
    let doc = cyclonedx::document(&sbom());
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    let serial = doc["serialNumber"].as_str().unwrap();
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    let comps = doc["components"].as_array().unwrap();
    assert_eq!(comps.len(), 2);
    for c in comps {
        assert_eq!(c["type"], "library");
        assert!(c["name"].is_string() && c["bom-ref"].is_string());
    }
    assert_eq!(doc["metadata"]["component"]["type"], "container");
    assert_eq!(
        doc["metadata"]["component"]["purl"],
        format!("pkg:oci/app@sha256%3A{}", Digest::of(b"manifest").hex())
    );
}

#[test]
fn documents_are_deterministic() {
    for f in [Format::SpdxJson, Format::CycloneDxJson, Format::Table] {
        assert_eq!(render(&sbom(), f), render(&sbom(), f));
    }
    assert_eq!(
        render(&sbom(), Format::Table)
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["NAME", "VERSION", "TYPE"]
    );
}
