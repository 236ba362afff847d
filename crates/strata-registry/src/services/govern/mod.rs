//! Governance (docs/GOVERN.md): images with their facts, labels and lineage parent; owners;
//! promotion (a gate at `Stage::Promote`, then the label and the record in one metadata
//! transaction); the lineage index ([`lineage`]); tag history; the gate at push
//! ([`gates`]); last-pull times, written at most once a minute per manifest.
//!
//! Answers are the API's JSON types (`strata_distribution::govern`); `visible` filters name
//! the repositories the caller may pull, so lineage never names the others.
//!
//! Must not: decide a rule itself (gates, labels, lineage are `strata-govern`'s), or write
//! anything when a gate refuses.

pub(crate) mod gates;
pub(crate) mod lineage;
mod secrets;

use std::collections::HashMap;
use std::sync::Mutex;

use strata_distribution::govern::{
    Dependent, Dependents, ImageJson, ImageRef, Owner, Promotion, RepositoryJson, TagEvent,
    TagHistory, TreeNode,
};
use strata_distribution::{ManifestRef, RepositoryName, Tag};
use strata_govern::gates::{GatePolicy, Stage, Subject};
use strata_govern::{annotations, labels};
use strata_oci::Digest;

use super::{now, Registry, ServiceError};
use crate::meta::{PromotionRecord, StoredImage};

pub use lineage::Lineage;

/// How often a manifest's last-pull time is written at most.
const PULL_RESOLUTION: i64 = 60;

/// Which repositories a caller may read (without auth: all).
pub type Visible<'a> = &'a (dyn Fn(&str) -> bool + Send + Sync);

/// The longest owner name.
const OWNER_MAX: usize = 128;

/// The governance state of a registry: its gate policy, lineage index, last-pull writes.
#[derive(Default)]
pub struct Governance {
    /// The gate policy checked at push and promote (`[govern] gates`).
    pub(crate) gates: Option<GatePolicy>,
    pub(crate) lineage: Lineage,
    /// When each (repository, digest)'s last pull was last written (unix seconds).
    pulls: Mutex<HashMap<(String, Digest), i64>>,
}

/// Unix seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `repository:tag` names of an image, `repository@digest` when it has no tag.
pub(crate) fn names_of(repo: &str, digest: &Digest, tags: &[String]) -> Vec<String> {
    if tags.is_empty() {
        return vec![format!("{repo}@{digest}")];
    }
    tags.iter().map(|t| format!("{repo}:{t}")).collect()
}

/// The repository part of a `repo:tag` or `repo@digest` name.
pub(crate) fn name_repo(name: &str) -> &str {
    if let Some((repo, _)) = name.split_once('@') {
        return repo;
    }
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    name[slash..]
        .rfind(':')
        .map_or(name, |i| &name[..slash + i])
}

impl Registry {
    /// This registry checking `policy` at push and promote.
    pub fn with_gates(mut self, policy: GatePolicy) -> Registry {
        self.govern.gates = Some(policy);
        self
    }

    /// The digest `reference` names in `name`.
    async fn resolve(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
    ) -> Result<Digest, ServiceError> {
        let record = self.meta.manifest(name, reference).await?;
        record
            .map(|r| r.digest)
            .ok_or_else(|| ServiceError::ManifestUnknown {
                name: name.clone(),
                reference: reference.clone(),
            })
    }

    /// The stored image `reference` names in `name` (404 when it is no image).
    async fn stored(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
    ) -> Result<StoredImage, ServiceError> {
        let digest = self.resolve(name, reference).await?;
        self.meta
            .image(name, &digest)
            .await?
            .ok_or_else(|| ServiceError::ManifestUnknown {
                name: name.clone(),
                reference: reference.clone(),
            })
    }

    fn image_json(&self, stored: StoredImage, parent: Option<Digest>) -> ImageJson {
        let image = stored.image;
        ImageJson {
            repository: image.repository,
            digest: image.digest,
            media_type: stored.media_type,
            tags: image.tags,
            labels: image.labels.into_iter().collect(),
            size: image.size,
            pushed: rfc3339(image.pushed),
            last_pulled: image.last_pulled.map(rfc3339),
            annotations: image.annotations,
            parent,
            build: stored.build,
        }
    }

