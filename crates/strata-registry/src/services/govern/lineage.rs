//! The lineage index in the server: a `strata_govern::lineage::LineageIndex` in memory,
//! built from the image facts on first use, updated image by image after this server's
//! pushes and deletes, and rebuilt when the metadata's lineage generation says another
//! process (a replica on the same PostgreSQL, `strata registry gc`) changed images or tags.
//! A query costs one generation read; the answer comes from memory.
//!
//! Must not: answer from an index older than the generation it read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use strata_distribution::govern::TreeNode;
use strata_distribution::RepositoryName;
use strata_govern::annotations;
use strata_govern::lineage::{LineageIndex, Node};
use strata_oci::Digest;

use super::{name_repo, names_of, Visible};
use crate::meta::StoredImage;
use crate::services::{Registry, ServiceError};

/// The index and what it was built from.
#[derive(Default)]
struct State {
    /// The generation the index reflects (`None`: never built).
    generation: Option<i64>,
    index: LineageIndex,
    /// Per digest, the repositories holding it with their tags.
    names: HashMap<Digest, BTreeMap<String, Vec<String>>>,
}

/// The server's lineage index.
#[derive(Default)]
pub struct Lineage {
    state: tokio::sync::Mutex<State>,
}

fn base_digest(image: &StoredImage) -> Option<Digest> {
    image
        .image
        .annotations
        .get(annotations::BASE_DIGEST)?
        .parse()
        .ok()
}

impl State {
    fn node_names(&self, digest: &Digest) -> Vec<String> {
        let mut names: Vec<String> = self
            .names
            .get(digest)
            .into_iter()
            .flatten()
            .flat_map(|(repo, tags)| names_of(repo, digest, tags))
            .collect();
        names.sort();
        names
    }

    /// Puts `image` (as one repository holds it) into the index. Images without layers
    /// (indexes; images recorded before their layers were) have no lineage.
    fn put(&mut self, image: &StoredImage) {
        if image.image.layers.is_empty() {
            return;
        }
        let digest = image.image.digest.clone();
        self.names
            .entry(digest.clone())
            .or_default()
            .insert(image.image.repository.clone(), image.image.tags.clone());
        let node = Node {
            names: self.node_names(&digest),
            digest,
            layers: image.image.layers.clone(),
            base_digest: base_digest(image),
        };
        self.index.insert(node);
    }

    /// `repo` no longer holds `digest`.
    fn drop_holder(&mut self, repo: &str, digest: &Digest) {
        let Some(holders) = self.names.get_mut(digest) else {
            return;
        };
        holders.remove(repo);
        if holders.is_empty() {
            self.names.remove(digest);
            self.index.remove(digest);
            return;
        }
        if let Some(mut node) = self.index.node(digest).cloned() {
            node.names = self.node_names(digest);
            self.index.insert(node);
        }
    }

    fn rebuild(&mut self, images: &[StoredImage], generation: i64) {
        *self = State::default();
        // Oldest first, so parents are usually in before their children.
        for image in images.iter().rev() {
            self.put(image);
        }
        self.generation = Some(generation);
    }
}

impl Registry {
    /// Runs `query` on an index at least as new as the metadata's generation.
    pub(crate) async fn lineage_query<T>(
        &self,
        query: impl FnOnce(&LineageIndex) -> T,
    ) -> Result<T, ServiceError> {
        let generation = self.meta.lineage_generation().await?;
        let mut state = self.govern.lineage.state.lock().await;
        if state.generation != Some(generation) {
            let images = self.meta.images(None).await?;
            state.rebuild(&images, generation);
            tracing::debug!(images = images.len(), generation, "lineage index rebuilt");
        }
        Ok(query(&state.index))
    }

    pub(crate) async fn lineage_parent(
        &self,
        digest: &Digest,
    ) -> Result<Option<Digest>, ServiceError> {
        self.lineage_query(|index| index.parent(digest).cloned())
            .await
    }

    pub(crate) async fn lineage_parents(
        &self,
        images: &[StoredImage],
    ) -> Result<Vec<Option<Digest>>, ServiceError> {
        self.lineage_query(|index| {
            images
                .iter()
                .map(|i| index.parent(&i.image.digest).cloned())
                .collect()
        })
        .await
    }

    /// After this server changed the images or tags of `name` (`digests`, each now as the
    /// metadata holds it): updates the index when that change is the only one since it was
    /// built (the generation moved by one), else leaves it for a rebuild at the next query.
    pub(crate) async fn lineage_changed(&self, name: &RepositoryName, digests: &[Digest]) {
        if let Err(e) = self.try_lineage_changed(name, digests).await {
            tracing::warn!(name = %name, error = %e, "lineage index: rebuilt at the next query");
            self.govern.lineage.state.lock().await.generation = None;
        }
    }

    async fn try_lineage_changed(
        &self,
        name: &RepositoryName,
        digests: &[Digest],
    ) -> Result<(), ServiceError> {
        let mut state = self.govern.lineage.state.lock().await;
        let Some(built) = state.generation else {
            return Ok(());
        };
        let generation = self.meta.lineage_generation().await?;
        if generation == built {
            return Ok(());
        }
        if generation != built + 1 {
            state.generation = None;
            return Ok(());
        }
        let unique: BTreeSet<&Digest> = digests.iter().collect();
        for digest in unique {
            match self.meta.image(name, digest).await? {
                Some(image) => state.put(&image),
                None => state.drop_holder(name.as_str(), digest),
            }
        }
        state.generation = Some(generation);
        Ok(())
    }
}

/// The tree with every name the caller may not read removed; a node left without names is
/// replaced by its children.
pub(crate) fn visible_tree(
    tree: Vec<strata_govern::lineage::TreeNode>,
    visible: Visible<'_>,
) -> Vec<TreeNode> {
    let mut out = Vec::new();
    for node in tree {
        let children = visible_tree(node.children, visible);
        let names: Vec<String> = node
            .names
            .into_iter()
            .filter(|n| visible(name_repo(n)))
            .collect();
        if names.is_empty() {
            out.extend(children);
        } else {
            out.push(TreeNode {
                digest: node.digest,
                names,
                children,
            });
        }
    }
    out
}
