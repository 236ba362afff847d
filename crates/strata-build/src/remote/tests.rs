//! The seam end to end without root: a build in store A through the fake sandbox, its export
//! served from memory as the imported cache of a build in an empty store B.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use strata_content::Store;
use strata_executor::{RunSpec, Stream};
use strata_oci::{Descriptor, Digest};

use super::export::{collect, ExportOptions};
use super::{CacheExport, NoRemoteCache, RemoteCache, RemoteCacheError, SharedRecord};
use crate::options::cache::CacheMode;
use crate::options::BuildOptions;
use crate::progress::Silent;
use crate::steps::run::fake::FakeSandbox;

const DOCKERFILE: &str = "\
FROM scratch AS deps
RUN make-deps
FROM scratch
RUN --mount=type=bind,from=deps,target=/deps make-app
";

/// A shared cache held in memory, its blobs copied from the store that exported it.
struct Memory<'a> {
    records: HashMap<Digest, SharedRecord>,
    from: &'a Store,
    fetched: Mutex<Vec<Digest>>,
}

impl<'a> Memory<'a> {
    fn new(export: CacheExport, from: &'a Store) -> Memory<'a> {
        let records = export.records.into_iter().map(|r| (r.key.clone(), r));
        Memory {
            records: records.collect(),
            from,
            fetched: Mutex::new(Vec::new()),
        }
    }
}

impl RemoteCache for Memory<'_> {
    fn lookup(&self, key: &Digest) -> Option<SharedRecord> {
        self.records.get(key).cloned()
    }

    fn mount(&self, _: &str) -> Option<Descriptor> {
        None
    }

    fn fetch(&self, store: &Store, blobs: &[Descriptor]) -> Result<(), RemoteCacheError> {
        for d in blobs {
            store.put_blob(&self.from.read_blob(&d.digest)?)?;
            self.fetched.lock().unwrap().push(d.digest.clone());
        }
        Ok(())
    }
}

fn sandbox() -> FakeSandbox {
    FakeSandbox::new(
        |spec: &RunSpec, upper: &Path, _: &mut dyn FnMut(Stream, &[u8])| {
            std::fs::write(upper.join(&spec.args[2]), "made").unwrap();
            Ok(0)
        },
    )
}

fn store(dir: &Path, name: &str) -> Store {
    Store::open(&dir.join(name)).unwrap()
}

fn opts(dir: &Path) -> BuildOptions {
    let ctx = dir.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();
    BuildOptions::new(ctx)
}

fn export(store: &Store, used: &super::usage::CacheUse, mode: CacheMode) -> CacheExport {
    let opts = ExportOptions {
        mode,
        mounts: false,
        compression: strata_archive::Compression::default(),
    };
    collect(store, used, opts, &NoRemoteCache).unwrap()
}

#[test]
fn an_empty_store_hits_every_step_and_fetches_only_the_final_layers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (store(dir.path(), "a"), store(dir.path(), "b"));
    let opts = opts(dir.path());
    let sandbox_a = sandbox();
    let built = crate::build_in(&a, &opts, &Silent, &sandbox_a).unwrap();
    assert_eq!(sandbox_a.runs().len(), 2);
    let min = export(&a, &built.cache, CacheMode::Min);
    let max = export(&a, &built.cache, CacheMode::Max);
    assert_eq!(min.records.len(), 1, "min: the final stage's RUN");
    assert_eq!(max.records.len(), 2, "max: both stages' RUNs");
    assert_eq!(
        min.records[0], max.records[1],
        "the final stage's record in both"
    );

    let remote = Memory::new(max, &a);
    let sandbox_b = sandbox();
    let again = crate::build_with(&b, &opts, &Silent, &sandbox_b, &remote).unwrap();
    assert!(sandbox_b.runs().is_empty(), "no RUN ran");
    assert_eq!(again.image.manifest_digest, built.image.manifest_digest);
    let final_layer = built.image.manifest.layers[0].digest.clone();
    assert_eq!(*remote.fetched.lock().unwrap(), vec![final_layer]);
    assert_eq!(again.cache.imported_hits(), 2);
    // The deps stage's record stays remote; the final one is now local.
    assert_eq!(b.cache_len().unwrap(), 1);
    // Exporting from B fetches the deps layer it never needed, to share the whole cache.
    let exported = collect(
        &b,
        &again.cache,
        ExportOptions {
            mode: CacheMode::Max,
            mounts: false,
            compression: strata_archive::Compression::default(),
        },
        &remote,
    )
    .unwrap();
    assert_eq!(exported.records.len(), 2);
    assert!(exported.blobs().iter().all(|d| b.has_blob(&d.digest)));
}

#[test]
fn without_a_remote_cache_an_empty_store_runs_everything() {
    let dir = tempfile::tempdir().unwrap();
    let b = store(dir.path(), "b");
    let sandbox_b = sandbox();
    let out = crate::build_in(&b, &opts(dir.path()), &Silent, &sandbox_b).unwrap();
    assert_eq!(sandbox_b.runs().len(), 2);
    assert_eq!(out.cache.imported_hits(), 0);
    assert_eq!(out.cache.keys.len(), 2, "one key per layer step");
    assert_eq!(out.cache.final_stages, [1].into());
}
