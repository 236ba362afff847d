//! strata-executor: run a process in a container through an OCI runtime.
//!
//! - [`Runtime::detect`] finds runc (preferred) or crun and checks it runs.
//! - [`RunSpec`] says what to run over an already mounted rootfs (usually a
//!   [`strata_snapshot::ActiveMount`]); [`config`] turns it into the runtime's
//!   `config.json` (Docker-like namespaces, mounts, capabilities).
//! - [`Executor::run`] writes the bundle, runs `runc --root <state>/runc run`,
//!   streams stdout/stderr to a callback and returns the exit code. It removes
//!   the mount-point stubs the runtime created in the rootfs ([`stubs`]) and,
//!   through a [`strata_snapshot::CleanupGuard`], the container, its cgroup,
//!   runtime state and bundle, on success, failure, panic and (after
//!   [`install_signal_cleanup`]) SIGINT/SIGTERM.
//!
//! - [`lifecycle`]: `create`/`start`/`kill`/`delete`/`state` for the long-lived
//!   containers of `strata run` (its monitor needs the pid between create and start).
//!
//! - [`reap_stale`] removes the containers of a strata process that was killed
//!   (SIGKILL): each run holds a flock on `bundles/<id>.lock` while it lives.
//!
//! This crate does not mount the rootfs or diff it (that is `strata-snapshot`)
//! and knows nothing of Dockerfiles or caches.

pub mod bundle;
pub mod config;
mod error;
pub mod lifecycle;
mod reap;
pub mod run;
pub mod runtime;
pub mod spec;
pub mod stubs;

pub use error::{Error, Result};
pub use lifecycle::{CreateIo, RuntimeState};
pub use reap::reap_stale;
pub use run::{Executor, RunOutcome, Stream};
pub use runtime::{CgroupLayout, Runtime};
pub use spec::{MountKind, MountSpec, Network, RunSpec, DEFAULT_PATH};
pub use strata_snapshot::cleanup::{install_signal_cleanup, CleanupGuard, Registry};
