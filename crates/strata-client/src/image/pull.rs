//! `pull`: a registry image (the host's platform, or `--platform`, from an index) into the
//! store, tagged. Mirrors from registries.conf are tried first; blobs the store has are
//! not fetched; the record and tag are written only once every blob is verified. A short
//! name's candidates ([`Client::resolve_pull`]) are tried in order ([`Client::pull_first`]).

use strata_content::Store;
use strata_oci::{Platform, Reference};

use super::engine::{self, Plan};
use super::error::{PullAttempt, Result, TransferError};
use super::transports::registry::RegistrySource;
use super::transports::store::StoreDest;
use super::{Client, PullOptions, PulledImage};
use crate::config::registries::{ImageName, Resolved};

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
        let repo_digest = copied.index_digest.as_ref().unwrap_or(&copied.digest);
        store.add_repo_digest(&reference.name(), repo_digest, &copied.digest)?;
        Ok(PulledImage {
            manifest_digest: copied.digest,
            index_digest: copied.index_digest,
            reference: reference.clone(),
            up_to_date,
        })
    }

    /// What to pull for `name` (registries.conf's aliases, unqualified-search registries
    /// and short-name mode; a qualified name is itself).
    pub fn resolve_pull(&self, name: &ImageName) -> Result<Resolved> {
        Ok(self.registries.resolve_pull(name)?)
    }

    /// Pulls the first of `candidates` that can be pulled, as podman does: one that fails
    /// (not found, refused, unreachable) gives way to the next; with several, each is
    /// announced through the progress's `note` (`Trying to pull REF...`). A single
    /// candidate fails with its own error, several with [`TransferError::Candidates`].
    pub fn pull_first(
        &self,
        store: &Store,
        candidates: &[Reference],
        opts: &PullOptions,
    ) -> Result<PulledImage> {
        let mut attempts = Vec::new();
        for reference in candidates {
            if candidates.len() > 1 {
                opts.progress
                    .note(&format!("Trying to pull {reference}..."));
            }
            match self.pull_image(store, reference, opts) {
                Ok(pulled) => return Ok(pulled),
                Err(error) => {
                    tracing::debug!(candidate = %reference, %error, "candidate failed");
                    attempts.push(PullAttempt {
                        reference: reference.clone(),
                        error,
                    });
                }
            }
        }
        match attempts.len() {
            1 => Err(attempts.remove(0).error),
            _ => Err(TransferError::Candidates { attempts }),
        }
    }
}
