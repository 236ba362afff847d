//! Lineage: which image derives from which. An image derives from another when its layers
//! start with all of the other's layers (a proper prefix; compared through docker's chain
//! IDs, so a lookup is one hash-map probe per layer), or when its `base.digest` annotation
//! names it (the annotation wins when that image is known). The parent is the known image
//! with the longest such prefix. The index is updated image by image (push, delete), so
//! queries never scan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strata_oci::Digest;

/// Docker's chain IDs of a layer list: `chain[0] = layers[0]`, `chain[i] =
/// sha256(chain[i-1] + " " + layers[i])` (here over the layer blobs' digests).
pub fn chain_ids(layers: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(layers.len());
    for layer in layers {
        let next = match out.last() {
            None => layer.clone(),
            Some(prev) => Digest::of(format!("{prev} {layer}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// What the index needs of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub digest: Digest,
    /// `repository:tag` or `repository@digest` names it is known by.
    pub names: Vec<String>,
    pub layers: Vec<Digest>,
    /// The `org.opencontainers.image.base.digest` annotation.
    pub base_digest: Option<Digest>,
}

/// How to build an image again (the `org.strata.build` annotation, JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildRecord {
    /// A git repository URL, or an absolute local path.
    pub source: String,
    /// The commit (git sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The context directory, relative to the source's root (`.` for the root).
    pub context: String,
    /// The Dockerfile, relative to the source's root.
    pub dockerfile: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Build args (never secrets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// How many layers the image added above its base, when every one of them came from a
    /// linked copy (`COPY --link` / `ADD --link` without `--chmod`): the image can be
    /// re-based onto a new base without a rebuild (docs/GOVERN.md "Re-base without rebuild").
    /// Absent when any of them came from anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_layers: Option<usize>,
}

/// One image downstream of another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependent {
    pub digest: Digest,
    pub names: Vec<String>,
    /// Its parent (the queried image, or a dependent listed before it).
    pub parent: Digest,
    /// 1 for a child, 2 for a grandchild…
    pub depth: usize,
}

/// A tree of images under a root, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TreeNode {
    pub digest: Digest,
    pub names: Vec<String>,
    pub children: Vec<TreeNode>,
}

/// The lineage index.
#[derive(Clone, Debug, Default)]
pub struct LineageIndex {
    index: index::Index,
}

impl LineageIndex {
    /// Adds (or replaces) an image; its parent and any known images that derive from it are
    /// linked.
    pub fn insert(&mut self, node: Node) {
        self.index.insert(node);
    }
    /// Removes an image; its children are re-linked to their next-longest prefix.
    pub fn remove(&mut self, digest: &Digest) {
        self.index.remove(digest);
    }
    pub fn len(&self) -> usize {
        self.index.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn node(&self, digest: &Digest) -> Option<&Node> {
        self.index.entries.get(digest).map(|e| &e.node)
    }
    pub fn parent(&self, digest: &Digest) -> Option<&Digest> {
        self.index.entries.get(digest)?.parent.as_ref()
    }
    /// The known images whose parent is `digest`, by digest.
    pub fn children(&self, digest: &Digest) -> Vec<&Digest> {
        self.index
            .entries
            .get(digest)
            .map(|e| e.children.iter().collect())
            .unwrap_or_default()
    }
    /// Every image downstream of `digest`, breadth first (parents before children).
    pub fn dependents(&self, digest: &Digest) -> Vec<Dependent> {
        query::dependents(&self.index, digest)
    }
    /// The tree under `root`, or the forest of every image without a parent.
    pub fn tree(&self, root: Option<&Digest>) -> Vec<TreeNode> {
        query::tree(&self.index, root)
    }
    /// The rebuild plan for the dependents of `digest`: waves, each wave's images depending
    /// only on images of earlier waves (or on `digest`), so a wave builds in parallel.
    pub fn rebuild_waves(&self, digest: &Digest) -> Vec<Vec<Dependent>> {
        query::rebuild_waves(&self.index, digest)
    }
}

mod index;
mod query;
#[cfg(test)]
mod tests;
