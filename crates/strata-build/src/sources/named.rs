//! Directory build contexts (`--build-context NAME=DIR`): each directory is walked like the
//! build context (its own `.dockerignore` applies, owners become 0:0 as BuildKit's local
//! sources do) and stored as a one-layer image with a scratch config, so `FROM NAME` and
//! `COPY --from=NAME` read it exactly like an image. The image is untagged: it is named by
//! its manifest digest's hex, which the store resolves and no registry name can be.

use std::collections::BTreeMap;

use strata_content::Store;

use crate::error::Result;
use crate::options::context::NamedContext;
use crate::options::BuildOptions;
use crate::output::export::commit_image;
use crate::output::layer::store_layer;
use crate::sources::context::Context;
use crate::state::ImageState;

/// `opts.named_contexts` with every directory replaced by the image made of it.
pub fn load_dirs(
    store: &Store,
    opts: &BuildOptions,
    architecture: &str,
) -> Result<BTreeMap<String, NamedContext>> {
    let mut out = BTreeMap::new();
    for (name, context) in &opts.named_contexts {
        let loaded = match context {
            NamedContext::Dir(dir) => {
                let digest = dir_image(store, dir, opts, architecture)?;
                tracing::debug!(%name, dir = %dir.display(), %digest, "directory context loaded");
                NamedContext::Image(digest.hex().to_owned())
            }
            image => image.clone(),
        };
        out.insert(name.clone(), loaded);
    }
    Ok(out)
}

fn dir_image(
    store: &Store,
    dir: &std::path::Path,
    opts: &BuildOptions,
    architecture: &str,
) -> Result<strata_oci::Digest> {
    let context = Context::load(store, dir)?;
    let mut entries = Vec::new();
    for e in context.entries().filter(|e| !e.rel.is_empty()) {
        let mut entry = strata_archive::entry_from_fs(context.root(), &e.rel, &e.meta)?;
        entry.uid = 0;
        entry.gid = 0;
        entries.push(entry);
    }
    let layer = store_layer(store, entries, opts.compression, opts.source_date_epoch)?;
    let mut state = ImageState::scratch(architecture);
    state.push_layer(layer);
    Ok(commit_image(store, &state, BTreeMap::new())?.manifest_digest)
}
