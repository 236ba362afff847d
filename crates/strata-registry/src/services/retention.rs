//! Retention in the registry (docs/GOVERN.md "Retention in the registry"): read every image,
//! let the policy decide (`strata_govern::retention`), delete what it says through the same
//! path as `DELETE /v2/<name>/manifests/<digest>` (tags removed, events emitted, governance
//! facts and labels removed), then run the online GC so the blobs only those images used are
//! freed.
//!
//! Protected (never deleted): an image with a tag an immutability rule covers, and an image
//! the gate policy's `allow` list names. Skipped (with the reason): an image another
//! manifest names as its subject (a signature, an SBOM). An index's child manifests are not
//! judged on their own: they go with the last index that lists them.
//!
//! Must not: decide a rule itself (that is `strata-govern`'s), or delete anything in a dry
//! run.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use serde::Serialize;
use strata_distribution::{ManifestRef, RepositoryName};
use strata_govern::retention::{Decision, RetentionPolicy};
use strata_govern::Image;
use strata_oci::Digest;

use super::{now, GcPolicy, GcReport, Registry, ServiceError};

/// What retention does with one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RetentionAction {
    Keep,
    Delete,
    /// The policy would delete it, but something needs it (the reason says what).
    Skip,
}

impl RetentionAction {
    /// `KEEP`, `DELETE`, `SKIP`, as the table prints them.
    pub fn as_upper(self) -> &'static str {
        match self {
            RetentionAction::Keep => "KEEP",
            RetentionAction::Delete => "DELETE",
            RetentionAction::Skip => "SKIP",
        }
    }
}

/// One decision and what was done about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionItem {
    pub repository: String,
    pub digest: Digest,
    pub tags: Vec<String>,
    /// `None`: no promotion label.
    pub bucket: Option<String>,
    pub action: RetentionAction,
    pub reason: String,
}

/// What one retention run decided and did.
#[derive(Clone, Debug, Default)]
pub struct RetentionReport {
    pub dry_run: bool,
    /// One per image of every repository the policy's rules select, by repository, newest
    /// push first.
    pub items: Vec<RetentionItem>,
    /// Child manifests deleted with their index, by repository.
    pub children: Vec<(String, Digest)>,
    /// The garbage collection that followed (none in a dry run or when nothing was deleted).
    pub gc: Option<GcReport>,
}

impl RetentionReport {
    /// How many items got `action`.
    pub fn count(&self, action: RetentionAction) -> usize {
        self.items.iter().filter(|i| i.action == action).count()
    }
}

/// The index → children links of one repository.
#[derive(Default)]
struct Children {
    /// Child digest → the indexes listing it.
    parents: BTreeMap<Digest, BTreeSet<Digest>>,
    /// Index digest → its children.
    of: BTreeMap<Digest, Vec<Digest>>,
}

