//! The facts about one image that retention, lineage and gates work on.

use std::collections::{BTreeMap, BTreeSet};

use strata_oci::Digest;

/// One image manifest in one repository, as the registry knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The repository (`team/app`).
    pub repository: String,
    /// The manifest's digest.
    pub digest: Digest,
    /// The tags pointing at it, sorted.
    pub tags: Vec<String>,
    /// Its promotion labels (`maybe_prod`, `prod`); they accumulate.
    pub labels: BTreeSet<String>,
    /// Unix seconds it was pushed (first recorded in this repository).
    pub pushed: i64,
    /// Unix seconds it was last pulled, `None` when never.
    pub last_pulled: Option<i64>,
    /// Bytes of the manifest, config and layers.
    pub size: u64,
    /// The layer blobs' digests, in order.
    pub layers: Vec<Digest>,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}
