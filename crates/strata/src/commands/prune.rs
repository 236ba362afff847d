//! `strata prune`: remove untagged images, unreferenced blobs and snapshots, and (with
//! `--all`) the build cache; with `--containers` (or `--all`) stopped containers first, like
//! `docker system prune`. With `--keep-last N`, also every tagged image but the N most
//! recently used (see docs/GOVERN.md "Node keep-last"); `--dry-run` prints what would go.
//! The image of any remaining container is kept.

use anyhow::Result;
use strata_content::{human_size, PruneOptions, PruneReport, Store};

use crate::cli::PruneArgs;

pub fn run(store: &Store, args: PruneArgs) -> Result<()> {
    if args.all || args.containers {
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
        cache: args.all,
        keep_images,
        keep_last: args.keep_last,
        dry_run: args.dry_run,
        ..PruneOptions::default()
    };
    let report = store.prune(&opts)?;
    if args.dry_run {
        return print_dry_run(&report);
    }
    let snapshots = strata_build::prune_snapshots(store)?;
    for line in report.lines() {
        super::out(line)?;
    }
    super::out(&report)?;
    if snapshots.removed > 0 {
        super::out(format_args!(
            "Removed {} unused layer snapshots",
            snapshots.removed
        ))?;
    }
    Ok(())
}

/// `Would untag: app:1`, `Would delete: sha256:…` and the space a real run would reclaim.
fn print_dry_run(report: &PruneReport) -> Result<()> {
    for r in &report.untagged {
        super::out(format_args!("Would untag: {}", r.familiar()))?;
    }
    for id in &report.removed_ids {
        super::out(format_args!("Would delete: {id}"))?;
    }
    super::out(format_args!(
        "Total reclaimable space: {}",
        human_size(report.freed_bytes)
    ))
}
