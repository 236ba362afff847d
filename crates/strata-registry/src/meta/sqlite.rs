//! [`Meta`] on SQLite (WAL) through rusqlite: the embedded default. One connection behind a
//! mutex, every call an immediate transaction run on tokio's blocking pool.
//!
//! The schema is versioned with `PRAGMA user_version`: [`SCHEMA`] is version 0 (created if
//! missing), and each entry of [`MIGRATIONS`] takes the database one version further, all
//! in one write transaction when it is opened. A database newer than this code is refused.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use strata_distribution::{ManifestRef, Page, RepositoryName, Tag};
use strata_oci::{Descriptor, Digest};

use super::gc;
use super::govern::{self, sqlite as gov};
use super::robots;
use super::{
    Listing, ManifestRecord, Meta, MetaError, NewManifest, PromotionRecord, RepositorySummary,
    RobotRecord, StoredImage, SweepBlob, TagGuard, TagRecord, UploadRecord,
};

/// The schema as first released (version 0).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS repositories (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repo_blobs (
    repo TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs (digest);
CREATE TABLE IF NOT EXISTS manifests (
    repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
    subject TEXT, artifact_type TEXT, annotations TEXT NOT NULL, created INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repo, subject);
CREATE TABLE IF NOT EXISTS manifest_blobs (
    repo TEXT NOT NULL, manifest TEXT NOT NULL, blob TEXT NOT NULL,
    PRIMARY KEY (repo, manifest, blob)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifest_blobs_blob ON manifest_blobs (blob);
CREATE TABLE IF NOT EXISTS manifest_children (
    repo TEXT NOT NULL, manifest TEXT NOT NULL, child TEXT NOT NULL,
    PRIMARY KEY (repo, manifest, child)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags (
    repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (repo, tag)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, repo TEXT NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifests_digest ON manifests (digest);
CREATE TABLE IF NOT EXISTS blob_pins (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blob_pins_digest ON blob_pins (digest);
CREATE TABLE IF NOT EXISTS robots (
    name TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL, repositories TEXT NOT NULL,
    actions TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER) WITHOUT ROWID;
";

/// The steps from each version to the next: `MIGRATIONS[i]` takes version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: links are dated, so garbage collection can drop the ones no manifest uses after
    // the grace period. Links made before this version count from the upgrade.
    "ALTER TABLE repo_blobs ADD COLUMN linked INTEGER NOT NULL DEFAULT 0;
     UPDATE repo_blobs SET linked = unixepoch();",
    // 2: the tags of a manifest and the indexes listing a manifest, by digest (garbage
    // collection and manifest deletes asked them by scanning the repository's rows).
    "CREATE INDEX IF NOT EXISTS tags_digest ON tags (repo, digest);
     CREATE INDEX IF NOT EXISTS manifest_children_child ON manifest_children (repo, child);",
    // 3: governance: image facts, labels, owners, promotions, tag history, the lineage
    // generation (`meta::govern`); manifests pushed before count as images without layers.
    govern::SQLITE_SCHEMA,
];

/// How many times (about a millisecond apart) a transaction asks again for the database
/// lock another process holds before it fails with `SQLITE_BUSY`: about 5 s.
const BUSY_RETRIES: i32 = 5000;

/// SQLite's busy handler: sleep a millisecond and retry. (The built-in busy timeout backs
/// off up to 100 ms between tries, so a push could wait that long behind a `strata
/// registry gc` that releases the lock every few milliseconds.)
fn wait_for_lock(retries: i32) -> bool {
    if retries >= BUSY_RETRIES {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_millis(1));
    true
}

/// The schema version this code reads and writes.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates the first schema if missing and runs the migrations the database lacks; `Err`
/// with the version found when it is newer than this code.
fn migrate(conn: &mut Connection) -> rusqlite::Result<Result<(), i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Ok(Err(version));
    }
    tx.execute_batch(SCHEMA)?;
    for (from, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(step)?;
        tracing::info!(version = from + 1, "metadata schema migrated");
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// The metadata in one SQLite file.
#[derive(Clone)]
pub struct SqliteMeta {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteMeta {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteMeta, MetaError> {
        let open = || -> rusqlite::Result<(Connection, Result<(), i64>)> {
            let mut conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_handler(Some(wait_for_lock))?;
            let migrated = migrate(&mut conn)?;
            Ok((conn, migrated))
        };
        let (conn, migrated) = open().map_err(|source| MetaError::Open {
            path: path.to_owned(),
            source,
        })?;
        if let Err(found) = migrated {
            return Err(MetaError::SchemaTooNew {
                path: path.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(SqliteMeta {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` in a transaction on the blocking pool. Immediate: in this process the mutex
    /// serialises transactions anyway, and another process on the same file (`strata
    /// registry gc` beside `serve`) then waits for the lock (busy timeout) instead of
    /// failing a read-then-write transaction with `SQLITE_BUSY`.
    fn run<T, F>(&self, f: F) -> BoxFuture<'static, Result<T, MetaError>>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, MetaError> + Send + 'static,
    {
        self.run_as(TransactionBehavior::Immediate, f)
    }

    /// Runs `f` in a transaction that takes the database's write lock first, so no other
    /// connection (another process) can commit between what `f` reads and what it does.
    fn run_as<T, F>(
        &self,
        behavior: TransactionBehavior,
        f: F,
    ) -> BoxFuture<'static, Result<T, MetaError>>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, MetaError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let actor = govern::current_actor();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                govern::with_actor(actor, || {
                    let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                    let tx = conn.transaction_with_behavior(behavior)?;
                    let out = f(&tx)?;
                    tx.commit()?;
                    Ok(out)
                })
            })
            .await?
        })
    }
}

pub(super) fn digest(value: String) -> Result<Digest, MetaError> {
    value.parse().map_err(|_| MetaError::BadDigest { value })
}

fn add_repository(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO repositories (name) VALUES (?1)",
        [name],
    )
    .map(drop)
}

/// Fails with the first reference of `m` that its repository lacks.
fn check_references(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    let repo = m.name.as_str();
    let missing = |kind: &'static str, d: &Digest| MetaError::MissingReference {
        name: m.name.clone(),
        manifest: m.digest.clone(),
        kind,
        digest: d.clone(),
    };
    let mut blob = tx.prepare_cached("SELECT 1 FROM repo_blobs WHERE repo = ?1 AND digest = ?2")?;
    for d in &m.blobs {
        if !blob.exists(params![repo, d.to_string()])? {
            return Err(missing("blob", d));
        }
    }
    let mut child = tx.prepare_cached("SELECT 1 FROM manifests WHERE repo = ?1 AND digest = ?2")?;
    for d in &m.children {
        if !child.exists(params![repo, d.to_string()])? {
            return Err(missing("manifest", d));
        }
    }
    Ok(())
}

/// An immutable tag may be created, or pushed again with the manifest it names; never moved.
fn check_immutable_tag(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    let (Some(tag), Some(rule)) = (&m.tag, &m.immutable_rule) else {
        return Ok(());
    };
    let current: Option<String> = tx
        .query_row(
            "SELECT digest FROM tags WHERE repo = ?1 AND tag = ?2",
            params![m.name.as_str(), tag.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    match current {
        Some(d) if d != m.digest.to_string() => Err(MetaError::TagImmutable {
            name: m.name.clone(),
            tag: tag.as_str().to_owned(),
            rule: rule.clone(),
            current: digest(d)?,
        }),
        _ => Ok(()),
    }
}

/// Refuses to delete a manifest that a guarded (immutable) tag names.
fn guard_tags(
    tx: &Transaction<'_>,
    name: &RepositoryName,
    digest: &Digest,
    guard: &TagGuard,
) -> Result<(), MetaError> {
    let mut stmt = tx.prepare("SELECT tag FROM tags WHERE repo = ?1 AND digest = ?2")?;
    let tags = stmt.query_map(params![name.as_str(), digest.to_string()], |r| {
        r.get::<_, String>(0)
    })?;
    for tag in tags {
        let tag = tag?;
        if let Some(rule) = guard(&tag) {
            return Err(MetaError::TagImmutable {
                name: name.clone(),
                tag,
                rule,
                current: digest.clone(),
            });
        }
    }
    Ok(())
}

fn insert_manifest(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    gov::before_put(tx, m)?;
    let (repo, digest) = (m.name.as_str(), m.digest.to_string());
    let annotations = serde_json::to_string(&m.annotations).expect("a string map serialises");
    tx.execute(
        "INSERT OR REPLACE INTO manifests
         (repo, digest, media_type, size, subject, artifact_type, annotations, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, unixepoch())",
        params![
            repo,
            digest,
            m.media_type,
            m.size as i64,
            m.subject.as_ref().map(Digest::to_string),
            m.artifact_type,
            annotations
        ],
    )?;
    for b in &m.blobs {
        tx.execute(
            "INSERT OR IGNORE INTO manifest_blobs (repo, manifest, blob) VALUES (?1, ?2, ?3)",
            params![repo, digest, b.to_string()],
        )?;
    }
    for c in &m.children {
        tx.execute(
            "INSERT OR IGNORE INTO manifest_children (repo, manifest, child) VALUES (?1, ?2, ?3)",
            params![repo, digest, c.to_string()],
        )?;
    }
    if let Some(tag) = &m.tag {
        tx.execute(
            "INSERT OR REPLACE INTO tags (repo, tag, digest) VALUES (?1, ?2, ?3)",
            params![repo, tag.as_str(), digest],
        )?;
    }
    add_repository(tx, repo)?;
    Ok(())
}

/// Removes manifest `digest` of `repo` with its tags and references; false when absent.
pub(super) fn remove_manifest(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
) -> Result<bool, MetaError> {
    gov::before_remove(tx, repo, digest)?;
    let n = tx.execute(
        "DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
        params![repo, digest],
    )?;
    for sql in [
        "DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
        "DELETE FROM manifest_blobs WHERE repo = ?1 AND manifest = ?2",
        "DELETE FROM manifest_children WHERE repo = ?1 AND manifest = ?2",
    ] {
        tx.execute(sql, params![repo, digest])?;
    }
    Ok(n > 0)
}

fn find_manifest(
    tx: &Transaction<'_>,
    repo: &str,
    reference: &ManifestRef,
) -> Result<Option<ManifestRecord>, MetaError> {
    let digest = match reference {
        ManifestRef::Digest(d) => d.to_string(),
        ManifestRef::Tag(t) => {
            let found: Option<String> = tx
                .query_row(
                    "SELECT digest FROM tags WHERE repo = ?1 AND tag = ?2",
                    params![repo, t.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            match found {
                Some(d) => d,
                None => return Ok(None),
            }
        }
    };
    let row: Option<(String, i64)> = tx
        .query_row(
            "SELECT media_type, size FROM manifests WHERE repo = ?1 AND digest = ?2",
            params![repo, digest],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(media_type, size)| {
        Ok(ManifestRecord {
            digest: self::digest(digest)?,
            media_type,
            size: size as u64,
        })
    })
    .transpose()
}

/// Runs a listing query (`?1` the scope, `?2` the `last` entry, `?3` the limit) for `page`.
fn list(tx: &Transaction<'_>, sql: &str, scope: &str, page: &Page) -> Result<Listing, MetaError> {
    let limit = page.n.map_or(-1, |n| i64::from(n) + 1);
    let last = page.last.as_deref().unwrap_or("");
    let mut stmt = tx.prepare_cached(sql)?;
    let mut entries = stmt
        .query_map(params![scope, last, limit], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let more = page.n.is_some_and(|n| entries.len() > n as usize);
    if let Some(n) = page.n {
        entries.truncate(n as usize);
    }
    Ok(Listing { entries, more })
}

fn referrer_rows(
    tx: &Transaction<'_>,
    repo: &str,
    subject: &str,
) -> Result<Vec<Descriptor>, MetaError> {
    let mut stmt = tx.prepare_cached(
        "SELECT digest, media_type, size, artifact_type, annotations FROM manifests
         WHERE repo = ?1 AND subject = ?2 ORDER BY digest",
    )?;
    let rows = stmt
        .query_map(params![repo, subject], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(d, media_type, size, artifact_type, annotations)| {
            let mut desc = Descriptor::new(&media_type, digest(d)?, size as u64);
            desc.artifact_type = artifact_type;
            desc.annotations = serde_json::from_str(&annotations).unwrap_or_default();
            Ok(desc)
        })
        .collect()
}

impl Meta for SqliteMeta {
    fn repository_exists<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let name = name.as_str().to_owned();
        self.run(move |tx| {
            Ok(tx
                .prepare_cached("SELECT 1 FROM repositories WHERE name = ?1")?
                .exists([name])?)
        })
    }

    fn link_blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<(), MetaError>> {
        let (name, digest) = (name.as_str().to_owned(), digest.to_string());
        self.run(move |tx| {
            tx.execute(
                "INSERT INTO repo_blobs (repo, digest, size, linked)
                 VALUES (?1, ?2, ?3, unixepoch())
                 ON CONFLICT (repo, digest)
                 DO UPDATE SET size = excluded.size, linked = excluded.linked",
                params![name, digest, size as i64],
            )?;
            add_repository(tx, &name)?;
            Ok(())
        })
    }

    fn blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<u64>, MetaError>> {
        let (name, digest) = (name.as_str().to_owned(), digest.to_string());
        self.run(move |tx| {
            let size: Option<i64> = tx
                .query_row(
                    "SELECT size FROM repo_blobs WHERE repo = ?1 AND digest = ?2",
                    params![name, digest],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(size.map(|s| s as u64))
        })
    }

    fn unlink_blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let (name, digest) = (name.as_str().to_owned(), digest.to_string());
        self.run(move |tx| {
            let n = tx.execute(
                "DELETE FROM repo_blobs WHERE repo = ?1 AND digest = ?2",
                params![name, digest],
            )?;
            Ok(n > 0)
        })
    }

    fn put_manifest(&self, manifest: NewManifest) -> BoxFuture<'_, Result<(), MetaError>> {
        self.run(move |tx| {
            check_references(tx, &manifest)?;
            check_immutable_tag(tx, &manifest)?;
            insert_manifest(tx, &manifest)
        })
    }

    fn manifest<'a>(
        &'a self,
        name: &'a RepositoryName,
        reference: &'a ManifestRef,
    ) -> BoxFuture<'a, Result<Option<ManifestRecord>, MetaError>> {
        let (name, reference) = (name.as_str().to_owned(), reference.clone());
        self.run(move |tx| find_manifest(tx, &name, &reference))
    }

    fn delete_manifest<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        guard: TagGuard,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let repo = name.clone();
        let current = digest.clone();
        let (name, digest) = (name.as_str().to_owned(), digest.to_string());
        self.run(move |tx| {
            guard_tags(tx, &repo, &current, &guard)?;
            remove_manifest(tx, &name, &digest)
        })
    }

    fn delete_tag<'a>(
        &'a self,
        name: &'a RepositoryName,
        tag: &'a Tag,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let (name, tag) = (name.as_str().to_owned(), tag.as_str().to_owned());
        self.run(move |tx| {
            gov::before_delete_tag(tx, &name, &tag)?;
            let n = tx.execute(
                "DELETE FROM tags WHERE repo = ?1 AND tag = ?2",
                params![name, tag],
            )?;
            Ok(n > 0)
        })
    }

    fn tags<'a>(
        &'a self,
        name: &'a RepositoryName,
        page: &'a Page,
    ) -> BoxFuture<'a, Result<Listing, MetaError>> {
        let (name, page) = (name.as_str().to_owned(), page.clone());
        self.run(move |tx| {
            list(
                tx,
                "SELECT tag FROM tags WHERE repo = ?1 AND tag > ?2 ORDER BY tag LIMIT ?3",
                &name,
                &page,
            )
        })
    }

    fn repositories<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<Listing, MetaError>> {
        let page = page.clone();
        self.run(move |tx| {
            list(
                tx,
                "SELECT name FROM repositories WHERE ?1 = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
                "",
                &page,
            )
        })
    }

    fn referrers<'a>(
        &'a self,
        name: &'a RepositoryName,
        subject: &'a Digest,
    ) -> BoxFuture<'a, Result<Vec<Descriptor>, MetaError>> {
        let (name, subject) = (name.as_str().to_owned(), subject.to_string());
        self.run(move |tx| referrer_rows(tx, &name, &subject))
    }

    fn create_upload(&self, upload: UploadRecord) -> BoxFuture<'_, Result<(), MetaError>> {
        self.run(move |tx| {
            tx.execute(
                "INSERT INTO uploads (id, repo, updated) VALUES (?1, ?2, ?3)",
                params![upload.id, upload.name.as_str(), upload.updated],
            )?;
            Ok(())
        })
    }

    fn upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<UploadRecord>, MetaError>> {
        let id = id.to_owned();
        self.run(move |tx| {
            let row: Option<(String, i64)> = tx
                .query_row(
                    "SELECT repo, updated FROM uploads WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.and_then(|(repo, updated)| {
                Some(UploadRecord {
                    name: repo.parse().ok()?,
                    id,
                    updated,
                })
            }))
        })
    }

    fn touch_upload<'a>(&'a self, id: &'a str, now: i64) -> BoxFuture<'a, Result<(), MetaError>> {
        let id = id.to_owned();
        self.run(move |tx| {
            tx.execute(
                "UPDATE uploads SET updated = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
    }

    fn remove_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), MetaError>> {
        let id = id.to_owned();
        self.run(move |tx| {
            tx.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    fn stale_uploads(&self, before: i64) -> BoxFuture<'_, Result<Vec<String>, MetaError>> {
        self.run(move |tx| {
            let mut stmt = tx.prepare_cached("SELECT id FROM uploads WHERE updated < ?1")?;
            let ids = stmt
                .query_map([before], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
    }
    fn pin_blob<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<String, MetaError>> {
        let digest = digest.to_string();
        self.run(move |tx| {
            let id = crate::storage::random_name();
            gc::pin(tx, &id, &digest, crate::services::now())?;
            Ok(id)
        })
    }

    fn unpin_blob<'a>(&'a self, pin: &'a str) -> BoxFuture<'a, Result<(), MetaError>> {
        let pin = pin.to_owned();
        self.run(move |tx| Ok(gc::unpin(tx, &pin)?))
    }

    fn gc_referenced(
        &self,
        stale_pins_before: i64,
    ) -> BoxFuture<'_, Result<HashSet<Digest>, MetaError>> {
        self.run(move |tx| gc::referenced(tx, stale_pins_before))
    }

    fn gc_untagged(
        &self,
        before: i64,
    ) -> BoxFuture<'_, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        self.run(move |tx| gc::untagged(tx, before))
    }

    fn gc_delete_untagged<'a>(
        &'a self,
        manifests: &'a [(RepositoryName, Digest)],
        before: i64,
    ) -> BoxFuture<'a, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        let manifests = manifests.to_vec();
        self.run(move |tx| {
            let mut removed = Vec::new();
            for (name, digest) in manifests {
                if gc::delete_untagged(tx, name.as_str(), &digest.to_string(), before)? {
                    removed.push((name, digest));
                }
            }
            Ok(removed)
        })
    }

    fn create_robot(&self, robot: RobotRecord) -> BoxFuture<'_, Result<bool, MetaError>> {
        self.run(move |tx| robots::create(tx, &robot))
    }

    fn robot<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<RobotRecord>, MetaError>> {
        let name = name.to_owned();
        self.run(move |tx| robots::get(tx, &name))
    }

    fn robots(&self) -> BoxFuture<'_, Result<Vec<RobotRecord>, MetaError>> {
        self.run(robots::list)
    }

    fn delete_robot<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, MetaError>> {
        let name = name.to_owned();
        self.run(move |tx| robots::delete(tx, &name))
    }

    fn gc_stale_links(
        &self,
        before: i64,
    ) -> BoxFuture<'_, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        self.run(move |tx| gc::stale_links(tx, before))
    }

    fn gc_unlink_stale<'a>(
        &'a self,
        links: &'a [(RepositoryName, Digest)],
        before: i64,
    ) -> BoxFuture<'a, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        let links = links.to_vec();
        self.run(move |tx| gc::unlink_stale(tx, &links, before))
    }

    fn gc_sweep_blobs<'a>(
        &'a self,
        digests: &'a [Digest],
        remove: SweepBlob,
    ) -> BoxFuture<'a, Result<Vec<Option<u64>>, MetaError>> {
        let digests = digests.to_vec();
        let runtime = tokio::runtime::Handle::current();
        self.run(move |tx| {
            let mut freed = Vec::with_capacity(digests.len());
            for digest in digests {
                if gc::is_referenced(tx, &digest.to_string())? {
                    freed.push(None);
                    continue;
                }
                let bytes = runtime
                    .block_on(remove(&digest))
                    .map_err(|source| MetaError::Sweep { digest, source })?;
                freed.push(bytes);
            }
            Ok(freed)
        })
    }

    fn images<'a>(
        &'a self,
        name: Option<&'a RepositoryName>,
    ) -> BoxFuture<'a, Result<Vec<StoredImage>, MetaError>> {
        let repo = name.map_or(String::new(), |n| n.as_str().to_owned());
        self.run(move |tx| gov::images(tx, &repo, None))
    }

    fn image<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<StoredImage>, MetaError>> {
        let (repo, digest) = (name.as_str().to_owned(), digest.to_string());
        self.run(move |tx| Ok(gov::images(tx, &repo, Some(&digest))?.pop()))
    }

    fn record_pull<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        now: i64,
    ) -> BoxFuture<'a, Result<(), MetaError>> {
        let (repo, digest) = (name.as_str().to_owned(), digest.to_string());
        self.run(move |tx| gov::record_pull(tx, &repo, &digest, now))
    }

    fn repository_summaries(&self) -> BoxFuture<'_, Result<Vec<RepositorySummary>, MetaError>> {
        self.run(gov::summaries)
    }

    fn set_owner<'a>(
        &'a self,
        name: &'a RepositoryName,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let (repo, owner) = (name.as_str().to_owned(), owner.map(str::to_owned));
        self.run(move |tx| gov::set_owner(tx, &repo, owner.as_deref()))
    }

    fn owner<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<Option<String>, MetaError>> {
        let repo = name.as_str().to_owned();
        self.run(move |tx| gov::owner(tx, &repo))
    }

    fn add_label<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        label: &'a str,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let (repo, digest, label) = (
            name.as_str().to_owned(),
            digest.to_string(),
            label.to_owned(),
        );
        self.run(move |tx| gov::add_label(tx, &repo, &digest, &label))
    }

    fn remove_label<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        label: &'a str,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let (repo, digest, label) = (
            name.as_str().to_owned(),
            digest.to_string(),
            label.to_owned(),
        );
        self.run(move |tx| gov::remove_label(tx, &repo, &digest, &label))
    }

    fn promote(&self, promotion: PromotionRecord) -> BoxFuture<'_, Result<bool, MetaError>> {
        self.run(move |tx| gov::promote(tx, &promotion))
    }

    fn promotions<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<Vec<PromotionRecord>, MetaError>> {
        let name = name.clone();
        self.run(move |tx| gov::promotions(tx, &name))
    }

    fn tag_history<'a>(
        &'a self,
        name: &'a RepositoryName,
        tag: &'a Tag,
    ) -> BoxFuture<'a, Result<Vec<TagRecord>, MetaError>> {
        let (repo, tag) = (name.as_str().to_owned(), tag.as_str().to_owned());
        self.run(move |tx| gov::tag_history(tx, &repo, &tag))
    }

    fn lineage_generation(&self) -> BoxFuture<'_, Result<i64, MetaError>> {
        self.run(gov::generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as the first release wrote it: version 0, one link without a date.
    fn version_zero(path: &Path) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute(
            "INSERT INTO repo_blobs (repo, digest, size) VALUES ('app', ?1, 3)",
            [Digest::of(b"old").to_string()],
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_version_zero_database_is_migrated_and_its_links_dated_now() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.db");
        version_zero(&path);
        let meta = SqliteMeta::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let now = crate::services::now();
        assert!(meta.gc_stale_links(now - 60).await.unwrap().is_empty());
        let stale = meta.gc_stale_links(now + 1).await.unwrap();
        assert_eq!(stale, vec![("app".parse().unwrap(), Digest::of(b"old"))]);
        let name = "app".parse().unwrap();
        assert_eq!(
            meta.blob(&name, &Digest::of(b"old")).await.unwrap(),
            Some(3)
        );
        drop(meta);
        // Opening it again changes nothing.
        let meta = SqliteMeta::open(&path).unwrap();
        assert_eq!(meta.gc_stale_links(now + 1).await.unwrap(), stale);
    }

    #[test]
    fn a_database_from_a_newer_strata_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.db");
        version_zero(&path);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = SqliteMeta::open(&path).err().expect("refused");
        assert!(
            matches!(err, MetaError::SchemaTooNew { found: 99, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("schema version 99"), "{err}");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 99);
    }
}
