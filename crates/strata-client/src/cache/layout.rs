//! A build cache in an OCI image layout directory (`type=local`), for CI systems that keep
//! a directory between runs. Blobs go to `blobs/sha256/` and `index.json` names the
//! manifest with `org.opencontainers.image.ref.name` = the tag; every file is written to a
//! temp name and renamed, `index.json` last, so a reader sees the old cache or the new one.
//! Blobs read back are verified as they are stored.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use strata_content::Store;
use strata_distribution::media::OCI_MANIFEST;
use strata_oci::media_types::OCI_LAYOUT_VERSION;
use strata_oci::{to_canonical_json, Descriptor, Digest, ImageIndex};

use super::format::{check_manifest, decode, encode, ARTIFACT_TYPE};
use super::{CacheArtifact, CacheError, ImportedCache, Origin};

/// The annotation that names a manifest in `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Layout {
        path: path.to_path_buf(),
        source,
    }
}

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs").join("sha256").join(digest.hex())
}

/// Writes `path` through a temp file in the same directory, renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let parent = path.parent().expect("layout files have a parent");
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(io(path))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}

/// Copies blob `digest` from the store into the layout unless it is there.
fn copy_blob(store: &Store, dir: &Path, digest: &Digest) -> Result<(), CacheError> {
    let target = blob_path(dir, digest);
    if target.is_file() {
        return Ok(());
    }
    let part = target.with_extension("part");
    fs::copy(store.blob_path(digest), &part).map_err(io(&part))?;
    fs::rename(&part, &target).map_err(io(&target))
}

/// Writes `artifact` (its blobs from `store`) into the layout at `dir` as `tag`, replacing
/// the tag's earlier entry and keeping the others; the manifest's digest.
pub fn write(
    dir: &Path,
    tag: &str,
    store: &Store,
    artifact: &CacheArtifact,
) -> Result<Digest, CacheError> {
    let encoded = encode(artifact)?;
    let blobs = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs).map_err(io(&blobs))?;
    for layer in &encoded.layers {
        copy_blob(store, dir, &layer.digest)?;
    }
    write_atomically(
        &blob_path(dir, &encoded.config_descriptor.digest),
        &encoded.config,
    )?;
    let digest = Digest::of(&encoded.manifest);
    write_atomically(&blob_path(dir, &digest), &encoded.manifest)?;
    let layout = dir.join("oci-layout");
    if !layout.is_file() {
        let text = format!(r#"{{"imageLayoutVersion":"{OCI_LAYOUT_VERSION}"}}"#);
        write_atomically(&layout, text.as_bytes())?;
    }
    let mut index = read_index(dir)?.unwrap_or_else(|| ImageIndex::oci(Vec::new()));
    index
        .manifests
        .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(tag));
    let mut entry = Descriptor::new(OCI_MANIFEST, digest.clone(), encoded.manifest.len() as u64);
    entry.artifact_type = Some(ARTIFACT_TYPE.to_owned());
    entry
        .annotations
        .insert(REF_NAME.to_owned(), tag.to_owned());
    index.manifests.push(entry);
    write_atomically(&dir.join("index.json"), &to_canonical_json(&index))?;
    Ok(digest)
}

fn read_index(dir: &Path) -> Result<Option<ImageIndex>, CacheError> {
    let path = dir.join("index.json");
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    let index = serde_json::from_slice(&bytes).map_err(|source| CacheError::Malformed {
        reference: path.display().to_string(),
        what: "index.json",
        source,
    })?;
    Ok(Some(index))
}

/// Reads blob `digest` of the layout, checking its digest.
fn read_blob(dir: &Path, digest: &Digest) -> Result<Vec<u8>, CacheError> {
    let path = blob_path(dir, digest);
    let bytes = fs::read(&path).map_err(io(&path))?;
    if &Digest::of(&bytes) != digest {
        return Err(CacheError::Layout {
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "digest mismatch"),
        });
    }
    Ok(bytes)
}

/// Reads the cache named `tag` in the layout at `dir`: `None` when there is no layout or
/// no such tag yet (a first CI run), an error when the tag names something else.
pub fn read(dir: &Path, tag: &str) -> Result<Option<ImportedCache>, CacheError> {
    let name = format!("{}:{tag}", dir.display());
    let Some(index) = read_index(dir)? else {
        return Ok(None);
    };
    let entry = index
        .manifests
        .iter()
        .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag));
    let Some(entry) = entry else {
        return Ok(None);
    };
    let manifest = read_blob(dir, &entry.digest)?;
    let checked = check_manifest(&name, &entry.media_type, &manifest)?;
    let config = read_blob(dir, &checked.config.digest)?;
    let artifact = decode(&name, &checked, &config)?;
    let origin = Origin::Layout {
        dir: dir.to_path_buf(),
    };
    Ok(Some(ImportedCache::new(
        name,
        entry.digest.clone(),
        artifact,
        origin,
    )))
}

/// Copies `wanted` blobs of `cache` into `store` through its verifying writer.
pub(super) fn fetch(
    cache: &ImportedCache,
    dir: &Path,
    store: &Store,
    wanted: &[(Digest, u64)],
) -> Result<(), CacheError> {
    for (digest, _) in wanted {
        let store_err = |source| CacheError::Store {
            reference: cache.reference.clone(),
            digest: digest.clone(),
            source: Box::new(source),
        };
        let path = blob_path(dir, digest);
        let mut src = fs::File::open(&path).map_err(io(&path))?;
        let mut writer = store.blob_writer().map_err(store_err)?;
        std::io::copy(&mut src, &mut writer).map_err(io(&path))?;
        writer.commit(Some(digest)).map_err(store_err)?;
    }
    Ok(())
}
