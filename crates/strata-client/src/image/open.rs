//! `open_image`: any [`Location`] as an image whose blobs can be streamed, for the checks
//! (`strata analyze`, `scan`, `sbom`). Nothing is copied that can be read where it lies: a
//! store image is read in the store, an OCI layout in its directory, and an uncompressed
//! docker-archive (Docker 25+ form, an OCI layout inside) through an index of its tar
//! entries' offsets (only the small files, manifests and configs, are extracted to a
//! temporary directory). A registry image, a compressed or legacy docker-archive are
//! copied (verified, only the picked platform) into a spool store that lives as long as
//! the [`OpenedImage`]. Manifests and configs are verified here. Layer blobs read in place
//! are not hashed again unless [`OpenedImage::verify_in_place`] is set (as dive, `skopeo
//! inspect` and trivy read an archive): a truncated or malformed layer still fails where it
//! is read; with the flag the reader (`strata_check::image::walk`) also checks every
//! blob's digest.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use strata_content::{BlobSource, Image, Store};
use strata_oci::{media_types, Digest, ImageConfig, ImageIndex, ImageManifest, Platform};

use super::error::{Result, TransferError};
use super::location::Location;
use super::select::select;
use super::transports::archive::layout_entry;
use super::transports::oci::{OciSource, Selector};
use super::transports::{spool, spool_base, Source, Spool};
use super::{Client, CopyOptions};

/// Name the image gets inside its spool store.
const SPOOL_NAME: &str = "strata-check/opened:image";

/// Files of a docker-archive up to this size are extracted (index, manifests, configs).
const SMALL: u64 = 4 << 20;

/// An image opened for reading: its manifest and config, and where its blobs are.
pub struct OpenedImage {
    /// Where the image came from, as the user wrote it.
    pub location: Location,
    pub image: Image,
    /// Hash layer blobs read in place (a layout, an archive) against their digests.
    pub verify_in_place: bool,
    blobs: Blobs,
    _spool: Option<Spool>,
    _dir: Option<tempfile::TempDir>,
}

/// Blob entries of a tar: digest → (offset of the data, size).
type Offsets = HashMap<Digest, (u64, u64)>;

/// Where the blobs of an [`OpenedImage`] are.
enum Blobs {
    Store(Store),
    Layout(PathBuf),
    Archive { path: PathBuf, entries: Offsets },
}

impl std::fmt::Debug for OpenedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedImage")
            .field("location", &self.location)
            .field("manifest", &self.image.manifest_digest)
            .finish_non_exhaustive()
    }
}

impl BlobSource for OpenedImage {
    fn blob_reader(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        self.blobs.blob_reader(digest)
    }

    /// Blobs of a store (the local one, or the spool a copy verified them into) are;
    /// blobs read in place in a layout or an archive are taken as they are unless
    /// [`OpenedImage::verify_in_place`].
    fn verified(&self) -> bool {
        matches!(self.blobs, Blobs::Store(_)) || !self.verify_in_place
    }
}

impl BlobSource for Blobs {
    fn blob_reader(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Blobs::Store(store) => store.blob_reader(digest),
            Blobs::Layout(root) => Ok(Box::new(File::open(layout_blob(root, digest))?)),
            Blobs::Archive { path, entries } => {
                let Some(&(offset, size)) = entries.get(digest) else {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{} has no blob {digest}", path.display()),
                    ));
                };
                let mut file = File::open(path)?;
                file.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(file.take(size)))
            }
        }
    }
}

