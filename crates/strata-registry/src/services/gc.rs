//! Online garbage collection: mark what the metadata references, then sweep what nothing
//! does, in short write transactions that re-check each item, while pushes go on. In order:
//! untagged manifests (when the policy says so), then repository→blob links that no manifest
//! of their repository uses (a blob pushed there and never referenced), then the bytes of
//! blobs nothing references any more.
//!
//! Why no push can lose a blob: a push *pins* a digest (a committed row) before its bytes
//! go into place or are looked at for a mount, and unpins only after the link or manifest
//! is recorded. The sweep removes a blob's bytes only inside a write transaction that finds
//! it neither linked, nor a manifest, nor referenced by one, nor pinned. The two
//! transactions are serialised by the database, so either the pin came first (the blob is
//! kept) or the removal did (the push then writes the bytes anew, or a mount sees them
//! missing and opens an upload session instead).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use strata_distribution::RepositoryName;
use strata_oci::Digest;

use super::{now, Registry, ServiceError};
use crate::meta::SweepBlob;
use crate::storage::StoredBlob;

/// Items (manifests, links, blobs) removed per write transaction of the sweep: small enough
/// to hold the database lock a few milliseconds, large enough not to pay a transaction per
/// item.
const BATCH: usize = 64;

/// The shortest sleep between two write transactions of the sweep.
const PAUSE: Duration = Duration::from_millis(2);

/// Says a manifest must never be collected (immutable tags and promotion labels will).
pub type Protected = Arc<dyn Fn(&RepositoryName, &Digest) -> bool + Send + Sync>;

/// What garbage collection removes.
#[derive(Clone)]
pub struct GcPolicy {
    /// Also remove untagged manifests that no index lists and whose subject is gone
    /// (default false, as distribution's `--delete-untagged`).
    pub untagged: bool,
    /// Nothing put in place or recorded less than this long ago is removed.
    pub grace: Duration,
    /// A repository→blob link no manifest of the repository uses is dropped once it is
    /// older than this; `None`: the same as `grace`. (A longer one suits clients that push
    /// blobs long before their manifest.)
    pub link_grace: Option<Duration>,
    /// Manifests this says are protected are kept even when untagged.
    pub protected: Option<Protected>,
}

impl Default for GcPolicy {
    fn default() -> Self {
        GcPolicy {
            untagged: false,
            grace: Duration::from_secs(3600),
            link_grace: None,
            protected: None,
        }
    }
}

impl std::fmt::Debug for GcPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcPolicy")
            .field("untagged", &self.untagged)
            .field("grace", &self.grace)
            .field("link_grace", &self.link_grace)
            .field("protected", &self.protected.is_some())
            .finish()
    }
}

/// What one run removed (or, dry, would remove).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub dry_run: bool,
    /// Untagged manifests removed, by repository.
    pub manifests: Vec<(RepositoryName, Digest)>,
    /// Repository→blob links removed (no manifest of the repository used the blob).
    pub links: Vec<(RepositoryName, Digest)>,
    /// Blobs whose bytes were removed.
    pub blobs: Vec<Digest>,
    /// The bytes those blobs held.
    pub bytes: u64,
}

impl Registry {
    /// Runs garbage collection once under `policy`; with `dry_run` it removes nothing and
    /// reports what a run would remove now (a dry run does not follow chains: blobs freed
    /// only by removing an untagged manifest are not counted).
    pub async fn collect_garbage(
        &self,
        policy: &GcPolicy,
        dry_run: bool,
    ) -> Result<GcReport, ServiceError> {
        let mut report = GcReport {
            dry_run,
            ..GcReport::default()
        };
        if policy.untagged {
            report.manifests = self.collect_untagged(policy, dry_run).await?;
        }
        report.links = self.collect_links(policy, dry_run).await?;
        let (blobs, bytes) = self.collect_blobs(policy, dry_run).await?;
        (report.blobs, report.bytes) = (blobs, bytes);
        tracing::info!(
            dry_run,
            manifests = report.manifests.len(),
            links = report.links.len(),
            blobs = report.blobs.len(),
            bytes = report.bytes,
            "garbage collection done"
        );
        Ok(report)
    }

