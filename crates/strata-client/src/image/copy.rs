//! `copy`: an image (or with `all`, a whole index) from any [`Location`] to any other.
//! Blobs travel through the local store when one end is the store, else through a
//! temporary spool store removed afterwards, so each is verified before it is written or
//! uploaded; manifests are never re-serialised.

use strata_content::Store;
use strata_oci::Platform;

use super::engine::{self, Copied, Plan};
use super::error::{Result, TransferError};
use super::location::{parse_reference, Location};
use super::transports::archive::{ArchiveDest, ArchiveSource};
use super::transports::oci::{OciDest, OciSource, Selector};
use super::transports::registry::{RegistryDest, RegistrySource};
use super::transports::store::{StoreDest, StoreSource};
use super::transports::{spool, Destination, Source, Spool};
use super::{Client, CopyOptions, TransferProgress};

/// The hub of a copy: the local store, or a spool that lives as long as the copy.
enum Hub<'s> {
    Local(&'s Store),
    Spool(Spool),
}

impl Hub<'_> {
    fn store(&self) -> &Store {
        match self {
            Hub::Local(s) => s,
            Hub::Spool(s) => &s.store,
        }
    }
}

impl Client {
    /// Copies `src` to `dst`. `store` is the local store, needed when either is `store:`.
    pub fn copy(
        &self,
        store: Option<&Store>,
        src: &Location,
        dst: &Location,
        opts: &CopyOptions,
    ) -> Result<Copied> {
        let progress = opts.progress.as_ref();
        let source = self.open_source(store, src, progress)?;
        let hub = match (src, dst, store) {
            (Location::Store(_), _, Some(s)) | (_, Location::Store(_), Some(s)) => Hub::Local(s),
            _ => Hub::Spool(spool()?),
        };
        let destination = open_destination(self, store, dst, hub.store())?;
        let platform = opts.platform.clone().unwrap_or_else(Platform::host);
        engine::run(&Plan {
            source: source.as_ref(),
            destination: destination.as_ref(),
            hub: hub.store(),
            all: opts.all,
            platform: &platform,
            jobs: opts.jobs,
            progress,
            images_only: matches!(dst, Location::Store(_) | Location::DockerArchive { .. }),
        })
    }

    fn open_source<'a>(
        &'a self,
        store: Option<&Store>,
        src: &Location,
        progress: &'a dyn TransferProgress,
    ) -> Result<Box<dyn Source + 'a>> {
        let shown = src.to_string();
        Ok(match src {
            Location::Registry(r) => Box::new(RegistrySource::new(self, r.clone(), progress)?),
            Location::Store(name) => {
                let store = need_store(store, src)?;
                let image = store.resolve(name)?;
                Box::new(StoreSource::new(store, image, shown))
            }
            Location::Oci { path, tag } => Box::new(OciSource {
                root: path.clone(),
                selector: tag.clone().map_or(Selector::Only, Selector::Tag),
                shown,
            }),
            Location::DockerArchive { path, reference } => {
                Box::new(ArchiveSource::open(path, reference.as_ref(), shown)?)
            }
        })
    }
}

fn open_destination(
    client: &Client,
    store: Option<&Store>,
    dst: &Location,
    hub: &Store,
) -> Result<Box<dyn Destination>> {
    let shown = dst.to_string();
    Ok(match dst {
        Location::Registry(r) => Box::new(RegistryDest::new(client, r)?),
        Location::Store(name) => {
            let store = need_store(store, dst)?;
            let reference = parse_reference(name)?;
            if reference.tag().is_none() {
                return Err(TransferError::Location {
                    input: shown,
                    reason: "a store destination needs a name with a tag, not a digest".into(),
                });
            }
            Box::new(StoreDest {
                store: store.clone(),
                reference: Some(reference),
                shown,
            })
        }
        Location::Oci { path, tag } => Box::new(OciDest {
            root: path.clone(),
            tag: tag.clone(),
            shown,
        }),
        Location::DockerArchive { path, reference } => Box::new(ArchiveDest {
            path: path.clone(),
            reference: reference.clone(),
            hub: hub.clone(),
            shown,
        }),
    })
}

fn need_store<'s>(store: Option<&'s Store>, at: &Location) -> Result<&'s Store> {
    store.ok_or_else(|| TransferError::Location {
        input: at.to_string(),
        reason: "the local store is not open".into(),
    })
}
