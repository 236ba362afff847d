//! apk: `lib/apk/db/installed` (`P:` name, `V:` version, `A:` arch, `o:` origin).

use super::control::{field, paragraphs};
use super::os_release::Distro;
use crate::sbom::package::{Cataloged, PackageType};
use crate::sbom::purl;

/// The packages of an apk database.
pub fn parse(text: &str, distro: &Distro) -> Vec<Cataloged> {
    paragraphs(text)
        .iter()
        .filter_map(|p| {
            let name = field(p, "P")?;
            let version = field(p, "V")?;
            let arch = field(p, "A").unwrap_or("");
            let ns = if distro.id.is_empty() {
                "alpine"
            } else {
                &distro.id
            };
            let qualifier = distro.qualifier();
            let origin = field(p, "o").filter(|o| *o != name).unwrap_or("");
            let q = [
                ("arch", arch),
                ("distro", qualifier.as_str()),
                ("upstream", origin),
            ];
            Some(Cataloged {
                name: name.to_string(),
                version: version.to_string(),
                kind: PackageType::Apk,
                purl: purl::make("apk", Some(ns), name, version, &q),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_the_database() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nC:Q1def=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n";
        let d = Distro {
            id: "alpine".into(),
            version_id: "3.19.1".into(),
        };
        let got = parse(db, &d);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].purl,
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"
        );
        assert_eq!(
            got[1].purl,
            "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
        );
    }
}
