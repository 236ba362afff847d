//! Builds each page's [`view`](super::view) from the governance service
//! (`services::govern`), keeping only what the [`Viewer`] may pull: lists are filtered,
//! lineage names are those the service lets the viewer see, and a repository the viewer
//! may not pull is [`UiError::NoRepository`], as one that does not exist. Reads only:
//! manifests are read with [`Registry::inspect_manifest`], which is not a pull.

use axum::http::StatusCode;
use strata_distribution::govern::{ImageJson, ImageRef, TreeNode};
use strata_distribution::{ManifestRef, RepositoryName, Tag};
use strata_govern::annotations;
use strata_oci::Digest;
use thiserror::Error;

use super::view::{
    BaseView, ImageLink, ImagePage, ImageSummary, LayerView, LineageNode, LineagePage,
    PromotionView, RepoSummary, RepositoryPage,
};
use super::Viewer;
use crate::services::{Registry, ServiceError};

/// Why a page cannot be shown.
#[derive(Debug, Error)]
pub enum UiError {
    /// Absent, or not the viewer's to see (the same answer, so names are not told).
    #[error("no repository {0} (or you may not pull from it)")]
    NoRepository(String),
    #[error("no image {reference} in {repository}")]
    NoImage {
        repository: String,
        reference: String,
    },
    #[error("lineage root {root:?}: {reason}")]
    BadRoot { root: String, reason: String },
    #[error("reading the registry")]
    Service(#[source] ServiceError),
}

impl UiError {
    pub fn status(&self) -> StatusCode {
        match self {
            UiError::NoRepository(_) | UiError::NoImage { .. } => StatusCode::NOT_FOUND,
            UiError::BadRoot { .. } => StatusCode::BAD_REQUEST,
            UiError::Service(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ServiceError> for UiError {
    fn from(e: ServiceError) -> UiError {
        match e {
            ServiceError::NameUnknown { name } => UiError::NoRepository(name.to_string()),
            ServiceError::ManifestUnknown { name, reference } => UiError::NoImage {
                repository: name.to_string(),
                reference: reference.to_string(),
            },
            e => UiError::Service(e),
        }
    }
}

/// Fails as a missing repository unless the viewer may pull from `name`.
fn pullable(viewer: &Viewer, name: &RepositoryName) -> Result<(), UiError> {
    match viewer.may_pull(name.as_str()) {
        true => Ok(()),
        false => Err(UiError::NoRepository(name.to_string())),
    }
}

/// The repositories the viewer may pull, by name.
pub async fn index(registry: &Registry, viewer: &Viewer) -> Result<Vec<RepoSummary>, UiError> {
    let visible = |repo: &str| viewer.may_pull(repo);
    let mut repos: Vec<RepoSummary> = registry
        .repositories_json(&visible)
        .await?
        .into_iter()
        .map(|r| RepoSummary {
            name: r.name,
            owner: r.owner,
            images: r.images as usize,
            tags: r.tags as usize,
        })
        .collect();
    repos.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(repos)
}

fn summary(image: &ImageJson) -> ImageSummary {
    ImageSummary {
        digest: image.digest.clone(),
        tags: image.tags.clone(),
        labels: image.labels.clone(),
        size: image.size,
        pushed: image.pushed.clone(),
        last_pulled: image.last_pulled.clone(),
    }
}

/// A repository: owner, images (newest push first), promotions (newest first).
pub async fn repository(
    registry: &Registry,
    viewer: &Viewer,
    name: &RepositoryName,
) -> Result<RepositoryPage, UiError> {
    pullable(viewer, name)?;
    let images = registry.images(name).await?;
    let owner = registry.owner(name).await?.owner;
    let promotions = registry
        .promotions(name)
        .await?
        .into_iter()
        .map(|p| PromotionView {
            digest: p.digest,
            tags: p.tags,
            env: p.env,
            by: p.by,
            at: p.at,
        })
        .collect();
    Ok(RepositoryPage {
        name: name.to_string(),
        owner,
        images: images.iter().map(summary).collect(),
        promotions,
    })
}

/// The repository a lineage name (`repo:tag`, `repo@sha256:…`) is in.
fn repository_of(name: &str) -> &str {
    if let Some((repo, _)) = name.split_once('@') {
        return repo;
    }
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => &name[..slash + i],
        None => name,
    }
}

/// The digest `tag` of `name` names.
pub async fn resolve(
    registry: &Registry,
    viewer: &Viewer,
    name: &RepositoryName,
    tag: &Tag,
) -> Result<Digest, UiError> {
    pullable(viewer, name)?;
    let image = registry.image(name, &ManifestRef::Tag(tag.clone())).await?;
    Ok(image.digest)
}

/// The link of an image known by `names` (the first one shown), none without names.
fn link(digest: &Digest, names: &[String]) -> Option<ImageLink> {
    let name = names.first()?;
    Some(ImageLink {
        repository: repository_of(name).to_owned(),
        digest: digest.clone(),
        name: name.clone(),
    })
}

fn find<'a>(forest: &'a [TreeNode], digest: &Digest) -> Option<&'a TreeNode> {
    forest.iter().find_map(|n| match &n.digest == digest {
        true => Some(n),
        false => find(&n.children, digest),
    })
}

/// One image: its facts, manifest layers, base, parent and children.
pub async fn image(
    registry: &Registry,
    viewer: &Viewer,
    name: &RepositoryName,
    digest: &Digest,
) -> Result<ImagePage, UiError> {
    pullable(viewer, name)?;
    let visible = |repo: &str| viewer.may_pull(repo);
    let image = registry
        .image(name, &ManifestRef::Digest(digest.clone()))
        .await?;
    let manifest = registry.inspect_manifest(name, digest).await?;
    let forest = registry.lineage_tree(None, &visible).await?;
    let known = |d: &Digest| find(&forest, d).and_then(|n| link(d, &n.names));
    let at = ImageRef {
        name: name.clone(),
        reference: ManifestRef::Digest(digest.clone()),
    };
    let children = registry
        .dependents(&at, &visible)
        .await?
        .dependents
        .into_iter()
        .filter(|d| d.depth == 1)
        .filter_map(|d| link(&d.digest, &d.names))
        .collect();
    let base = base(&image, &known);
    Ok(ImagePage {
        repository: name.to_string(),
        image: summary(&image),
        media_type: image.media_type.clone(),
        layers: layers(&manifest.body),
        parent: image.parent.as_ref().and_then(known),
        children,
        base,
        build: image.build.clone(),
        annotations: image.annotations,
    })
}

/// The base the annotations name, linked when the viewer can see it here.
fn base(image: &ImageJson, known: &dyn Fn(&Digest) -> Option<ImageLink>) -> Option<BaseView> {
    let name = image.annotations.get(annotations::BASE_NAME).cloned();
    let digest = image
        .annotations
        .get(annotations::BASE_DIGEST)
        .and_then(|d| d.parse::<Digest>().ok());
    if name.is_none() && digest.is_none() {
        return None;
    }
    let link = digest.as_ref().and_then(known);
    Some(BaseView { name, digest, link })
}

/// The layers of an image manifest (none for an index, or what does not parse).
fn layers(body: &[u8]) -> Vec<LayerView> {
    let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let Some(layers) = manifest["layers"].as_array() else {
        return Vec::new();
    };
    layers
        .iter()
        .filter_map(|l| {
            Some(LayerView {
                digest: l["digest"].as_str()?.parse().ok()?,
                size: l["size"].as_u64()?,
                media_type: l["mediaType"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

fn node(tree: TreeNode) -> Option<LineageNode> {
    let link = link(&tree.digest, &tree.names)?;
    Some(LineageNode {
        link,
        names: tree.names,
        children: tree.children.into_iter().filter_map(node).collect(),
    })
}

/// The lineage forest (or the tree under `root`), as the viewer may see it.
pub async fn lineage(
    registry: &Registry,
    viewer: &Viewer,
    root: Option<String>,
) -> Result<LineagePage, UiError> {
    let visible = |repo: &str| viewer.may_pull(repo);
    let at = match &root {
        None => None,
        Some(text) => Some(text.parse::<ImageRef>().map_err(|e| UiError::BadRoot {
            root: text.clone(),
            reason: e.to_string(),
        })?),
    };
    if let Some(at) = &at {
        pullable(viewer, &at.name)?;
    }
    let forest = registry.lineage_tree(at.as_ref(), &visible).await?;
    Ok(LineagePage {
        root,
        trees: forest.into_iter().filter_map(node).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lineage_name_tells_its_repository() {
        let d = Digest::of(b"x");
        assert_eq!(repository_of("team/app:1.0"), "team/app");
        assert_eq!(repository_of(&format!("team/app@{d}")), "team/app");
        assert_eq!(repository_of("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(repository_of("app"), "app");
    }

    #[test]
    fn layers_come_from_the_manifest_in_order() {
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        let body = serde_json::json!({"layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": a.to_string(), "size": 3},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": b.to_string(), "size": 5},
        ]});
        let got = layers(body.to_string().as_bytes());
        assert_eq!(
            got.iter().map(|l| (&l.digest, l.size)).collect::<Vec<_>>(),
            [(&a, 3), (&b, 5)]
        );
        assert!(layers(b"{\"manifests\":[]}").is_empty());
    }
}
