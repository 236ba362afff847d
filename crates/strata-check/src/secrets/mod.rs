//! Secrets in every layer of an image, in its config and in its history (issue 12).
//!
//! - [`rule`]/[`rules`]: the rules as data (id, title, severity, keywords, a regex with a
//!   `secret` group, an entropy minimum, allow-lists on the secret and on the path);
//! - [`matcher`]: the rules compiled into a [`Scanner`]: keywords first (Aho-Corasick),
//!   regexes only around keyword hits;
//! - [`visitor`]: [`SecretVisitor`], the [`crate::image::LayerVisitor`] that scans a
//!   layer's text files in chunks while [`crate::image::walk`] streams it;
//! - [`report`]: findings with their layer, path, line and the instruction that made the
//!   layer (or the config field, or the history entry), files that later layers deleted.
//!
//! [`scan_image`] puts it together. Secrets are only ever held redacted in findings.

pub mod matcher;
pub mod report;
pub mod rule;
pub mod rules;
pub mod visitor;

use strata_content::{BlobSource, Image};

pub use matcher::{redact, Scanner};
pub use report::{Finding, Removal, Report, Source};
pub use rule::{Rule, Severity};
pub use rules::RULES;
pub use visitor::{LayerScan, ScanStats, SecretVisitor};

use crate::image::{layers, walk, WalkError};

/// The farthest a rule's match may start before its keyword.
pub const MAX_BACK: usize = 256;
/// The farthest a rule's match may end after its keyword (a private key block).
pub const MAX_AHEAD: usize = 16 << 10;

/// Scans every layer of `image` (blobs from `blobs`), `jobs` layers at a time, then its
/// config and history, with the built-in rules.
pub fn scan_image<B: BlobSource + ?Sized>(
    blobs: &B,
    image: &Image,
    jobs: usize,
) -> Result<Report, WalkError> {
    let scanner = Scanner::builtin();
    let layers = layers(image);
    let visitors = walk(blobs, &layers, jobs, |layer| {
        SecretVisitor::new(scanner, layer)
    })?;
    let scans = visitors.into_iter().map(SecretVisitor::finish).collect();
    let mut report = Report::from_layers(scanner, scans);
    report.add_config(scanner, &image.config);
    Ok(report)
}