    async fn answer(&self, stored: StoredImage) -> Result<ImageJson, ServiceError> {
        let parent = self.lineage_parent(&stored.image.digest).await?;
        Ok(self.image_json(stored, parent))
    }

    /// Fails with `NAME_UNKNOWN` when `name` does not exist.
    async fn existing(&self, name: &RepositoryName) -> Result<(), ServiceError> {
        match self.meta.repository_exists(name).await? {
            true => Ok(()),
            false => Err(ServiceError::NameUnknown { name: name.clone() }),
        }
    }

    /// The repositories `visible` lets the caller read, with owner and counts.
    pub async fn repositories_json(
        &self,
        visible: Visible<'_>,
    ) -> Result<Vec<RepositoryJson>, ServiceError> {
        let all = self.meta.repository_summaries().await?;
        Ok(all
            .into_iter()
            .filter(|r| visible(r.name.as_str()))
            .map(|r| RepositoryJson {
                name: r.name.as_str().to_owned(),
                owner: r.owner,
                images: r.images,
                tags: r.tags,
            })
            .collect())
    }

    /// The images of `name`, newest push first.
    pub async fn images(&self, name: &RepositoryName) -> Result<Vec<ImageJson>, ServiceError> {
        self.existing(name).await?;
        let stored = self.meta.images(Some(name)).await?;
        let parents = self.lineage_parents(&stored).await?;
        Ok(stored
            .into_iter()
            .zip(parents)
            .map(|(s, p)| self.image_json(s, p))
            .collect())
    }

    /// One image, by tag or digest.
    pub async fn image(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
    ) -> Result<ImageJson, ServiceError> {
        let stored = self.stored(name, reference).await?;
        self.answer(stored).await
    }

    /// Every image of every repository (for retention), newest push first.
    pub async fn all_images(&self) -> Result<Vec<StoredImage>, ServiceError> {
        Ok(self.meta.images(None).await?)
    }

    /// Sets (`None`: clears) the owner of `name`.
    pub async fn set_owner(
        &self,
        name: &RepositoryName,
        owner: Option<&str>,
    ) -> Result<Owner, ServiceError> {
        if let Some(o) = owner {
            let ok =
                !o.trim().is_empty() && o.len() <= OWNER_MAX && !o.chars().any(char::is_control);
            if !ok {
                return Err(ServiceError::OwnerInvalid {
                    owner: o.to_owned(),
                });
            }
        }
        if !self.meta.set_owner(name, owner).await? {
            return Err(ServiceError::NameUnknown { name: name.clone() });
        }
        tracing::info!(name = %name, owner = ?owner, "owner set");
        Ok(Owner {
            owner: owner.map(str::to_owned),
        })
    }

    /// The owner of `name`.
    pub async fn owner(&self, name: &RepositoryName) -> Result<Owner, ServiceError> {
        self.existing(name).await?;
        Ok(Owner {
            owner: self.meta.owner(name).await?,
        })
    }

    fn check_label(label: &str) -> Result<(), ServiceError> {
        match labels::valid(label) {
            true => Ok(()),
            false => Err(ServiceError::LabelInvalid {
                label: label.to_owned(),
            }),
        }
    }

    /// Adds `label` to an image (labels accumulate; idempotent).
    pub async fn add_label(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
        label: &str,
    ) -> Result<ImageJson, ServiceError> {
        Self::check_label(label)?;
        let stored = self.stored(name, reference).await?;
        if !self
            .meta
            .add_label(name, &stored.image.digest, label)
            .await?
        {
            return Err(ServiceError::ManifestUnknown {
                name: name.clone(),
                reference: reference.clone(),
            });
        }
        tracing::info!(name = %name, %reference, label, "label added");
        self.image(name, &ManifestRef::Digest(stored.image.digest))
            .await
    }

