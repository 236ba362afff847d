//! Upper dir → layer entries.
//!
//! Overlay records changes in its upper dir: new and modified files as themselves,
//! deletions as 0:0 character devices, and replaced dirs as dirs carrying
//! `trusted.overlay.opaque=y`. [`diff_upper`] turns that into
//! [`strata_archive::Entry`] values in walk order (parents before children, names
//! sorted): a `Whiteout` at a deleted path, the dir plus an `OpaqueDir` for an
//! opaque dir, `Hardlink` for the second and later paths of one inode, and overlay's
//! own `trusted.overlay.*` / `user.overlay.*` xattrs stripped. A dir that is in the
//! upper only because a child changed is emitted with its upper metadata, as
//! BuildKit and containerd do.

use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use strata_archive::{Entry, EntryKind, HardlinkDetector};
use tracing::debug;
use walkdir::WalkDir;

use crate::error::{io_err, Error, Result};

const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];
const FORBIDDEN_XATTRS: [&str; 4] = [
    "trusted.overlay.metacopy",
    "trusted.overlay.redirect",
    "user.overlay.metacopy",
    "user.overlay.redirect",
];

/// Walks `upper` and returns the layer entries it represents. `lowers` (top
/// first) are used to drop whiteouts of paths that no lower has; with an empty
/// `lowers` every whiteout is kept.
pub fn diff_upper(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Entry>> {
    let mut links = HardlinkDetector::new();
    let mut entries = Vec::new();
    let walk = WalkDir::new(upper)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    for item in walk {
        let item = item.map_err(|e| walk_error(upper, e))?;
        let rel = relative(upper, item.path());
        let meta = item.metadata().map_err(|e| walk_error(upper, e))?;
        diff_one(upper, lowers, &rel, &meta, &mut links, &mut entries)?;
    }
    debug!(upper = %upper.display(), entries = entries.len(), "diffed upper dir");
    Ok(entries)
}

fn diff_one(
    upper: &Path,
    lowers: &[PathBuf],
    rel: &str,
    meta: &Metadata,
    links: &mut HardlinkDetector,
    out: &mut Vec<Entry>,
) -> Result<()> {
    let path = upper.join(rel);
    if is_whiteout(meta) {
        if in_any_lower(lowers, rel) {
            out.push(whiteout_entry(upper, rel, meta)?);
        }
        return Ok(());
    }
    reject_overlay_features(&path, rel)?;
    let mut entry =
        strata_archive::entry_from_fs(upper, rel, meta).map_err(|source| Error::Entry {
            path: rel.to_string(),
            source,
        })?;
    entry.xattrs.retain(|name, _| !is_overlay_xattr(name));
    let opaque = meta.is_dir() && is_opaque(&path)?;
    links.check(&mut entry, meta);
    let marker = opaque.then(|| opaque_entry(&entry));
    out.push(entry);
    out.extend(marker);
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn walk_error(upper: &Path, e: walkdir::Error) -> Error {
    let path = e.path().unwrap_or(upper).to_path_buf();
    io_err("walk", path)(e.into())
}

/// A 0:0 character device: overlay's whiteout.
pub fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_overlay_xattr(name: &str) -> bool {
    name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.")
}

fn is_opaque(path: &Path) -> Result<bool> {
    for name in OPAQUE_XATTRS {
        if read_xattr(path, name)?.as_deref() == Some(b"y") {
            return Ok(true);
        }
    }
    Ok(false)
}

fn reject_overlay_features(path: &Path, rel: &str) -> Result<()> {
    for name in FORBIDDEN_XATTRS {
        if read_xattr(path, name)?.is_some() {
            return Err(Error::UnsupportedOverlayFeature {
                path: rel.to_string(),
            });
        }
    }
    Ok(())
}

/// lgetxattr; `None` when the attribute is absent or unsupported.
fn read_xattr(path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::lgetxattr(path, name, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(rustix::io::Errno::NODATA | rustix::io::Errno::NOTSUP) => Ok(None),
        Err(e) => Err(io_err("read xattr of", path)(e.into())),
    }
}

fn in_any_lower(lowers: &[PathBuf], rel: &str) -> bool {
    lowers.is_empty()
        || lowers
            .iter()
            .any(|l| l.join(rel).symlink_metadata().is_ok())
}

fn whiteout_entry(upper: &Path, rel: &str, meta: &Metadata) -> Result<Entry> {
    let mut entry =
        strata_archive::entry_from_fs(upper, rel, meta).map_err(|source| Error::Entry {
            path: rel.to_string(),
            source,
        })?;
    entry.kind = EntryKind::Whiteout;
    as_marker(&mut entry);
    Ok(entry)
}

fn opaque_entry(dir: &Entry) -> Entry {
    let mut marker = dir.clone();
    marker.kind = EntryKind::OpaqueDir;
    as_marker(&mut marker);
    marker
}

/// Whiteout markers carry no metadata of their own: mode 0, owner 0:0, mtime 0, as BuildKit
/// writes them (containerd's archive diff), so a layer does not depend on when a file was
/// deleted.
fn as_marker(entry: &mut Entry) {
    entry.xattrs.clear();
    entry.mode = 0;
    entry.uid = 0;
    entry.gid = 0;
    entry.mtime = 0;
    entry.mtime_nsec = 0;
}
