//! Garbage collection (`prune`): drop the image records `prune` was asked to drop (dangling
//! ones; with `keep_last`, every tagged image but the N most recently used), then mark every
//! blob reachable from the image and cache records left, sweep the rest and all abandoned
//! temp files. A dry run computes the same and changes nothing.
//!
//! GC holds the store's lock exclusively, so no other strata process is between writing a
//! blob and referencing it. Inside this process, temp files of live `BlobWriter`s are kept;
//! callers must not prune while their own threads are building.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::time::{Duration, SystemTime};

use rusqlite::{params, TransactionBehavior};
use strata_oci::{Digest, Reference};

use crate::error::Result;
use crate::store::Store;
use crate::usage::ImageUse;

/// Manifests and indexes larger than this are not parsed for references while marking.
const MAX_JSON_BLOB: u64 = 8 << 20;

/// What `prune` removes besides unreferenced blobs.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Drop every build-cache record first.
    pub cache: bool,
    /// Drop untagged ("dangling") image records first, as `docker image prune` does.
    pub dangling: bool,
    /// With `dangling`, keep untagged images stored at or after this time.
    pub keep_untagged_since: Option<SystemTime>,
    /// How long to wait for other strata processes to release the store.
    pub wait: Duration,
    /// Image records (manifest digests) kept even when dangling: the images of existing
    /// containers (`strata run`), as docker keeps an image a container uses.
    pub keep_images: Vec<Digest>,
    /// Keep only the N most recently used tagged images (see `usage.rs`) and `keep_images`:
    /// every other tagged image is removed with its tags (`prune --keep-last N`).
    pub keep_last: Option<usize>,
    /// Compute the report and change nothing (`--dry-run`).
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            cache: false,
            dangling: true,
            keep_untagged_since: None,
            wait: Duration::from_secs(10),
            keep_images: Vec::new(),
            keep_last: None,
            dry_run: false,
        }
    }
}

/// What `prune` removed (or, for a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Manifest digests of the image records removed (dangling ones and, with `keep_last`,
    /// the tagged ones beyond the N kept), most recently used first.
    pub removed_images: Vec<Digest>,
    /// The image IDs (config digests) of the removed records, without repeats.
    pub removed_ids: Vec<Digest>,
    /// The tags removed with them.
    pub untagged: Vec<Reference>,
    pub removed_cache_records: usize,
    pub removed_blobs: Vec<Digest>,
    pub freed_bytes: u64,
    pub removed_tmp_files: usize,
}

impl PruneReport {
    /// `Untagged: app:1` and `Deleted: sha256:…` (image ID) lines, as `docker rmi` prints
    /// them.
    pub fn lines(&self) -> Vec<String> {
        let untagged = self
            .untagged
            .iter()
            .map(|r| format!("Untagged: {}", r.familiar()));
        let deleted = self.removed_ids.iter().map(|d| format!("Deleted: {d}"));
        untagged.chain(deleted).collect()
    }
}

impl fmt::Display for PruneReport {
    /// `Total reclaimed space: 1.5MB`, as docker prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Total reclaimed space: {}", human_size(self.freed_bytes))
    }
}

/// A size as docker prints it (decimal units): `0B`, `512B`, `1.5kB`, `23.4MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{:.3}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
            + UNITS[unit]
    }
}

impl Store {
    /// Removes image records and cache records (as `opts` asks), then every blob no image
    /// or cache record left references, and abandoned temp files. With `opts.dry_run`,
    /// reports the same and removes nothing.
    pub fn prune(&self, opts: &PruneOptions) -> Result<PruneReport> {
        let _lock = self.exclusive_lock(opts.wait)?;
        let doomed = self.doomed_images(opts)?;
        let mut report = PruneReport::default();
        for image in &doomed {
            report.removed_images.push(image.manifest_digest.clone());
            if !report.removed_ids.contains(&image.id) {
                report.removed_ids.push(image.id.clone());
            }
            report.untagged.extend(image.tags.iter().cloned());
        }
        report.removed_cache_records = self.drop_records(opts, &doomed)?;
        let gone: HashSet<String> = doomed
            .iter()
            .map(|i| i.manifest_digest.to_string())
            .collect();
        let marked = self.mark(&gone, !opts.cache)?;
        for (digest, size) in self.list_blobs()? {
            if marked.contains(&digest) {
                continue;
            }
            if opts.dry_run {
                report.freed_bytes += size;
                report.removed_blobs.push(digest);
                continue;
            }
            match fs::remove_file(self.blob_path(&digest)) {
                Ok(()) => {
                    tracing::debug!(%digest, size, "removed blob");
                    report.freed_bytes += size;
                    report.removed_blobs.push(digest);
                }
                Err(e) => tracing::warn!(%digest, error = %e, "cannot remove blob"),
            }
        }
        if !opts.dry_run {
            report.removed_tmp_files = self.remove_tmp_files(None);
        }
        tracing::info!(
            images = report.removed_images.len(),
            blobs = report.removed_blobs.len(),
            freed = report.freed_bytes,
            dry_run = opts.dry_run,
            "pruned store"
        );
        Ok(report)
    }

