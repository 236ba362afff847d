//! Without maintainer scripts, a few files an image needs are missing because a `postinst`
//! makes them. The ones strata makes itself, as the script would:
//! - `ca-certificates`: `/etc/ssl/certs/ca-certificates.crt`, the bundle
//!   `update-ca-certificates` concatenates from every certificate under
//!   `/usr/share/ca-certificates` (all enabled, the package's default), in path order.
//!
//! Google's distroless generates the same bundle at build time.

use strata_archive::{Entry, EntryKind, FileSource};

use super::Unpacked;
use crate::dpkg::file;

/// The generated files for the installed `pkgs` (none when no package needs one).
pub fn no_script_files(pkgs: &[Unpacked], epoch: i64) -> Vec<Entry> {
    let mut out = Vec::new();
    if let Some(ca) = pkgs.iter().find(|p| p.name() == "ca-certificates") {
        let mut certs: Vec<(&str, &[u8])> = ca
            .deb
            .files
            .iter()
            .filter(|f| {
                f.path.starts_with("usr/share/ca-certificates/") && f.path.ends_with(".crt")
            })
            .filter_map(|f| match &f.kind {
                EntryKind::File {
                    source: FileSource::Bytes(b),
                    ..
                } => Some((f.path.as_str(), &b[..])),
                _ => None,
            })
            .collect();
        certs.sort();
        let mut bundle = Vec::new();
        for (_, pem) in certs {
            bundle.extend_from_slice(pem);
            if !bundle.ends_with(b"\n") {
                bundle.push(b'\n');
            }
        }
        out.push(file(
            "etc/ssl/certs/ca-certificates.crt",
            bundle,
            0o644,
            epoch,
        ));
    }
    out
}
