//! Read-write overlay mounts for running a step: [`SnapshotStore::mount_rw`].
//!
//! Each lives in `snapshots/active/<id>/` with `upper/`, `work/`, `rootfs/` and a
//! `lock` file held (flock) for the mount's lifetime; a store opened later removes
//! any active dir whose lock is free (its owner crashed), unmounting it first.
//! The mount is registered in the global cleanup [`Registry`], so SIGINT/SIGTERM
//! unmounts it too.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata_archive::Entry;
use strata_fs::FileLock;
use strata_oci::Digest;
use tracing::warn;

use crate::cleanup::{CleanupGuard, Registry};
use crate::diff::diff_upper;
use crate::error::{io_err, Result};
use crate::lock;
use crate::mounter::{is_mounted, Mounter};
use crate::overlay::{mount_overlay, unmount_overlay, OverlayDirs};
use crate::store::{nonce, SnapshotStore};

/// A mounted read-write overlay. Dropping it (or [`ActiveMount::release`])
/// unmounts and removes its dirs.
#[derive(Debug)]
pub struct ActiveMount {
    dir: PathBuf,
    lowers: Vec<PathBuf>,
    guard: Option<CleanupGuard>,
    _lock: FileLock,
}

impl SnapshotStore {
    /// Mounts `lowers` (top-most first; may be empty) with a fresh upper dir.
    pub fn mount_rw(&self, lowers: &[PathBuf]) -> Result<ActiveMount> {
        let dir = self.dir.join("active").join(nonce());
        for sub in ["upper", "work", "rootfs"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(io_err("create", &d))?;
        }
        let lock = lock::exclusive(&dir.join("lock"))?;
        let guard = register_cleanup(self.mounter.clone(), dir.clone());
        let (upper, work, target) = (dir.join("upper"), dir.join("work"), dir.join("rootfs"));
        let dirs = OverlayDirs {
            lowers,
            upper: &upper,
            work: &work,
            target: &target,
        };
        mount_overlay(self.mounter.as_ref(), &dirs)?;
        Ok(ActiveMount {
            dir,
            lowers: lowers.to_vec(),
            guard: Some(guard),
            _lock: lock,
        })
    }

    pub(crate) fn clean_stale_active(&self) -> Result<()> {
        let active = self.dir.join("active");
        for item in fs::read_dir(&active).map_err(io_err("read", &active))? {
            let dir = item.map_err(io_err("read", &active))?.path();
            if let Some(_lock) = lock::try_exclusive(&dir.join("lock"))? {
                warn!(dir = %dir.display(), "removing leftover overlay mount");
                teardown(self.mounter.as_ref(), &dir);
            }
        }
        Ok(())
    }
}

impl ActiveMount {
    /// The merged view: the container's root filesystem.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The upper dir holding the changes.
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    /// The lower dirs, top-most first.
    pub fn lowers(&self) -> &[PathBuf] {
        &self.lowers
    }

    /// The layer entries for the changes made so far (see [`diff_upper`]).
    pub fn diff(&self) -> Result<Vec<Entry>> {
        diff_upper(&self.upper(), &self.lowers)
    }

    /// Unmounts the overlay and makes its upper dir the snapshot of `chain_id` — the layer
    /// just written from it — so that a later step never unpacks that layer again (what
    /// containerd's commit does). The upper dir already holds whiteouts and opaque dirs in
    /// overlay form. `drop_dirs` (relative paths, deepest last) are directories that were
    /// copied up only for mount points and are not part of the layer: they are removed from
    /// the upper dir first. On any error the overlay is torn down as by [`Self::release`].
    pub fn commit(
        mut self,
        store: &SnapshotStore,
        chain_id: &Digest,
        drop_dirs: &[String],
    ) -> Result<PathBuf> {
        let target = self.rootfs();
        unmount_overlay(store.mounter.as_ref(), &target, &self.dir.join("work"))?;
        let upper = self.upper();
        for dir in drop_dirs.iter().rev() {
            let path = upper.join(dir);
            fs::remove_dir(&path).map_err(io_err("remove", &path))?;
        }
        let dest = store.adopt(chain_id, &upper)?;
        if let Some(guard) = self.guard.take() {
            guard.run();
        }
        Ok(dest)
    }

    /// Unmounts and removes the dirs now.
    pub fn release(mut self) {
        if let Some(guard) = self.guard.take() {
            guard.run();
        }
    }
}

impl Drop for ActiveMount {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            guard.run();
        }
    }
}

fn register_cleanup(mounter: Arc<dyn Mounter>, dir: PathBuf) -> CleanupGuard {
    let label = format!("overlay mount {}", dir.display());
    Registry::global().register(label, move || teardown(mounter.as_ref(), &dir))
}

/// Unmounts `<dir>/rootfs` if mounted, then removes `dir` (never through a mount).
fn teardown(mounter: &dyn Mounter, dir: &Path) {
    let target = dir.join("rootfs");
    if is_mounted(&target) {
        if let Err(e) = unmount_overlay(mounter, &target, &dir.join("work")) {
            warn!(error = %e, "failed to unmount overlay; leaving its dirs");
            return;
        }
    }
    if let Err(e) = fs::remove_dir_all(dir) {
        warn!(dir = %dir.display(), error = %e, "failed to remove overlay dirs");
    }
}
