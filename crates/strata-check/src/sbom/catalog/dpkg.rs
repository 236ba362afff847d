//! dpkg: `var/lib/dpkg/status` (installed packages: `Status: … installed`) and distroless'
//! `var/lib/dpkg/status.d/*` (one paragraph per file, no `Status`).

use super::control::{field, paragraphs};
use super::os_release::Distro;
use crate::sbom::package::{Cataloged, PackageType};
use crate::sbom::purl;

/// The installed packages of a status file. `status_d`: a `status.d/` file, whose
/// paragraphs have no `Status` and are all installed.
pub fn parse(text: &str, status_d: bool, distro: &Distro) -> Vec<Cataloged> {
    paragraphs(text)
        .iter()
        .filter(|p| status_d || field(p, "Status").is_some_and(is_installed))
        .filter_map(|p| {
            let name = field(p, "Package")?;
            let version = field(p, "Version")?;
            let arch = field(p, "Architecture").unwrap_or("");
            let ns = if distro.id.is_empty() {
                "debian"
            } else {
                &distro.id
            };
            let qualifier = distro.qualifier();
            let mut q = vec![("arch", arch), ("distro", qualifier.as_str())];
            let upstream;
            if let Some(src) = field(p, "Source") {
                upstream = source_qualifier(src);
                q.push(("upstream", &upstream));
            }
            Some(Cataloged {
                name: name.to_string(),
                version: version.to_string(),
                kind: PackageType::Deb,
                purl: purl::make("deb", Some(ns), name, version, &q),
            })
        })
        .collect()
}

/// `Status: install ok installed`: the last word is the state.
fn is_installed(status: &str) -> bool {
    status.split_whitespace().last() == Some("installed")
}

/// `Source: glibc (2.36-9)` → `glibc@2.36-9`, `Source: glibc` → `glibc`.
fn source_qualifier(src: &str) -> String {
    match src.split_once(' ') {
        Some((name, v)) => format!("{name}@{}", v.trim().trim_matches(['(', ')'])),
        None => src.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: bash\nEssential: yes\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\nDescription: GNU shell\n multi line\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n";

    #[test]
    fn installed_packages_only() {
        let d = Distro {
            id: "debian".into(),
            version_id: "12".into(),
        };
        let got = parse(STATUS, false, &d);
        let names: Vec<_> = got
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [("bash", "5.2.15-2+b2"), ("libc6", "2.36-9+deb12u4")]
        );
        assert_eq!(
            got[0].purl,
            "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            got[1].purl,
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
        );
    }

    #[test]
    fn distroless_status_d_has_no_status() {
        let got = parse(
            "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
            true,
            &Distro::default(),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].purl,
            "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all"
        );
    }
}
