//! An OCI image layout directory (`oci:PATH[:TAG]`) as either end.
//!
//! Reading: the `index.json` entry whose `org.opencontainers.image.ref.name` is the tag
//! (or, for a docker-archive, whose `io.containerd.image.name` is the reference), else the
//! only entry. Writing: blobs through a temp file renamed into `blobs/sha256/`, then
//! `index.json` replaced atomically, with the entry of the same tag replaced and every
//! other entry kept as it was (as JSON values: fields strata does not model survive).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use strata_content::oci_layout::{ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use strata_content::Store;
use strata_oci::media_types::OCI_LAYOUT_VERSION;
use strata_oci::{Descriptor, ImageIndex, Reference};

use super::{import_file, manifest_kind, BlobJob, Destination, Source};
use crate::image::error::{Result, TransferError};
use crate::image::progress::BlobOutcome;
use crate::pull::{Manifest, MANIFEST_LIMIT};

/// Which entry of `index.json` a location names.
#[derive(Debug, Clone)]
pub(crate) enum Selector {
    /// `org.opencontainers.image.ref.name`.
    Tag(String),
    /// `io.containerd.image.name` (or a `ref.name` holding the full reference).
    Reference(Reference),
    /// The only entry.
    Only,
}

fn blob_path(root: &Path, desc: &Descriptor) -> PathBuf {
    root.join("blobs")
        .join(desc.digest.algorithm())
        .join(desc.digest.hex())
}

/// Reads an image from a layout.
pub(crate) struct OciSource {
    pub root: PathBuf,
    pub selector: Selector,
    pub shown: String,
}

impl OciSource {
    fn index(&self) -> Result<ImageIndex> {
        let path = self.root.join("index.json");
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                TransferError::layout(&self.root, "not an OCI image layout (no index.json)")
            }
            _ => TransferError::io(&path)(e),
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| TransferError::layout(&path, format!("invalid index.json: {e}")))
    }

    fn entry(&self) -> Result<Descriptor> {
        let index = self.index()?;
        let path = self.root.join("index.json");
        let found = match &self.selector {
            Selector::Tag(t) => index.manifests.iter().find(|d| ref_name(d) == Some(t)),
            Selector::Reference(r) => index.manifests.iter().find(|d| names(d, r)),
            Selector::Only if index.manifests.len() == 1 => index.manifests.first(),
            Selector::Only => {
                let reason = format!(
                    "{} images in the layout; name one (tags: {})",
                    index.manifests.len(),
                    tags(&index)
                );
                return Err(TransferError::layout(path, reason));
            }
        };
        let wanted = match &self.selector {
            Selector::Tag(t) => t.clone(),
            Selector::Reference(r) => r.to_string(),
            Selector::Only => String::new(),
        };
        found.cloned().ok_or_else(|| {
            let reason = format!("no image {wanted} (tags: {})", tags(&index));
            TransferError::layout(path, reason)
        })
    }

    /// A manifest blob, checked against its descriptor (size first: it bounds the read).
    fn read_manifest(&self, desc: &Descriptor) -> Result<Manifest> {
        let path = blob_path(&self.root, desc);
        if desc.size > MANIFEST_LIMIT {
            let reason = format!(
                "manifest {} is larger than {MANIFEST_LIMIT} bytes",
                desc.digest
            );
            return Err(TransferError::layout(&path, reason));
        }
        let mut bytes = Vec::new();
        let file = fs::File::open(&path).map_err(TransferError::io(&path))?;
        file.take(desc.size + 1)
            .read_to_end(&mut bytes)
            .map_err(TransferError::io(&path))?;
        let actual = strata_oci::Digest::of(&bytes);
        if actual != desc.digest || bytes.len() as u64 != desc.size {
            return Err(TransferError::Digest {
                what: format!("manifest {} ({} bytes)", desc.digest, desc.size),
                path,
                expected: desc.digest.clone(),
                actual,
            });
        }
        let kind = manifest_kind(Some(&desc.media_type), &bytes, &desc.digest, &self.shown)?;
        Ok(Manifest {
            bytes,
            media_type: kind.media_type().to_owned(),
            digest: actual,
        })
    }
}

fn ref_name(d: &Descriptor) -> Option<&String> {
    d.annotations.get(ANNOTATION_REF_NAME)
}

