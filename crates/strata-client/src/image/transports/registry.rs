//! A registry as either end: manifests by tag or digest, blobs fetched into the hub
//! (verified while streaming, resumed with `Range`) or pushed from it (`HEAD` first,
//! cross-repository mount when a repository of the same registry has the blob).

use std::fs::File;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use strata_content::Store;
use strata_distribution::{ManifestRef, RepositoryName, Tag};
use strata_oci::{Descriptor, Digest, Reference};

use super::{BlobJob, Destination, Source};
use crate::config::registries::Endpoint;
use crate::error::ClientError;
use crate::image::error::{Result, TransferError};
use crate::image::progress::{BlobOutcome, CountingReader, Phase, TransferProgress};
use crate::image::Client;
use crate::pull::Manifest;
use crate::push::BlobPush;
use crate::transport::Registry;

/// The repository and manifest reference of `reference` at a registry.
pub(crate) fn split_reference(reference: &Reference) -> Result<(RepositoryName, ManifestRef)> {
    let name_err = |source| TransferError::Name {
        reference: reference.to_string(),
        source,
    };
    let repo: RepositoryName = reference.repository().parse().map_err(name_err)?;
    let manifest_ref = match (reference.digest(), reference.tag()) {
        (Some(d), _) => ManifestRef::Digest(d.clone()),
        (None, Some(t)) => ManifestRef::Tag(t.parse::<Tag>().map_err(name_err)?),
        (None, None) => ManifestRef::Tag("latest".parse::<Tag>().map_err(name_err)?),
    };
    Ok((repo, manifest_ref))
}

/// Reads an image from the first endpoint registries.conf gives that answers (mirrors
/// first); later reads use the endpoint that served the top manifest.
pub(crate) struct RegistrySource<'c> {
    pub client: &'c Client,
    pub reference: Reference,
    pub endpoints: Vec<Endpoint>,
    pub progress: &'c dyn TransferProgress,
    chosen: OnceLock<(Arc<Registry>, RepositoryName)>,
}

impl<'c> RegistrySource<'c> {
    pub fn new(
        client: &'c Client,
        reference: Reference,
        progress: &'c dyn TransferProgress,
    ) -> Result<RegistrySource<'c>> {
        let endpoints = client.registries_conf().endpoints(&reference)?;
        Ok(RegistrySource {
            client,
            reference,
            endpoints,
            progress,
            chosen: OnceLock::new(),
        })
    }

    fn try_endpoint(&self, endpoint: &Endpoint) -> Result<Manifest> {
        let registry = self.client.registry(endpoint)?;
        let (repo, manifest_ref) = split_reference(&endpoint.reference)?;
        let manifest = registry.get_manifest(&repo, &manifest_ref)?;
        let _ = self.chosen.set((registry, repo));
        Ok(manifest)
    }

    fn chosen(&self) -> Result<&(Arc<Registry>, RepositoryName)> {
        match self.chosen.get() {
            Some(c) => Ok(c),
            None => {
                self.top()?;
                Ok(self.chosen.get().expect("set by top"))
            }
        }
    }
}

