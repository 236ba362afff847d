//! [`strata_fs::FileLock`] with this crate's errors: exclusive flocks that serialise unpacks
//! and mark live mounts.

use std::path::Path;

use strata_fs::FileLock;

use crate::error::{io_err, Result};

/// Blocks until `path` (created if missing) is locked exclusively.
pub(crate) fn exclusive(path: &Path) -> Result<FileLock> {
    FileLock::exclusive(path).map_err(io_err("lock", path))
}

/// Locks `path` exclusively if free; `None` when another holder has it.
pub(crate) fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
    FileLock::try_exclusive(path).map_err(io_err("lock", path))
}
