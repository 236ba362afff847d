//! Turning the target stage into an image and handing it to the exporters.

use std::collections::BTreeMap;
use std::path::Path;

use strata_archive::{apply_layer, ApplyOptions, WhiteoutMode};
use strata_content::{docker_archive, oci_layout, Image, Store};
use strata_oci::{media_types, to_canonical_json, Descriptor, ImageManifest, Reference};

use crate::error::{BuildError, Result};
use crate::options::Output;
use crate::state::ImageState;

/// Writes the config and manifest blobs of a finished image and returns the stored image.
pub fn commit_image(
    store: &Store,
    state: &ImageState,
    annotations: BTreeMap<String, String>,
) -> Result<Image> {
    let config_bytes = to_canonical_json(&state.config);
    let config_digest = store.put_blob(&config_bytes)?;
    let config = Descriptor::new(
        media_types::OCI_CONFIG,
        config_digest,
        config_bytes.len() as u64,
    );
    let layers = state.layers.iter().map(|l| l.descriptor.clone()).collect();
    let mut manifest = ImageManifest::oci(config, layers);
    manifest.annotations = annotations;
    let digest = store.put_image(&manifest)?;
    Ok(store.image(&digest)?)
}

/// Runs one exporter.
pub fn export(store: &Store, image: &Image, tags: &[Reference], output: &Output) -> Result<()> {
    match output {
        Output::Image => {
            for tag in tags {
                store.tag(tag, &image.manifest_digest)?;
            }
            Ok(())
        }
        Output::Oci { dest } => {
            let named: Vec<_> = if tags.is_empty() {
                vec![(image.clone(), None)]
            } else {
                tags.iter()
                    .map(|t| (image.clone(), Some(t.clone())))
                    .collect()
            };
            oci_layout::export(store, &named, dest)?;
            Ok(())
        }
        Output::Docker { dest } => {
            docker_archive::save_to_file(store, &[(image.clone(), tags.to_vec())], dest)?;
            Ok(())
        }
        Output::Local { dest } => write_rootfs(store, image, dest),
        // The caller pushes (see `Output::Registry`).
        Output::Registry { .. } => Ok(()),
    }
}

/// Applies every layer of `image` in order into `dest` (whiteouts applied, ownership kept
/// when running as root).
pub fn write_rootfs(store: &Store, image: &Image, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).map_err(BuildError::io("creating", dest))?;
    let same_owner = rustix::process::geteuid().is_root();
    let opts = ApplyOptions {
        same_owner,
        whiteouts: WhiteoutMode::Apply,
        ..ApplyOptions::default()
    };
    for layer in &image.manifest.layers {
        let blob = store.open_blob(&layer.digest)?;
        let (reader, _) =
            strata_archive::open_decompressed(std::io::BufReader::with_capacity(1 << 20, blob))?;
        apply_layer(reader, dest, &opts)?;
    }
    Ok(())
}
