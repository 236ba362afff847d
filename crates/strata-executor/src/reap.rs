//! Containers of a strata process that died without cleaning up (SIGKILL, OOM kill, power
//! loss): nothing in that process could tear them down, so the next process on the store
//! does, as containerd cleans up after a dead shim.
//!
//! Every run holds a flock on `bundles/<id>.lock`, a file that names the runtime binary,
//! from before its bundle exists until after its container is deleted. The file appears
//! already locked (it is locked under a temporary name and renamed into place), so a lock
//! that another process can take belongs to a dead run: [`reap_stale`] kills and deletes its
//! container and removes its runtime state, bundle and lock file (the same teardown a live
//! run ends with).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use strata_fs::FileLock;
use tracing::{debug, warn};

use crate::error::{io_err, Result};
use crate::run::teardown;
use crate::runtime::Runtime;

const LOCK_SUFFIX: &str = ".lock";
const TEMP_PREFIX: &str = ".new-";
/// A temporary lock file older than this, and unlocked, was left by a killed run (a live one
/// renames it into place within microseconds).
const TEMP_GRACE: Duration = Duration::from_secs(60);

/// The lock a live run holds on its container (the run's teardown removes the file).
#[derive(Debug)]
pub(crate) struct RunLock {
    _lock: FileLock,
}

impl RunLock {
    /// Takes the lock of container `id` under `bundles`, recording `runtime` in it.
    pub(crate) fn take(bundles: &Path, id: &str, runtime: &Runtime) -> Result<RunLock> {
        let temp = bundles.join(format!("{TEMP_PREFIX}{id}"));
        let lock = FileLock::exclusive(&temp).map_err(io_err("lock", &temp))?;
        let path = lock_path(bundles, id);
        let mut file = lock.file();
        let placed = file
            .write_all(runtime.path.as_os_str().as_encoded_bytes())
            .and_then(|()| fs::rename(&temp, &path));
        if let Err(e) = placed {
            let _ = fs::remove_file(&temp);
            return Err(io_err("write", &path)(e));
        }
        Ok(RunLock { _lock: lock })
    }
}

/// Where the lock of container `id` lives.
pub(crate) fn lock_path(bundles: &Path, id: &str) -> PathBuf {
    bundles.join(format!("{id}{LOCK_SUFFIX}"))
}

/// Tears down every container under `state_dir` (an executor's state dir) whose owning
/// process is gone; returns how many. Call it before cleaning up overlay mounts, so that no
/// container still uses one.
pub fn reap_stale(state_dir: &Path) -> Result<usize> {
    let bundles = state_dir.join("bundles");
    let entries = match fs::read_dir(&bundles) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err("read", &bundles)(e)),
    };
    let mut reaped = 0;
    for entry in entries {
        let path = entry.map_err(io_err("read", &bundles))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(TEMP_PREFIX) {
            // A run killed before its lock was in place.
            if older_than(&path, TEMP_GRACE)
                && FileLock::try_exclusive(&path)
                    .map_err(io_err("lock", &path))?
                    .is_some()
            {
                remove_lock_file(&path);
            }
            continue;
        }
        let Some(id) = name.strip_suffix(LOCK_SUFFIX).map(str::to_owned) else {
            continue;
        };
        let Some(_held) = FileLock::try_exclusive(&path).map_err(io_err("lock", &path))? else {
            continue; // a live run
        };
        let Some(runtime) = recorded_runtime(&path).or_else(|| Runtime::detect(None).ok()) else {
            warn!(container = %id, "a killed run left a container, but no OCI runtime is found to remove it");
            continue;
        };
        warn!(container = %id, "removing a container left by a strata process that was killed");
        teardown(&runtime, &state_dir.join("runc"), &id, &bundles.join(&id));
        reaped += 1;
    }
    debug!(reaped, "reaped stale containers");
    Ok(reaped)
}

/// The runtime binary named in a lock file, if it still exists.
fn recorded_runtime(lock: &Path) -> Option<Runtime> {
    let text = fs::read_to_string(lock).ok()?;
    let path = Path::new(text.trim());
    path.is_file().then(|| Runtime::at(path))
}

fn older_than(path: &Path, age: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d > age)
}

pub(crate) fn remove_lock_file(path: &Path) {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            warn!(path = %path.display(), error = %e, "failed to remove a run lock");
        }
        _ => {}
    }
}
