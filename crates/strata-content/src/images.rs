//! Image records and tags: `put_image`, `tag`, `resolve`, `list_images`, `remove_image`.
//!
//! An image record is a manifest digest whose manifest, config and layers are blobs. Tags map
//! a full reference (`docker.io/library/app:1`) to one image; a tag moves when re-set. Images
//! without tags ("dangling", shown as `<none>`) are kept until `prune`. The image ID, as docker
//! shows it, is the config digest.

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use strata_oci::{to_canonical_json, Digest, ImageConfig, ImageManifest, Reference};

use crate::db::{from_ns, now_ns};
use crate::error::{Error, Result};
use crate::store::Store;

/// An image in the store: its manifest and parsed config.
#[derive(Debug, Clone)]
pub struct Image {
    pub manifest_digest: Digest,
    pub manifest: ImageManifest,
    /// The image ID.
    pub config_digest: Digest,
    pub config: ImageConfig,
    /// Sum of the layer sizes and the config size, as stored (compressed where compressed).
    pub size: u64,
    /// `created` from the config.
    pub created: Option<String>,
    /// When the image record was last written to this store (the `images` sort key).
    pub added_at: SystemTime,
}

impl Image {
    /// The image ID (config digest), as docker shows it.
    pub fn id(&self) -> &Digest {
        &self.config_digest
    }
}

/// One row of `strata images`: a tag and its image, or an untagged image.
#[derive(Debug, Clone)]
pub struct ImageRow {
    pub reference: Option<Reference>,
    pub image: Image,
}

/// What `remove_image` did, in docker's words (see [`RemoveReport::lines`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveReport {
    pub untagged: Vec<Reference>,
    /// Image IDs (config digests) whose records were deleted.
    pub deleted: Vec<Digest>,
    /// Manifest digests of the deleted records.
    pub deleted_manifests: Vec<Digest>,
}

impl RemoveReport {
    /// `Untagged: app:1` and `Deleted: sha256:…` lines, as `docker rmi` prints them.
    pub fn lines(&self) -> Vec<String> {
        let untagged = self
            .untagged
            .iter()
            .map(|r| format!("Untagged: {}", r.familiar()));
        let deleted = self.deleted.iter().map(|d| format!("Deleted: {d}"));
        untagged.chain(deleted).collect()
    }
}

/// A validated image record about to be inserted.
#[derive(Debug, Clone)]
pub(crate) struct NewImage {
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    pub size: u64,
    pub created: Option<String>,
}

impl Store {
    /// Stores `manifest` (as canonical JSON) as an image record. Its config and layers must
    /// already be blobs of the right sizes. Re-putting an image makes it the newest.
    pub fn put_image(&self, manifest: &ImageManifest) -> Result<Digest> {
        self.put_manifest_bytes(&to_canonical_json(manifest))
    }

