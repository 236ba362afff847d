//! The state of a stage as it is built: its image config and layers so far.

use serde::{Deserialize, Serialize};
use strata_content::{Image, Store};
use strata_oci::{media_types, Descriptor, Digest, ImageConfig};
use strata_snapshot::{chain_ids, LayerSource, SnapshotStore};

use crate::error::{BuildError, Result};
use crate::rootfs::RootfsView;

/// A layer of an image: its blob descriptor and the digest of its uncompressed tar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
}

/// An image as a stage has built it so far.
#[derive(Debug, Clone)]
pub struct ImageState {
    pub config: ImageConfig,
    pub layers: Vec<LayerRef>,
}

impl ImageState {
    /// `FROM scratch`.
    pub fn scratch(architecture: &str) -> ImageState {
        ImageState {
            config: ImageConfig::scratch(architecture),
            layers: Vec::new(),
        }
    }

    /// `FROM <image>`: the image's config (history included) and layers.
    pub fn from_image(image: &Image) -> Result<ImageState> {
        let diff_ids = &image.config.rootfs.diff_ids;
        if diff_ids.len() != image.manifest.layers.len() {
            return Err(BuildError::Input {
                path: image.manifest_digest.to_string().into(),
                message: format!(
                    "image config lists {} layers but the manifest has {}",
                    diff_ids.len(),
                    image.manifest.layers.len()
                ),
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
        })
    }

    /// Appends a layer to the image (rootfs and layer list).
    pub fn push_layer(&mut self, layer: LayerRef) {
        self.config.rootfs.diff_ids.push(layer.diff_id.clone());
        self.layers.push(layer);
    }

    /// The merged root filesystem, unpacking layers into snapshots where needed.
    pub fn view(&self, store: &Store, snapshots: &SnapshotStore) -> Result<RootfsView> {
        Ok(RootfsView::new(self.snapshot_dirs(store, snapshots)?))
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
