//! strata-container: the lifecycle of containers started by `strata run`:
//! state, monitor, logs, limits, ports.
//!
//! - [`spec::ContainerConfig`] is what `strata run` resolved (image config +
//!   flags); it is written to `<root>/containers/<id>/config.json`.
//! - `state` keeps `state.json` (status, pids, times, exit code, OOM, health)
//!   with atomic writes and a flock per container.
//! - `monitor` is the per-container process (like podman's conmon): it mounts
//!   the rootfs, `runc create`, attaches the network, `runc start`, keeps the
//!   log, waits, records the exit and tears everything down.
//! - `limits` parses docker's `--memory`/`--cpus`/… and `cgroups` reads them
//!   back (v1 and v2) with OOM detection.
//!
//! ## The seam with `net`, `tty`, `health` and `exec`
//!
//! - After `runc create` (the container's init pid and its network namespace
//!   exist) the monitor calls
//!   `net::attach(&config, pid, state_dir) -> Result<net::NetHandle>`; the
//!   handle lives until the container exits and is then `stop()`ed (or
//!   dropped). Only then `runc start` runs. `NetworkMode::Host` never gets a
//!   namespace; `None` gets one with `lo` only (the monitor asks runc for a
//!   new netns for `Private` and `None`).
//! - With `config.tty` the monitor passes `--console-socket <state_dir>/console.sock`
//!   to `runc create` and gets the pty master from
//!   `tty::receive_console(socket_path) -> Result<OwnedFd>`.
//! - With `config.healthcheck` the monitor runs `health::Monitor`, which
//!   writes the health into the state through [`state::StateStore::update`].
//! - `exec` runs `runc exec` in a running container (pid and runc root from
//!   [`state::State`] / [`paths::ContainerPaths`]).
//!
//! This crate does not parse Dockerfiles, pull images or render tables: the
//! binary turns its records into docker-shaped output.

pub mod args;
pub mod bundle;
pub mod cgroups;
pub mod containers;
pub mod error;
pub mod exec;
pub mod health;
mod hooks;
pub mod ids;
pub mod image;
pub mod limits;
pub mod logs;
pub mod monitor;
pub mod net;
pub mod paths;
pub mod rootless;
pub mod signals;
pub mod spec;
pub mod state;
pub mod tty;

pub use error::{Error, Result};
pub use spec::{
    ContainerConfig, HealthCheck, Limits, Mount, MountType, NetworkMode, PortMapping, Proto,
};
