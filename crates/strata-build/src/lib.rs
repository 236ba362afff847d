//! strata-build: the Dockerfile builder.
//!
//! Owns the build graph (stages and their dependencies), cache keys and records, the
//! scheduler that runs independent stages in parallel, the build context (walk,
//! `.dockerignore`, stat-cached content digests), the steps that make layers (WORKDIR, COPY,
//! ADD, RUN), image assembly and the exporters' dispatch, and `import` of root filesystems.
//!
//! It is the one crate that knows every implementation: the parser (`strata-dockerfile`), the
//! store (`strata-content`), layer tars (`strata-archive`), snapshots (`strata-snapshot`) and
//! the container executor (`strata-executor`). It must not print: progress goes through the
//! [`Progress`] trait and logs through `tracing`.

mod args;
mod build;
mod cache;
mod context;
mod copy;
mod error;
mod export;
mod glob;
mod import;
mod layer;
mod metadata;
mod options;
mod progress;
mod rootfs;
mod snapshots;
mod solver;
mod stage;
mod state;
mod steps;
mod time;
mod users;

pub use build::{build, BuildOutcome};
pub use error::{BuildError, Location};
pub use export::write_rootfs;
pub use import::{import_rootfs, ImportOptions};
pub use options::{
    BuildOptions, NetworkMode, OptionParseError, Output, SecretArg, SecretSource, SshArg,
};
pub use progress::{Event, Progress, Silent, StepName};
pub use snapshots::{prune_snapshots, SnapshotPrune};

/// Installs the SIGINT/SIGTERM handler that unmounts overlays and removes containers and
/// temp dirs before exiting (130/143).
pub fn install_signal_cleanup() -> Result<(), BuildError> {
    strata_snapshot::install_signal_cleanup()?;
    Ok(())
}

/// Blocks forever when a SIGINT/SIGTERM teardown is under way (the signal thread exits the
/// process with 130/143 when it is done); returns at once otherwise.
pub fn yield_to_signal_cleanup() {
    strata_snapshot::yield_to_signal_cleanup();
}
