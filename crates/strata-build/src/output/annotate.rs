//! The annotations on the built image's manifest: the caller's ([`BuildOptions::annotations`]:
//! `--annotation`, git and CI metadata, the build record — the binary computes them) and,
//! when [`BuildOptions::auto_annotations`] is on, the builder's own: `base.name` and
//! `base.digest` of the image the target is built on, and `created` (the image config's
//! `created`, so a build that hits the cache keeps its digest). A caller's key always wins.
//! Must not: read git, the environment or the clock.

use std::collections::BTreeMap;

use strata_oci::Digest;

use crate::options::BuildOptions;

/// `org.opencontainers.image.base.name` (image-spec `annotations.md`).
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
/// `org.opencontainers.image.base.digest`.
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
/// `org.opencontainers.image.created`.
pub const CREATED: &str = "org.opencontainers.image.created";

/// The image a stage was built `FROM`, as the build resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The full reference it was found or pulled under (`docker.io/library/busybox:1.36`),
    /// or the name as written when that is no reference (an image ID).
    pub name: String,
    /// The digest of the manifest the build used.
    pub digest: Digest,
}

/// The manifest annotations of the built image.
pub fn manifest_annotations(
    opts: &BuildOptions,
    base: Option<&BaseImage>,
    created: Option<&str>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if opts.auto_annotations {
        if let Some(base) = base {
            out.insert(BASE_NAME.to_owned(), base.name.clone());
            out.insert(BASE_DIGEST.to_owned(), base.digest.to_string());
        }
        if let Some(created) = created {
            out.insert(CREATED.to_owned(), created.to_owned());
        }
    }
    out.extend(opts.annotations.clone());
    out
}

/// Adds `"linkedLayers": n` to the JSON object in annotation `key`: the image's `n` layers
/// above its base all came from linked copies, so it can be re-based without a rebuild. An
/// annotation that is absent or not a JSON object (an `--annotation` replaced it) is left
/// as it is.
pub fn record_linked_layers(annotations: &mut BTreeMap<String, String>, key: &str, n: usize) {
    let Some(text) = annotations.get_mut(key) else {
        return;
    };
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(text) else {
        return;
    };
    object.insert("linkedLayers".to_owned(), n.into());
    *text = serde_json::Value::Object(object).to_string();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BaseImage {
        BaseImage {
            name: "docker.io/library/busybox:1.36".into(),
            digest: Digest::of(b"m"),
        }
    }

    #[test]
    fn automatic_ones_only_when_asked_and_the_callers_win() {
        let mut opts = BuildOptions::new("/ctx");
        opts.annotations.insert("a".into(), "1".into());
        let got = manifest_annotations(&opts, Some(&base()), Some("2024-01-01T00:00:00Z"));
        assert_eq!(got, BTreeMap::from([("a".into(), "1".into())]));

        opts.auto_annotations = true;
        opts.annotations
            .insert(CREATED.into(), "2000-01-01T00:00:00Z".into());
        let got = manifest_annotations(&opts, Some(&base()), Some("2024-01-01T00:00:00Z"));
        assert_eq!(got[BASE_NAME], "docker.io/library/busybox:1.36");
        assert_eq!(got[BASE_DIGEST], Digest::of(b"m").to_string());
        assert_eq!(got[CREATED], "2000-01-01T00:00:00Z");
        assert_eq!(got["a"], "1");
    }

    #[test]
    fn linked_layers_go_into_a_json_object_only() {
        let mut a = BTreeMap::from([
            ("rec".to_owned(), r#"{"source":"/src"}"#.to_owned()),
            ("text".to_owned(), "plain".to_owned()),
        ]);
        record_linked_layers(&mut a, "rec", 2);
        record_linked_layers(&mut a, "text", 2);
        record_linked_layers(&mut a, "absent", 2);
        assert_eq!(a["rec"], r#"{"source":"/src","linkedLayers":2}"#);
        assert_eq!(a["text"], "plain");
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn scratch_has_no_base() {
        let mut opts = BuildOptions::new("/ctx");
        opts.auto_annotations = true;
        let got = manifest_annotations(&opts, None, None);
        assert!(got.is_empty());
    }
}
