//! Several blobs at once, on a few threads sharing one [`Registry`] (and its token cache).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use strata_content::Store;
use strata_distribution::RepositoryName;
use strata_oci::Digest;

use crate::error::Result;
use crate::pull::FetchedBlob;
use crate::push::BlobPush;
use crate::transport::Registry;

/// How many transfers run at once by default (docker's and containerd's default is 3).
pub const DEFAULT_PARALLELISM: usize = 3;

/// Runs `job` on each item, `parallelism` at a time; results keep the items' order. The
/// first error is returned once the running jobs are done; no new job starts after it.
pub(crate) fn run_all<T: Sync, R: Send, E: Send>(
    items: &[T],
    parallelism: usize,
    job: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, E>>>> =
        Mutex::new(items.iter().map(|_| None).collect());
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..parallelism.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() || failed.load(Ordering::Relaxed) {
                    return;
                }
                let r = job(&items[i]);
                if r.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.into_iter().flatten().collect()
}

impl Registry {
    /// [`Registry::fetch_blob`] for each `(digest, size)`, `parallelism` at a time.
    pub fn fetch_blobs(
        &self,
        repo: &RepositoryName,
        blobs: &[(Digest, u64)],
        store: &Store,
        parallelism: usize,
    ) -> Result<Vec<FetchedBlob>> {
        run_all(blobs, parallelism, |(digest, size)| {
            self.fetch_blob(repo, digest, Some(*size), store)
        })
    }

    /// [`Registry::push_blob_from_store`] for each digest, `parallelism` at a time.
    pub fn push_blobs_from_store(
        &self,
        repo: &RepositoryName,
        store: &Store,
        digests: &[Digest],
        parallelism: usize,
    ) -> Result<Vec<BlobPush>> {
        run_all(digests, parallelism, |digest| {
            self.push_blob_from_store(repo, store, digest, None)
        })
    }
}