fn layout_blob(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

impl Client {
    /// Opens `src` for reading (see the module docs). `store` is the local store, needed
    /// for `store:` locations.
    pub fn open_image(
        &self,
        store: Option<&Store>,
        src: &Location,
        opts: &CopyOptions,
    ) -> Result<OpenedImage> {
        let platform = opts.platform.clone().unwrap_or_else(Platform::host);
        match src {
            Location::Store(name) => {
                let store = store.ok_or_else(|| TransferError::Location {
                    input: src.to_string(),
                    reason: "the local store is not open".into(),
                })?;
                let image = store.resolve(name)?;
                Ok(opened(src, image, Blobs::Store(store.clone()), None))
            }
            Location::Oci { path, tag } => {
                let selector = tag.clone().map_or(Selector::Only, Selector::Tag);
                let source = OciSource {
                    root: path.clone(),
                    selector,
                    shown: src.to_string(),
                };
                let blobs = Blobs::Layout(path.clone());
                let image = read_image(&source, &blobs, &platform)?;
                Ok(opened(src, image, blobs, None))
            }
            Location::DockerArchive { path, reference } => match index_archive(path)? {
                Some((dir, entries)) => {
                    let selector = reference
                        .clone()
                        .map_or(Selector::Only, Selector::Reference);
                    let source = OciSource {
                        root: dir.path().to_owned(),
                        selector,
                        shown: src.to_string(),
                    };
                    let blobs = Blobs::Archive {
                        path: path.clone(),
                        entries,
                    };
                    let image = read_image(&source, &blobs, &platform)?;
                    Ok(opened(src, image, blobs, Some(dir)))
                }
                None => self.open_copied(src, opts),
            },
            Location::Registry(_) => self.open_copied(src, opts),
        }
    }

    /// Copies `src` into a spool store and opens it there.
    fn open_copied(&self, src: &Location, opts: &CopyOptions) -> Result<OpenedImage> {
        let spool = spool()?;
        let dst = Location::Store(SPOOL_NAME.into());
        let opts = CopyOptions {
            all: false,
            ..opts.clone()
        };
        let copied = self.copy(Some(&spool.store), src, &dst, &opts)?;
        let image = spool.store.image(&copied.digest)?;
        let blobs = Blobs::Store(spool.store.clone());
        let mut o = opened(src, image, blobs, None);
        o._spool = Some(spool);
        Ok(o)
    }
}

fn opened(
    src: &Location,
    image: Image,
    blobs: Blobs,
    dir: Option<tempfile::TempDir>,
) -> OpenedImage {
    OpenedImage {
        location: src.clone(),
        image,
        blobs,
        verify_in_place: false,
        _spool: None,
        _dir: dir,
    }
}

/// The image `source` names (the platform's, from an index), its config read from `blobs`
/// and verified.
fn read_image(source: &OciSource, blobs: &Blobs, platform: &Platform) -> Result<Image> {
    let shown = source.describe();
    let mut top = source.top()?;
    if media_types::is_index(&top.media_type) {
        let index: ImageIndex = parse(&top.bytes, &shown, "index")?;
        let desc = select(&index, platform, &shown)?;
        top = source.child(desc)?;
    }
    if !media_types::is_manifest(&top.media_type) {
        return Err(TransferError::Unsupported {
            image: shown,
            reason: format!("{} is not an image manifest", top.digest),
        });
    }
    let manifest: ImageManifest = parse(&top.bytes, &shown, "manifest")?;
    let config_bytes = read_config(blobs, &manifest, &shown)?;
    let config: ImageConfig = parse(&config_bytes, &shown, "config")?;
    let size = manifest.config.size + manifest.layers.iter().map(|l| l.size).sum::<u64>();
    Ok(Image {
        manifest_digest: top.digest,
        config_digest: manifest.config.digest.clone(),
        created: config.created.clone(),
        manifest,
        config,
        size,
        added_at: SystemTime::now(),
    })
}

/// The config blob, checked against its descriptor.
fn read_config(blobs: &Blobs, manifest: &ImageManifest, shown: &str) -> Result<Vec<u8>> {
    let desc = &manifest.config;
    let bad = |reason: String| TransferError::Unsupported {
        image: shown.to_string(),
        reason,
    };
    if desc.size > SMALL {
        return Err(bad(format!(
            "config {} is larger than {SMALL} bytes",
            desc.digest
        )));
    }
    let mut bytes = Vec::new();
    blobs
        .blob_reader(&desc.digest)
        .and_then(|r| r.take(desc.size + 1).read_to_end(&mut bytes))
        .map_err(|e| bad(format!("config {}: {e}", desc.digest)))?;
    let actual = Digest::of(&bytes);
    if actual != desc.digest || bytes.len() as u64 != desc.size {
        return Err(bad(format!(
            "config {} is corrupt: its {} bytes hash to {actual}",
            desc.digest,
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8], shown: &str, what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| TransferError::Unsupported {
        image: shown.to_string(),
        reason: format!("invalid {what}: {e}"),
    })
}

/// Indexes an uncompressed docker-archive that holds an OCI layout: its small files
/// (`index.json`, `oci-layout`, blobs up to [`SMALL`]) extracted into a temporary directory,
/// every `blobs/sha256/<hex>` entry's data offset and size. `None` when the archive is
/// compressed or has no `index.json` (a legacy archive): it is then copied.
fn index_archive(path: &Path) -> Result<Option<(tempfile::TempDir, Offsets)>> {
    let mut file = File::open(path).map_err(TransferError::io(path))?;
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).map_err(TransferError::io(path))?;
    if magic[..n].starts_with(&[0x1f, 0x8b]) || magic[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok(None);
    }
    file.rewind().map_err(TransferError::io(path))?;
    let dir = tempfile::Builder::new()
        .prefix("strata-archive-")
        .tempdir_in(spool_base())
        .map_err(TransferError::io(path))?;
    std::fs::create_dir_all(dir.path().join("blobs/sha256"))
        .map_err(TransferError::io(dir.path()))?;
    let bad = |e: io::Error| TransferError::layout(path, format!("not a readable tar: {e}"));
    let mut archive = tar::Archive::new(file);
    let mut entries = HashMap::new();
    let mut has_index = false;
    for entry in archive.entries_with_seek().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let Some((name, digest)) = layout_entry(&entry) else {
            continue;
        };
        let size = entry.size();
        let small_file = digest.is_none();
        if let Some(d) = &digest {
            entries.insert(d.clone(), (entry.raw_file_position(), size));
        }
        if small_file || (digest.is_some() && size <= SMALL) {
            has_index |= name == "index.json";
            let target = dir.path().join(&name);
            let mut out = File::create(&target).map_err(TransferError::io(&target))?;
            io::copy(&mut entry, &mut out).map_err(bad)?;
        }
    }
    Ok(has_index.then_some((dir, entries)))
}
