//! Manifests: a push is size-checked, its kind resolved from `Content-Type` and body, its
//! digest taken over the exact bytes, its references read, its bytes stored, and then it is
//! recorded in one metadata transaction that checks every reference first.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use strata_distribution::{ManifestKind, ManifestRef, Referrer, RepositoryName};
use strata_oci::Digest;

use super::govern::gates::Pushed;
use super::{Registry, ServiceError};
use crate::events::Action;
use crate::meta::{ImageFacts, NewManifest, TagGuard};

/// Config media types of container images (OCI's and docker's).
const IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// A descriptor as far as a registry checks it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Desc {
    digest: Digest,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    urls: Vec<String>,
}

/// The fields of a manifest or index a registry reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct View {
    schema_version: u32,
    #[serde(default)]
    config: Option<Desc>,
    #[serde(default)]
    layers: Option<Vec<Desc>>,
    #[serde(default)]
    manifests: Option<Vec<Desc>>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A manifest as served.
pub struct ManifestRead {
    pub digest: Digest,
    pub media_type: String,
    pub body: Bytes,
}

/// What a push recorded.
#[derive(Debug, PartialEq, Eq)]
pub struct PushedManifest {
    pub digest: Digest,
    pub subject: Option<Digest>,
}

/// The blobs and child manifests a manifest of `kind` references (blobs with `urls`, the
/// non-distributable layers, are not required).
fn references(kind: ManifestKind, view: &View) -> Result<(Vec<Digest>, Vec<Digest>), String> {
    if view.schema_version != 2 {
        return Err(format!("schemaVersion {} is not 2", view.schema_version));
    }
    if kind.is_index() {
        let children = view
            .manifests
            .as_ref()
            .ok_or("an index needs \"manifests\"")?;
        return Ok((
            Vec::new(),
            children.iter().map(|d| d.digest.clone()).collect(),
        ));
    }
    let config = view.config.as_ref().ok_or("a manifest needs \"config\"")?;
    let layers = view.layers.as_ref().ok_or("a manifest needs \"layers\"")?;
    let blobs = std::iter::once(config)
        .chain(layers.iter().filter(|l| l.urls.is_empty()))
        .map(|d| d.digest.clone())
        .collect();
    Ok((blobs, Vec::new()))
}

/// What governance records of a manifest: images and indexes, not artifacts or referrers.
fn facts(kind: ManifestKind, view: &View, size: u64, subject: bool) -> Option<ImageFacts> {
    if subject || view.artifact_type.is_some() {
        return None;
    }
    if kind.is_index() {
        let children = view.manifests.as_ref()?;
        return Some(ImageFacts {
            config: None,
            layers: Vec::new(),
            size: size + children.iter().map(|c| c.size).sum::<u64>(),
        });
    }
    let config = view.config.as_ref()?;
    let is_image = config
        .media_type
        .as_deref()
        .is_some_and(|m| IMAGE_CONFIGS.contains(&m));
    if !is_image {
        return None;
    }
    let layers = view.layers.as_ref()?;
    Some(ImageFacts {
        config: Some(config.digest.clone()),
        layers: layers.iter().map(|l| l.digest.clone()).collect(),
        size: size + config.size + layers.iter().map(|l| l.size).sum::<u64>(),
    })
}

