//! A docker-archive tar (`docker-archive:PATH[:REF]`) as either end.
//!
//! Reading: a Docker 25+ archive is also an OCI layout, so its `index.json`, `oci-layout`
//! and `blobs/sha256/*` are extracted into a temporary directory and read as one (the
//! manifests keep their digests); an older archive (no `index.json`, as skopeo and older
//! docker write it) has no manifest at all, so `strata-content`'s `load` makes one in a
//! throw-away spool store, as `docker load` would. Writing: `strata-content`'s
//! `docker_archive::save` (Docker 25+ form), written atomically; an existing file is
//! replaced.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use strata_content::{docker_archive, load, Store};
use strata_oci::{Descriptor, Digest, Reference};

use super::oci::{OciSource, Selector};
use super::store::StoreSource;
use super::{spool, BlobJob, Destination, Source, Spool};
use crate::image::error::{Result, TransferError};
use crate::image::progress::BlobOutcome;
use crate::pull::Manifest;

/// The source an archive opens as, with the temporary files it needs while it is read.
pub(crate) enum ArchiveSource {
    Layout {
        source: OciSource,
        _dir: tempfile::TempDir,
    },
    Loaded {
        source: Box<StoreSource>,
        _spool: Spool,
    },
}

impl ArchiveSource {
    pub fn open(path: &Path, reference: Option<&Reference>, shown: String) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("strata-archive-")
            .tempdir_in(super::spool_base())
            .map_err(TransferError::io(path))?;
        if !is_compressed(path)? && extract_layout(path, dir.path())? {
            let selector = match reference {
                Some(r) => Selector::Reference(r.clone()),
                None => Selector::Only,
            };
            let source = OciSource {
                root: dir.path().to_owned(),
                selector,
                shown,
            };
            return Ok(ArchiveSource::Layout { source, _dir: dir });
        }
        let spool = spool()?;
        let loaded = load::load(&spool.store, path)?;
        let pick = loaded.iter().find(|l| match reference {
            Some(r) => l.references.contains(r),
            None => loaded.len() == 1,
        });
        let Some(pick) = pick else {
            let reason = match reference {
                Some(r) => format!("no image {r} in the archive"),
                None => format!("{} images in the archive; name one", loaded.len()),
            };
            return Err(TransferError::layout(path, reason));
        };
        let image = spool.store.image(&pick.manifest_digest)?;
        let source = Box::new(StoreSource::new(&spool.store, image, shown));
        Ok(ArchiveSource::Loaded {
            source,
            _spool: spool,
        })
    }

    fn inner(&self) -> &dyn Source {
        match self {
            ArchiveSource::Layout { source, .. } => source,
            ArchiveSource::Loaded { source, .. } => source.as_ref(),
        }
    }
}

impl Source for ArchiveSource {
    fn describe(&self) -> String {
        self.inner().describe()
    }

    fn top(&self) -> Result<Manifest> {
        self.inner().top()
    }

    fn child(&self, desc: &Descriptor) -> Result<Manifest> {
        self.inner().child(desc)
    }

    fn fetch(&self, desc: &Descriptor, hub: &Store, on_bytes: &dyn Fn(u64)) -> Result<()> {
        self.inner().fetch(desc, hub, on_bytes)
    }
}

fn is_compressed(path: &Path) -> Result<bool> {
    let file = fs::File::open(path).map_err(TransferError::io(path))?;
    let mut r = BufReader::new(file);
    let head = r.fill_buf().map_err(TransferError::io(path))?;
    Ok(head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]))
}

/// Extracts the OCI-layout part of the tar into `dir`: only regular files named
/// `index.json`, `oci-layout` or `blobs/sha256/<hex>` (so nothing lands outside `dir`).
/// Whether an `index.json` was found.
fn extract_layout(path: &Path, dir: &Path) -> Result<bool> {
    let file = fs::File::open(path).map_err(TransferError::io(path))?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 16, file));
    let bad = |e: std::io::Error| TransferError::layout(path, format!("not a readable tar: {e}"));
    let mut found_index = false;
    fs::create_dir_all(dir.join("blobs/sha256")).map_err(TransferError::io(dir))?;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let Some((name, _)) = layout_entry(&entry) else {
            continue;
        };
        found_index |= name == "index.json";
        let target: PathBuf = dir.join(&name);
        let mut out = fs::File::create(&target).map_err(TransferError::io(&target))?;
        std::io::copy(&mut entry, &mut out).map_err(bad)?;
    }
    Ok(found_index)
}

/// What a regular entry of a docker-archive is to the OCI layout inside it: its cleaned
/// name, and the blob's digest for `blobs/sha256/<hex>`; `None` for any other entry than
/// those and `index.json` / `oci-layout` (so nothing outside the layout is ever used).
pub(crate) fn layout_entry<R: std::io::Read>(
    entry: &tar::Entry<'_, R>,
) -> Option<(String, Option<Digest>)> {
    if entry.header().entry_type() != tar::EntryType::Regular {
        return None;
    }
    let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let name = strata_oci::path::clean_in_root(&raw);
    match name.strip_prefix("blobs/sha256/") {
        Some(hex) => {
            let digest = Digest::from_hex(hex).ok()?;
            Some((name, Some(digest)))
        }
        None => matches!(name.as_str(), "index.json" | "oci-layout").then_some((name, None)),
    }
}

/// Writes one image as a docker-archive.
pub(crate) struct ArchiveDest {
    pub path: PathBuf,
    pub reference: Option<Reference>,
    pub hub: Store,
    pub shown: String,
}

impl Destination for ArchiveDest {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn accepts_index(&self) -> bool {
        false
    }

    fn has_blob(&self, _desc: &Descriptor) -> Result<bool> {
        Ok(false)
    }

    fn put_blob(&self, _job: &BlobJob, fetch: &dyn Fn() -> Result<()>) -> Result<BlobOutcome> {
        fetch()?;
        Ok(BlobOutcome::Fetched)
    }

    fn put_manifest(&self, manifest: &Manifest, _top: bool) -> Result<()> {
        let image = match self.hub.image(&manifest.digest) {
            Ok(image) => image,
            Err(strata_content::Error::NoSuchImage { .. }) => {
                let digest = self.hub.put_manifest_bytes(&manifest.bytes)?;
                self.hub.image(&digest)?
            }
            Err(e) => return Err(e.into()),
        };
        let refs: Vec<Reference> = self.reference.iter().cloned().collect();
        docker_archive::save_to_file(&self.hub, &[(image, refs)], &self.path)?;
        Ok(())
    }
}
