//! `load`: import a docker-archive (Docker 25+ or legacy `<id>/layer.tar` form, as docker or
//! skopeo write it) or an OCI layout (tar or directory), plain, gzip or zstd compressed.
//!
//! The tar is streamed once: entries named `blobs/sha256/<hex>` and large files go straight
//! into the store through verified blob writers, small files stay in memory. Then every
//! config, layer size and diffID is checked against the manifests and configs. Image records
//! and tags are written in one transaction at the very end, so a corrupt or truncated input
//! changes no image or tag (verified blobs it wrote are left for `prune`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use strata_oci::config::host_architecture;
use strata_oci::docker_archive::ArchiveEntry;
use strata_oci::media_types::{self, OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD};
use strata_oci::{
    to_canonical_json, Descriptor, Digest, ImageConfig, ImageIndex, ImageManifest, Reference,
};

use crate::blobs::digest_reader;
use crate::error::{Error, Result};
use crate::images::NewImage;
use crate::oci_layout::{ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use crate::store::Store;

/// Files up to this size are kept in memory while the tar is read.
const MEM_MAX: u64 = 1 << 20;

/// One image `load` stored, with the references it tagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub manifest_digest: Digest,
    pub references: Vec<Reference>,
}

/// Loads every image of the archive or layout at `path` into the store and tags it.
pub fn load(store: &Store, path: &Path) -> Result<Vec<LoadedImage>> {
    let files = if path.is_dir() {
        Files::Dir(path.to_owned())
    } else {
        Files::Tar(read_tar(store, path)?)
    };
    let loader = Loader { store, path, files };
    let pending = if loader.exists("manifest.json") {
        loader.docker()?
    } else if loader.exists("index.json") {
        loader.oci()?
    } else {
        return Err(loader.err(
            "manifest.json",
            "neither manifest.json nor index.json found: not a docker-archive or OCI layout",
        ));
    };
    let records: Vec<NewImage> = pending.iter().map(|p| p.0.clone()).collect();
    let tags: Vec<(Reference, Digest)> = pending
        .iter()
        .flat_map(|(rec, refs)| {
            refs.iter()
                .map(|r| (r.clone(), rec.manifest_digest.clone()))
        })
        .collect();
    store.insert_images(&records, &tags)?;
    let loaded = pending
        .into_iter()
        .map(|(rec, references)| LoadedImage {
            manifest_digest: rec.manifest_digest,
            references,
        })
        .collect();
    Ok(loaded)
}

enum Stored {
    Mem(Vec<u8>),
    Blob(Digest, u64),
}

#[derive(Default)]
struct TarFiles {
    files: HashMap<String, Stored>,
    links: HashMap<String, String>,
}

enum Files {
    Tar(TarFiles),
    Dir(PathBuf),
}

/// The digest a file's name promises: `blobs/sha256/<hex>`.
fn named_digest(name: &str) -> Option<Digest> {
    Digest::from_hex(name.strip_prefix("blobs/sha256/")?).ok()
}

/// `./a/b/../c` → `a/c` (never above the archive's root).
fn normalize(path: &str) -> String {
    strata_oci::path::clean_in_root(path)
}

