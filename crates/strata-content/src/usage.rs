//! When each image was last used, for `prune --keep-last N`.
//!
//! An image is used when it is pulled, run, used as a base (`FROM`, `--from`), built or
//! tagged. Builds and pulls re-put the image record, which moves its `added_at`; the other
//! uses call [`Store::touch_image`], one `UPDATE` of `images.last_used`. An image's last use
//! is the later of the two, so an image never used since it was stored ranks by the time it
//! was stored.
//!
//! Must not: decide what to delete (that is `gc.rs`), or fail a caller's command because the
//! record could not be written (callers log and go on).

use std::time::SystemTime;

use rusqlite::params;
use strata_oci::{Digest, Reference};

use crate::db::{from_ns, now_ns};
use crate::error::Result;
use crate::store::Store;

/// One image record ranked by its last use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    pub manifest_digest: Digest,
    /// The image ID (config digest).
    pub id: Digest,
    /// Its tags, sorted (empty for a dangling image).
    pub tags: Vec<Reference>,
    /// The later of its last recorded use and the time it was stored.
    pub last_used: SystemTime,
    /// When its record was last written.
    pub added_at: SystemTime,
}

impl Store {
    /// Records that the image `manifest_digest` is used now. An unknown digest is no error
    /// (nothing to record).
    pub fn touch_image(&self, manifest_digest: &Digest) -> Result<()> {
        self.conn().execute(
            "UPDATE images SET last_used = ?2 WHERE manifest_digest = ?1",
            params![manifest_digest.to_string(), now_ns()],
        )?;
        Ok(())
    }

    /// Every image record, most recently used first (ties: newest stored, then digest).
    pub fn images_by_last_use(&self) -> Result<Vec<ImageUse>> {
        let rows: Vec<(String, String, i64, i64)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT manifest_digest, config_digest,
                        MAX(COALESCE(last_used, 0), added_at) AS used, added_at
                 FROM images ORDER BY used DESC, added_at DESC, manifest_digest",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (manifest, id, used, added) in rows {
            let (Ok(manifest_digest), Ok(id)) = (manifest.parse::<Digest>(), id.parse()) else {
                tracing::warn!(%manifest, "skipping an image record with a bad digest");
                continue;
            };
            out.push(ImageUse {
                tags: self.tags_of(&manifest_digest)?,
                manifest_digest,
                id,
                last_used: from_ns(used),
                added_at: from_ns(added),
            });
        }
        Ok(out)
    }
}
