//! What a build produces and how it leaves: the manifest's annotations ([`annotate`]), layers written into the store, the target
//! committed as an image and handed to the exporters, `strata import` of a root filesystem,
//! and the snapshot store's opening (after reaping what killed processes left) and pruning.

pub mod annotate;
pub mod export;
pub mod import;
pub mod layer;
pub mod snapshots;
