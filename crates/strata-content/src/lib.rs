//! The local content store of strata: blobs, images, tags, build cache and GC, plus import
//! and export in the formats other tools read.
//!
//! What it owns:
//! - **blobs** (`blobs.rs`): content-addressed by sha256 under `root/blobs/sha256/<hex>`,
//!   written through a temp file in `root/tmp`, fsynced, verified and renamed — a killed
//!   process never leaves a half-written blob where a reader would trust it;
//! - **the database** (`db.rs`): SQLite in WAL mode with a versioned schema: image records
//!   and tags (`images.rs`), build-cache records and context file stamps (`cache.rs`), and
//!   each image's last use (`usage.rs`, ranked by `prune --keep-last`);
//! - **concurrency** (`store.rs`): a `Store` is `Send + Sync` and cheap to clone; each handle
//!   holds a shared advisory lock on `root/lock`, and `prune` (`gc.rs`) takes it exclusively
//!   so it never sweeps a blob another process has written but not yet referenced;
//! - **interop**: OCI image layouts (dir or tar, `oci_layout.rs`), docker-archive tars as
//!   `docker save` writes them (`docker_archive.rs`), and `load` of both (`load.rs`),
//!   verifying every digest and diffID.
//!
//! What it must not do: build, run or unpack images, talk to registries, or print. Layers are
//! opaque blobs here except where `load` hashes them to check diffIDs.

mod blobs;
mod cache;
mod db;
pub mod docker_archive;
mod error;
mod gc;
mod images;
pub mod load;
pub mod oci_layout;
mod store;
mod tar_writer;
mod usage;

pub use blobs::{BlobSource, BlobWriter};
pub use cache::{CacheRecord, FileStamp};
pub use db::SCHEMA_VERSION;
pub use error::{Error, Result};
pub use gc::{human_size, PruneOptions, PruneReport};
pub use images::{Image, ImageRow, RemoveReport};
pub use load::LoadedImage;
pub use store::{ExclusiveLock, Store};
pub use usage::ImageUse;
