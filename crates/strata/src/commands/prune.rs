//! `strata prune`: remove untagged images, unreferenced blobs and snapshots, and (with
//! `--all`) the build cache; print what was freed.

use anyhow::Result;
use strata_content::{PruneOptions, Store};

pub fn run(store: &Store, all: bool) -> Result<()> {
    let opts = PruneOptions {
        cache: all,
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
