//! The contents of a `RUN --mount=type=cache` directory as a layer blob, and back.
//!
//! Packing holds the mount's exclusive lock (`<dir>.lock`, the one `sharing=locked` steps
//! take) so a concurrent build does not change it underneath; the directory's own mode and
//! owner are the mount's (`mode`/`uid`/`gid`), so only what is below it is packed.
//! Restoring unpacks into the temp directory a new cache mount is made in, before it is
//! renamed into place, so a half-restored mount is never used.

use std::path::Path;

use strata_archive::{
    apply_layer, entry_from_fs, ApplyOptions, Compression, Entry, HardlinkDetector, WhiteoutMode,
};
use strata_content::Store;
use strata_fs::FileLock;
use strata_oci::Descriptor;

use super::{ensure_blobs, RemoteCache};
use crate::error::{BuildError, Result};

/// Writes what is below `dir` as one layer blob (sockets skipped); its descriptor.
pub fn pack(store: &Store, dir: &Path, compression: Compression) -> Result<Descriptor> {
    let lock_path = dir.with_extension("lock");
    let _held = FileLock::exclusive(&lock_path).map_err(BuildError::io("locking", &lock_path))?;
    let entries = entries_below(dir)?;
    let layer = crate::output::layer::store_layer(store, entries, compression, None)?;
    Ok(layer.descriptor)
}

fn entries_below(dir: &Path) -> Result<Vec<Entry>> {
    let mut links = HardlinkDetector::new();
    let mut entries = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .follow_links(false);
    for item in walk {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            BuildError::io("reading cache mount", path)(e.into())
        })?;
        let meta = item
            .path()
            .symlink_metadata()
            .map_err(BuildError::io("reading cache mount", item.path()))?;
        if std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
            continue;
        }
        let rel = item
            .path()
            .strip_prefix(dir)
            .expect("below the walk's root");
        let mut entry = entry_from_fs(dir, &rel.to_string_lossy(), &meta)?;
        links.check(&mut entry, &meta);
        entries.push(entry);
    }
    Ok(entries)
}

/// Unpacks the imported contents of cache mount `id` into `dest` (an empty directory);
/// whether there were any.
pub fn restore(store: &Store, remote: &dyn RemoteCache, id: &str, dest: &Path) -> Result<bool> {
    let Some(layer) = remote.mount(id) else {
        return Ok(false);
    };
    ensure_blobs(store, remote, [layer.clone()])?;
    let blob = store.open_blob(&layer.digest)?;
    let (reader, _) =
        strata_archive::open_decompressed(std::io::BufReader::with_capacity(1 << 20, blob))?;
    let opts = ApplyOptions {
        same_owner: rustix::process::geteuid().is_root(),
        whiteouts: WhiteoutMode::Apply,
        ..ApplyOptions::default()
    };
    apply_layer(reader, dest, &opts)?;
    tracing::info!(%id, digest = %layer.digest, "cache mount restored from the imported cache");
    Ok(true)
}
