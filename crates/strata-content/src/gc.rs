//! Garbage collection (`prune`): mark every blob reachable from image records and cache
//! records, sweep the rest and all abandoned temp files.
//!
//! GC holds the store's lock exclusively, so no other strata process is between writing a
//! blob and referencing it. Inside this process, temp files of live `BlobWriter`s are kept;
//! callers must not prune while their own threads are building.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::time::{Duration, SystemTime};

use rusqlite::{params, TransactionBehavior};
use strata_oci::Digest;

use crate::db::to_ns;
use crate::error::Result;
use crate::store::Store;

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
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            cache: false,
            dangling: true,
            keep_untagged_since: None,
            wait: Duration::from_secs(10),
            keep_images: Vec::new(),
        }
    }
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Manifest digests of the dangling image records removed.
    pub removed_images: Vec<Digest>,
    pub removed_cache_records: usize,
    pub removed_blobs: Vec<Digest>,
    pub freed_bytes: u64,
    pub removed_tmp_files: usize,
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
    /// Removes dangling images and cache records (as `opts` asks), then every blob no image
    /// or cache record references, and abandoned temp files.
    pub fn prune(&self, opts: &PruneOptions) -> Result<PruneReport> {
        let _lock = self.exclusive_lock(opts.wait)?;
        let mut report = PruneReport::default();
        self.drop_records(opts, &mut report)?;
        let marked = self.mark()?;
        for (digest, size) in self.list_blobs()? {
            if marked.contains(&digest) {
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
        report.removed_tmp_files = self.remove_tmp_files(None);
        tracing::info!(
            blobs = report.removed_blobs.len(),
            freed = report.freed_bytes,
            "pruned store"
        );
        Ok(report)
    }

    fn drop_records(&self, opts: &PruneOptions, report: &mut PruneReport) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if opts.cache {
            report.removed_cache_records = tx.execute("DELETE FROM cache", [])?;
        }
        if opts.dangling {
            let since = opts.keep_untagged_since.map(to_ns).unwrap_or(i64::MAX);
            let dangling: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT manifest_digest FROM images WHERE added_at < ?1 AND manifest_digest
                     NOT IN (SELECT manifest_digest FROM tags)",
                )?;
                let rows = stmt.query_map(params![since], |r| r.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for digest in dangling {
                if opts.keep_images.iter().any(|k| k.to_string() == digest) {
                    continue;
                }
                tx.execute(
                    "DELETE FROM images WHERE manifest_digest = ?1",
                    params![digest],
                )?;
                if let Ok(d) = digest.parse() {
                    report.removed_images.push(d);
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every blob reachable from image records (manifest, config, layers; index children)
    /// and cache records.
    fn mark(&self) -> Result<HashSet<Digest>> {
        let roots: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT manifest_digest FROM images UNION SELECT digest FROM cache_blobs",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut marked = HashSet::new();
        let mut todo: Vec<Digest> = roots.iter().filter_map(|d| d.parse().ok()).collect();
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
