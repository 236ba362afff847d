//! `push`: a stored image to a registry. Blobs are checked with `HEAD` in parallel and
//! only missing ones move: mounted from another repository of the same registry when one
//! is known to have them (`PushOptions::mount_from`, else the repositories of the store's
//! tags that hold them), else uploaded. The manifest goes last, with its exact bytes and
//! media type.

use strata_content::{Image, Store};
use strata_oci::{Digest, Platform, Reference};

use super::engine::{self, Plan};
use super::error::Result;
use super::transports::registry::RegistryDest;
use super::transports::store::StoreSource;
use super::{Client, PushOptions};

impl Client {
    /// Pushes `image` to `dest` (its tag, or its digest) and returns the manifest digest
    /// the registry confirmed.
    pub fn push_image(
        &self,
        store: &Store,
        image: &Image,
        dest: &Reference,
        opts: &PushOptions,
    ) -> Result<Digest> {
        let destination = RegistryDest::new(self, dest)?;
        let shown = format!("store:{}", image.manifest_digest);
        let mut source = StoreSource::new(store, image.clone(), shown);
        if let Some(from) = &opts.mount_from {
            source = source.mount_first(from)?;
        }
        let copied = engine::run(&Plan {
            source: &source,
            destination: &destination,
            hub: store,
            all: false,
            platform: &Platform::host(),
            jobs: opts.jobs,
            progress: opts.progress.as_ref(),
            images_only: false,
        })?;
        // As docker: the registry now knows the image by this digest.
        store.add_repo_digest(&dest.name(), &copied.digest, &image.manifest_digest)?;
        Ok(copied.digest)
    }
}
