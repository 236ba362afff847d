//! An image's layers with what made each: the config's history entries that are not
//! `empty_layer`, in order, pair up with the manifest's layers (as `docker history` shows).

use strata_content::Image;
use strata_oci::Digest;

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// 0 for the bottom layer.
    pub index: usize,
    /// The blob's digest (compressed as stored).
    pub digest: Digest,
    pub media_type: String,
    /// The blob's size as stored.
    pub blob_size: u64,
    /// The uncompressed tar's digest, from the config.
    pub diff_id: Option<Digest>,
    /// The history's `created_by`: the instruction that made the layer
    /// (`RUN /bin/sh -c apt-get …`, `COPY . /app # buildkit`).
    pub created_by: Option<String>,
}

/// The layers of `image`, bottom first.
pub fn layers(image: &Image) -> Vec<LayerInfo> {
    let mut made_by = image
        .config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone());
    image
        .manifest
        .layers
        .iter()
        .enumerate()
        .map(|(index, desc)| LayerInfo {
            index,
            digest: desc.digest.clone(),
            media_type: desc.media_type.clone(),
            blob_size: desc.size,
            diff_id: image.config.rootfs.diff_ids.get(index).cloned(),
            created_by: made_by.next().flatten(),
        })
        .collect()
}