fn read_tar(store: &Store, path: &Path) -> Result<TarFiles> {
    let file = File::open(path).map_err(Error::io(path))?;
    let reader = decompress(
        BufReader::with_capacity(1 << 16, file),
        path,
        "(compressed stream)",
    )?;
    let mut archive = tar::Archive::new(reader);
    let mut out = TarFiles::default();
    let io_err = |entry: &str| {
        let entry = entry.to_owned();
        move |source| Error::LoadIo {
            path: path.to_owned(),
            entry,
            source,
        }
    };
    let mut last = String::from("(start of archive)");
    for entry in archive.entries().map_err(io_err(&last))? {
        let mut entry = entry.map_err(io_err(&format!("entry after {last}")))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = normalize(&raw_name);
        last.clone_from(&raw_name);
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                let stored = read_entry(store, path, &raw_name, &name, size, &mut entry)?;
                out.files.insert(name, stored);
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let is_symlink = entry.header().entry_type() == tar::EntryType::Symlink;
                let target = entry
                    .link_name()
                    .map_err(io_err(&raw_name))?
                    .unwrap_or_default();
                let target = target.to_string_lossy();
                let resolved = match (is_symlink, name.rsplit_once('/')) {
                    (true, Some((dir, _))) if !target.starts_with('/') => {
                        normalize(&format!("{dir}/{target}"))
                    }
                    _ => normalize(&target),
                };
                out.links.insert(name, resolved);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Reads one regular entry into memory or into the store, checking its length and, for
/// `blobs/sha256/<hex>`, its digest.
fn read_entry(
    store: &Store,
    path: &Path,
    raw_name: &str,
    name: &str,
    size: u64,
    entry: &mut impl Read,
) -> Result<Stored> {
    let load_err = |reason: String| Error::Load {
        path: path.to_owned(),
        entry: raw_name.to_owned(),
        reason,
    };
    let io_err = |source| Error::LoadIo {
        path: path.to_owned(),
        entry: raw_name.to_owned(),
        source,
    };
    let expected = named_digest(name);
    let stored = if size <= MEM_MAX {
        let mut bytes = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut bytes).map_err(io_err)?;
        if bytes.len() as u64 != size {
            return Err(io_err(io::ErrorKind::UnexpectedEof.into()));
        }
        if let Some(expected) = &expected {
            let actual = Digest::of(&bytes);
            if &actual != expected {
                return Err(load_err(format!(
                    "content hashes to {actual}, not {expected}"
                )));
            }
        }
        Stored::Mem(bytes)
    } else {
        let mut w = store.blob_writer()?;
        let n = io::copy(entry, &mut w).map_err(io_err)?;
        w.flush().map_err(io_err)?;
        if n != size {
            return Err(io_err(io::ErrorKind::UnexpectedEof.into()));
        }
        let (d, n) = w.commit(expected.as_ref()).map_err(|e| match e {
            Error::DigestMismatch { expected, actual } => {
                load_err(format!("content hashes to {actual}, not {expected}"))
            }
            e => e,
        })?;
        Stored::Blob(d, n)
    };
    Ok(stored)
}

/// Sniffs gzip / zstd magic and wraps the reader in a decoder.
fn decompress<'a, R: BufRead + 'a>(
    mut r: R,
    path: &Path,
    entry: &str,
) -> Result<Box<dyn Read + 'a>> {
    let head = r.fill_buf().map_err(|source| Error::LoadIo {
        path: path.to_owned(),
        entry: entry.to_owned(),
        source,
    })?;
    Ok(match Compression::sniff(head) {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r).map_err(
            |source| Error::LoadIo {
                path: path.to_owned(),
                entry: entry.to_owned(),
                source,
            },
        )?),
        Compression::None => Box::new(r),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn layer_media_type(self) -> &'static str {
        match self {
            Compression::None => OCI_LAYER,
            Compression::Gzip => OCI_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
        }
    }
}

struct Loader<'a> {
    store: &'a Store,
    path: &'a Path,
    files: Files,
}

type Pending = (NewImage, Vec<Reference>);

