//! `strata pull`, `push` and `copy`, in docker's and skopeo's habits: per-blob progress and
//! status lines on stderr (`Digest:`, `Status:`, `The push refers to repository …`), the
//! result on stdout (the pulled reference, the pushed or copied digest), `-q` for the
//! result alone.

use std::sync::Arc;

use anyhow::{Context, Result};
use strata_client::config::registries::ImageName;
use strata_client::{Client, CopyOptions, PullOptions, PushOptions};
use strata_content::{Image, Store};
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
    let client = client()?;
    let resolved = client
        .resolve_pull(&args.image)
        .with_context(|| format!("pulling {}", args.image))?;
    if let Some(description) = resolved.description() {
        display.line(description);
    }
    if let [only] = resolved.candidates.as_slice() {
        display.line(format!(
            "{}: Pulling from {}",
            tag_or_digest(only),
            only.familiar_name()
        ));
    }
    let opts = PullOptions {
        platform: args.platform,
        jobs: args.transfer.jobs,
        progress: display.clone(),
    };
    let pulled = client.pull_first(store, &resolved.candidates, &opts);
    display.finish();
    let pulled = pulled.with_context(|| format!("pulling {}", args.image))?;
    if let Err(e) = store.touch_image(&pulled.manifest_digest) {
        tracing::warn!(image = %pulled.manifest_digest, error = %e, "cannot record the image's use");
    }
    display.line(format!("Digest: {}", pulled.repo_digest()));
    let status = match pulled.up_to_date {
        true => "Image is up to date for",
        false => "Downloaded newer image for",
    };
    display.line(format!("Status: {status} {}", pulled.reference.familiar()));
    super::out(pulled.reference)
}

pub fn push(store: &Store, args: PushArgs) -> Result<()> {
    let client = client()?;
    let (image, dest) = match &args.destination {
        Some(d) => (store.resolve(&args.image)?, d.clone()),
        None => stored_under(store, &client, &args.image)?,
    };
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
    let pushed = client.push_image(store, &image, &dest, &opts);
    display.finish();
    let digest = pushed.with_context(|| format!("pushing {}", dest.familiar()))?;
    let size = store.blob_size(&digest)?;
    display.line(format!(
        "{}: digest: {digest} size: {size}",
        tag_or_digest(&dest)
    ));
    super::out(digest)
}

/// Without a DEST, podman pushes to the name the image was found under: the first of the
/// name's local candidates the store has (`app:1` pulled from a search registry goes back
/// there), else the name as docker reads it.
fn stored_under(store: &Store, client: &Client, input: &str) -> Result<(Image, Reference)> {
    let name: ImageName = input
        .parse()
        .with_context(|| format!("{input} is not a name to push to; give a DEST"))?;
    let candidates = client
        .registries_conf()
        .resolve_local(&name)
        .with_context(|| format!("resolving {input}"))?;
    for candidate in candidates {
        match store.resolve(&candidate.to_string()) {
            Ok(image) => return Ok((image, candidate)),
            Err(strata_content::Error::NoSuchImage { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((store.resolve(input)?, name.reference().clone()))
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
