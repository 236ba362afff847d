//! The referrers API: which manifests name a given one as their `subject`, listed as an OCI
//! index of descriptors (each with `artifactType` and the manifest's annotations), filtered
//! by `artifactType`, plus the referrers tag schema (`sha256-<hex>`) clients fall back to on
//! registries without the API.

use std::collections::BTreeMap;

use serde::Deserialize;
use strata_oci::{Descriptor, Digest, ImageIndex};
use thiserror::Error;

use crate::names::Tag;

/// The value of `OCI-Filters-Applied` when the `artifactType` filter was applied.
pub const ARTIFACT_TYPE_FILTER: &str = "artifactType";

/// Why a manifest's referrer descriptor cannot be made.
#[derive(Debug, Error)]
pub enum ReferrersError {
    #[error("manifest {digest} is not JSON with a valid subject")]
    Manifest {
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaTypeOnly {
    media_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectView {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<MediaTypeOnly>,
    #[serde(default)]
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A manifest that names a subject: the subject's digest and the descriptor to list under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referrer {
    pub subject: Digest,
    pub descriptor: Descriptor,
}

impl Referrer {
    /// Reads a pushed manifest (`body` with digest `digest`, media type `media_type` as
    /// resolved from the push): `None` when it has no subject. The descriptor's
    /// `artifactType` is the manifest's own, else its config's media type (spec v1.1).
    pub fn from_manifest(
        body: &[u8],
        digest: &Digest,
        media_type: &str,
    ) -> Result<Option<Referrer>, ReferrersError> {
        let view: SubjectView =
            crate::json::from_object(body).map_err(|source| ReferrersError::Manifest {
                digest: digest.clone(),
                source,
            })?;
        let Some(subject) = view.subject else {
            return Ok(None);
        };
        let media_type = view.media_type.unwrap_or_else(|| media_type.to_owned());
        let mut descriptor = Descriptor::new(&media_type, digest.clone(), body.len() as u64);
        descriptor.artifact_type = view.artifact_type.or(view.config.map(|c| c.media_type));
        descriptor.annotations = view.annotations;
        Ok(Some(Referrer {
            subject: subject.digest,
            descriptor,
        }))
    }
}

/// The referrers response body: an OCI index of `descriptors`.
pub fn referrers_index(descriptors: Vec<Descriptor>) -> ImageIndex {
    ImageIndex::oci(descriptors)
}

/// Keeps the descriptors whose `artifactType` is `artifact_type` (all of them without a
/// filter); the flag says whether a filter was applied (then the server sends
/// `OCI-Filters-Applied: artifactType`).
pub fn filter_by_artifact_type(
    descriptors: Vec<Descriptor>,
    artifact_type: Option<&str>,
) -> (Vec<Descriptor>, bool) {
    match artifact_type {
        None => (descriptors, false),
        Some(wanted) => {
            let kept = descriptors
                .into_iter()
                .filter(|d| d.artifact_type.as_deref() == Some(wanted))
                .collect();
            (kept, true)
        }
    }
}

/// The referrers tag schema's tag for a subject: `sha256-<hex>`.
pub fn fallback_tag(subject: &Digest) -> Tag {
    format!("{}-{}", subject.algorithm(), subject.hex())
        .parse()
        .expect("sha256-<64 hex> is a valid tag")
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_oci::media_types;

    fn subject() -> Digest {
        Digest::of(b"subject")
    }

    fn artifact(artifact_type: Option<&str>, config_type: &str) -> Vec<u8> {
        let mut v = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_types::OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": Digest::of(b"c").to_string(), "size": 2},
            "layers": [],
            "subject": {"mediaType": media_types::OCI_MANIFEST, "digest": subject().to_string(), "size": 10},
            "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
        });
        if let Some(t) = artifact_type {
            v["artifactType"] = t.into();
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn referrer_descriptors() {
        let body = artifact(
            Some("application/vnd.example.sbom"),
            "application/vnd.oci.empty.v1+json",
        );
        let digest = Digest::of(&body);
        let r = Referrer::from_manifest(&body, &digest, media_types::OCI_MANIFEST)
            .unwrap()
            .unwrap();
        assert_eq!(r.subject, subject());
        assert_eq!(r.descriptor.digest, digest);
        assert_eq!(r.descriptor.size, body.len() as u64);
        assert_eq!(
            r.descriptor.artifact_type.as_deref(),
            Some("application/vnd.example.sbom")
        );
        assert_eq!(r.descriptor.annotations.len(), 1);

        // Without artifactType, the config's media type stands in.
        let body = artifact(None, "application/vnd.example.sig.config");
        let r = Referrer::from_manifest(&body, &Digest::of(&body), media_types::OCI_MANIFEST)
            .unwrap()
            .unwrap();
        assert_eq!(
            r.descriptor.artifact_type.as_deref(),
            Some("application/vnd.example.sig.config")
        );

        let plain = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]}"#;
        assert_eq!(
            Referrer::from_manifest(plain, &Digest::of(plain), media_types::OCI_MANIFEST).unwrap(),
            None
        );
    }

    #[test]
    fn malformed_manifests() {
        for body in [
            &b""[..],
            b"<html>",
            br#"{"subject":{"digest":"sha256:1"}}"#,
            br#"{"subject":5}"#,
        ] {
            assert!(
                matches!(
                    Referrer::from_manifest(body, &Digest::of(body), media_types::OCI_MANIFEST),
                    Err(ReferrersError::Manifest { .. })
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn index_and_filter() {
        let mut sbom = Descriptor::new(media_types::OCI_MANIFEST, Digest::of(b"1"), 1);
        sbom.artifact_type = Some("application/vnd.example.sbom".into());
        let mut sig = Descriptor::new(media_types::OCI_MANIFEST, Digest::of(b"2"), 2);
        sig.artifact_type = Some("application/vnd.example.sig".into());
        let all = vec![sbom.clone(), sig.clone()];

        let (kept, applied) = filter_by_artifact_type(all.clone(), None);
        assert_eq!((kept.len(), applied), (2, false));
        let (kept, applied) =
            filter_by_artifact_type(all.clone(), Some("application/vnd.example.sig"));
        assert_eq!((kept, applied), (vec![sig], true));
        let (kept, applied) = filter_by_artifact_type(all.clone(), Some("none"));
        assert_eq!((kept.len(), applied), (0, true));

        let index = referrers_index(vec![sbom]);
        let json: serde_json::Value =
            serde_json::from_slice(&strata_oci::to_canonical_json(&index)).unwrap();
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["mediaType"], media_types::OCI_INDEX);
        assert_eq!(
            json["manifests"][0]["artifactType"],
            "application/vnd.example.sbom"
        );
        let empty = serde_json::to_value(referrers_index(vec![])).unwrap();
        assert_eq!(empty["manifests"], serde_json::json!([]));
    }

    #[test]
    fn fallback_tags() {
        let d = subject();
        assert_eq!(fallback_tag(&d).as_str(), format!("sha256-{}", d.hex()));
    }
}