    /// Like [`Store::put_image`] for manifest bytes as they are (keeps a pulled manifest's
    /// digest). The bytes must be an image manifest (OCI or Docker schema 2).
    pub fn put_manifest_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::of(bytes);
        let manifest: ImageManifest =
            serde_json::from_slice(bytes).map_err(|source| Error::Json {
                digest: digest.clone(),
                source,
            })?;
        let record = self.validate_image(&digest, &manifest)?;
        self.put_blob(bytes)?;
        self.insert_images(&[record], &[])?;
        Ok(digest)
    }

    /// Checks that an image's config and layers are present and consistent.
    pub(crate) fn validate_image(&self, digest: &Digest, m: &ImageManifest) -> Result<NewImage> {
        let invalid = |reason: String| Error::InvalidImage {
            digest: digest.clone(),
            reason,
        };
        let config: ImageConfig = self.read_json(&m.config.digest)?;
        let mut size = 0;
        for desc in std::iter::once(&m.config).chain(&m.layers) {
            let actual = self.blob_size(&desc.digest)?;
            if actual != desc.size {
                return Err(invalid(format!(
                    "blob {} has size {actual}, the manifest says {}",
                    desc.digest, desc.size
                )));
            }
            size += actual;
        }
        if config.rootfs.diff_ids.len() != m.layers.len() {
            return Err(invalid(format!(
                "{} layers but {} diff_ids in the config",
                m.layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        Ok(NewImage {
            manifest_digest: digest.clone(),
            config_digest: m.config.digest.clone(),
            size,
            created: config.created.clone(),
        })
    }

    /// Inserts image records and tags in one transaction.
    pub(crate) fn insert_images(
        &self,
        images: &[NewImage],
        tags: &[(Reference, Digest)],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ns();
        for img in images {
            tx.execute(
                "INSERT INTO images (manifest_digest, config_digest, size, created, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(manifest_digest) DO UPDATE SET added_at = excluded.added_at",
                params![
                    img.manifest_digest.to_string(),
                    img.config_digest.to_string(),
                    img.size as i64,
                    img.created,
                    now
                ],
            )?;
        }
        for (reference, digest) in tags {
            upsert_tag(&tx, reference, digest, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The image record with this manifest digest.
    pub fn image(&self, manifest_digest: &Digest) -> Result<Image> {
        let added: Option<i64> = self
            .conn()
            .query_row(
                "SELECT added_at FROM images WHERE manifest_digest = ?1",
                [manifest_digest.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let added = added.ok_or_else(|| Error::NoSuchImage {
            name: manifest_digest.to_string(),
        })?;
        let manifest: ImageManifest = self.read_json(manifest_digest)?;
        let config: ImageConfig = self.read_json(&manifest.config.digest)?;
        let size = manifest.config.size + manifest.layers.iter().map(|l| l.size).sum::<u64>();
        Ok(Image {
            manifest_digest: manifest_digest.clone(),
            config_digest: manifest.config.digest.clone(),
            created: config.created.clone(),
            manifest,
            config,
            size,
            added_at: from_ns(added),
        })
    }

    /// Points `reference` (which must have a tag) at an image; a tag that exists moves.
    pub fn tag(&self, reference: &Reference, manifest_digest: &Digest) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM images WHERE manifest_digest = ?1",
                [manifest_digest.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Err(Error::NoSuchImage {
                name: manifest_digest.to_string(),
            });
        }
        let now = now_ns();
        upsert_tag(&tx, reference, manifest_digest, now)?;
        // Tagging an image is a use of it (`prune --keep-last`).
        tx.execute(
            "UPDATE images SET last_used = ?2 WHERE manifest_digest = ?1",
            params![manifest_digest.to_string(), now],
        )?;
        tx.commit()?;
        tracing::debug!(%reference, %manifest_digest, "tagged image");
        Ok(())
    }

    /// Removes a tag (the image stays, untagged). Whether the tag existed.
    pub fn untag(&self, reference: &Reference) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM tags WHERE reference = ?1",
            [reference.to_string()],
        )?;
        Ok(n > 0)
    }

    /// The image a tag points at, if the tag exists.
    pub fn lookup_tag(&self, reference: &Reference) -> Result<Option<Digest>> {
        let d: Option<String> = self
            .conn()
            .query_row(
                "SELECT manifest_digest FROM tags WHERE reference = ?1",
                [reference.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(d.and_then(|d| d.parse().ok()))
    }

    /// Records that `repository` (a full name, `docker.io/library/debian`) knows the image
    /// `manifest_digest` as `digest` (an index's digest when it came from one), as docker's
    /// `RepoDigests`. A digest recorded again moves to the new image.
    pub fn add_repo_digest(
        &self,
        repository: &str,
        digest: &Digest,
        manifest_digest: &Digest,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO repo_digests (repository, digest, manifest_digest) VALUES (?1, ?2, ?3)
             ON CONFLICT(repository, digest) DO UPDATE SET manifest_digest = excluded.manifest_digest",
            params![repository, digest.to_string(), manifest_digest.to_string()],
        )?;
        Ok(())
    }

    /// An image's repo digests, `repository@digest`, sorted.
    pub fn repo_digests_of(&self, manifest_digest: &Digest) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT repository || '@' || digest FROM repo_digests WHERE manifest_digest = ?1
             ORDER BY repository, digest",
        )?;
        let rows = stmt.query_map([manifest_digest.to_string()], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The image `repository` knows as `digest`, if recorded.
    fn repo_digest_image(&self, repository: &str, digest: &Digest) -> Result<Option<Digest>> {
        let d: Option<String> = self
            .conn()
            .query_row(
                "SELECT manifest_digest FROM repo_digests WHERE repository = ?1 AND digest = ?2",
                params![repository, digest.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(d.and_then(|d| d.parse().ok()))
    }

    /// The tags of an image, sorted.
    pub fn tags_of(&self, manifest_digest: &Digest) -> Result<Vec<Reference>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT reference FROM tags WHERE manifest_digest = ?1 ORDER BY reference",
        )?;
        let rows = stmt.query_map([manifest_digest.to_string()], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(r) = Reference::parse(&row?) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Finds an image like docker does: a reference (`debian` is
    /// `docker.io/library/debian:latest`, `app@sha256:…` by manifest digest), a full image ID or
    /// manifest digest (with or without `sha256:`), or a unique prefix of an image ID.
    pub fn resolve(&self, name_or_id: &str) -> Result<Image> {
        let d = self.resolve_digest(name_or_id)?;
        self.image(&d)
    }

    fn resolve_digest(&self, s: &str) -> Result<Digest> {
        let no_such = || Error::NoSuchImage { name: s.to_owned() };
        let hex = s.strip_prefix("sha256:").unwrap_or(s);
        let is_hex = !hex.is_empty() && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if is_hex && hex.len() == 64 {
            let full = format!("sha256:{hex}");
            if let Some(d) =
                self.newest_where("manifest_digest = ?1 OR config_digest = ?1", &full)?
            {
                return Ok(d);
            }
        }
        if !s.starts_with("sha256:") {
            if let Ok(r) = Reference::parse(s) {
                if let Some(d) = r.digest() {
                    // The image's own manifest, or the index it was pulled through.
                    return match self.newest_where("manifest_digest = ?1", &d.to_string())? {
                        Some(d) => Ok(d),
                        None => self.repo_digest_image(&r.name(), d)?.ok_or_else(no_such),
                    };
                }
                if let Some(d) = self.lookup_tag(&r)? {
                    return Ok(d);
                }
            }
        }
        if is_hex && hex.len() < 64 {
            return self.resolve_prefix(hex)?.ok_or_else(no_such);
        }
        Err(no_such())
    }

    fn newest_where(&self, cond: &str, arg: &str) -> Result<Option<Digest>> {
        let sql = format!(
            "SELECT manifest_digest FROM images WHERE {cond} ORDER BY added_at DESC LIMIT 1"
        );
        let d: Option<String> = self
            .conn()
            .query_row(&sql, [arg], |r| r.get(0))
            .optional()?;
        Ok(d.and_then(|d| d.parse().ok()))
    }

    fn resolve_prefix(&self, hex: &str) -> Result<Option<Digest>> {
        let pattern = format!("sha256:{hex}%");
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT config_digest FROM images WHERE config_digest LIKE ?1 LIMIT 2",
            )?;
            let rows = stmt.query_map([&pattern], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        match ids.as_slice() {
            [] => Ok(None),
            [id] => self.newest_where("config_digest = ?1", id),
            _ => Err(Error::AmbiguousId {
                prefix: hex.to_owned(),
            }),
        }
    }

    /// One row per tag, plus one `None` row per untagged image; newest image first.
    pub fn list_images(&self) -> Result<Vec<ImageRow>> {
        let rows: Vec<(String, Option<String>)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT i.manifest_digest, t.reference FROM images i
                 LEFT JOIN tags t ON t.manifest_digest = i.manifest_digest
                 ORDER BY i.added_at DESC, i.manifest_digest, t.reference",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut images: HashMap<String, Image> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for (digest, reference) in rows {
            if !images.contains_key(&digest) {
                let Ok(d) = digest.parse::<Digest>() else {
                    continue;
                };
                match self.image(&d) {
                    Ok(image) => images.insert(digest.clone(), image),
                    Err(e) => {
                        // A damaged record must not hide every other image.
                        tracing::warn!(digest = %d, error = %e, "skipping unreadable image");
                        continue;
                    }
                };
            }
            out.push(ImageRow {
                reference: reference.and_then(|r| Reference::parse(&r).ok()),
                image: images[&digest].clone(),
            });
        }
        Ok(out)
    }

    /// `docker rmi`: a tag is untagged, and the image record goes when no tag is left; an ID
    /// removes the image and all its tags, but only with `force` if tags of several
    /// repositories point at it. Blobs are freed by the next `prune`.
    pub fn remove_image(&self, name_or_id: &str, force: bool) -> Result<RemoveReport> {
        if let Some((reference, digest)) = self.as_tag(name_or_id)? {
            return self.remove_tag(reference, digest);
        }
        let image = self.resolve(name_or_id)?;
        let manifests = self.manifests_with_id(&image.config_digest)?;
        let mut tags = Vec::new();
        for m in &manifests {
            tags.extend(self.tags_of(m)?);
        }
        let repos: BTreeSet<String> = tags.iter().map(Reference::name).collect();
        if repos.len() > 1 && !force {
            return Err(Error::ImageInUse {
                name: name_or_id.to_owned(),
                references: tags,
            });
        }
        self.delete_records(&tags, &manifests)?;
        Ok(RemoveReport {
            untagged: tags,
            deleted: vec![image.config_digest],
            deleted_manifests: manifests,
        })
    }

    fn as_tag(&self, s: &str) -> Result<Option<(Reference, Digest)>> {
        if s.starts_with("sha256:") {
            return Ok(None);
        }
        let Ok(reference) = Reference::parse(s) else {
            return Ok(None);
        };
        if reference.digest().is_some() {
            return Ok(None);
        }
        Ok(self.lookup_tag(&reference)?.map(|d| (reference, d)))
    }

    fn remove_tag(&self, reference: Reference, digest: Digest) -> Result<RemoveReport> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM tags WHERE reference = ?1",
            [reference.to_string()],
        )?;
        let left: i64 = tx.query_row(
            "SELECT COUNT(*) FROM tags WHERE manifest_digest = ?1",
            [digest.to_string()],
            |r| r.get(0),
        )?;
        let mut report = RemoveReport {
            untagged: vec![reference],
            ..Default::default()
        };
        if left == 0 {
            let id: Option<String> = tx
                .query_row(
                    "DELETE FROM images WHERE manifest_digest = ?1 RETURNING config_digest",
                    [digest.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = id.and_then(|id| id.parse().ok()) {
                report.deleted.push(id);
                report.deleted_manifests.push(digest);
            }
        }
        tx.commit()?;
        Ok(report)
    }

    fn manifests_with_id(&self, id: &Digest) -> Result<Vec<Digest>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT manifest_digest FROM images WHERE config_digest = ?1 ORDER BY added_at DESC",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(d) = row?.parse() {
                out.push(d);
            }
        }
        Ok(out)
    }

    fn delete_records(&self, tags: &[Reference], manifests: &[Digest]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for t in tags {
            tx.execute("DELETE FROM tags WHERE reference = ?1", [t.to_string()])?;
        }
        for m in manifests {
            tx.execute(
                "DELETE FROM tags WHERE manifest_digest = ?1",
                [m.to_string()],
            )?;
            tx.execute(
                "DELETE FROM images WHERE manifest_digest = ?1",
                [m.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn upsert_tag(
    tx: &Transaction<'_>,
    reference: &Reference,
    digest: &Digest,
    now: i64,
) -> Result<()> {
    if reference.tag().is_none() {
        return Err(Error::InvalidTag {
            reference: reference.to_string(),
        });
    }
    tx.execute(
        "INSERT INTO tags (reference, manifest_digest, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(reference) DO UPDATE SET manifest_digest = excluded.manifest_digest,
             updated_at = excluded.updated_at",
        params![reference.to_string(), digest.to_string(), now],
    )?;
    Ok(())
}
