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

    /// `--console-socket` path when the container has a tty.
    pub fn console_socket(&self) -> PathBuf {
        self.dir.join("console.sock")
    }

    /// The socket foreground `strata run` / `attach` connects to for stdio.
    pub fn attach_socket(&self) -> PathBuf {
        self.dir.join("attach.sock")
    }
}
