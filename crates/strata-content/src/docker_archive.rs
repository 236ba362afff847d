//! `docker save` output: a docker-archive tar in the Docker 25+ form, which is also an OCI
//! layout (`blobs/sha256/…`, `index.json`, `oci-layout`) plus `manifest.json` and
//! `repositories`. Layer blobs are written as stored (docker, skopeo and podman detect
//! compression).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use strata_oci::docker_archive::ArchiveEntry;
use strata_oci::{ImageIndex, Reference};

use crate::error::Result;
use crate::images::Image;
use crate::oci_layout::{blobs_of, index_entries, layout_files};
use crate::store::Store;
use crate::tar_writer::write_layout_tar;

/// Writes `images` with their references (tags) as a docker-archive tar to `out`.
pub fn save<W: Write>(store: &Store, images: &[(Image, Vec<Reference>)], out: W) -> Result<W> {
    let index = ImageIndex::oci(index_entries(store, images)?);
    let mut files = layout_files(index);
    let entries: Vec<ArchiveEntry> = images
        .iter()
        .map(|(image, refs)| ArchiveEntry {
            config: blob_path(image.config_digest.hex()),
            repo_tags: refs
                .iter()
                .filter(|r| r.tag().is_some())
                .map(Reference::familiar)
                .collect(),
            layers: image
                .manifest
                .layers
                .iter()
                .map(|l| blob_path(l.digest.hex()))
                .collect(),
        })
        .collect();
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec(&entries).expect("serialisable"),
    );
    files.insert("repositories".into(), repositories(images));
    write_layout_tar(
        store,
        out,
        Path::new("<docker-archive>"),
        &blobs_of(images),
        &files,
    )
}

/// Saves to a file, written atomically.
pub fn save_to_file(store: &Store, images: &[(Image, Vec<Reference>)], dest: &Path) -> Result<()> {
    crate::oci_layout::write_tar_atomically(dest, |out| save(store, images, out).map(drop))
}

fn blob_path(hex: &str) -> String {
    format!("blobs/sha256/{hex}")
}

/// `{"app":{"1":"<top layer hex>"}}`, as docker writes it.
fn repositories(images: &[(Image, Vec<Reference>)]) -> Vec<u8> {
    let mut repos: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (image, refs) in images {
        let Some(top) = image.manifest.layers.last() else {
            continue;
        };
        for r in refs {
            if let Some(tag) = r.tag() {
                repos
                    .entry(r.familiar_name())
                    .or_default()
                    .insert(tag.to_owned(), top.digest.hex().to_owned());
            }
        }
    }
    serde_json::to_vec(&repos).expect("serialisable")
}
