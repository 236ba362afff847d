//! Writing layers into the store: entries → deterministic tar → compressed blob.

use std::io::BufWriter;

use strata_archive::{write_layer, Compression, Entry, WriteOptions};
use strata_content::Store;
use strata_oci::Descriptor;

use crate::error::{BuildError, Result};
use crate::state::{layer_media_type, LayerRef};

/// Writes `entries` as one layer blob and returns its reference. The blob is committed
/// only after the stream completed, with the digest of exactly the bytes stored, so a
/// failure leaves nothing.
pub fn store_layer(
    store: &Store,
    entries: Vec<Entry>,
    compression: Compression,
    source_date_epoch: Option<i64>,
) -> Result<LayerRef> {
    let writer = BufWriter::with_capacity(1 << 20, store.blob_writer()?);
    // The blob writer hashes (and so verifies) what it stores; the layer writer need not
    // hash the same compressed bytes again on the same thread.
    let opts = WriteOptions {
        source_date_epoch,
        skip_output_digest: true,
        ..WriteOptions::default()
    };
    let (info, writer) = write_layer(entries, writer, compression, opts)?;
    let blob = writer
        .into_inner()
        .map_err(|e| BuildError::io("writing layer", store.root())(e.into_error()))?;
    let (digest, size) = blob.commit(None)?;
    Ok(LayerRef {
        descriptor: Descriptor::new(&layer_media_type(&compression), digest, size),
        diff_id: info.diff_id,
    })
}