    /// Removes untagged manifests until none is left (an index removed frees its children,
    /// a subject removed frees its referrers).
    async fn collect_untagged(
        &self,
        policy: &GcPolicy,
        dry_run: bool,
    ) -> Result<Vec<(RepositoryName, Digest)>, ServiceError> {
        let before = now() - policy.grace.as_secs() as i64;
        let mut removed = Vec::new();
        loop {
            let candidates = self.meta.gc_untagged(before).await?;
            let candidates: Vec<_> = candidates
                .into_iter()
                .filter(|(n, d)| !policy.protected.as_ref().is_some_and(|p| p(n, d)))
                .collect();
            if dry_run {
                return Ok(candidates);
            }
            let mut progress = false;
            for batch in candidates.chunks(BATCH) {
                let started = Instant::now();
                let deleted = self.meta.gc_delete_untagged(batch, before).await?;
                for (name, digest) in &deleted {
                    tracing::info!(name = %name, %digest, "untagged manifest collected");
                }
                progress |= !deleted.is_empty();
                removed.extend(deleted);
                pause(started).await;
            }
            if !progress {
                return Ok(removed);
            }
        }
    }

    /// Removes the links older than the link grace period that no manifest of their
    /// repository references (and no push pins), a batch per write transaction.
    async fn collect_links(
        &self,
        policy: &GcPolicy,
        dry_run: bool,
    ) -> Result<Vec<(RepositoryName, Digest)>, ServiceError> {
        let grace = policy.link_grace.unwrap_or(policy.grace);
        let before = now() - grace.as_secs() as i64;
        let candidates = self.meta.gc_stale_links(before).await?;
        if dry_run {
            return Ok(candidates);
        }
        let mut removed = Vec::new();
        for batch in candidates.chunks(BATCH) {
            let started = Instant::now();
            let unlinked = self.meta.gc_unlink_stale(batch, before).await?;
            for (name, digest) in &unlinked {
                tracing::info!(name = %name, %digest, "unused blob link collected");
            }
            removed.extend(unlinked);
            pause(started).await;
        }
        Ok(removed)
    }

    /// Removes the bytes of every blob nothing references, older than the grace period.
    async fn collect_blobs(
        &self,
        policy: &GcPolicy,
        dry_run: bool,
    ) -> Result<(Vec<Digest>, u64), ServiceError> {
        let keep_since = SystemTime::now()
            .checked_sub(policy.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // Listed before the mark: a blob put in place after the listing is not a candidate.
        let stored = self.blobs.list_blobs().await?;
        let stale_pins = now() - self.limits.upload_expiry.as_secs() as i64;
        let referenced = self.meta.gc_referenced(stale_pins).await?;
        let candidates: Vec<StoredBlob> = stored
            .into_iter()
            .filter(|b| b.modified < keep_since && !referenced.contains(&b.digest))
            .collect();
        if dry_run {
            let bytes = candidates.iter().map(|b| b.size).sum();
            return Ok((candidates.into_iter().map(|b| b.digest).collect(), bytes));
        }
        let (mut removed, mut bytes) = (Vec::new(), 0);
        for batch in candidates.chunks(BATCH) {
            let started = Instant::now();
            for (digest, size) in self.sweep_blobs(batch, keep_since).await? {
                removed.push(digest);
                bytes += size;
            }
            pause(started).await;
        }
        Ok((removed, bytes))
    }

    /// Removes the blobs of `batch` that, re-checked in one write transaction, nothing
    /// references; the ones removed with their sizes.
    async fn sweep_blobs(
        &self,
        batch: &[StoredBlob],
        keep_since: SystemTime,
    ) -> Result<Vec<(Digest, u64)>, ServiceError> {
        let blobs = self.blobs.clone();
        let remove: SweepBlob = Arc::new(move |d: &Digest| blobs.remove_blob(d, keep_since));
        let digests: Vec<Digest> = batch.iter().map(|b| b.digest.clone()).collect();
        let freed = self.meta.gc_sweep_blobs(&digests, remove).await?;
        let removed = digests
            .into_iter()
            .zip(freed)
            .filter_map(|(digest, freed)| Some((digest, freed?)))
            .collect::<Vec<_>>();
        for (digest, size) in &removed {
            tracing::info!(%digest, size, "unreferenced blob collected");
        }
        Ok(removed)
    }
}

/// Lets the pushes waiting for the database (and the disk) in: between two write
/// transactions of the sweep, a sleep as long as the batch `started` then took, at least
/// [`PAUSE`] (another process polls for the lock about every millisecond), so the sweep
/// takes at most about half of the time.
async fn pause(started: Instant) {
    tokio::time::sleep(started.elapsed().max(PAUSE)).await;
}
