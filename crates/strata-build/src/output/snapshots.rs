//! Opening the snapshot store (after reaping what killed processes left) and garbage
//! collection of layer snapshots: a snapshot no stored image uses is removed (it can always be
//! unpacked again from its blob).

use std::collections::HashSet;
use std::sync::Arc;

use strata_content::Store;
use strata_oci::Digest;
use strata_snapshot::{chain_ids, LinuxMounter, Mounter, SnapshotStore};

use crate::error::{BuildError, InputError, Result};

/// What `prune_snapshots` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotPrune {
    pub removed: usize,
}

/// The executor's state dir in the store (runtime state and bundles of live runs).
pub(crate) fn executor_dir(store: &Store) -> std::path::PathBuf {
    store.root().join("executor")
}

/// Opens the snapshot store, first removing the containers of strata processes that were
/// killed: they may still use overlay mounts that opening the store tears down.
pub(crate) fn open_snapshots(store: &Store, mounter: Arc<dyn Mounter>) -> Result<SnapshotStore> {
    strata_executor::reap_stale(&executor_dir(store))?;
    Ok(SnapshotStore::with_mounter(store.root(), mounter)?)
}

/// Removes every snapshot whose chain ID belongs to no image in the store.
pub fn prune_snapshots(store: &Store) -> Result<SnapshotPrune> {
    let snapshots = open_snapshots(store, Arc::new(LinuxMounter))?;
    let mut keep = HashSet::new();
    for row in store.list_images()? {
        keep.extend(chain_ids(&row.image.config.rootfs.diff_ids));
    }
    let dir = snapshots.dir().join("sha256");
    let mut report = SnapshotPrune::default();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(BuildError::io("reading", &dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(BuildError::io("reading", &dir))?;
        let chain = Digest::from_hex(&entry.file_name().to_string_lossy()).map_err(|e| {
            BuildError::Input {
                path: entry.path(),
                source: InputError::NotADigest(e),
            }
        })?;
        if !keep.contains(&chain) {
            snapshots.remove(&chain)?;
            report.removed += 1;
        }
    }
    snapshots.clean_hints()?;
    Ok(report)
}
