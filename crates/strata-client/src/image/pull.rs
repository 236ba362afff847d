//! `pull`: a registry image (the host's platform, or `--platform`, from an index) into the
//! store, tagged. Mirrors from registries.conf are tried first; blobs the store has are
//! not fetched; the record and tag are written only once every blob is verified.

use strata_content::Store;
use strata_oci::{Platform, Reference};

use super::engine::{self, Plan};
use super::error::Result;
use super::transports::registry::RegistrySource;
use super::transports::store::StoreDest;
use super::{Client, PullOptions, PulledImage};

impl Client {
    /// Pulls `reference` into `store` and tags it (a digest reference stores the image
    /// untagged). The manifest keeps its exact bytes, so its digest is the registry's.
    pub fn pull_image(
        &self,
        store: &Store,
        reference: &Reference,
        opts: &PullOptions,
    ) -> Result<PulledImage> {
        let before = match reference.tag() {
            Some(_) => store.lookup_tag(reference)?,
            None => None,
        };
        let progress = opts.progress.as_ref();
        let source = RegistrySource::new(self, reference.clone(), progress)?;
        let destination = StoreDest {
            store: store.clone(),
            reference: Some(reference.clone()),
            shown: format!("store:{}", reference.familiar()),
        };
        let platform = opts.platform.clone().unwrap_or_else(Platform::host);
        let copied = engine::run(&Plan {
            source: &source,
            destination: &destination,
            hub: store,
            all: false,
            platform: &platform,
            jobs: opts.jobs,
            progress,
            images_only: true,
        })?;
        let up_to_date = before.as_ref() == Some(&copied.digest) && copied.blobs_moved == 0;
        Ok(PulledImage {
            manifest_digest: copied.digest,
            index_digest: copied.index_digest,
            reference: reference.clone(),
            up_to_date,
        })
    }
}
