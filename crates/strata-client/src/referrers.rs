//! Pushing an artifact as an OCI 1.1 referrer of a manifest (an SBOM of an image): an image
//! manifest with `artifactType`, the empty config, one layer (the document) and `subject`.
//! A registry with the referrers API says so with `OCI-Subject` on the push; without it,
//! the referrers tag schema is kept up to date instead: tag `sha256-<hex>` of the subject
//! holds an index of its referrers, merged with the one already there (spec v1.1,
//! "Pushing Manifests with Subject").

use std::collections::BTreeMap;

use serde_json::json;
use strata_distribution::referrers::fallback_tag;
use strata_distribution::{ManifestRef, RepositoryName};
use strata_oci::media_types::{OCI_INDEX, OCI_MANIFEST};
use strata_oci::{Descriptor, Digest, ImageIndex};

use crate::error::{ClientError, Result};
use crate::transport::Registry;

/// The empty descriptor's media type (image-spec v1.1).
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's content.
pub const EMPTY_JSON: &[u8] = b"{}";

/// An artifact to attach to a subject.
#[derive(Debug, Clone)]
pub struct Artifact<'a> {
    /// The manifest's `artifactType`, also the layer's media type
    /// (`application/spdx+json`).
    pub artifact_type: &'a str,
    /// The layer's bytes.
    pub document: &'a [u8],
    /// The manifest's annotations (`org.opencontainers.image.created`, …).
    pub annotations: BTreeMap<String, String>,
}

/// How the registry learnt about the referrer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// The registry's referrers API lists it (it answered `OCI-Subject`).
    Api,
    /// The registry has no referrers API: the index at this tag lists it.
    TagSchema(String),
}

/// What [`Registry::push_referrer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedReferrer {
    /// The referrer manifest's digest.
    pub digest: Digest,
    pub listed: Listed,
}

/// The referrer manifest of `artifact` for `subject`, as bytes.
pub fn referrer_manifest(subject: &Descriptor, artifact: &Artifact<'_>) -> Vec<u8> {
    let layer = Descriptor::new(
        artifact.artifact_type,
        Digest::of(artifact.document),
        artifact.document.len() as u64,
    );
    let subject = Descriptor::new(&subject.media_type, subject.digest.clone(), subject.size);
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact.artifact_type,
        "config": empty_descriptor(),
        "layers": [layer],
        "subject": subject,
    });
    if !artifact.annotations.is_empty() {
        m["annotations"] = json!(artifact.annotations);
    }
    serde_json::to_vec(&m).expect("a manifest serializes")
}

fn empty_descriptor() -> Descriptor {
    Descriptor::new(
        EMPTY_MEDIA_TYPE,
        Digest::of(EMPTY_JSON),
        EMPTY_JSON.len() as u64,
    )
}

impl Registry {
    /// Pushes `artifact` to `repo` as a referrer of `subject` (a manifest of `repo`): the
    /// empty config and the document, then the manifest by digest; without the referrers
    /// API, the `sha256-<hex>` index gets its descriptor too.
    pub fn push_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Descriptor,
        artifact: &Artifact<'_>,
    ) -> Result<PushedReferrer> {
        for blob in [EMPTY_JSON, artifact.document] {
            let digest = Digest::of(blob);
            if !self.blob_exists(repo, &digest)? {
                self.push_blob(repo, &digest, blob.len() as u64, blob, None)?;
            }
        }
        let manifest = referrer_manifest(subject, artifact);
        let digest = Digest::of(&manifest);
        let reference = ManifestRef::Digest(digest.clone());
        let (_, said) = self.put_manifest_answered(repo, &reference, &manifest, OCI_MANIFEST)?;
        if said.is_some() {
            tracing::debug!(%digest, subject = %subject.digest, "referrer listed by the registry's referrers API");
            return Ok(PushedReferrer {
                digest,
                listed: Listed::Api,
            });
        }
        let mut descriptor = Descriptor::new(OCI_MANIFEST, digest.clone(), manifest.len() as u64);
        descriptor.artifact_type = Some(artifact.artifact_type.to_owned());
        descriptor.annotations = artifact.annotations.clone();
        let tag = self.add_to_referrers_tag(repo, &subject.digest, descriptor)?;
        tracing::debug!(%digest, %tag, "no referrers API: referrer listed in the tag schema index");
        Ok(PushedReferrer {
            digest,
            listed: Listed::TagSchema(tag),
        })
    }

    /// Adds `descriptor` to the index at the subject's `sha256-<hex>` tag (made when
    /// missing; a descriptor of the same digest is not added twice). Returns the tag.
    fn add_to_referrers_tag(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        descriptor: Descriptor,
    ) -> Result<String> {
        let tag = fallback_tag(subject);
        let reference = ManifestRef::Tag(tag.clone());
        let mut index = match self.get_manifest(repo, &reference) {
            Ok(m) => serde_json::from_slice::<ImageIndex>(&m.bytes).map_err(|source| {
                ClientError::BadManifest {
                    registry: self.host().to_owned(),
                    reference: format!("{repo}:{}", tag.as_str()),
                    media_type: OCI_INDEX,
                    source,
                }
            })?,
            Err(ClientError::NotFound { .. }) => ImageIndex::oci(Vec::new()),
            Err(e) => return Err(e),
        };
        if !index
            .manifests
            .iter()
            .any(|d| d.digest == descriptor.digest)
        {
            index.manifests.push(descriptor);
        }
        index.media_type = Some(OCI_INDEX.to_owned());
        let bytes = serde_json::to_vec(&index).expect("an index serializes");
        self.put_manifest(repo, &reference, &bytes, OCI_INDEX)?;
        Ok(tag.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_referrer_manifest_names_its_subject_and_artifact_type() {
        let subject = Descriptor::new(OCI_MANIFEST, Digest::of(b"image"), 5);
        let artifact = Artifact {
            artifact_type: "application/spdx+json",
            document: b"{\"spdxVersion\":\"SPDX-2.3\"}",
            annotations: BTreeMap::new(),
        };
        let m: serde_json::Value =
            serde_json::from_slice(&referrer_manifest(&subject, &artifact)).unwrap();
        assert_eq!(m["artifactType"], "application/spdx+json");
        assert_eq!(m["config"]["mediaType"], EMPTY_MEDIA_TYPE);
        assert_eq!(
            m["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(m["layers"][0]["mediaType"], "application/spdx+json");
        assert_eq!(m["subject"]["digest"], Digest::of(b"image").to_string());
        assert!(m.get("annotations").is_none());
    }
}
