//! strata-fs — filesystem primitives shared by the content store, the snapshot store, the
//! executor and the builder.
//!
//! Owns:
//! - [`FileLock`]: advisory `flock(2)` locks, exclusive or shared, blocking or try, that
//!   serialise work across threads and processes (the store's process lock, per-snapshot
//!   locks, a run's container lock, `sharing=locked` cache mounts).
//!
//! Must not: know about images, layers, snapshots or builds; depend on other strata crates
//! (it sits below all of them); write `unsafe` code (system calls go through `rustix`);
//! install a tracing subscriber. Errors are plain `std::io::Error`s: callers know the path
//! and wrap them with it.

mod lock;

pub use lock::{FileLock, LockKind};
