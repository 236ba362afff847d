//! The image a stage is building: its config and layers so far ([`ImageState`]), the stage's
//! mutable state as instructions change it ([`stage`]), the cache keys and records of layer
//! steps ([`cache`]), the config-only instructions ([`metadata`]) and the build's clock.

pub mod cache;
pub mod clock;
pub mod metadata;
pub mod ports;
pub mod stage;

use serde::{Deserialize, Serialize};
use strata_content::{Image, Store};
use strata_oci::{media_types, Descriptor, Digest, ImageConfig};
use strata_snapshot::{chain_ids, LayerSource, SnapshotStore};

use crate::error::{BuildError, Result};

/// A layer of an image: its blob descriptor and the digest of its uncompressed tar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
}

/// What a finished stage hands to its dependents and the exporter.
#[derive(Debug, Clone)]
pub struct StageResult {
    pub state: ImageState,
    /// The cache key of the stage's last layer step (or its base).
    pub key: Digest,
    /// Its build environment and ARGs, which a stage built on it starts from.
    pub scope: crate::plan::args::Scope,
}

/// An image as a stage has built it so far.
#[derive(Debug, Clone)]
pub struct ImageState {
    pub config: ImageConfig,
    pub layers: Vec<LayerRef>,
    /// The layers it added above the image it was built `FROM`.
    pub own: OwnLayers,
}

/// The layers a stage added above its base image, and whether each came from a linked
/// copy (`COPY --link` / `ADD --link` without `--chmod`): what decides whether the image can
/// be re-based without a rebuild. History text is not touched (fidelity with BuildKit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnLayers {
    pub count: usize,
    pub all_linked: bool,
}

impl Default for OwnLayers {
    fn default() -> Self {
        OwnLayers {
            count: 0,
            all_linked: true,
        }
    }
}

impl OwnLayers {
    /// A stage built `FROM` another stage: that stage's layers are not linked onto an image
    /// the registry knows, so the image cannot be re-based (none at all: nothing changes).
    pub fn from_stage(dep: OwnLayers) -> OwnLayers {
        OwnLayers {
            count: dep.count,
            all_linked: dep.count == 0,
        }
    }

    /// One more layer, linked or not.
    pub fn add(&mut self, linked: bool) {
        self.count += 1;
        self.all_linked &= linked;
    }

    /// The number of layers when every one is linked.
    pub fn linked(&self) -> Option<usize> {
        self.all_linked.then_some(self.count)
    }
}

impl ImageState {
    /// `FROM scratch`.
    pub fn scratch(architecture: &str) -> ImageState {
        ImageState {
            config: ImageConfig::scratch(architecture),
            layers: Vec::new(),
            own: OwnLayers::default(),
        }
    }

    /// `FROM <image>`: the image's config (history included) and layers.
    pub fn from_image(image: &Image) -> Result<ImageState> {
        let diff_ids = &image.config.rootfs.diff_ids;
        if diff_ids.len() != image.manifest.layers.len() {
            return Err(BuildError::LayerCount {
                digest: image.manifest_digest.clone(),
                diff_ids: diff_ids.len(),
                layers: image.manifest.layers.len(),
            });
        }
        let layers = image
            .manifest
            .layers
            .iter()
            .zip(diff_ids)
            .map(|(d, id)| LayerRef {
                descriptor: d.clone(),
                diff_id: id.clone(),
            })
            .collect();
        Ok(ImageState {
            config: image.config.clone(),
            layers,
            own: OwnLayers::default(),
        })
    }

    /// Appends a layer to the image (rootfs and layer list).
    pub fn push_layer(&mut self, layer: LayerRef) {
        self.config.rootfs.diff_ids.push(layer.diff_id.clone());
        self.layers.push(layer);
    }

    /// The snapshot directories of the layers, bottom first.
    pub fn snapshot_dirs(
        &self,
        store: &Store,
        snapshots: &SnapshotStore,
    ) -> Result<Vec<std::path::PathBuf>> {
        let chains = chain_ids(self.layers.iter().map(|l| &l.diff_id));
        let mut dirs = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let blob = store.blob_path(&layer.descriptor.digest);
            let source = LayerSource {
                diff_id: layer.diff_id.clone(),
                chain_id: chains[i].clone(),
                // The parent lets an edited layer link unchanged files from its sibling.
                parent: i.checked_sub(1).map(|p| chains[p].clone()),
                open: Box::new(move || {
                    let f = std::fs::File::open(&blob)?;
                    let (r, _) = strata_archive::open_decompressed(
                        std::io::BufReader::with_capacity(1 << 20, f),
                    )
                    .map_err(std::io::Error::other)?;
                    Ok(r)
                }),
            };
            dirs.push(snapshots.ensure(source)?);
        }
        Ok(dirs)
    }
}

/// The media type of a layer written with `compression`.
pub fn layer_media_type(compression: &strata_archive::Compression) -> String {
    format!(
        "{}{}",
        media_types::OCI_LAYER,
        compression.media_type_suffix()
    )
}
