//! Which image of an index a platform picks, as docker and containerd pick it.

use strata_oci::media_types;
use strata_oci::{Descriptor, ImageIndex, Platform};

use super::error::{Result, TransferError};

/// The first image manifest of `index` whose platform matches `wanted` (an exact variant
/// preferred over an entry without one). Entries that are not image manifests and
/// `unknown/unknown` entries (BuildKit's attestations) never match. None matching is an
/// error that lists the platforms the index has.
pub fn select<'a>(index: &'a ImageIndex, wanted: &Platform, image: &str) -> Result<&'a Descriptor> {
    let candidates = || {
        index
            .manifests
            .iter()
            .filter(|d| media_types::is_manifest(&d.media_type))
            .filter_map(|d| d.platform.as_ref().map(|p| (d, p)))
    };
    let exact = candidates().find(|(_, p)| {
        wanted.matches(p) && (wanted.variant.is_none() || p.variant == wanted.variant)
    });
    let any = || candidates().find(|(_, p)| wanted.matches(p));
    if let Some((desc, _)) = exact.or_else(any) {
        return Ok(desc);
    }
    Err(TransferError::NoPlatform {
        image: image.to_owned(),
        wanted: wanted.to_string(),
        available: available(index),
    })
}

/// `linux/amd64, linux/arm64` (attestations left out), or `none` for an empty index.
fn available(index: &ImageIndex) -> String {
    let list: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(Platform::to_string)
        .collect();
    match list.is_empty() {
        true => "none".to_owned(),
        false => list.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_oci::media_types::OCI_MANIFEST;
    use strata_oci::Digest;

    fn entry(n: u8, os: &str, arch: &str, variant: Option<&str>) -> Descriptor {
        let mut d = Descriptor::new(OCI_MANIFEST, Digest::of(&[n]), 10);
        d.platform = Some(Platform {
            architecture: arch.into(),
            os: os.into(),
            variant: variant.map(Into::into),
        });
        d
    }

    fn index() -> ImageIndex {
        ImageIndex::oci(vec![
            entry(0, "unknown", "unknown", None),
            entry(1, "linux", "amd64", None),
            entry(2, "linux", "arm", Some("v6")),
            entry(3, "linux", "arm", Some("v7")),
            entry(4, "linux", "arm64", Some("v8")),
        ])
    }

    #[test]
    fn picks_by_os_arch_and_variant() {
        let idx = index();
        let pick = |p: &str| {
            select(&idx, &p.parse().unwrap(), "x")
                .unwrap()
                .digest
                .clone()
        };
        assert_eq!(pick("linux/amd64"), Digest::of(&[1]));
        assert_eq!(pick("linux/arm/v6"), Digest::of(&[2]));
        assert_eq!(pick("linux/arm"), Digest::of(&[3]));
        assert_eq!(pick("linux/arm64"), Digest::of(&[4]));
    }

    #[test]
    fn no_match_lists_the_platforms() {
        let err = select(&index(), &"linux/s390x".parse().unwrap(), "reg/app:1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "reg/app:1 has no image for platform linux/s390x (it has: linux/amd64, \
             linux/arm/v6, linux/arm/v7, linux/arm64/v8)"
        );
    }
}
