//! Where the monitor calls into `net`, `tty` and `health` (the net helper's
//! modules). Until they land these say plainly what is not available yet.

use std::path::Path;
use std::thread::JoinHandle;

use strata_executor::Runtime;

use crate::error::{Error, Result};
use crate::paths::ContainerPaths;
use crate::spec::{ContainerConfig, NetworkMode};

/// The container's network while it runs.
pub struct NetHandle;

impl NetHandle {
    /// Stops what serves the network.
    pub fn stop(self) {}
}

/// After `runc create`: the network of `config` for init `pid`.
pub fn attach_network(
    config: &ContainerConfig,
    _pid: i32,
    _dir: &Path,
) -> Result<Option<NetHandle>> {
    if config.network == NetworkMode::Private && !config.ports.is_empty() {
        return Err(not_yet("publishing ports (-p)"));
    }
    Ok(None)
}

/// The relay of a `-t` container's console.
pub fn relay_console(
    _config: &ContainerConfig,
    _paths: &ContainerPaths,
    _attach: bool,
) -> Result<JoinHandle<()>> {
    Err(not_yet("-t (a pseudo-terminal)"))
}

/// The HEALTHCHECK runner.
pub struct HealthRunner;

/// Starts the health checks of `config`.
pub fn start_health(
    _config: &ContainerConfig,
    _paths: &ContainerPaths,
    _runtime: &Runtime,
) -> Result<Option<HealthRunner>> {
    Ok(None)
}

fn not_yet(what: &str) -> Error {
    Error::Other {
        what: format!("{what} is not available in this build"),
        source: None,
    }
}
