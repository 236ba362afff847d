//! A network namespace made before the container (podman's order): a thread unshares a new
//! network namespace and bind-mounts it onto a file, so that slirp4netns configures it while
//! the rootfs is mounted and the bundle written, and `runc run` joins it by path in one
//! process (no `runc create` + `runc start`).
//!
//! The bind mount keeps the namespace alive after the thread ends; [`NetNs::remove`]
//! (and [`remove_at`] for a monitor that died) unmounts and deletes the file.

use std::path::{Path, PathBuf};

use super::NetError;

/// A network namespace held by a bind mount on [`NetNs::path`].
#[derive(Debug)]
pub struct NetNs {
    path: PathBuf,
}

impl NetNs {
    /// Creates a new network namespace held at `path` (a file that must not exist).
    pub fn create(path: &Path) -> Result<NetNs, NetError> {
        std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(NetError::io("create", path))?;
        let target = path.to_path_buf();
        // unshare(CLONE_NEWNET) moves only the calling thread: a thread of its own, which
        // ends right after the bind mount, leaves the monitor's other threads where they are.
        std::thread::spawn(move || -> std::io::Result<()> {
            rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET)?;
            rustix::mount::mount_bind("/proc/thread-self/ns/net", &target)?;
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the netns thread panicked")))
        .map_err(|e| {
            remove_at(path);
            NetError::io("make a network namespace at", path)(e)
        })?;
        Ok(NetNs {
            path: path.to_path_buf(),
        })
    }

    /// The file the namespace is mounted on (for `--netns-type=path` and runc's config).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unmounts and removes the namespace's file.
    pub fn remove(self) {
        remove_at(&self.path);
    }
}

/// Unmounts (lazily) and removes a namespace file left at `path`; nothing when none is there.
pub fn remove_at(path: &Path) {
    if path.symlink_metadata().is_err() {
        return;
    }
    let _ = rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH);
    let _ = std::fs::remove_file(path);
}
