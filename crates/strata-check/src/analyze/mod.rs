//! `strata analyze`: what each layer adds, and the bytes an image ships for nothing.
//!
//! - [`files`]: the per-layer visitor that records every entry (path, kind, size, and a
//!   content hash of regular files for duplicates) into [`runs`]: sorted runs that spill to
//!   unnamed temporary files past 4,096 entries, so memory does not grow with the image;
//! - [`merge`]: the layers applied bottom-up in one path-ordered stream, whiteouts and
//!   overwrites counted once each: the wasted bytes, per path and per layer;
//! - [`report`]: the [`Analysis`] a caller prints (sizes, efficiency, biggest files,
//!   duplicates);
//! - [`ci`]: dive's CI rules (`lowest-efficiency`, `highest-wasted-bytes`,
//!   `highest-user-wasted-percent`, `.dive-ci`) evaluated on an [`Analysis`].
//!
//! Wasted bytes are Σ over paths of (cumulative − kept): every byte a layer adds that is not
//! in the final filesystem, counted once, whether a later layer overwrote it or deleted it.
//! (dive sums the whole cumulative size of every path seen more than once, so the copy that
//! is kept and a deleted file's own bytes are both counted again: wagoodman/dive#684.)

pub mod ci;
pub mod files;
pub mod merge;
pub mod report;
pub mod runs;
pub mod size;
mod top;

pub use ci::{CiOutcome, CiRules, RuleResult};
pub use files::LayerFiles;
pub use report::{analyze_and_scan, analyze_image, Analysis, AnalyzeError, Options};
