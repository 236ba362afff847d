//! A size-limited tmpfs mounted for one test (root only): a small disk to fill.

use std::path::{Path, PathBuf};

use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};

/// A tmpfs of a given size on a fresh temp dir; unmounted (lazily, so a test that panicked
/// with files open still cleans up) and removed on drop.
pub struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` bytes. Call [`crate::require_root`] first.
    pub fn mount(bytes: u64) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir for a tmpfs");
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).expect("creating the mount point");
        mount(
            "strata-test",
            &path,
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            format!("size={bytes},mode=0755").as_str(),
        )
        .unwrap_or_else(|e| panic!("mounting a tmpfs on {}: {e}", path.display()));
        Tmpfs { path, _dir: dir }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if let Err(e) = unmount(&self.path, UnmountFlags::DETACH) {
            eprintln!("unmounting {}: {e}", self.path.display());
        }
    }
}
