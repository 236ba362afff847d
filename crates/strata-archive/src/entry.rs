//! The in-memory description of one layer entry, and building it from the
//! filesystem (lstat + xattrs).

use crate::error::{Error, Result};
use crate::sys;
use std::collections::{BTreeMap, HashMap};
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a regular file's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// Read from this path when the entry is written.
    Path(PathBuf),
    /// In-memory content.
    Bytes(Arc<[u8]>),
}

/// What kind of entry, with its kind-specific data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file of `size` bytes (a `Path` source must still have exactly
    /// that many bytes when written).
    File {
        source: FileSource,
        size: u64,
    },
    Dir,
    Symlink {
        target: String,
    },
    /// Hard link to the earlier entry at `target` (a layer-relative path).
    Hardlink {
        target: String,
    },
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
    Fifo,
    /// Deletion of `path` from lower layers: written as `<dir>/.wh.<name>`.
    Whiteout,
    /// Directory `path` hides lower layers' content: written as
    /// `<path>/.wh..wh..opq`.
    OpaqueDir,
}

/// One layer entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative, `/`-separated, no leading `/` or `./`, no trailing `/`.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time, unix seconds.
    pub mtime: i64,
    /// Sub-second part of `mtime`; not written (see [`crate::writer`]).
    pub mtime_nsec: u32,
    /// Extended attributes, written as `SCHILY.xattr.<name>` PAX records.
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

impl Entry {
    /// An entry with mode 0, owner 0:0, mtime 0 and no xattrs.
    pub fn new(path: impl Into<String>, kind: EntryKind) -> Self {
        Self {
            path: path.into(),
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            mtime_nsec: 0,
            xattrs: BTreeMap::new(),
        }
    }

    /// A regular file with in-memory content.
    pub fn file_bytes(path: impl Into<String>, data: impl Into<Arc<[u8]>>, mode: u32) -> Self {
        let data: Arc<[u8]> = data.into();
        let size = data.len() as u64;
        let mut e = Self::new(
            path,
            EntryKind::File {
                source: FileSource::Bytes(data),
                size,
            },
        );
        e.mode = mode;
        e
    }

    /// A directory.
    pub fn dir(path: impl Into<String>, mode: u32) -> Self {
        let mut e = Self::new(path, EntryKind::Dir);
        e.mode = mode;
        e
    }

    /// A symlink to `target`, mode 0777.
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> Self {
        let mut e = Self::new(
            path,
            EntryKind::Symlink {
                target: target.into(),
            },
        );
        e.mode = 0o777;
        e
    }
}

