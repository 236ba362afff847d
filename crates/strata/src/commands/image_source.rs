//! The image a check verb (`analyze`, `scan`, `sbom`) reads: a name or ID the store has is
//! read in place (as dive reads the docker engine's images), any other name is a registry
//! reference; `store:`, `docker://`, `oci:` and `docker-archive:` say so explicitly.

use std::sync::Arc;

use anyhow::{Context, Result};
use strata_client::image::NoProgress;
use strata_client::{Client, CopyOptions, Location, OpenedImage};
use strata_content::Store;
use strata_oci::Platform;

/// Opens `input` (see the module docs), pulling only the platform's image of an index.
/// `verify`: hash the layers of an OCI layout or a docker-archive against their digests.
pub fn open(
    store: &Store,
    input: &str,
    platform: Option<Platform>,
    verify: bool,
) -> Result<OpenedImage> {
    let location = locate(store, input)?;
    if let (Location::Store(_), Some(platform)) = (&location, &platform) {
        anyhow::bail!(
            "--platform {platform} picks an image of an index; {input} is an image of the store"
        );
    }
    let client = Client::from_env().context("reading the registry configuration")?;
    let opts = CopyOptions {
        all: false,
        platform,
        jobs: strata_client::parallel::DEFAULT_PARALLELISM,
        progress: Arc::new(NoProgress),
    };
    let mut opened = client
        .open_image(Some(store), &location, &opts)
        .with_context(|| format!("opening image {input}"))?;
    opened.verify_in_place = verify;
    Ok(opened)
}

fn locate(store: &Store, input: &str) -> Result<Location> {
    let explicit = ["store:", "docker://", "oci:", "docker-archive:"];
    if explicit.iter().any(|p| input.starts_with(p)) {
        return input
            .parse()
            .with_context(|| format!("{input} is not an image location"));
    }
    match store.resolve(input) {
        Ok(_) => Ok(Location::Store(input.to_string())),
        Err(strata_content::Error::NoSuchImage { .. }) => input
            .parse()
            .with_context(|| format!("{input} is not in the store, nor an image reference")),
        Err(e) => Err(e).with_context(|| format!("looking up {input} in the store")),
    }
}
