//! Where a container's files live: `<root>/containers/<id>/…`.

use std::path::{Path, PathBuf};

/// The directory of all containers under a strata root.
pub fn containers_dir(root: &Path) -> PathBuf {
    root.join("containers")
}

/// The files of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPaths {
    /// `<root>/containers/<id>`.
    pub dir: PathBuf,
    /// The container id (also runc's container id).
    pub id: String,
}

impl ContainerPaths {
    /// The paths of container `id` under the strata root `root`.
    pub fn new(root: &Path, id: &str) -> ContainerPaths {
        ContainerPaths {
            dir: containers_dir(root).join(id),
            id: id.to_string(),
        }
    }

    /// `config.json`: the [`crate::ContainerConfig`].
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// `state.json`: the [`crate::state::State`].
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The flock guarding state changes and removal.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The JSON-lines log of stdout/stderr (docker's json-file format).
    pub fn log(&self) -> PathBuf {
        self.dir.join("container.log")
    }

    /// The monitor's own diagnostics (its tracing output).
    pub fn monitor_log(&self) -> PathBuf {
        self.dir.join("monitor.log")
    }

    /// The OCI bundle (`config.json` for runc).
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    /// runc's `--root` for this container.
    pub fn runc_root(&self) -> PathBuf {
        self.dir.join("runc")
    }

    /// A short directory for the container's sockets (console, attach, slirp4netns's API,
    /// exec consoles): a unix socket path has at most 107 bytes, which
    /// `<root>/containers/<64 hex>/…` can exceed. `/run/strata/<16 hex>` as root, else
    /// `$XDG_RUNTIME_DIR/strata/<16 hex>` (or `/tmp/strata-<uid>/<16 hex>`); the monitor
    /// creates it (mode 0700) and removes it at exit.
    pub fn run_dir(&self) -> PathBuf {
        run_base().join(&self.id[..self.id.len().min(16)])
    }

    /// `--console-socket` path when the container has a tty.
    pub fn console_socket(&self) -> PathBuf {
        self.run_dir().join("console.sock")
    }

    /// The socket foreground `strata run` / `attach` connects to for stdio.
    pub fn attach_socket(&self) -> PathBuf {
        self.run_dir().join("attach.sock")
    }

    /// Creates [`Self::run_dir`] (mode 0700, owned by us).
    pub fn create_run_dir(&self) -> std::io::Result<PathBuf> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        let dir = self.run_dir();
        if let Some(base) = dir.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(base)?;
            let meta = std::fs::symlink_metadata(base)?;
            if !meta.is_dir() || meta.uid() != rustix::process::geteuid().as_raw() {
                return Err(std::io::Error::other(format!(
                    "{} is not a directory of ours",
                    base.display()
                )));
            }
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(dir),
        }
    }

    /// The file the container's network namespace is mounted on (a private network as
    /// root: `net::prepare`).
    pub fn netns(&self) -> PathBuf {
        self.run_dir().join("netns")
    }

    /// Removes [`Self::run_dir`] and what is left in it (a network namespace still mounted
    /// there, by a monitor that died, unmounted first).
    pub fn remove_run_dir(&self) {
        crate::net::netns::remove_at(&self.netns());
        let _ = std::fs::remove_dir_all(self.run_dir());
    }
}

fn run_base() -> PathBuf {
    let uid = rustix::process::geteuid();
    // Rootless strata is uid 0 of its user namespace: /run/strata is real root's.
    let rootless = strata_executor::runtime::in_user_namespace();
    if uid.is_root() && !rootless {
        return PathBuf::from("/run/strata");
    }
    let outer = if rootless { outer_uid() } else { None };
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("strata"),
        _ => std::env::temp_dir().join(format!("strata-{}", outer.unwrap_or(uid.as_raw()))),
    }
}

/// The uid outside the user namespace that uid 0 inside maps to (`0 OUTER N` in uid_map).
fn outer_uid() -> Option<u32> {
    let map = std::fs::read_to_string("/proc/self/uid_map").ok()?;
    map.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.first() == Some(&"0")).then(|| f.get(1)?.parse().ok())?
    })
}
