//! strata-build: the Dockerfile builder.
//!
//! Owns, one folder each, the build's story:
//! - `plan/`: Dockerfile → stages → graph (bases, `--from` dependencies, ARG scoping, order);
//! - `solve/`: the scheduler that runs independent stages in parallel, and each stage's
//!   dispatch of its instructions;
//! - `state/`: the image a stage is building, cache keys and records, config-only
//!   instructions, the build clock;
//! - `sources/`: what steps read — the build context (walk, `.dockerignore`, stat-cached
//!   content digests), an image's rootfs as a read-only view, source patterns, users, and
//!   the images `FROM`/`--from` name (the store under the [`ImagePuller`]'s candidates of a
//!   short name, else pulled through it: the builder does no HTTP);
//! - `steps/`: the steps that make layers (WORKDIR, COPY/ADD with their rules, RUN with its
//!   mounts and the [`Sandbox`] it runs in), seeing only a narrow `StepEnv`;
//! - `output/`: layer blobs, image assembly and the exporters, `import` of root filesystems,
//!   the snapshot store's opening and pruning;
//! - [`remote`]: the build cache shared beyond this store (`--cache-to/--cache-from`): the
//!   [`RemoteCache`] seam imported records and their layers come through (fetched only where
//!   a build needs their bytes), what a build used, and what it exports ([`export_cache`]).
//!   Where a shared cache lives and how it is encoded is not the builder's business.
//!
//! It is the one crate that knows every implementation: the parser (`strata-dockerfile`), the
//! store (`strata-content`), layer tars (`strata-archive`), snapshots (`strata-snapshot`) and
//! the container executor (`strata-executor`). It must not print: progress goes through the
//! [`Progress`] trait and logs through `tracing`.

mod build;
mod error;
mod options;
mod output;
mod plan;
mod progress;
pub mod remote;
mod solve;
mod sources;
mod state;
mod steps;

pub use build::{build, build_in, build_with, build_with_cache, BuildOutcome};
pub use error::{BuildError, FetchError, Location, StageError, StepError};
pub use options::cache::{CacheFrom, CacheLocation, CacheMode, CacheTo};
pub use options::context::{BuildContextArg, BuildContextError, NamedContext};
pub use options::{
    BuildGate, BuildOptions, Built, NetworkMode, OptionParseError, Output, SecretArg, SecretSource,
    SshArg,
};
pub use output::annotate::BaseImage;
pub use output::export::write_rootfs;
pub use output::import::{import_rootfs, ImportOptions};
pub use output::snapshots::{prune_snapshots, SnapshotPrune};
pub use progress::{Event, Progress, Silent, StepName};
pub use remote::export::{collect as export_cache, ExportOptions as CacheExportOptions};
pub use remote::{CacheExport, NoRemoteCache, RemoteCache, SharedMount, SharedRecord};
pub use sources::images::{
    FailedPull, ImageError, ImagePuller, PullError, PullPolicy, PullPolicyError,
};
pub use sources::select::SourceError;
pub use sources::users::UserError;
pub use steps::copy::rules::CopyError;
pub use steps::{RuncSandbox, Sandbox};

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
