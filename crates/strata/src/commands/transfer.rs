//! `strata pull`, `push` and `copy`, in docker's and skopeo's habits: per-blob progress and
//! status lines on stderr (`Digest:`, `Status:`, `The push refers to repository …`), the
//! result on stdout (the pulled reference, the pushed or copied digest), `-q` for the
//! result alone.

use std::sync::Arc;

use anyhow::{Context, Result};
use strata_client::{Client, CopyOptions, PullOptions, PushOptions};
use strata_content::Store;
use strata_oci::Reference;

use crate::cli::{CopyArgs, PullArgs, PushArgs, TransferArgs};
use crate::transfer_progress::{Mode, TransferDisplay, Verb};

fn mode(args: &TransferArgs) -> Mode {
    Mode::of(args.progress, args.quiet)
}

fn client() -> Result<Client> {
    Client::from_env().context("reading the registry configuration")
}

/// `v1` or `sha256:…`, as docker's first pull line names what it pulls.
fn tag_or_digest(r: &Reference) -> String {
    match (r.tag(), r.digest()) {
        (_, Some(d)) => d.to_string(),
        (Some(t), None) => t.to_owned(),
        (None, None) => "latest".to_owned(),
    }
}

pub fn pull(store: &Store, args: PullArgs) -> Result<()> {
    let display = Arc::new(TransferDisplay::new(mode(&args.transfer), Verb::Pull));
    let image = &args.image;
    display.line(format!(
        "{}: Pulling from {}",
        tag_or_digest(image),
        image.familiar_name()
    ));
    let opts = PullOptions {
        platform: args.platform,
        jobs: args.transfer.jobs,
        progress: display.clone(),
    };
    let pulled = client()?.pull_image(store, image, &opts);
    display.finish();
    let pulled = pulled.with_context(|| format!("pulling {}", image.familiar()))?;
    display.line(format!("Digest: {}", pulled.repo_digest()));
    let status = match pulled.up_to_date {
        true => "Image is up to date for",
        false => "Downloaded newer image for",
    };
    display.line(format!("Status: {status} {}", image.familiar()));
    super::out(image)
}

pub fn push(store: &Store, args: PushArgs) -> Result<()> {
    let dest = match &args.destination {
        Some(d) => d.clone(),
        None => Reference::parse(&args.image)
            .with_context(|| format!("{} is not a name to push to; give a DEST", args.image))?,
    };
    let image = store.resolve(&args.image)?;
    let display = Arc::new(TransferDisplay::new(mode(&args.transfer), Verb::Push));
    display.line(format!(
        "The push refers to repository [{}]",
        dest.familiar_name()
    ));
    let opts = PushOptions {
        jobs: args.transfer.jobs,
        progress: display.clone(),
        mount_from: None,
    };
    let pushed = client()?.push_image(store, &image, &dest, &opts);
    display.finish();
    let digest = pushed.with_context(|| format!("pushing {}", dest.familiar()))?;
    let size = store.blob_size(&digest)?;
    display.line(format!(
        "{}: digest: {digest} size: {size}",
        tag_or_digest(&dest)
    ));
    super::out(digest)
}

pub fn copy(store: Option<&Store>, args: CopyArgs) -> Result<()> {
    let display = Arc::new(TransferDisplay::new(mode(&args.transfer), Verb::Copy));
    let opts = CopyOptions {
        all: args.all,
        platform: args.platform,
        jobs: args.transfer.jobs,
        progress: display.clone(),
    };
    let copied = client()?.copy(store, &args.source, &args.destination, &opts);
    display.finish();
    let copied =
        copied.with_context(|| format!("copying {} to {}", args.source, args.destination))?;
    display.line("Writing manifest to image destination");
    super::out(copied.digest)
}
