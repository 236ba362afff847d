//! strata-govern: the registry's governance rules as pure logic — retention, promotion
//! labels, the lineage index and quality gates. No I/O and no async runtime: callers (the
//! registry server, the CLI) hand it the metadata they read, and act on what it decides.
//!
//! - [`image`]: [`Image`], the facts about one image every rule works on.
//! - [`annotations`]: the annotation keys builds record (OCI's and strata's own).
//! - [`labels`]: promotion labels, their order (`prod` > `maybe_prod` > none) and the bucket
//!   an image counts in.
//! - [`retention`]: retention policies (config), evaluated per repository into a keep or
//!   delete [`retention::Decision`] with its reason.
//! - [`lineage`]: which image derives from which (layer-prefix chain IDs plus the
//!   `base.digest` annotation), kept in an index so queries never scan; dependents, the tree,
//!   and the rebuild plan (waves: parents before children, each wave parallel).
//! - [`gates`]: the policy file and its checks at build, push and promote.
//!
//! Must not: read files or the network (configs are parsed from text the caller read), keep
//! clocks of its own (the caller passes `now`).

pub mod annotations;
pub mod gates;
mod glob;
pub mod image;
pub mod labels;
pub mod lineage;
pub mod retention;

pub use image::Image;