    /// The image records `opts` drops: dangling ones (unless stored since
    /// `keep_untagged_since`) and, with `keep_last`, tagged ones past the N most recently
    /// used; never one of `keep_images`.
    fn doomed_images(&self, opts: &PruneOptions) -> Result<Vec<ImageUse>> {
        let mut tagged_seen = 0;
        let mut doomed = Vec::new();
        for image in self.images_by_last_use()? {
            let doom = if image.tags.is_empty() {
                opts.dangling
                    && opts
                        .keep_untagged_since
                        .is_none_or(|since| image.added_at < since)
            } else {
                tagged_seen += 1;
                opts.keep_last.is_some_and(|n| tagged_seen > n)
            };
            if doom && !opts.keep_images.contains(&image.manifest_digest) {
                doomed.push(image);
            }
        }
        Ok(doomed)
    }

    /// Deletes `doomed` (with their tags) and, with `opts.cache`, every cache record, in
    /// one transaction; with `opts.dry_run` nothing. The number of cache records.
    fn drop_records(&self, opts: &PruneOptions, doomed: &[ImageUse]) -> Result<usize> {
        let mut conn = self.conn();
        if opts.dry_run {
            return match opts.cache {
                true => Ok(conn.query_row("SELECT COUNT(*) FROM cache", [], |r| r.get(0))?),
                false => Ok(0),
            };
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut cache_records = 0;
        if opts.cache {
            cache_records = tx.execute("DELETE FROM cache", [])?;
        }
        for image in doomed {
            let digest = image.manifest_digest.to_string();
            tx.execute(
                "DELETE FROM tags WHERE manifest_digest = ?1",
                params![digest],
            )?;
            tx.execute(
                "DELETE FROM images WHERE manifest_digest = ?1",
                params![digest],
            )?;
        }
        tx.commit()?;
        Ok(cache_records)
    }

    /// Every blob reachable from image records not in `gone` (manifest, config, layers;
    /// index children) and, with `cache`, from cache records.
    fn mark(&self, gone: &HashSet<String>, cache: bool) -> Result<HashSet<Digest>> {
        let roots: Vec<String> = {
            let conn = self.conn();
            let sql = match cache {
                true => "SELECT manifest_digest FROM images UNION SELECT digest FROM cache_blobs",
                false => "SELECT manifest_digest FROM images",
            };
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut marked = HashSet::new();
        let mut todo: Vec<Digest> = roots
            .iter()
            .filter(|d| !gone.contains(*d))
            .filter_map(|d| d.parse().ok())
            .collect();
        while let Some(d) = todo.pop() {
            if marked.insert(d.clone()) {
                todo.extend(self.children(&d));
            }
        }
        Ok(marked)
    }

    /// The digests a manifest or index blob points at (nothing for other blobs).
    fn children(&self, d: &Digest) -> Vec<Digest> {
        match self.blob_size(d) {
            Ok(size) if size <= MAX_JSON_BLOB => {}
            _ => return Vec::new(),
        }
        let Ok(bytes) = fs::read(self.blob_path(d)) else {
            return Vec::new();
        };
        if bytes.first() != Some(&b'{') {
            return Vec::new();
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return Vec::new();
        };
        let digest_of = |v: &serde_json::Value| v.get("digest")?.as_str()?.parse().ok();
        let mut out = Vec::new();
        out.extend(value.get("config").and_then(digest_of));
        for key in ["layers", "manifests"] {
            if let Some(list) = value.get(key).and_then(|l| l.as_array()) {
                out.extend(list.iter().filter_map(digest_of));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(23_400_000), "23.4MB");
        assert_eq!(human_size(2_000_000_000), "2GB");
    }
}
