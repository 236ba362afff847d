//! What `--cache-to` exports: the records of the steps a build used (`mode=max`: every
//! stage's; `mode=min`: the final image's) and, with `mounts=true`, the cache mounts' contents
//! as layer blobs. Records that hit the imported cache are exported too, their blobs fetched
//! first, so a chain of CI runs keeps the whole cache.

use std::collections::HashSet;

use strata_archive::Compression;
use strata_content::Store;

use super::usage::CacheUse;
use super::{ensure_blobs, mounts, CacheExport, RemoteCache, SharedMount, SharedRecord};
use crate::error::Result;
use crate::options::cache::CacheMode;
use crate::state::cache::LayerRecord;
use crate::steps::run::mounts::cache_mount_dir;

/// What to export and how to write cache-mount layers.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    pub mode: CacheMode,
    /// Export the cache mounts' contents (`mounts=true`).
    pub mounts: bool,
    pub compression: Compression,
}

/// Collects the records (and mounts) a finished build exports; every blob they name is in
/// `store` when it returns.
pub fn collect(
    store: &Store,
    used: &CacheUse,
    opts: ExportOptions,
    remote: &dyn RemoteCache,
) -> Result<CacheExport> {
    let wanted = |stage: &usize| opts.mode == CacheMode::Max || used.final_stages.contains(stage);
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    for (_, key) in used.keys.iter().filter(|(s, _)| wanted(s)) {
        if !seen.insert(key.clone()) {
            continue;
        }
        match record(store, used, key)? {
            Some(r) => records.push(r),
            None => tracing::debug!(%key, "no record to export"),
        }
    }
    let imported = records.iter().flat_map(|r| r.blobs.iter().cloned());
    ensure_blobs(store, remote, imported.collect::<Vec<_>>())?;
    let mut export = CacheExport {
        records,
        mounts: Vec::new(),
    };
    if opts.mounts {
        let ids = used.mounts.iter().filter(|(s, _)| wanted(s));
        let mut seen = HashSet::new();
        for (_, id) in ids.filter(|(_, id)| seen.insert(id.clone())) {
            if let Some(m) = mount(store, id, opts.compression, remote)? {
                export.mounts.push(m);
            }
        }
    }
    Ok(export)
}

/// The record of `key`: the local one, else the imported one it hit.
fn record(
    store: &Store,
    used: &CacheUse,
    key: &strata_oci::Digest,
) -> Result<Option<SharedRecord>> {
    if let Some(rec) = store.cache_get(&key.to_string())? {
        let Ok(layer) = serde_json::from_slice::<LayerRecord>(&rec.value) else {
            return Ok(None);
        };
        return Ok(Some(SharedRecord {
            key: key.clone(),
            value: rec.value,
            blobs: layer.layer.into_iter().map(|l| l.descriptor).collect(),
        }));
    }
    Ok(used.imported.get(key).cloned())
}

/// Cache mount `id` as a layer: its directory here, else the imported contents it would
/// start from (a run whose RUN steps all hit never made the directory).
fn mount(
    store: &Store,
    id: &str,
    compression: Compression,
    remote: &dyn RemoteCache,
) -> Result<Option<SharedMount>> {
    let dir = cache_mount_dir(store, id);
    let layer = if dir.is_dir() {
        mounts::pack(store, &dir, compression)?
    } else if let Some(layer) = remote.mount(id) {
        ensure_blobs(store, remote, [layer.clone()])?;
        layer
    } else {
        return Ok(None);
    };
    Ok(Some(SharedMount {
        id: id.to_owned(),
        layer,
    }))
}
