//! Advisory file locks (`flock(2)`) held until drop.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

/// Which lock to hold: many shared holders, or one exclusive holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Shared,
    Exclusive,
}

impl LockKind {
    fn operation(self, wait: bool) -> FlockOperation {
        match (self, wait) {
            (LockKind::Shared, true) => FlockOperation::LockShared,
            (LockKind::Shared, false) => FlockOperation::NonBlockingLockShared,
            (LockKind::Exclusive, true) => FlockOperation::LockExclusive,
            (LockKind::Exclusive, false) => FlockOperation::NonBlockingLockExclusive,
        }
    }
}

/// A flock on a file (created if missing, never truncated), released when dropped (the file
/// is closed). Locks of two `FileLock`s conflict even within one process, as each opens its
/// own file description.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Blocks until `path` is locked exclusively.
    pub fn exclusive(path: &Path) -> io::Result<FileLock> {
        FileLock::lock(path, LockKind::Exclusive)
    }

    /// Blocks until `path` is locked shared.
    pub fn shared(path: &Path) -> io::Result<FileLock> {
        FileLock::lock(path, LockKind::Shared)
    }

    /// Locks `path` exclusively if no one else holds it; `None` when another holder has it.
    pub fn try_exclusive(path: &Path) -> io::Result<Option<FileLock>> {
        FileLock::try_lock(path, LockKind::Exclusive)
    }

    /// Locks `path` shared unless an exclusive holder has it (then `None`).
    pub fn try_shared(path: &Path) -> io::Result<Option<FileLock>> {
        FileLock::try_lock(path, LockKind::Shared)
    }

    /// Blocks until `path` is locked as `kind`.
    pub fn lock(path: &Path, kind: LockKind) -> io::Result<FileLock> {
        let lock = FileLock { file: open(path)? };
        lock.convert(kind)?;
        Ok(lock)
    }

    /// Locks `path` as `kind` if that does not have to wait; `None` when it would.
    pub fn try_lock(path: &Path, kind: LockKind) -> io::Result<Option<FileLock>> {
        let lock = FileLock { file: open(path)? };
        Ok(lock.try_convert(kind)?.then_some(lock))
    }

    /// Changes the held lock to `kind`, waiting as long as needed. As flock(2) says, the
    /// conversion is not atomic: the old lock is released first.
    pub fn convert(&self, kind: LockKind) -> io::Result<()> {
        retry(|| flock(&self.file, kind.operation(true)))
    }

    /// Changes the held lock to `kind` if that does not have to wait; `false` when it would.
    /// flock(2) may release the old lock even then: call [`FileLock::convert`] to take it
    /// back.
    pub fn try_convert(&self, kind: LockKind) -> io::Result<bool> {
        match retry(|| flock(&self.file, kind.operation(false))) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The locked file (opened for reading and writing), e.g. to record who holds the lock.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Runs `call` again while it is interrupted by a signal.
fn retry(mut call: impl FnMut() -> rustix::io::Result<()>) -> io::Result<()> {
    loop {
        match call() {
            Err(Errno::INTR) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_everyone_until_release() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        let held = FileLock::exclusive(&p).unwrap();
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        assert!(FileLock::try_shared(&p).unwrap().is_none());
        drop(held);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }

    #[test]
    fn shared_holders_coexist_and_exclude_an_exclusive_one() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        let a = FileLock::shared(&p).unwrap();
        let b = FileLock::try_shared(&p)
            .unwrap()
            .expect("a second shared holder");
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(a);
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(b);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }

    #[test]
    fn converts_between_shared_and_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        let a = FileLock::shared(&p).unwrap();
        let b = FileLock::shared(&p).unwrap();
        assert!(!a.try_convert(LockKind::Exclusive).unwrap());
        a.convert(LockKind::Shared).unwrap();
        drop(b);
        assert!(a.try_convert(LockKind::Exclusive).unwrap());
        assert!(FileLock::try_shared(&p).unwrap().is_none());
        a.convert(LockKind::Shared).unwrap();
        assert!(FileLock::try_shared(&p).unwrap().is_some());
    }

    #[test]
    fn blocking_lock_waits_for_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        let held = FileLock::exclusive(&p).unwrap();
        let waiter = {
            let p = p.clone();
            std::thread::spawn(move || FileLock::exclusive(&p).map(|_| ()))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished());
        drop(held);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn lock_file_is_created_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        std::fs::write(&p, b"runtime").unwrap();
        let held = FileLock::exclusive(&p).unwrap();
        drop(held);
        assert_eq!(std::fs::read(&p).unwrap(), b"runtime");
        let fresh = tmp.path().join("new.lock");
        let _l = FileLock::try_shared(&fresh).unwrap().unwrap();
        assert!(fresh.is_file());
    }
}
