//! `strata prune`: remove untagged images, unreferenced blobs and snapshots, and (with
//! `--all`) the build cache; with `--containers` (or `--all`) stopped containers first, like
//! `docker system prune`. The image of any remaining container is kept.

use anyhow::Result;
use strata_content::{PruneOptions, Store};

pub fn run(store: &Store, all: bool, containers: bool) -> Result<()> {
    if all || containers {
        for id in super::container::prune_stopped(store.root())? {
            super::out(format_args!("Deleted container {id}"))?;
        }
    }
    let keep_images = strata_container::containers::Containers::new(store.root())
        .list()?
        .iter()
        .filter_map(|c| c.config.image_digest.parse().ok())
        .collect();
    let opts = PruneOptions {
        cache: all,
        keep_images,
        ..PruneOptions::default()
    };
    let report = store.prune(&opts)?;
    let snapshots = strata_build::prune_snapshots(store)?;
    super::out(&report)?;
    if snapshots.removed > 0 {
        super::out(format_args!(
            "Removed {} unused layer snapshots",
            snapshots.removed
        ))?;
    }
    Ok(())
}
