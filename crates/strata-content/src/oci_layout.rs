//! Export images as an OCI image layout, to a directory or a deterministic `.tar`.
//!
//! `index.json` names each image with `org.opencontainers.image.ref.name` (the tag, what
//! `skopeo oci:DIR:TAG` and `umoci --image DIR:TAG` look up) and `io.containerd.image.name`
//! (the full name, what `docker load` and containerd use).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::Path;

use strata_oci::media_types::{OCI_LAYOUT_VERSION, OCI_MANIFEST};
use strata_oci::{to_canonical_json, Descriptor, Digest, ImageIndex, Platform, Reference};

use crate::error::{Error, Result};
use crate::images::Image;
use crate::store::Store;
use crate::tar_writer::write_layout_tar;

pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";

/// Writes `images` as an OCI layout at `dest`: a `.tar` file when `dest` ends in `.tar`,
/// otherwise a directory (an existing layout there is added to; a tag in it moves).
pub fn export(store: &Store, images: &[(Image, Option<Reference>)], dest: &Path) -> Result<()> {
    let named: Vec<(Image, Vec<Reference>)> = images
        .iter()
        .map(|(i, r)| (i.clone(), r.iter().cloned().collect()))
        .collect();
    let descriptors = index_entries(store, &named)?;
    if dest.extension().is_some_and(|e| e == "tar") {
        let files = layout_files(ImageIndex::oci(descriptors));
        write_tar_atomically(dest, |out| {
            write_layout_tar(store, out, dest, &blobs_of(&named), &files).map(drop)
        })
    } else {
        export_dir(store, &named, descriptors, dest)
    }
}

/// Index descriptors for images, one per reference (or one unnamed per untagged image).
pub(crate) fn index_entries(
    store: &Store,
    images: &[(Image, Vec<Reference>)],
) -> Result<Vec<Descriptor>> {
    let mut out = Vec::new();
    for (image, refs) in images {
        let media_type = image.manifest.media_type.as_deref().unwrap_or(OCI_MANIFEST);
        let size = store.blob_size(&image.manifest_digest)?;
        let mut desc = Descriptor::new(media_type, image.manifest_digest.clone(), size);
        desc.platform = Some(Platform {
            architecture: image.config.architecture.clone(),
            os: image.config.os.clone(),
            variant: image.config.variant.clone(),
        });
        if refs.is_empty() {
            out.push(desc.clone());
        }
        for r in refs {
            let mut d = desc.clone();
            d.annotations
                .insert(ANNOTATION_IMAGE_NAME.into(), r.to_string());
            if let Some(tag) = r.tag() {
                d.annotations
                    .insert(ANNOTATION_REF_NAME.into(), tag.to_owned());
            }
            out.push(d);
        }
    }
    Ok(out)
}

/// Every blob of the images: manifests, configs, layers.
pub(crate) fn blobs_of(images: &[(Image, Vec<Reference>)]) -> BTreeSet<Digest> {
    let mut out = BTreeSet::new();
    for (image, _) in images {
        out.insert(image.manifest_digest.clone());
        out.insert(image.config_digest.clone());
        out.extend(image.manifest.layers.iter().map(|l| l.digest.clone()));
    }
    out
}

/// `index.json` and `oci-layout`.
pub(crate) fn layout_files(index: ImageIndex) -> BTreeMap<String, Vec<u8>> {
    let layout = format!("{{\"imageLayoutVersion\":\"{OCI_LAYOUT_VERSION}\"}}");
    BTreeMap::from([
        ("index.json".to_owned(), to_canonical_json(&index)),
        ("oci-layout".to_owned(), layout.into_bytes()),
    ])
}

/// Writes a file through a temp file next to it, renamed into place on success.
pub(crate) fn write_tar_atomically(
    dest: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&mut fs::File>) -> Result<()>,
) -> Result<()> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".strata-export-")
        .tempfile_in(parent)
        .map_err(Error::io(parent))?;
    {
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut out)?;
        out.flush().map_err(Error::io(dest))?;
    }
    tmp.as_file().sync_all().map_err(Error::io(dest))?;
    tmp.persist(dest).map_err(|e| Error::io(dest)(e.error))?;
    Ok(())
}

fn export_dir(
    store: &Store,
    images: &[(Image, Vec<Reference>)],
    mut descriptors: Vec<Descriptor>,
    dest: &Path,
) -> Result<()> {
    let blob_dir = dest.join("blobs").join("sha256");
    fs::create_dir_all(&blob_dir).map_err(Error::io(&blob_dir))?;
    for d in blobs_of(images) {
        let target = blob_dir.join(d.hex());
        if target.is_file() {
            continue;
        }
        let part = blob_dir.join(format!(".{}.part", d.hex()));
        fs::copy(store.blob_path(&d), &part).map_err(Error::io(&part))?;
        fs::rename(&part, &target).map_err(Error::io(&target))?;
    }
    let mut index = read_existing_index(dest)?;
    let new_names: BTreeSet<&str> = descriptors
        .iter()
        .filter_map(|d| d.annotations.get(ANNOTATION_REF_NAME).map(String::as_str))
        .collect();
    index.manifests.retain(|d| {
        !matches!(d.annotations.get(ANNOTATION_REF_NAME), Some(n) if new_names.contains(n.as_str()))
    });
    index.manifests.append(&mut descriptors);
    for (name, bytes) in layout_files(index) {
        let path = dest.join(&name);
        let part = dest.join(format!(".{name}.part"));
        fs::write(&part, bytes).map_err(Error::io(&part))?;
        fs::rename(&part, &path).map_err(Error::io(&path))?;
    }
    Ok(())
}

fn read_existing_index(dest: &Path) -> Result<ImageIndex> {
    let path = dest.join("index.json");
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Export {
            path: path.clone(),
            reason: format!("existing index.json is invalid: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ImageIndex::oci(Vec::new())),
        Err(e) => Err(Error::io(path)(e)),
    }
}
