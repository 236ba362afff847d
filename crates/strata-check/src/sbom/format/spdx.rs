//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>): the image as a package that
//! the document DESCRIBES and that CONTAINS every package found; each package with its
//! purl as a PACKAGE-MANAGER external reference and where it was found as `sourceInfo`.

use serde_json::{json, Value};

use super::{image_purl, package_hash, tool_version};
use crate::sbom::{Package, Sbom};

/// The image's SPDX identifier.
const IMAGE_ID: &str = "SPDXRef-Image";

/// The document's namespace: unique per image, stable across runs.
pub fn namespace(sbom: &Sbom) -> String {
    format!(
        "https://strata.dev/sbom/spdx/{}/{}",
        sbom.subject.digest.algorithm(),
        sbom.subject.digest.hex()
    )
}

/// The SPDX identifier of a package: `SPDXRef-Package-TYPE-NAME-HASH` (letters, digits,
/// `.` and `-` only).
pub fn package_id(p: &Package) -> String {
    let name: String = p
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "SPDXRef-Package-{}-{name}-{}",
        p.kind.as_str(),
        package_hash(p)
    )
}

/// The document.
pub fn document(sbom: &Sbom) -> Value {
    let mut packages = vec![image(sbom)];
    packages.extend(sbom.packages.iter().map(package));
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": IMAGE_ID,
    })];
    relationships.extend(sbom.packages.iter().map(|p| {
        json!({
            "spdxElementId": IMAGE_ID,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": package_id(p),
        })
    }));
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": sbom.subject.name,
        "documentNamespace": namespace(sbom),
        "creationInfo": {
            "created": sbom.subject.created,
            "creators": [format!("Tool: strata-{}", tool_version())],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

fn image(sbom: &Sbom) -> Value {
    json!({
        "name": sbom.subject.name,
        "SPDXID": IMAGE_ID,
        "versionInfo": sbom.subject.digest.to_string(),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER",
        "externalRefs": [purl_ref(&image_purl(sbom))],
    })
}

fn package(p: &Package) -> Value {
    let at: Vec<String> = p
        .locations
        .iter()
        .map(|l| format!("{} (layer {})", l.path, l.layer))
        .collect();
    json!({
        "name": p.name,
        "SPDXID": package_id(p),
        "versionInfo": p.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "sourceInfo": format!("{} package found at: {}", p.kind.as_str(), at.join(", ")),
        "primaryPackagePurpose": "LIBRARY",
        "externalRefs": [purl_ref(&p.purl)],
    })
}

fn purl_ref(purl: &str) -> Value {
    json!({
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": purl,
    })
}
