//! Opening a store: its layout on disk, the process lock and the database handle.
//!
//! ```text
//! root/
//!   blobs/sha256/<hex>   content-addressed blobs (an OCI-layout-shaped store)
//!   tmp/                 blobs being written; renamed into blobs/ once verified
//!   strata.db            SQLite (WAL): images, tags, build cache, context file hashes
//!   lock                 advisory lock: shared while a Store is open, exclusive for GC
//! ```

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::Connection;
use strata_fs::{FileLock, LockKind};
use strata_oci::Digest;

use crate::db;
use crate::error::{Error, Result};

/// Temp files older than this are removed when a store is opened.
const STALE_TMP_AGE: Duration = Duration::from_secs(3600);

/// The local content store. Cheap to clone; `Send + Sync`; every clone shares one DB
/// connection and one lock file handle.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) blobs_dir: PathBuf,
    pub(crate) tmp_dir: PathBuf,
    conn: Mutex<Connection>,
    lock: FileLock,
    lock_path: PathBuf,
    /// Temp files of this handle's unfinished `BlobWriter`s; GC leaves them alone.
    pub(crate) active_tmp: Mutex<HashSet<PathBuf>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.inner.root)
            .finish()
    }
}

impl Store {
    /// Opens the store at `root` (made absolute), creating its layout and database if needed.
    /// Holds a shared
    /// process lock until the last clone is dropped (blocks while another process prunes).
    pub fn open(root: &Path) -> Result<Store> {
        // Paths handed to other processes (the OCI runtime, overlay mounts) must be absolute.
        let root = &std::path::absolute(root).map_err(Error::io(root))?;
        let blobs_dir = root.join("blobs").join("sha256");
        let tmp_dir = root.join("tmp");
        for dir in [&blobs_dir, &tmp_dir] {
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        let lock_path = root.join("lock");
        let lock = FileLock::shared(&lock_path).map_err(Error::io(&lock_path))?;
        let conn = db::open(&root.join("strata.db"))?;
        let store = Store {
            inner: Arc::new(Inner {
                root: root.to_owned(),
                blobs_dir,
                tmp_dir,
                conn: Mutex::new(conn),
                lock,
                lock_path,
                active_tmp: Mutex::new(HashSet::new()),
            }),
        };
        store.remove_tmp_files(Some(STALE_TMP_AGE));
        tracing::debug!(root = %root.display(), "opened store");
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Where the blob with digest `d` lives (whether or not it exists).
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.inner.blobs_dir.join(d.hex())
    }

    /// The database connection (one per store handle, shared by its clones and threads).
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.inner.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the process lock exclusively, waiting up to `wait` for other strata processes
    /// (other `Store` handles) to close. Dropping the guard returns to a shared lock.
    pub fn exclusive_lock(&self, wait: Duration) -> Result<ExclusiveLock<'_>> {
        let deadline = Instant::now() + wait;
        let lock = &self.inner.lock;
        let path = &self.inner.lock_path;
        while !lock
            .try_convert(LockKind::Exclusive)
            .map_err(Error::io(path))?
        {
            // flock converts by dropping the shared lock first: take it back.
            lock.convert(LockKind::Shared).map_err(Error::io(path))?;
            if Instant::now() >= deadline {
                return Err(Error::Busy {
                    path: self.inner.root.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(ExclusiveLock { store: self })
    }

    /// Removes temp files not held by a live writer of this handle; only those older than
    /// `older_than` when given. Returns how many were removed.
    pub(crate) fn remove_tmp_files(&self, older_than: Option<Duration>) -> usize {
        let Ok(entries) = fs::read_dir(&self.inner.tmp_dir) else {
            return 0;
        };
        let active = self
            .inner
            .active_tmp
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if active.contains(&path) {
                continue;
            }
            if let Some(age) = older_than {
                let modified = entry.metadata().and_then(|m| m.modified());
                let old = modified.is_ok_and(|m| now.duration_since(m).unwrap_or_default() > age);
                if !old {
                    continue;
                }
            }
            if fs::remove_file(&path).is_ok() {
                tracing::debug!(path = %path.display(), "removed stale temp file");
                removed += 1;
            }
        }
        removed
    }
}

/// The exclusive process lock, held while GC runs. Dropping it downgrades to shared.
pub struct ExclusiveLock<'a> {
    store: &'a Store,
}

impl Drop for ExclusiveLock<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.store.inner.lock.convert(LockKind::Shared) {
            tracing::warn!(error = %e, "cannot downgrade the store lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn store_is_send_sync_and_creates_layout() {
        assert_send_sync::<Store>();
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert!(dir.path().join("blobs/sha256").is_dir());
        assert!(dir.path().join("tmp").is_dir());
        assert!(dir.path().join("strata.db").is_file());
        assert_eq!(s.root(), dir.path());
    }

    #[test]
    fn exclusive_lock_waits_for_other_handles() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap();
        let b = Store::open(dir.path()).unwrap();
        assert!(matches!(
            a.exclusive_lock(Duration::from_millis(100)),
            Err(Error::Busy { .. })
        ));
        drop(b);
        let guard = a.exclusive_lock(Duration::from_millis(100)).unwrap();
        drop(guard);
        // Back to shared: another handle can open.
        let _c = Store::open(dir.path()).unwrap();
    }

    #[test]
    fn open_removes_only_old_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let old = dir.path().join("tmp/old");
        let new = dir.path().join("tmp/new");
        fs::write(&old, b"x").unwrap();
        fs::write(&new, b"y").unwrap();
        let f = fs::File::options().write(true).open(&old).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
        drop(f);
        drop(Store::open(dir.path()).unwrap());
        assert!(!old.exists());
        assert!(new.exists());
    }
}
