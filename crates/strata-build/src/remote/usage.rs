//! What a build used of the cache, stage by stage: the key of every layer step (hit or
//! miss), the cache mounts its RUN steps declare, and the records that hit in the imported
//! cache. [`CacheUse`] is the finished build's copy, which [`super::export`] reads.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use strata_content::Store;
use strata_oci::Digest;

use super::SharedRecord;
use crate::error::Result;
use crate::state::cache::{self, LayerRecord};

/// What a finished build used (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct CacheUse {
    /// `(stage, record key)` of every layer step, in the order the steps ran.
    pub keys: Vec<(usize, Digest)>,
    /// `(stage, cache mount id)` of every `RUN --mount=type=cache`, ran or cached.
    pub mounts: Vec<(usize, String)>,
    /// Records that hit in the imported cache, by key.
    pub imported: HashMap<Digest, SharedRecord>,
    /// The stages whose steps made the final image's layers: the target and the stages it
    /// is built `FROM`, in turn (what `mode=min` exports).
    pub final_stages: BTreeSet<usize>,
}

impl CacheUse {
    /// How many layer steps hit the imported cache.
    pub fn imported_hits(&self) -> usize {
        self.imported.len()
    }
}

/// [`CacheUse`] being filled by the build's threads.
#[derive(Default)]
pub struct CacheUsage(Mutex<CacheUse>);

impl CacheUsage {
    fn with<R>(&self, f: impl FnOnce(&mut CacheUse) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A layer step of `stage` asked for `key`.
    pub fn key(&self, stage: usize, key: &Digest) {
        self.with(|u| u.keys.push((stage, key.clone())));
    }

    /// A RUN step of `stage` declares cache mount `id`.
    pub fn mount(&self, stage: usize, id: String) {
        self.with(|u| u.mounts.push((stage, id)));
    }

    /// `key` hit the imported `record`.
    pub fn imported(&self, record: SharedRecord) {
        self.with(|u| u.imported.insert(record.key.clone(), record));
    }

    /// The imported record of `key`, if it hit before (a stage built twice asks again).
    pub fn imported_record(&self, key: &Digest) -> Option<SharedRecord> {
        self.with(|u| u.imported.get(key).cloned())
    }

    /// The finished build's copy.
    pub fn finish(&self, final_stages: BTreeSet<usize>) -> CacheUse {
        self.with(|u| CacheUse {
            final_stages,
            ..u.clone()
        })
    }
}

/// Stores the imported records whose blobs the build brought into the store as local
/// records, so the next build here hits without asking the shared cache.
pub fn keep_imported(store: &Store, used: &CacheUse) -> Result<()> {
    for rec in used.imported.values() {
        if !rec.blobs.iter().all(|d| store.has_blob(&d.digest)) {
            continue;
        }
        match serde_json::from_slice::<LayerRecord>(&rec.value) {
            Ok(layer) => cache::record(store, &rec.key, &layer)?,
            Err(e) => tracing::warn!(key = %rec.key, error = %e, "unreadable imported record"),
        }
    }
    Ok(())
}