/// Normalises a relative path: strips leading `/` and `./`, trailing `/`,
/// empty and `.` components. `..` components are kept (the writer rejects
/// them).
pub fn normalize_rel(rel: &str) -> String {
    rel.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Builds an entry from `root/rel` with its `lstat` metadata `meta`: kind,
/// permission bits, owner, mtime (with nanoseconds), device numbers and
/// xattrs (all except `security.selinux`, which is host policy, and
/// `trusted.overlay.*`, overlayfs' private state in upper/lower dirs).
/// Regular files get [`FileSource::Path`]. Sockets are rejected.
pub fn entry_from_fs(root: &Path, rel: &str, meta: &Metadata) -> Result<Entry> {
    let path = normalize_rel(rel);
    let full = if path.is_empty() {
        root.to_path_buf()
    } else {
        root.join(&path)
    };
    let ft = meta.file_type();
    let rdev = meta.rdev();
    let kind = if ft.is_file() {
        EntryKind::File {
            source: FileSource::Path(full.clone()),
            size: meta.len(),
        }
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        let target = std::fs::read_link(&full).map_err(|source| Error::ReadSource {
            path: full.clone(),
            source,
        })?;
        EntryKind::Symlink {
            target: target.to_string_lossy().into_owned(),
        }
    } else if ft.is_char_device() {
        EntryKind::CharDevice {
            major: sys::dev_major(rdev),
            minor: sys::dev_minor(rdev),
        }
    } else if ft.is_block_device() {
        EntryKind::BlockDevice {
            major: sys::dev_major(rdev),
            minor: sys::dev_minor(rdev),
        }
    } else if ft.is_fifo() {
        EntryKind::Fifo
    } else {
        return Err(Error::InvalidEntry {
            entry: path,
            reason: "sockets cannot be stored in a layer".into(),
        });
    };
    Ok(Entry {
        xattrs: read_xattrs(&full)?,
        path,
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: meta.mtime(),
        mtime_nsec: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
    })
}

fn read_xattrs(full: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let err = |source| Error::ReadSource {
        path: full.to_path_buf(),
        source,
    };
    let mut out = BTreeMap::new();
    for name in sys::list_xattrs(full).map_err(err)? {
        if name == "security.selinux" || name.starts_with("trusted.overlay.") {
            continue;
        }
        match sys::get_xattr(full, &name) {
            Ok(v) => {
                out.insert(name, v);
            }
            // Removed between list and get, or not readable by us.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENODATA | libc::EPERM)) => {}
            Err(e) => return Err(err(e)),
        }
    }
    Ok(out)
}

/// Turns second and later sightings of a multiply-linked regular file
/// (same device and inode) into [`EntryKind::Hardlink`]s to the first.
/// Feed entries in the order they will be written.
#[derive(Debug, Default)]
pub struct HardlinkDetector {
    seen: HashMap<(u64, u64), String>,
}

impl HardlinkDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rewrites `entry` in place when `meta` is an inode seen before.
    pub fn check(&mut self, entry: &mut Entry, meta: &Metadata) {
        if !meta.file_type().is_file() || meta.nlink() < 2 {
            return;
        }
        match self.seen.get(&(meta.dev(), meta.ino())) {
            Some(first) => {
                entry.kind = EntryKind::Hardlink {
                    target: first.clone(),
                }
            }
            None => {
                self.seen
                    .insert((meta.dev(), meta.ino()), entry.path.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize_rel("./a//b/"), "a/b");
        assert_eq!(normalize_rel("/etc/passwd"), "etc/passwd");
        assert_eq!(normalize_rel("."), "");
        assert_eq!(normalize_rel("a/../b"), "a/../b");
    }

    #[test]
    fn reads_file_dir_symlink_fifo_and_xattrs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), b"abc").unwrap();
        std::os::unix::fs::symlink("../x", root.join("d/l")).unwrap();
        sys::mknod(&root.join("p"), libc::S_IFIFO, 0o640, 0).unwrap();
        let has_xattr = sys::set_xattr(&root.join("d/f"), "user.k", b"v").is_ok();

        let meta = std::fs::symlink_metadata(root.join("d/f")).unwrap();
        let e = entry_from_fs(root, "./d/f", &meta).unwrap();
        assert_eq!(e.path, "d/f");
        assert!(matches!(e.kind, EntryKind::File { size: 3, .. }));
        if has_xattr {
            assert_eq!(e.xattrs.get("user.k").map(|v| &v[..]), Some(&b"v"[..]));
        }
        let meta = std::fs::symlink_metadata(root.join("d/l")).unwrap();
        let e = entry_from_fs(root, "d/l", &meta).unwrap();
        assert_eq!(
            e.kind,
            EntryKind::Symlink {
                target: "../x".into()
            }
        );
        let meta = std::fs::symlink_metadata(root.join("d")).unwrap();
        assert_eq!(
            entry_from_fs(root, "d/", &meta).unwrap().kind,
            EntryKind::Dir
        );
        let meta = std::fs::symlink_metadata(root.join("p")).unwrap();
        let e = entry_from_fs(root, "p", &meta).unwrap();
        assert_eq!((e.kind, e.mode), (EntryKind::Fifo, 0o640));
    }

    #[test]
    fn detects_hardlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"x").unwrap();
        std::fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
        let mut det = HardlinkDetector::new();
        let mut kinds = Vec::new();
        for name in ["a", "b"] {
            let meta = std::fs::symlink_metadata(dir.path().join(name)).unwrap();
            let mut e = entry_from_fs(dir.path(), name, &meta).unwrap();
            det.check(&mut e, &meta);
            kinds.push(e.kind);
        }
        assert!(matches!(kinds[0], EntryKind::File { .. }));
        assert_eq!(kinds[1], EntryKind::Hardlink { target: "a".into() });
    }
}