impl Registry {
    /// Applies `policy` to every repository; with `dry_run`, only decides. After deleting,
    /// runs garbage collection under `gc`.
    pub async fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        gc: &GcPolicy,
        dry_run: bool,
    ) -> Result<RetentionReport, ServiceError> {
        let stored = self.all_images().await?;
        let mut children: BTreeMap<String, Children> = BTreeMap::new();
        for s in stored.iter().filter(|s| s.config.is_none()) {
            let image = &s.image;
            let name = repository_name(&image.repository)?;
            let listed = self.index_children(&name, &image.digest).await?;
            let repo = children.entry(image.repository.clone()).or_default();
            for child in &listed {
                repo.parents
                    .entry(child.clone())
                    .or_default()
                    .insert(image.digest.clone());
            }
            repo.of.insert(image.digest.clone(), listed);
        }
        // Children are judged with their index, never on their own.
        let images: Vec<Image> = stored
            .into_iter()
            .map(|s| s.image)
            .filter(|i| {
                !children
                    .get(&i.repository)
                    .is_some_and(|c| c.parents.contains_key(&i.digest))
            })
            .collect();
        let protected = self.protection();
        let decisions = policy.evaluate(&images, &protected, now());
        let mut report = RetentionReport {
            dry_run,
            ..RetentionReport::default()
        };
        for decision in decisions {
            let item = self.act(decision, dry_run).await?;
            if item.action == RetentionAction::Delete && !dry_run {
                let repo = children.entry(item.repository.clone()).or_default();
                let freed = self.delete_children(&item, repo).await;
                report.children.extend(freed);
            }
            report.items.push(item);
        }
        let deleted = report.count(RetentionAction::Delete);
        if !dry_run && deleted > 0 {
            report.gc = Some(self.collect_garbage(gc, false).await?);
        }
        tracing::info!(
            dry_run,
            kept = report.count(RetentionAction::Keep),
            deleted,
            skipped = report.count(RetentionAction::Skip),
            children = report.children.len(),
            freed_bytes = report.gc.as_ref().map_or(0, |g| g.bytes),
            "retention run done"
        );
        Ok(report)
    }

    /// Why an image may never be deleted: a tag an immutability rule covers, or the gate
    /// policy's allow-list naming it.
    fn protection(&self) -> impl Fn(&Image) -> Option<String> + '_ {
        let allow = self.govern.gates.as_ref().map(|g| g.allow_list());
        move |image: &Image| {
            for tag in &image.tags {
                if let Some(rule) = self.immutable.rule_for(&image.repository, tag) {
                    return Some(format!("immutable tag {tag} (rule {rule})"));
                }
            }
            allow
                .as_ref()
                .filter(|a| a.allows_image(image))
                .map(|_| "named by the gate policy's allow list".to_owned())
        }
    }

    /// Turns one decision into an item, deleting the image unless `dry_run` (or skipping it
    /// when another manifest needs it).
    async fn act(&self, d: Decision, dry_run: bool) -> Result<RetentionItem, ServiceError> {
        let mut item = RetentionItem {
            repository: d.repository,
            digest: d.digest,
            tags: d.tags,
            bucket: d.bucket,
            action: if d.keep {
                RetentionAction::Keep
            } else {
                RetentionAction::Delete
            },
            reason: d.reason,
        };
        if item.action == RetentionAction::Keep {
            return Ok(item);
        }
        let name = repository_name(&item.repository)?;
        let referrers = self.meta.referrers(&name, &item.digest).await?;
        if let Some(first) = referrers.first() {
            item.action = RetentionAction::Skip;
            item.reason = format!(
                "{}; kept: it is the subject of {} ({} referrer(s))",
                item.reason,
                first.digest,
                referrers.len()
            );
            return Ok(item);
        }
        if dry_run {
            return Ok(item);
        }
        let reference = ManifestRef::Digest(item.digest.clone());
        if let Err(e) = self.delete_manifest(&name, &reference).await {
            tracing::warn!(name = %name, digest = %item.digest, error = %e, "retention cannot delete");
            item.action = RetentionAction::Skip;
            item.reason = format!("{}; not deleted: {e}", item.reason);
        }
        Ok(item)
    }

    /// Deletes the children of the deleted index `item` that no other index of its
    /// repository lists; the ones deleted.
    async fn delete_children(
        &self,
        item: &RetentionItem,
        repo: &mut Children,
    ) -> Vec<(String, Digest)> {
        let Ok(name) = repository_name(&item.repository) else {
            return Vec::new();
        };
        let mut deleted = Vec::new();
        for child in repo.of.remove(&item.digest).unwrap_or_default() {
            let parents = repo.parents.entry(child.clone()).or_default();
            parents.remove(&item.digest);
            if !parents.is_empty() {
                continue;
            }
            let reference = ManifestRef::Digest(child.clone());
            match self.delete_manifest(&name, &reference).await {
                Ok(()) => deleted.push((item.repository.clone(), child)),
                Err(e) => {
                    tracing::warn!(name = %name, digest = %child, error = %e, "retention cannot delete an index's child")
                }
            }
        }
        deleted
    }

    /// The digests an index lists (read from its stored bytes).
    async fn index_children(
        &self,
        name: &RepositoryName,
        index: &Digest,
    ) -> Result<Vec<Digest>, ServiceError> {
        #[derive(serde::Deserialize)]
        struct Child {
            digest: Digest,
        }
        #[derive(serde::Deserialize)]
        struct Index {
            #[serde(default)]
            manifests: Vec<Child>,
        }
        let mut reader = self.blobs.read(index, None).await?;
        let mut body = Vec::new();
        while let Some(chunk) = reader.next().await {
            body.extend_from_slice(&chunk.map_err(|source| ServiceError::Body { source })?);
        }
        let parsed: Index =
            serde_json::from_slice(&body).map_err(|e| ServiceError::ManifestInvalid {
                name: name.clone(),
                reference: ManifestRef::Digest(index.clone()),
                reason: e.to_string(),
            })?;
        Ok(parsed.manifests.into_iter().map(|c| c.digest).collect())
    }
}

fn repository_name(repository: &str) -> Result<RepositoryName, ServiceError> {
    repository.parse().map_err(|_| ServiceError::BadBody {
        reason: format!("stored repository name {repository:?} is invalid"),
    })
}
