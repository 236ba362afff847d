//! strata-snapshot: unpacked layer snapshots, overlay mounts and the upper-dir diff.
//!
//! - [`SnapshotStore`] keeps each layer unpacked once under
//!   `<root>/snapshots/sha256/<chain-id hex>/`, whiteouts in overlay form (0:0 char
//!   devices, `trusted.overlay.opaque=y`) so a snapshot serves directly as an
//!   overlay lowerdir. Unpacks are verified against the diff id, atomic (temp dir +
//!   rename) and serialised per chain id with a flock.
//! - [`SnapshotStore::mount_rw`] mounts a read-write overlay for a RUN step;
//!   [`overlay`] builds the options (feature flags, lowerdir length limit) and goes
//!   through the [`Mounter`] trait, whose [`RecordingMounter`] fake unit-tests it.
//! - [`diff_upper`] turns an upper dir into [`strata_archive::Entry`] values.
//! - flocks ([`strata_fs::FileLock`]) serialise unpacks and mark live mounts and runs, so that a
//!   later process can tell what a killed one left behind.
//! - [`cleanup`] is the process-wide registry of things to undo on error or
//!   SIGINT/SIGTERM, shared with `strata-executor`.
//!
//! This crate writes no tars (that is `strata-archive`) and runs no processes.

pub mod active;
pub mod chain;
pub mod cleanup;
pub mod diff;
mod error;
mod hints;
mod lock;
pub mod mounter;
pub mod overlay;
pub mod store;

pub use active::ActiveMount;
pub use chain::{chain_id, chain_ids};
pub use cleanup::{
    install_signal_cleanup, interrupted, yield_to_signal_cleanup, CleanupGuard, Registry,
};
pub use diff::diff_upper;
pub use error::{Error, Result};
pub use mounter::{LinuxMounter, MountCall, MountRequest, Mounter, RecordingMounter};
pub use overlay::{mount_overlay, unmount_overlay, OverlayDirs};
pub use store::{LayerOpener, LayerSource, SnapshotStore};
