//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>): the image as
//! `metadata.component` (type `container`), every package a `library` component with its
//! purl and, as properties, its type and where it was found; the image depends on all.

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::{image_purl, package_hash, tool_version};
use crate::sbom::{Package, Sbom};

/// The image's `bom-ref`.
const IMAGE_REF: &str = "image";

/// `urn:uuid:…`, derived from the image digest (a name-based UUID: version 8, RFC 9562).
pub fn serial_number(sbom: &Sbom) -> String {
    let h = Sha256::digest(format!("strata-sbom-cyclonedx:{}", sbom.subject.digest).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// A package's `bom-ref`.
pub fn bom_ref(p: &Package) -> String {
    format!("pkg-{}-{}", p.kind.as_str(), package_hash(p))
}

/// The document.
pub fn document(sbom: &Sbom) -> Value {
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial_number(sbom),
        "version": 1,
        "metadata": {
            "timestamp": sbom.subject.created,
            "tools": {"components": [{
                "type": "application",
                "name": "strata",
                "version": tool_version(),
            }]},
            "component": {
                "bom-ref": IMAGE_REF,
                "type": "container",
                "name": sbom.subject.name,
                "version": sbom.subject.digest.to_string(),
                "purl": image_purl(sbom),
            },
        },
        "components": sbom.packages.iter().map(component).collect::<Vec<_>>(),
        "dependencies": [{
            "ref": IMAGE_REF,
            "dependsOn": sbom.packages.iter().map(bom_ref).collect::<Vec<_>>(),
        }],
    })
}

fn component(p: &Package) -> Value {
    let mut properties = vec![json!({"name": "strata:package:type", "value": p.kind.as_str()})];
    for (i, l) in p.locations.iter().enumerate() {
        properties.push(json!({"name": format!("strata:location:{i}:path"), "value": l.path}));
        properties.push(
            json!({"name": format!("strata:location:{i}:layerID"), "value": l.layer.to_string()}),
        );
    }
    json!({
        "bom-ref": bom_ref(p),
        "type": "library",
        "name": p.name,
        "version": p.version,
        "purl": p.purl,
        "properties": properties,
    })
}
