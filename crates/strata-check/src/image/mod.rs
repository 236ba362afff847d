//! Reading an image's layers for the checks: [`layers`] lists an image's layers with the
//! instruction that made each (from the config's history), [`walk`] streams every layer's
//! tar entries to a [`LayerVisitor`], layers in parallel, each entry's content read once
//! in chunks (memory does not grow with file sizes).
//!
//! The image comes from a `strata_content::Store` (the local store, or the spool store
//! `strata_client::Client::open_image` copies any other place into).

pub mod entry;
pub mod layers;
pub mod walk;

pub use entry::{Entry, EntryKind};
pub use layers::{layers, LayerInfo};
pub use walk::{walk, LayerVisitor, Pair, WalkError, Want};