fn names(d: &Descriptor, r: &Reference) -> bool {
    let full = |v: Option<&String>| v.and_then(|n| Reference::parse(n).ok()).as_ref() == Some(r);
    full(d.annotations.get(ANNOTATION_IMAGE_NAME)) || full(ref_name(d))
}

fn tags(index: &ImageIndex) -> String {
    let tags: Vec<&str> = index
        .manifests
        .iter()
        .filter_map(|d| ref_name(d).map(String::as_str))
        .collect();
    match tags.is_empty() {
        true => "none".to_owned(),
        false => tags.join(", "),
    }
}

impl Source for OciSource {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn top(&self) -> Result<Manifest> {
        self.read_manifest(&self.entry()?)
    }

    fn child(&self, desc: &Descriptor) -> Result<Manifest> {
        self.read_manifest(desc)
    }

    fn fetch(&self, desc: &Descriptor, hub: &Store, on_bytes: &dyn Fn(u64)) -> Result<()> {
        import_file(&blob_path(&self.root, desc), desc, hub, on_bytes)
    }
}

/// Writes an image (or a whole index) into a layout, created when missing.
pub(crate) struct OciDest {
    pub root: PathBuf,
    pub tag: Option<String>,
    pub shown: String,
}

impl OciDest {
    /// Writes `bytes` to `path` through a temp file in the same directory.
    fn write_atomically(
        path: &Path,
        write: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<()> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let part = path.with_file_name(format!(".{name}.part"));
        write(&part).map_err(TransferError::io(&part))?;
        fs::rename(&part, path).map_err(TransferError::io(path))
    }

    fn update_index(&self, manifest: &Manifest) -> Result<()> {
        let path = self.root.join("index.json");
        let mut index = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                .ok()
                .filter(|v| v.get("manifests").is_none_or(Value::is_array))
                .ok_or_else(|| TransferError::layout(&path, "existing index.json is invalid"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                json!({"schemaVersion": 2, "mediaType": strata_oci::media_types::OCI_INDEX})
            }
            Err(e) => return Err(TransferError::io(&path)(e)),
        };
        let mut entry = json!({
            "mediaType": manifest.media_type,
            "digest": manifest.digest.to_string(),
            "size": manifest.bytes.len(),
        });
        if let Some(tag) = &self.tag {
            entry["annotations"] = json!({ ANNOTATION_REF_NAME: tag });
        }
        let manifests = index
            .as_object_mut()
            .expect("checked above")
            .entry("manifests")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("checked above");
        manifests.retain(|d| match &self.tag {
            Some(tag) => d["annotations"][ANNOTATION_REF_NAME].as_str() != Some(tag),
            None => d != &entry,
        });
        manifests.push(entry);
        let bytes = serde_json::to_vec(&index).expect("JSON values serialise");
        OciDest::write_atomically(&path, |part| fs::write(part, &bytes))
    }
}

impl Destination for OciDest {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn accepts_index(&self) -> bool {
        true
    }

    fn prepare(&self) -> Result<()> {
        let blobs = self.root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(TransferError::io(&blobs))?;
        let layout = self.root.join("oci-layout");
        if !layout.is_file() {
            let text = format!("{{\"imageLayoutVersion\":\"{OCI_LAYOUT_VERSION}\"}}");
            OciDest::write_atomically(&layout, |part| fs::write(part, text))?;
        }
        Ok(())
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        let path = blob_path(&self.root, desc);
        Ok(fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == desc.size))
    }

    fn put_blob(&self, job: &BlobJob, fetch: &dyn Fn() -> Result<()>) -> Result<BlobOutcome> {
        fetch()?;
        let from = job.hub.blob_path(&job.desc.digest);
        let to = blob_path(&self.root, job.desc);
        OciDest::write_atomically(&to, |part| fs::copy(&from, part).map(drop))?;
        Ok(BlobOutcome::Fetched)
    }

    fn put_manifest(&self, manifest: &Manifest, top: bool) -> Result<()> {
        let desc = Descriptor::new(
            &manifest.media_type,
            manifest.digest.clone(),
            manifest.bytes.len() as u64,
        );
        let path = blob_path(&self.root, &desc);
        OciDest::write_atomically(&path, |part| fs::write(part, &manifest.bytes))?;
        if top {
            self.update_index(manifest)?;
        }
        Ok(())
    }
}
