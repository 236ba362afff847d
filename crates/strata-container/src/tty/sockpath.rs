//! Unix socket paths longer than `sun_path` allows (108 bytes): a container's state dir
//! (`<root>/containers/<64 hex>/`) often is. The socket is reached through its directory's
//! descriptor, `/proc/self/fd/N/NAME` here and `/proc/<pid>/fd/N/NAME` for another process
//! (runc's `--console-socket`), which the kernel resolves like the long path.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{open, Mode, OFlags};

/// The longest path used as it is (`sun_path` is 108 bytes with its NUL).
const MAX_DIRECT: usize = 100;

/// A socket path usable with bind/connect, with the directory descriptor it may need.
#[derive(Debug)]
pub struct SocketPath {
    long: PathBuf,
    dir: Option<OwnedFd>,
}

impl SocketPath {
    /// `path` as a usable socket path (its directory opened when `path` is too long).
    pub fn new(path: &Path) -> std::io::Result<SocketPath> {
        if path.as_os_str().len() <= MAX_DIRECT {
            return Ok(SocketPath {
                long: path.to_path_buf(),
                dir: None,
            });
        }
        let parent = path.parent().unwrap_or(Path::new("/"));
        let dir = open(
            parent,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(SocketPath {
            long: path.to_path_buf(),
            dir: Some(dir),
        })
    }

    /// The path for this process's bind/connect.
    pub fn here(&self) -> PathBuf {
        self.via("self")
    }

    /// The path another process can connect to while this one lives.
    pub fn for_others(&self) -> PathBuf {
        self.via(&std::process::id().to_string())
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.long
    }

    fn via(&self, pid: &str) -> PathBuf {
        match &self.dir {
            None => self.long.clone(),
            Some(dir) => {
                let name = self.long.file_name().unwrap_or_default();
                Path::new(&format!("/proc/{pid}/fd/{}", dir.as_raw_fd())).join(name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixListener, UnixStream};

    #[test]
    fn long_socket_paths_work_through_the_directory_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let long = deep.join("attach.sock");
        assert!(
            UnixListener::bind(&long).is_err(),
            "the kernel took a long path"
        );
        let p = SocketPath::new(&long).unwrap();
        let listener = UnixListener::bind(p.here()).unwrap();
        assert!(long.exists());
        let other = SocketPath::new(&long).unwrap();
        let _client = UnixStream::connect(other.here()).unwrap();
        listener.accept().unwrap();
        assert!(p
            .for_others()
            .starts_with(format!("/proc/{}/fd", std::process::id())));
        let short = SocketPath::new(&tmp.path().join("s.sock")).unwrap();
        assert_eq!(short.here(), tmp.path().join("s.sock"));
    }
}