    /// Removes `label` from an image; `LabelUnknown` when it did not carry it.
    pub async fn remove_label(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
        label: &str,
    ) -> Result<ImageJson, ServiceError> {
        Self::check_label(label)?;
        let stored = self.stored(name, reference).await?;
        let digest = stored.image.digest.clone();
        if !self.meta.remove_label(name, &digest, label).await? {
            return Err(ServiceError::LabelUnknown {
                name: name.clone(),
                reference: reference.clone(),
                label: label.to_owned(),
            });
        }
        tracing::info!(name = %name, %reference, label, "label removed");
        self.image(name, &ManifestRef::Digest(digest)).await
    }

    /// Promotes an image to `env`: the gate policy at `Stage::Promote(env)` first (refused:
    /// `GateFailed`, nothing written), then the label and the promotion record, by `actor`.
    pub async fn promote(
        &self,
        name: &RepositoryName,
        reference: &ManifestRef,
        env: &str,
        actor: &str,
    ) -> Result<Promotion, ServiceError> {
        Self::check_label(env)?;
        let stored = self.stored(name, reference).await?;
        let image = &stored.image;
        if let Some(policy) = &self.govern.gates {
            let digest = image.digest.to_string();
            if !policy.allows(name.as_str(), &image.tags, &digest) {
                let secrets = match policy.no_secrets && stored.config.is_some() {
                    true => Some(self.rescan(&image.digest).await?),
                    false => None,
                };
                let subject = Subject {
                    repository: name.as_str().to_owned(),
                    digest: Some(digest),
                    tags: image.tags.clone(),
                    base_name: image.annotations.get(annotations::BASE_NAME).cloned(),
                    size: image.size,
                    annotations: image.annotations.clone(),
                    secrets,
                };
                let violations = policy.check(&Stage::Promote(env.to_owned()), &subject);
                if !violations.is_empty() {
                    return Err(ServiceError::GateFailed {
                        name: name.clone(),
                        reference: reference.clone(),
                        env: env.to_owned(),
                        violations,
                    });
                }
            }
        }
        let record = PromotionRecord {
            repository: name.clone(),
            digest: image.digest.clone(),
            tags: image.tags.clone(),
            env: env.to_owned(),
            by: actor.to_owned(),
            at: now(),
        };
        if !self.meta.promote(record.clone()).await? {
            return Err(ServiceError::ManifestUnknown {
                name: name.clone(),
                reference: reference.clone(),
            });
        }
        tracing::info!(name = %name, %reference, env, actor, "image promoted");
        Ok(promotion_json(record))
    }

    /// The promotions recorded in `name`, newest first.
    pub async fn promotions(&self, name: &RepositoryName) -> Result<Vec<Promotion>, ServiceError> {
        self.existing(name).await?;
        let records = self.meta.promotions(name).await?;
        Ok(records.into_iter().map(promotion_json).collect())
    }

    /// What `tag` of `name` named over time, oldest first.
    pub async fn tag_history(
        &self,
        name: &RepositoryName,
        tag: &Tag,
    ) -> Result<TagHistory, ServiceError> {
        self.existing(name).await?;
        let records = self.meta.tag_history(name, tag).await?;
        Ok(TagHistory {
            repository: name.as_str().to_owned(),
            tag: tag.as_str().to_owned(),
            history: records
                .into_iter()
                .map(|r| TagEvent {
                    digest: r.digest,
                    since: rfc3339(r.since),
                    by: r.by,
                })
                .collect(),
        })
    }

    /// The lineage tree under `root` (all the forest without), naming only what `visible`
    /// lets the caller read.
    pub async fn lineage_tree(
        &self,
        root: Option<&ImageRef>,
        visible: Visible<'_>,
    ) -> Result<Vec<TreeNode>, ServiceError> {
        let root = match root {
            Some(r) => {
                self.visible_or_unknown(r, visible)?;
                Some(self.resolve(&r.name, &r.reference).await?)
            }
            None => None,
        };
        let tree = self
            .lineage_query(|index| index.tree(root.as_ref()))
            .await?;
        Ok(lineage::visible_tree(tree, visible))
    }

