//! Promotion labels. An image carries any number of labels (promoting to `prod` keeps
//! `maybe_prod`); retention counts it once, in the bucket of its highest label in the
//! policy's order (`prod` > `maybe_prod` > none).

use std::collections::BTreeSet;

/// The default label order, highest first.
pub const DEFAULT_ORDER: [&str; 2] = ["prod", "maybe_prod"];

/// The bucket of an image with `labels`: its highest label in `order` (highest first), `None`
/// when it carries none of them.
pub fn bucket<'a>(labels: &BTreeSet<String>, order: &'a [String]) -> Option<&'a str> {
    order
        .iter()
        .find(|l| labels.contains(l.as_str()))
        .map(String::as_str)
}

/// Whether `label` is a well-formed label: `[a-z0-9]` then `[a-z0-9._-]`, at most 64 bytes.
pub fn valid(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}
