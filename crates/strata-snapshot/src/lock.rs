//! Advisory file locks (flock) that serialise work across threads and processes.

use std::fs::{File, OpenOptions};
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::error::{io_err, Result};

/// An exclusive flock held until drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Blocks until the lock on `path` (created if missing) is held.
    pub fn acquire(path: &Path) -> Result<FileLock> {
        let file = open(path)?;
        flock(&file, FlockOperation::LockExclusive).map_err(|e| io_err("lock", path)(e.into()))?;
        Ok(FileLock { file })
    }

    /// Takes the lock if free; `None` when another holder has it.
    pub fn try_acquire(path: &Path) -> Result<Option<FileLock>> {
        let file = open(path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(io_err("lock", path)(e.into())),
        }
    }

    /// The locked file (opened for writing), to record who holds the lock.
    pub fn file(&self) -> &File {
        &self.file
    }
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err("open lock", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        let held = FileLock::acquire(&p).unwrap();
        assert!(FileLock::try_acquire(&p).unwrap().is_none());
        drop(held);
        assert!(FileLock::try_acquire(&p).unwrap().is_some());
    }
}