impl Loader<'_> {
    fn err(&self, entry: &str, reason: impl Into<String>) -> Error {
        Error::Load {
            path: self.path.to_owned(),
            entry: entry.to_owned(),
            reason: reason.into(),
        }
    }

    fn resolve<'t>(&self, tar: &'t TarFiles, name: &str) -> Option<&'t Stored> {
        let mut name = normalize(name);
        for _ in 0..16 {
            if let Some(s) = tar.files.get(&name) {
                return Some(s);
            }
            name = tar.links.get(&name)?.clone();
        }
        None
    }

    fn exists(&self, name: &str) -> bool {
        match &self.files {
            Files::Tar(t) => self.resolve(t, name).is_some(),
            Files::Dir(d) => d.join(name).is_file(),
        }
    }

    fn missing(&self, name: &str) -> Error {
        self.err(name, "missing from the archive")
    }

    /// A (small) file's bytes.
    fn bytes(&self, name: &str) -> Result<Vec<u8>> {
        match &self.files {
            Files::Tar(t) => match self.resolve(t, name) {
                Some(Stored::Mem(b)) => Ok(b.clone()),
                Some(Stored::Blob(d, _)) => self.store.read_blob(d),
                None => Err(self.missing(name)),
            },
            Files::Dir(dir) => std::fs::read(dir.join(name)).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => self.missing(name),
                _ => Error::io(dir.join(name))(e),
            }),
        }
    }

    /// Puts a file into the store (verifying `blobs/sha256/<hex>` names) and returns its
    /// digest and size.
    fn blob(&self, name: &str) -> Result<(Digest, u64)> {
        match &self.files {
            Files::Tar(t) => match self.resolve(t, name) {
                Some(Stored::Mem(b)) => Ok((self.store.put_blob(b)?, b.len() as u64)),
                Some(Stored::Blob(d, n)) => Ok((d.clone(), *n)),
                None => Err(self.missing(name)),
            },
            Files::Dir(dir) => {
                let path = dir.join(name);
                let file = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => self.missing(name),
                    _ => Error::io(&path)(e),
                })?;
                let mut w = self.store.blob_writer()?;
                io::copy(&mut BufReader::new(file), &mut w).map_err(Error::io(&path))?;
                w.commit(named_digest(&normalize(name)).as_ref())
                    .map_err(|e| match e {
                        Error::DigestMismatch { actual, .. } => {
                            self.err(name, format!("content hashes to {actual}"))
                        }
                        e => e,
                    })
            }
        }
    }

    /// A layer blob's media type (by magic) and diffID (sha256 of the uncompressed tar).
    fn layer_diff_id(&self, d: &Digest, entry: &str) -> Result<(Compression, Digest)> {
        let file = self.store.open_blob(d)?;
        let io_err = |source| Error::LoadIo {
            path: self.path.to_owned(),
            entry: entry.to_owned(),
            source,
        };
        let mut r = BufReader::with_capacity(1 << 16, file);
        let kind = Compression::sniff(r.fill_buf().map_err(io_err)?);
        let diff_id = match kind {
            Compression::None => d.clone(),
            _ => {
                digest_reader(decompress(r, self.path, entry)?)
                    .map_err(io_err)?
                    .0
            }
        };
        Ok((kind, diff_id))
    }

    fn check_diff_id(
        &self,
        entry: &str,
        config: &ImageConfig,
        i: usize,
        actual: &Digest,
    ) -> Result<()> {
        match config.rootfs.diff_ids.get(i) {
            Some(expected) if expected == actual => Ok(()),
            Some(expected) => Err(self.err(
                entry,
                format!("layer diffID {actual} does not match the config's {expected}"),
            )),
            None => Err(self.err(entry, "more layers than the config has diff_ids")),
        }
    }

    fn docker(&self) -> Result<Vec<Pending>> {
        let entries: Vec<ArchiveEntry> = serde_json::from_slice(&self.bytes("manifest.json")?)
            .map_err(|e| self.err("manifest.json", format!("invalid json: {e}")))?;
        let mut out = Vec::new();
        for entry in &entries {
            let record = self.docker_image(entry)?;
            let mut refs = Vec::new();
            for tag in &entry.repo_tags {
                refs.push(Reference::parse(tag).map_err(|e| {
                    self.err(
                        "manifest.json",
                        format!("invalid RepoTags entry {tag:?}: {e}"),
                    )
                })?);
            }
            out.push((record, refs));
        }
        Ok(out)
    }

    fn docker_image(&self, entry: &ArchiveEntry) -> Result<NewImage> {
        let config_bytes = self.bytes(&entry.config)?;
        let config_digest = Digest::of(&config_bytes);
        let stem = normalize(&entry.config);
        let stem = stem.strip_suffix(".json").unwrap_or(&stem);
        if let Ok(named) = Digest::from_hex(stem.rsplit('/').next().unwrap_or(stem)) {
            if named != config_digest {
                return Err(self.err(
                    &entry.config,
                    format!("content hashes to {config_digest}, not {named}"),
                ));
            }
        }
        let config: ImageConfig = serde_json::from_slice(&config_bytes)
            .map_err(|e| self.err(&entry.config, format!("invalid image config: {e}")))?;
        if config.rootfs.diff_ids.len() != entry.layers.len() {
            return Err(self.err(
                &entry.config,
                format!(
                    "{} diff_ids but manifest.json lists {} layers",
                    config.rootfs.diff_ids.len(),
                    entry.layers.len()
                ),
            ));
        }
        self.store.put_blob(&config_bytes)?;
        let mut layers = Vec::new();
        for (i, name) in entry.layers.iter().enumerate() {
            let (d, size) = self.blob(name)?;
            let (kind, diff_id) = self.layer_diff_id(&d, name)?;
            self.check_diff_id(name, &config, i, &diff_id)?;
            layers.push(Descriptor::new(kind.layer_media_type(), d, size));
        }
        let config_desc = Descriptor::new(OCI_CONFIG, config_digest, config_bytes.len() as u64);
        let manifest = ImageManifest::oci(config_desc, layers);
        let manifest_digest = self.store.put_blob(&to_canonical_json(&manifest))?;
        self.store.validate_image(&manifest_digest, &manifest)
    }

    fn oci(&self) -> Result<Vec<Pending>> {
        let index: ImageIndex = serde_json::from_slice(&self.bytes("index.json")?)
            .map_err(|e| self.err("index.json", format!("invalid json: {e}")))?;
        let mut out = Vec::new();
        for desc in &index.manifests {
            let refs: Vec<Reference> = reference_of(desc).into_iter().collect();
            let manifest = self.select_manifest(desc, 0)?;
            out.push((self.oci_image(&manifest)?, refs));
        }
        Ok(out)
    }

    /// The image manifest a descriptor leads to: itself, or the host platform's entry of an
    /// index.
    fn select_manifest(&self, desc: &Descriptor, depth: usize) -> Result<Descriptor> {
        if !media_types::is_index(&desc.media_type) {
            return Ok(desc.clone());
        }
        let name = format!("blobs/sha256/{}", desc.digest.hex());
        if depth > 4 {
            return Err(self.err(&name, "indexes nested too deeply"));
        }
        let (d, _) = self.blob(&name)?;
        let index: ImageIndex = serde_json::from_slice(&self.store.read_blob(&d)?)
            .map_err(|e| self.err(&name, format!("invalid index: {e}")))?;
        let arch = host_architecture();
        let child = index
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.architecture == arch && p.os == "linux")
            })
            .or_else(|| (index.manifests.len() == 1).then(|| &index.manifests[0]))
            .ok_or_else(|| self.err(&name, format!("no image for linux/{arch} in the index")))?;
        self.select_manifest(child, depth + 1)
    }

    fn oci_image(&self, desc: &Descriptor) -> Result<NewImage> {
        let manifest_name = format!("blobs/sha256/{}", desc.digest.hex());
        self.sized_blob(&manifest_name, desc)?;
        let manifest: ImageManifest = serde_json::from_slice(&self.store.read_blob(&desc.digest)?)
            .map_err(|e| self.err(&manifest_name, format!("invalid manifest: {e}")))?;
        let config_name = format!("blobs/sha256/{}", manifest.config.digest.hex());
        self.sized_blob(&config_name, &manifest.config)?;
        let config: ImageConfig =
            serde_json::from_slice(&self.store.read_blob(&manifest.config.digest)?)
                .map_err(|e| self.err(&config_name, format!("invalid image config: {e}")))?;
        for (i, layer) in manifest.layers.iter().enumerate() {
            let name = format!("blobs/sha256/{}", layer.digest.hex());
            self.sized_blob(&name, layer)?;
            let (_, diff_id) = self.layer_diff_id(&layer.digest, &name)?;
            self.check_diff_id(&name, &config, i, &diff_id)?;
        }
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(self.err(&config_name, "more diff_ids than the manifest has layers"));
        }
        self.store.validate_image(&desc.digest, &manifest)
    }

    /// Stores the blob a descriptor names and checks its digest and size.
    fn sized_blob(&self, name: &str, desc: &Descriptor) -> Result<()> {
        let (d, size) = self.blob(name)?;
        if d != desc.digest {
            return Err(self.err(name, format!("content hashes to {d}, not {}", desc.digest)));
        }
        if size != desc.size {
            return Err(self.err(
                name,
                format!("size is {size}, the descriptor says {}", desc.size),
            ));
        }
        Ok(())
    }
}

/// The reference an index entry names: `io.containerd.image.name`, else a
/// `org.opencontainers.image.ref.name` that is a full reference (a bare tag names nothing).
fn reference_of(desc: &Descriptor) -> Option<Reference> {
    if let Some(name) = desc.annotations.get(ANNOTATION_IMAGE_NAME) {
        if let Ok(r) = Reference::parse(name) {
            return Some(r);
        }
    }
    let name = desc.annotations.get(ANNOTATION_REF_NAME)?;
    if name.contains('/') || name.contains(':') {
        Reference::parse(name).ok()
    } else {
        None
    }
}
