//! What the pages show: plain data, already filtered to what the viewer may pull, built by
//! [`super::data`] from the governance service. The pages only render it.

use std::collections::BTreeMap;

use strata_govern::lineage::BuildRecord;
use strata_oci::Digest;

/// One repository on the index page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoSummary {
    pub name: String,
    pub owner: Option<String>,
    pub images: usize,
    pub tags: usize,
}

/// One image (manifest) of a repository, as its row shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    pub digest: Digest,
    pub tags: Vec<String>,
    pub labels: Vec<String>,
    pub size: u64,
    /// RFC 3339.
    pub pushed: String,
    pub last_pulled: Option<String>,
}

/// One promotion (a label added by `promote`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionView {
    pub digest: Digest,
    pub tags: Vec<String>,
    pub env: String,
    pub by: String,
    /// RFC 3339.
    pub at: String,
}

/// The repository page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryPage {
    pub name: String,
    pub owner: Option<String>,
    /// Newest push first.
    pub images: Vec<ImageSummary>,
    /// Newest first.
    pub promotions: Vec<PromotionView>,
}

/// A link to an image page: its repository, digest and the name shown (`repo:tag`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageLink {
    pub repository: String,
    pub digest: Digest,
    pub name: String,
}

/// The base image an image names in its annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseView {
    pub name: Option<String>,
    pub digest: Option<Digest>,
    /// Its page, when this registry holds it and the viewer may pull it.
    pub link: Option<ImageLink>,
}

/// One layer of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerView {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

/// The image page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePage {
    pub repository: String,
    pub image: ImageSummary,
    pub media_type: String,
    pub annotations: BTreeMap<String, String>,
    pub layers: Vec<LayerView>,
    pub build: Option<BuildRecord>,
    pub base: Option<BaseView>,
    pub parent: Option<ImageLink>,
    pub children: Vec<ImageLink>,
}

/// One node of the lineage picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineageNode {
    pub link: ImageLink,
    /// Every name it has that the viewer may see (`repo:tag`, `repo@sha256:…`).
    pub names: Vec<String>,
    pub children: Vec<LineageNode>,
}

/// The lineage page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineagePage {
    /// The `root` asked for, as written.
    pub root: Option<String>,
    pub trees: Vec<LineageNode>,
}
