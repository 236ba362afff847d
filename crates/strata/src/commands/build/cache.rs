//! `strata build --cache-from/--cache-to`: the imported caches as the builder's
//! [`RemoteCache`], and the export after a successful build. The builder decides what is
//! shared ([`strata_build::export_cache`]); `strata_client::cache` carries it.

use std::sync::Arc;

use anyhow::{Context, Result};
use strata_build::{
    BuildOptions, BuildOutcome, CacheExportOptions, CacheFrom, CacheLocation, CacheTo, Event,
    Progress, RemoteCache, SharedRecord,
};
use strata_client::cache::{
    layout, registry, ArtifactMount, ArtifactRecord, CacheArtifact, ImportedCache,
};
use strata_client::{Client, Registry};
use strata_content::Store;
use strata_distribution::{ManifestRef, RepositoryName, Tag};
use strata_oci::{Descriptor, Digest, Reference};

/// Every `--cache-from` that exists, first given first asked.
pub struct Imported {
    caches: Vec<ImportedCache>,
}

/// Reads each `--cache-from` (its manifest and config only). A cache that does not exist yet
/// is a warning, as in BuildKit; one that is not a strata cache is an error.
pub fn import(store: &Store, from: &[CacheFrom], progress: &dyn Progress) -> Result<Imported> {
    let mut caches = Vec::new();
    for f in from {
        let shown = describe(&f.location);
        progress.event(Event::Message(format!(
            "importing cache manifest from {shown}"
        )));
        let read = match &f.location {
            CacheLocation::Registry(r) => read_registry(store, r)?,
            CacheLocation::Local { dir, tag } => layout::read(dir, tag)?,
        };
        match read {
            Some(cache) => {
                tracing::info!(cache = %shown, digest = %cache.digest, records = cache.records.len(), "cache imported");
                caches.push(cache);
            }
            None => progress.event(Event::Warning(format!(
                "cache {shown} not found: building without it"
            ))),
        }
    }
    Ok(Imported { caches })
}

fn read_registry(store: &Store, r: &Reference) -> Result<Option<ImportedCache>> {
    let (reg, repo) = connect(r)?;
    let reference = match (r.digest(), r.tag()) {
        (Some(d), _) => ManifestRef::Digest(d.clone()),
        (None, tag) => ManifestRef::Tag(tag.unwrap_or("latest").parse::<Tag>()?),
    };
    Ok(registry::read(reg, repo, &reference, store)?)
}

/// The registry (with docker's/podman's credential, registries.conf's `insecure` and
/// `blocked`, as a push to it would) and repository of a cache reference.
fn connect(r: &Reference) -> Result<(Arc<Registry>, RepositoryName)> {
    let client = Client::from_env()?;
    let endpoint = client.push_endpoint(r)?;
    let registry = client
        .registry(&endpoint)
        .with_context(|| format!("connecting to the registry of cache {r}"))?;
    let repo = endpoint.reference.repository().parse::<RepositoryName>()?;
    Ok((registry, repo))
}

/// Exports the finished build's cache to every `--cache-to`.
pub fn export(
    store: &Store,
    to: &[CacheTo],
    outcome: &BuildOutcome,
    opts: &BuildOptions,
    remote: &Imported,
    progress: &dyn Progress,
) -> Result<()> {
    for t in to {
        let shown = describe(&t.location);
        progress.event(Event::Message(format!("exporting cache to {shown}")));
        let export_opts = CacheExportOptions {
            mode: t.mode,
            mounts: t.mounts,
            compression: opts.compression,
        };
        let export = strata_build::export_cache(store, &outcome.cache, export_opts, remote)?;
        let artifact = CacheArtifact {
            records: export.records.into_iter().map(to_artifact).collect(),
            mounts: export
                .mounts
                .into_iter()
                .map(|m| ArtifactMount {
                    id: m.id,
                    layer: m.layer,
                })
                .collect(),
        };
        let digest = write(store, &t.location, &artifact)
            .with_context(|| format!("exporting the build cache to {shown}"))?;
        tracing::info!(cache = %shown, %digest, records = artifact.records.len(), mounts = artifact.mounts.len(), "cache exported");
    }
    Ok(())
}

fn write(store: &Store, location: &CacheLocation, artifact: &CacheArtifact) -> Result<Digest> {
    Ok(match location {
        CacheLocation::Registry(r) => {
            let (reg, repo) = connect(r)?;
            let tag = r.tag().unwrap_or("latest").parse::<Tag>()?;
            registry::push(&reg, &repo, &tag, store, artifact)?
        }
        CacheLocation::Local { dir, tag } => layout::write(dir, tag, store, artifact)?,
    })
}

fn to_artifact(r: SharedRecord) -> ArtifactRecord {
    ArtifactRecord {
        key: r.key,
        value: r.value,
        blobs: r.blobs,
    }
}

fn describe(location: &CacheLocation) -> String {
    match location {
        CacheLocation::Registry(r) => r.to_string(),
        CacheLocation::Local { dir, tag } => format!("{} ({tag})", dir.display()),
    }
}

impl RemoteCache for Imported {
    fn lookup(&self, key: &Digest) -> Option<SharedRecord> {
        let r = self.caches.iter().find_map(|c| c.records.get(key))?;
        Some(SharedRecord {
            key: r.key.clone(),
            value: r.value.clone(),
            blobs: r.blobs.clone(),
        })
    }

    fn mount(&self, id: &str) -> Option<Descriptor> {
        self.caches.iter().find_map(|c| c.mounts.get(id)).cloned()
    }

    /// Each blob from the first cache that lists it; one parallel batch per cache.
    fn fetch(
        &self,
        store: &Store,
        blobs: &[Descriptor],
    ) -> Result<(), strata_build::remote::RemoteCacheError> {
        let mut rest: Vec<&Descriptor> = blobs.iter().collect();
        for cache in &self.caches {
            let (mine, others): (Vec<&Descriptor>, Vec<&Descriptor>) =
                rest.into_iter().partition(|d| cache.has_blob(&d.digest));
            let digests: Vec<Digest> = mine.iter().map(|d| d.digest.clone()).collect();
            if !digests.is_empty() {
                cache.fetch(store, &digests)?;
            }
            rest = others;
        }
        match rest.first() {
            None => Ok(()),
            Some(d) => Err(Box::new(NotImported(d.digest.clone()))),
        }
    }
}

/// A blob the builder asked for that no imported cache lists.
#[derive(Debug)]
struct NotImported(Digest);

impl std::fmt::Display for NotImported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blob {} is in no imported cache", self.0)
    }
}

impl std::error::Error for NotImported {}
