//! The transfer engine every verb uses (pull = registry → store, push = store → registry,
//! copy = anything → anything): read the top manifest, pick a platform from an index (or
//! take the whole index with `--all`), check every manifest, move the blobs the
//! destination lacks in parallel, then write manifests (children first, the top last)
//! with their exact bytes.

use std::collections::HashSet;

use strata_content::Store;
use strata_oci::media_types::{self, DOCKER_CONFIG, OCI_CONFIG};
use strata_oci::{Descriptor, Digest, ImageIndex, ImageManifest, Platform};

use super::error::{Result, TransferError};
use super::progress::{BlobKind, BlobOutcome, Phase, TransferProgress};
use super::select::select;
use super::transports::{BlobJob, Destination, Source};
use crate::parallel::run_all;
use crate::pull::Manifest;

/// How a transfer runs.
pub(crate) struct Plan<'a> {
    pub source: &'a dyn Source,
    pub destination: &'a dyn Destination,
    /// Where blobs are verified on their way (see `transports`).
    pub hub: &'a Store,
    /// Copy a whole index (else pick `platform`).
    pub all: bool,
    pub platform: &'a Platform,
    pub jobs: usize,
    pub progress: &'a dyn TransferProgress,
    /// The destination needs image configs (the store, an archive), not any artifact.
    pub images_only: bool,
}

/// What a transfer wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The manifest written at the destination's name (the index with `--all`).
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// The index the image was picked from, when the source named one.
    pub index_digest: Option<Digest>,
    /// The image manifests written (children of the index with `--all`).
    pub images: Vec<Digest>,
    /// How many blobs moved (not already at the destination).
    pub blobs_moved: usize,
}

pub(crate) fn run(plan: &Plan) -> Result<Copied> {
    if plan.all && !plan.destination.accepts_index() {
        return Err(TransferError::AllNeedsIndexDestination {
            destination: plan.destination.describe(),
        });
    }
    let top = plan.source.top()?;
    let (top, children, index_digest) = resolve_top(plan, top)?;
    let images = if children.is_empty() {
        std::slice::from_ref(&top)
    } else {
        &children[..]
    };
    let blobs = blobs_of(plan, images)?;
    plan.destination.prepare()?;
    let moved = run_all(&blobs, plan.jobs, |(desc, kind)| {
        move_blob(plan, desc, *kind)
    })?;
    for child in &children {
        write_manifest(plan, child, false)?;
    }
    write_manifest(plan, &top, true)?;
    Ok(Copied {
        digest: top.digest.clone(),
        media_type: top.media_type.clone(),
        size: top.bytes.len() as u64,
        index_digest,
        images: images.iter().map(|m| m.digest.clone()).collect(),
        blobs_moved: moved.into_iter().filter(|m| *m).count(),
    })
}

/// The manifest to write at the top, the children of an index copied whole, and the
/// index an image was picked from.
fn resolve_top(plan: &Plan, top: Manifest) -> Result<(Manifest, Vec<Manifest>, Option<Digest>)> {
    if !media_types::is_index(&top.media_type) {
        return Ok((top, Vec::new(), None));
    }
    let image = plan.source.describe();
    let index: ImageIndex = parse(&top, &image)?;
    if plan.all {
        let mut children = Vec::new();
        for desc in &index.manifests {
            let child = plan.source.child(desc)?;
            if media_types::is_index(&child.media_type) {
                return Err(TransferError::Unsupported {
                    image,
                    reason: format!("index {} lists another index {}", top.digest, desc.digest),
                });
            }
            children.push(child);
        }
        return Ok((top, children, None));
    }
    let desc = select(&index, plan.platform, &image)?;
    let child = plan.source.child(desc)?;
    if !media_types::is_manifest(&child.media_type) {
        return Err(TransferError::Unsupported {
            image,
            reason: format!("index entry {} is not an image manifest", desc.digest),
        });
    }
    Ok((child, Vec::new(), Some(top.digest)))
}

fn parse<T: serde::de::DeserializeOwned>(m: &Manifest, image: &str) -> Result<T> {
    serde_json::from_slice(&m.bytes).map_err(|source| TransferError::Manifest {
        image: image.to_owned(),
        digest: m.digest.clone(),
        source,
    })
}

/// Every blob of the images, once each: layers base first, then the config.
fn blobs_of(plan: &Plan, images: &[Manifest]) -> Result<Vec<(Descriptor, BlobKind)>> {
    let image = plan.source.describe();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in images {
        let parsed: ImageManifest = parse(m, &image)?;
        let config = &parsed.config.media_type;
        if plan.images_only && !matches!(config.as_str(), OCI_CONFIG | DOCKER_CONFIG) {
            return Err(TransferError::Unsupported {
                image,
                reason: format!(
                    "manifest {} is not a container image (config media type {config:?}); \
                     copy it to a registry or an oci: layout",
                    m.digest
                ),
            });
        }
        let layers = parsed.layers.into_iter().map(|l| (l, BlobKind::Layer));
        for (desc, kind) in layers.chain([(parsed.config, BlobKind::Config)]) {
            if seen.insert(desc.digest.clone()) {
                out.push((desc, kind));
            }
        }
    }
    Ok(out)
}

/// Moves one blob unless the destination has it. Whether it moved.
fn move_blob(plan: &Plan, desc: &Descriptor, kind: BlobKind) -> Result<bool> {
    let progress = plan.progress;
    if plan.destination.has_blob(desc)? {
        progress.blob_done(&desc.digest, kind, &BlobOutcome::Exists);
        return Ok(false);
    }
    progress.blob_start(&desc.digest, desc.size, kind);
    let report = |n| progress.blob_bytes(&desc.digest, Phase::Download, n);
    let fetch = || plan.source.fetch(desc, plan.hub, &report);
    let job = BlobJob {
        desc,
        hub: plan.hub,
        mount_from: plan
            .destination
            .mount_host()
            .and_then(|host| plan.source.mount_origin(&host, &desc.digest)),
        progress,
    };
    let outcome = plan.destination.put_blob(&job, &fetch)?;
    progress.blob_done(&desc.digest, kind, &outcome);
    Ok(true)
}

fn write_manifest(plan: &Plan, m: &Manifest, top: bool) -> Result<()> {
    plan.destination.put_manifest(m, top)?;
    plan.progress
        .manifest_written(&m.digest, &m.media_type, m.bytes.len() as u64);
    Ok(())
}
