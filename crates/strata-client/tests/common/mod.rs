//! What the protocol test files share: stores, a small image, error chains.

#![allow(dead_code)]

use serde_json::json;
use strata_client::parallel::DEFAULT_PARALLELISM;
use strata_client::{BlobPush, Registry};
use strata_content::Store;
use strata_distribution::{ManifestRef, RepositoryName};
use strata_oci::Digest;
use strata_testkit::gzip;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A small image in a store: one layer (an empty tar, gzipped), its config and manifest.
pub struct Image {
    pub manifest: Vec<u8>,
    /// Layer, then config.
    pub blobs: Vec<Digest>,
}

pub fn small_image(store: &Store) -> Image {
    let tar = vec![0u8; 1024];
    let layer = gzip(&tar);
    let layer_digest = store.put_blob(&layer).unwrap();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&tar).to_string()]},
    }))
    .unwrap();
    let config_digest = store.put_blob(&config).unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest.to_string(),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": layer_digest.to_string(),
            "size": layer.len(),
        }],
    }))
    .unwrap();
    Image {
        manifest,
        blobs: vec![layer_digest, config_digest],
    }
}

/// Pushes `image`'s blobs (in parallel) and tags it `v1`; returns what each blob push did.
pub fn push_image(
    reg: &Registry,
    name: &RepositoryName,
    store: &Store,
    image: &Image,
) -> Vec<BlobPush> {
    let pushed = reg
        .push_blobs_from_store(name, store, &image.blobs, DEFAULT_PARALLELISM)
        .unwrap();
    let digest = reg
        .put_manifest(name, &tag("v1"), &image.manifest, OCI_MANIFEST)
        .unwrap();
    assert_eq!(digest, Digest::of(&image.manifest));
    pushed
}

pub fn repo(name: &str) -> RepositoryName {
    name.parse().unwrap()
}

pub fn tag(t: &str) -> ManifestRef {
    t.parse().unwrap()
}

pub fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("root")).unwrap();
    (dir, store)
}

/// An error and its causes, `: `-joined, as the binary prints them.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// The names of the files under `dir` (recursively), sorted: what a failed transfer must
/// leave unchanged.
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out.sort();
    out
}