impl Registry {
    /// Pushes manifest `body` as `reference` of `name`.
    pub async fn put_manifest(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<PushedManifest, ServiceError> {
        let limit = self.limits.manifest_max;
        if body.len() as u64 > limit {
            return Err(ServiceError::ManifestTooLarge {
                size: body.len() as u64,
                limit,
            });
        }
        let digest = Digest::of(&body);
        if let ManifestRef::Digest(wanted) = reference {
            if wanted != &digest {
                return Err(ServiceError::ManifestDigest {
                    reference: wanted.clone(),
                    actual: digest,
                });
            }
        }
        let manifest = self.read_manifest(name, reference, content_type, &body, &digest)?;
        if let Some(facts) = &manifest.facts {
            self.gate_push(Pushed {
                name,
                reference,
                digest: &digest,
                facts,
                annotations: &manifest.annotations,
                index: facts.config.is_none(),
                body: &body,
            })
            .await?;
        }
        let moved = match reference.tag() {
            Some(_) => self.meta.manifest(name, reference).await?.map(|m| m.digest),
            None => None,
        };
        let subject = manifest.subject.clone();
        let (media_type, size) = (manifest.media_type.clone(), manifest.size);
        let pin = self.meta.pin_blob(&digest).await?;
        let stored = self.store_manifest(&digest, body, manifest).await;
        self.meta.unpin_blob(&pin).await?;
        stored?;
        let changed: Vec<Digest> = std::iter::once(digest.clone()).chain(moved).collect();
        self.lineage_changed(name, &changed).await;
        tracing::info!(name = %name, %reference, %digest, "manifest pushed");
        let events = &self.events;
        events.manifest(Action::Push, name, reference, &digest, &media_type, size);
        Ok(PushedManifest { digest, subject })
    }

    /// Puts the manifest's bytes in place and records it (pinned by the caller, so garbage
    /// collection cannot remove the bytes before the record exists).
    async fn store_manifest(
        &self,
        digest: &Digest,
        body: Bytes,
        manifest: NewManifest,
    ) -> Result<(), ServiceError> {
        self.blobs.put(digest, body).await?;
        self.meta.put_manifest(manifest).await?;
        Ok(())
    }

    /// Checks a pushed manifest and says what to record for it.
    fn read_manifest(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
        content_type: Option<&str>,
        body: &[u8],
        digest: &Digest,
    ) -> Result<NewManifest, ServiceError> {
        let kind = ManifestKind::resolve(content_type, body).map_err(|source| {
            ServiceError::ManifestMedia {
                name: name.clone(),
                reference: reference.clone(),
                source,
            }
        })?;
        let invalid = |reason: String| ServiceError::ManifestInvalid {
            name: name.clone(),
            reference: reference.clone(),
            reason,
        };
        let view: View = serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
        let (blobs, children) = references(kind, &view).map_err(invalid)?;
        let referrer = Referrer::from_manifest(body, digest, kind.media_type())
            .map_err(|e| invalid(e.to_string()))?;
        let facts = facts(kind, &view, body.len() as u64, referrer.is_some());
        Ok(NewManifest {
            name: name.clone(),
            digest: digest.clone(),
            media_type: kind.media_type().to_owned(),
            size: body.len() as u64,
            subject: referrer.as_ref().map(|r| r.subject.clone()),
            artifact_type: referrer
                .and_then(|r| r.descriptor.artifact_type)
                .or(view.artifact_type),
            annotations: view.annotations,
            blobs,
            children,
            immutable_rule: reference
                .tag()
                .and_then(|t| self.immutable.rule_for(name.as_str(), t.as_str()))
                .map(str::to_owned),
            tag: reference.tag().cloned(),
            facts,
        })
    }

    /// The immutability rule of each tag of `name`, for a manifest delete.
    fn tag_guard(&self, name: &RepositoryName) -> TagGuard {
        let (rules, repo) = (self.immutable.clone(), name.as_str().to_owned());
        Arc::new(move |tag| rules.rule_for(&repo, tag).map(str::to_owned))
    }

    /// The manifest `reference` names in `name`, with its bytes when `with_body`.
    pub async fn get_manifest(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
        with_body: bool,
    ) -> Result<(ManifestRead, u64), ServiceError> {
        let unknown = || ServiceError::ManifestUnknown {
            name: name.clone(),
            reference: reference.clone(),
        };
        let record = self
            .meta
            .manifest(name, reference)
            .await?
            .ok_or_else(unknown)?;
        let mut body = Vec::new();
        if with_body {
            let mut reader = self.blobs.read(&record.digest, None).await?;
            while let Some(chunk) = reader.next().await {
                body.extend_from_slice(&chunk.map_err(|source| ServiceError::Body { source })?);
            }
        }
        // A HEAD is a pull too, as in distribution: clients resolve a tag with HEAD and
        // then GET by digest, so only the HEAD's event names the tag.
        if with_body {
            self.note_pull(name, &record.digest).await;
        }
        let (digest, media_type) = (&record.digest, &record.media_type);
        let events = &self.events;
        events.manifest(
            Action::Pull,
            name,
            reference,
            digest,
            media_type,
            record.size,
        );
        let read = ManifestRead {
            digest: record.digest,
            media_type: record.media_type,
            body: body.into(),
        };
        Ok((read, record.size))
    }

    /// Deletes a manifest by digest (with its tags), or just the tag a tag reference names.
    pub async fn delete_manifest(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
    ) -> Result<(), ServiceError> {
        let target = match reference {
            ManifestRef::Digest(d) => Some(d.clone()),
            ManifestRef::Tag(_) => self.meta.manifest(name, reference).await?.map(|m| m.digest),
        };
        let found = match reference {
            ManifestRef::Digest(d) => {
                self.meta
                    .delete_manifest(name, d, self.tag_guard(name))
                    .await?
            }
            ManifestRef::Tag(t) => {
                if let Some(rule) = self.immutable.rule_for(name.as_str(), t.as_str()) {
                    return Err(ServiceError::TagImmutable {
                        name: name.clone(),
                        tag: t.as_str().to_owned(),
                        rule: rule.to_owned(),
                    });
                }
                self.meta.delete_tag(name, t).await?
            }
        };
        if !found {
            return Err(ServiceError::ManifestUnknown {
                name: name.clone(),
                reference: reference.clone(),
            });
        }
        self.lineage_changed(name, &target.into_iter().collect::<Vec<_>>())
            .await;
        tracing::info!(name = %name, %reference, "manifest deleted");
        match reference {
            ManifestRef::Digest(d) => self.events.deleted(name, Some(d), None),
            ManifestRef::Tag(t) => self.events.deleted(name, None, Some(t)),
        }
        Ok(())
    }
}