impl Source for RegistrySource<'_> {
    fn describe(&self) -> String {
        self.reference.to_string()
    }

    fn top(&self) -> Result<Manifest> {
        let last = self.endpoints.len().saturating_sub(1);
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            match self.try_endpoint(endpoint) {
                Ok(m) => return Ok(m),
                Err(e) if i < last => {
                    tracing::warn!(endpoint = %endpoint.reference, error = %e, "mirror failed");
                    self.progress.note(&format!(
                        "{} failed ({e}); trying the next endpoint",
                        endpoint.reference
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("registries.conf always gives at least one endpoint")
    }

    fn child(&self, desc: &Descriptor) -> Result<Manifest> {
        let (registry, repo) = self.chosen()?;
        Ok(registry.get_manifest(repo, &ManifestRef::Digest(desc.digest.clone()))?)
    }

    fn fetch(&self, desc: &Descriptor, hub: &Store, on_bytes: &dyn Fn(u64)) -> Result<()> {
        let (registry, repo) = self.chosen()?;
        registry.fetch_blob_with(repo, &desc.digest, Some(desc.size), hub, on_bytes)?;
        Ok(())
    }

    fn mount_origin(&self, host: &str, _digest: &Digest) -> Option<RepositoryName> {
        let (registry, repo) = self.chosen.get()?;
        (registry.host() == host).then(|| repo.clone())
    }
}

/// Writes an image to a repository of a registry.
pub(crate) struct RegistryDest {
    pub registry: Arc<Registry>,
    pub repo: RepositoryName,
    pub reference: ManifestRef,
    pub shown: String,
}

impl RegistryDest {
    pub fn new(client: &Client, reference: &Reference) -> Result<RegistryDest> {
        let endpoint = client.push_endpoint(reference)?;
        let registry = client.registry(&endpoint)?;
        let (repo, manifest_ref) = split_reference(reference)?;
        Ok(RegistryDest {
            registry,
            repo,
            reference: manifest_ref,
            shown: reference.to_string(),
        })
    }
}

impl Destination for RegistryDest {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn accepts_index(&self) -> bool {
        true
    }

    fn mount_host(&self) -> Option<String> {
        Some(self.registry.host().to_owned())
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        Ok(self.registry.blob_exists(&self.repo, &desc.digest)?)
    }

    fn put_blob(&self, job: &BlobJob, fetch: &dyn Fn() -> Result<()>) -> Result<BlobOutcome> {
        let digest = &job.desc.digest;
        let report = |n| job.progress.blob_bytes(digest, Phase::Upload, n);
        let mount_from = job.mount_from.as_ref().filter(|from| **from != self.repo);
        let Some(from) = mount_from else {
            fetch()?;
            let inner = job.hub.open_blob(digest)?;
            let reader = CountingReader {
                inner,
                done: 0,
                report: &report,
            };
            self.registry
                .push_blob(&self.repo, digest, job.desc.size, reader, None)?;
            return Ok(BlobOutcome::Pushed);
        };
        let reader = CountingReader {
            inner: LazyBlob {
                fetch,
                hub: job.hub,
                digest,
                file: None,
            },
            done: 0,
            report: &report,
        };
        let pushed = self
            .registry
            .push_blob(&self.repo, digest, job.desc.size, reader, Some(from))
            .map_err(unwrap_lazy)?;
        Ok(match pushed {
            BlobPush::Mounted => BlobOutcome::Mounted {
                from: from.to_string(),
            },
            BlobPush::Exists | BlobPush::Uploaded => BlobOutcome::Pushed,
        })
    }

    fn put_manifest(&self, manifest: &Manifest, top: bool) -> Result<()> {
        let reference = match top {
            true => self.reference.clone(),
            false => ManifestRef::Digest(manifest.digest.clone()),
        };
        self.registry.put_manifest(
            &self.repo,
            &reference,
            &manifest.bytes,
            &manifest.media_type,
        )?;
        Ok(())
    }
}

/// A blob that is fetched into the hub only when its bytes are first read: a mount that
/// succeeds never reads it.
struct LazyBlob<'a> {
    fetch: &'a dyn Fn() -> Result<()>,
    hub: &'a Store,
    digest: &'a Digest,
    file: Option<File>,
}

impl Read for LazyBlob<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.file.is_none() {
            (self.fetch)().map_err(std::io::Error::other)?;
            let file = self
                .hub
                .open_blob(self.digest)
                .map_err(std::io::Error::other)?;
            self.file = Some(file);
        }
        self.file.as_mut().expect("opened above").read(buf)
    }
}

/// A failed lazy fetch comes back from the upload as a source read error: give the
/// fetch's own error back.
fn unwrap_lazy(err: ClientError) -> TransferError {
    match err {
        ClientError::Source { source, .. }
            if source
                .get_ref()
                .is_some_and(|e| e.is::<TransferError>() || e.is::<strata_content::Error>()) =>
        {
            let inner = source.into_inner().expect("checked above");
            match inner.downcast::<TransferError>() {
                Ok(t) => *t,
                Err(other) => match other.downcast::<strata_content::Error>() {
                    Ok(s) => TransferError::Store(*s),
                    Err(_) => unreachable!("checked above"),
                },
            }
        }
        other => TransferError::Registry(other),
    }
}
