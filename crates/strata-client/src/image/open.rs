//! `open_image`: any [`Location`] as an image in a store whose blobs can be read in place,
//! for the checks (`strata analyze`, `scan`, `sbom`). A store image is read where it is;
//! any other place is copied (verified, only the picked platform) into a spool store that
//! lives as long as the [`OpenedImage`].

use strata_content::{Image, Store};

use super::error::{Result, TransferError};
use super::location::Location;
use super::transports::{spool, Spool};
use super::{Client, CopyOptions};

/// Name the image gets inside its spool store.
const SPOOL_NAME: &str = "strata-check/opened:image";

/// An image whose manifest, config and layer blobs are in `store`.
pub struct OpenedImage {
    /// Where the image came from, as the user wrote it.
    pub location: Location,
    pub image: Image,
    pub store: Store,
    _spool: Option<Spool>,
}

impl std::fmt::Debug for OpenedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedImage")
            .field("location", &self.location)
            .field("manifest", &self.image.manifest_digest)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens `src` for reading (see the module docs). `store` is the local store, needed
    /// for `store:` locations and bare names that are not registry references.
    pub fn open_image(
        &self,
        store: Option<&Store>,
        src: &Location,
        opts: &CopyOptions,
    ) -> Result<OpenedImage> {
        if let Location::Store(name) = src {
            let store = store.ok_or_else(|| TransferError::Location {
                input: src.to_string(),
                reason: "the local store is not open".into(),
            })?;
            let image = store.resolve(name)?;
            return Ok(OpenedImage {
                location: src.clone(),
                image,
                store: store.clone(),
                _spool: None,
            });
        }
        let spool = spool()?;
        let dst = Location::Store(SPOOL_NAME.into());
        let opts = CopyOptions {
            all: false,
            ..opts.clone()
        };
        let copied = self.copy(Some(&spool.store), src, &dst, &opts)?;
        let image = spool.store.image(&copied.digest)?;
        Ok(OpenedImage {
            location: src.clone(),
            image,
            store: spool.store.clone(),
            _spool: Some(spool),
        })
    }
}