    /// The images downstream of `image`, naming only what `visible` lets the caller read.
    pub async fn dependents(
        &self,
        image: &ImageRef,
        visible: Visible<'_>,
    ) -> Result<Dependents, ServiceError> {
        self.visible_or_unknown(image, visible)?;
        let stored = self.stored(&image.name, &image.reference).await?;
        let digest = stored.image.digest.clone();
        let found = self
            .lineage_query(|index| index.dependents(&digest))
            .await?;
        let mut dependents = Vec::new();
        for d in found {
            let names: Vec<String> = d
                .names
                .into_iter()
                .filter(|n| visible(name_repo(n)))
                .collect();
            if names.is_empty() {
                continue;
            }
            let build = self.build_of(&names[0], &d.digest).await?;
            dependents.push(Dependent {
                digest: d.digest,
                names,
                parent: d.parent,
                depth: d.depth,
                build,
            });
        }
        Ok(Dependents {
            image: self.answer(stored).await?,
            dependents,
        })
    }

    /// The build record of the image `name` (one of its names) calls `digest`.
    async fn build_of(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<strata_govern::lineage::BuildRecord>, ServiceError> {
        let Ok(repo) = name_repo(name).parse::<RepositoryName>() else {
            return Ok(None);
        };
        Ok(self.meta.image(&repo, digest).await?.and_then(|s| s.build))
    }

    /// 404 for an image in a repository the caller may not read (as if it did not exist).
    fn visible_or_unknown(
        &self,
        image: &ImageRef,
        visible: Visible<'_>,
    ) -> Result<(), ServiceError> {
        match visible(image.name.as_str()) {
            true => Ok(()),
            false => Err(ServiceError::NameUnknown {
                name: image.name.clone(),
            }),
        }
    }

    /// Scans a stored image manifest for secrets again (the promote gate's `no-secrets`).
    async fn rescan(&self, digest: &Digest) -> Result<usize, ServiceError> {
        let mut reader = self.blobs.read(digest, None).await?;
        let mut body = Vec::new();
        while let Some(chunk) = futures_util::StreamExt::next(&mut reader).await {
            body.extend_from_slice(&chunk.map_err(|source| ServiceError::Body { source })?);
        }
        self.count_secrets(digest, body.into()).await
    }

    /// Records a pull of `digest` in `name`, at most once a minute per manifest (a failure is
    /// logged: a pull never fails for it).
    pub(crate) async fn note_pull(&self, name: &RepositoryName, digest: &Digest) {
        let now = now();
        {
            let mut pulls = self.govern.pulls.lock().unwrap_or_else(|p| p.into_inner());
            let key = (name.as_str().to_owned(), digest.clone());
            match pulls.get(&key) {
                Some(&last) if now - last < PULL_RESOLUTION => return,
                _ => {}
            }
            if pulls.len() > 100_000 {
                pulls.retain(|_, t| now - *t < PULL_RESOLUTION);
            }
            pulls.insert(key, now);
        }
        if let Err(e) = self.meta.record_pull(name, digest, now).await {
            tracing::warn!(name = %name, %digest, error = %e, "recording the last pull failed");
        }
    }
}

fn promotion_json(r: PromotionRecord) -> Promotion {
    Promotion {
        repository: r.repository.as_str().to_owned(),
        digest: r.digest,
        tags: r.tags,
        env: r.env,
        by: r.by,
        at: rfc3339(r.at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_their_repositories() {
        let d = Digest::of(b"x");
        assert_eq!(names_of("a/b", &d, &[]), vec![format!("a/b@{d}")]);
        assert_eq!(names_of("a/b", &d, &["v1".into()]), vec!["a/b:v1"]);
        assert_eq!(name_repo("a/b:v1"), "a/b");
        assert_eq!(name_repo(&format!("a/b@{d}")), "a/b");
        assert_eq!(name_repo("a/b"), "a/b");
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
