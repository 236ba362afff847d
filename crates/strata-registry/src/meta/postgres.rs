//! [`Meta`] on PostgreSQL through tokio-postgres and a deadpool connection pool: the
//! metadata several replicas share. Same tables and semantics as [`super::SqliteMeta`];
//! where SQLite serialises every write transaction, PostgreSQL (read committed) is told what
//! to serialise:
//!
//! - references a manifest needs are read `FOR SHARE`, so they cannot be removed before it
//!   commits; a manifest row is locked (`FOR UPDATE`) before it is deleted, so a concurrent
//!   push that tags it or lists it in an index is seen by the re-check;
//! - writing a tag takes a transaction-scoped advisory lock on (repository, tag), so the
//!   immutability check and the write are one step across replicas;
//! - pinning a blob and sweeping it take an advisory lock on its digest: the sweep's
//!   re-check, the removal of its bytes and its commit happen while no pin can be created,
//!   and a pin committed first is seen by the re-check.
//!
//! The schema is created or migrated at start under an advisory lock (replicas may start
//! together); text columns compare bytewise (`COLLATE "C"`), as SQLite does, so listings are
//! in the same lexical order.

use std::collections::HashSet;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::future::BoxFuture;
use strata_distribution::{ManifestRef, Page, RepositoryName, Tag};
use strata_oci::{Descriptor, Digest};
use tokio_postgres::{NoTls, Transaction};

use super::govern::postgres as gov;
use super::{
    digest, Listing, ManifestRecord, Meta, MetaError, NewManifest, PromotionRecord,
    RepositorySummary, RobotRecord, StoredImage, SweepBlob, TagGuard, TagRecord, UploadHold,
    UploadRecord,
};

/// The schema, one entry per version; a database at version `n` runs entries `n..`.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE repositories (name TEXT COLLATE \"C\" PRIMARY KEY);
CREATE TABLE repo_blobs (
    repo TEXT COLLATE \"C\" NOT NULL, digest TEXT COLLATE \"C\" NOT NULL, size BIGINT NOT NULL,
    PRIMARY KEY (repo, digest));
CREATE INDEX repo_blobs_digest ON repo_blobs (digest);
CREATE TABLE manifests (
    repo TEXT COLLATE \"C\" NOT NULL, digest TEXT COLLATE \"C\" NOT NULL,
    media_type TEXT NOT NULL, size BIGINT NOT NULL, subject TEXT COLLATE \"C\",
    artifact_type TEXT, annotations TEXT NOT NULL, created BIGINT NOT NULL,
    PRIMARY KEY (repo, digest));
CREATE INDEX manifests_subject ON manifests (repo, subject);
CREATE INDEX manifests_digest ON manifests (digest);
CREATE TABLE manifest_blobs (
    repo TEXT COLLATE \"C\" NOT NULL, manifest TEXT COLLATE \"C\" NOT NULL,
    blob TEXT COLLATE \"C\" NOT NULL, PRIMARY KEY (repo, manifest, blob));
CREATE INDEX manifest_blobs_blob ON manifest_blobs (blob);
CREATE TABLE manifest_children (
    repo TEXT COLLATE \"C\" NOT NULL, manifest TEXT COLLATE \"C\" NOT NULL,
    child TEXT COLLATE \"C\" NOT NULL, PRIMARY KEY (repo, manifest, child));
CREATE INDEX manifest_children_child ON manifest_children (repo, child);
CREATE TABLE tags (
    repo TEXT COLLATE \"C\" NOT NULL, tag TEXT COLLATE \"C\" NOT NULL,
    digest TEXT COLLATE \"C\" NOT NULL, PRIMARY KEY (repo, tag));
CREATE INDEX tags_digest ON tags (repo, digest);
CREATE TABLE uploads (id TEXT PRIMARY KEY, repo TEXT NOT NULL, updated BIGINT NOT NULL);
CREATE TABLE blob_pins (id TEXT PRIMARY KEY, digest TEXT COLLATE \"C\" NOT NULL,
    created BIGINT NOT NULL);
CREATE INDEX blob_pins_digest ON blob_pins (digest);
",
    "
CREATE TABLE robots (
    name TEXT COLLATE \"C\" PRIMARY KEY, secret_sha256 TEXT NOT NULL,
    repositories TEXT NOT NULL, actions TEXT NOT NULL, created BIGINT NOT NULL,
    expires BIGINT);
",
    // Links are dated, so garbage collection can drop the ones no manifest uses after the
    // grace period; links made before this version count from the upgrade.
    "
ALTER TABLE repo_blobs ADD COLUMN linked BIGINT NOT NULL DEFAULT 0;
UPDATE repo_blobs SET linked = extract(epoch FROM now())::BIGINT;
",
    // Governance: image facts, labels, owners, promotions, tag history, the lineage
    // generation (`meta::govern`).
    gov::SCHEMA,
];

/// Whether anything still references `$1` (see `meta::gc`).
const REFERENCED: &str = "
SELECT EXISTS(SELECT 1 FROM repo_blobs WHERE digest = $1)
    OR EXISTS(SELECT 1 FROM manifests WHERE digest = $1)
    OR EXISTS(SELECT 1 FROM manifest_blobs WHERE blob = $1)
    OR EXISTS(SELECT 1 FROM blob_pins WHERE digest = $1)";

/// Untagged manifests created at or before `$1` that no index lists and whose subject is
/// gone (see `meta::gc`).
const UNTAGGED: &str = "
SELECT m.repo, m.digest FROM manifests m
WHERE m.created <= $1
  AND NOT EXISTS(SELECT 1 FROM tags t WHERE t.repo = m.repo AND t.digest = m.digest)
  AND NOT EXISTS(SELECT 1 FROM manifest_children c WHERE c.repo = m.repo AND c.child = m.digest)
  AND (m.subject IS NULL
       OR NOT EXISTS(SELECT 1 FROM manifests s WHERE s.repo = m.repo AND s.digest = m.subject))";

/// Connections for transactions, per replica.
const POOL_SIZE: usize = 16;
/// Connections for upload holds (each held for one upload request, then closed), per
/// replica: a pool of their own, so requests waiting on holds never starve transactions.
const HOLD_POOL_SIZE: usize = 16;

/// The metadata in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresMeta {
    pool: Pool,
    holds: Pool,
}

/// Waits for the transaction-scoped advisory lock named `key`.
async fn lock(tx: &Transaction<'_>, key: &str) -> Result<(), MetaError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&key],
    )
    .await?;
    Ok(())
}

fn blob_lock(digest: &str) -> String {
    format!("strata-registry blob {digest}")
}

fn tag_lock(repo: &str, tag: &str) -> String {
    format!("strata-registry tag {repo}:{tag}")
}

async fn add_repository(tx: &Transaction<'_>, name: &str) -> Result<(), MetaError> {
    tx.execute(
        "INSERT INTO repositories (name) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&name],
    )
    .await?;
    Ok(())
}

/// Fails with the first reference of `m` that its repository lacks; the ones found stay
/// locked (`FOR SHARE`) until the transaction ends.
async fn check_references(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    let repo = m.name.as_str();
    let missing = |kind: &'static str, d: &Digest| MetaError::MissingReference {
        name: m.name.clone(),
        manifest: m.digest.clone(),
        kind,
        digest: d.clone(),
    };
    for d in &m.blobs {
        let sql = "SELECT 1 FROM repo_blobs WHERE repo = $1 AND digest = $2 FOR SHARE";
        if tx.query_opt(sql, &[&repo, &d.to_string()]).await?.is_none() {
            return Err(missing("blob", d));
        }
    }
    for d in &m.children {
        let sql = "SELECT 1 FROM manifests WHERE repo = $1 AND digest = $2 FOR SHARE";
        if tx.query_opt(sql, &[&repo, &d.to_string()]).await?.is_none() {
            return Err(missing("manifest", d));
        }
    }
    Ok(())
}

async fn tag_target(
    tx: &Transaction<'_>,
    repo: &str,
    tag: &str,
) -> Result<Option<String>, MetaError> {
    let row = tx
        .query_opt(
            "SELECT digest FROM tags WHERE repo = $1 AND tag = $2",
            &[&repo, &tag],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Serialises writers of `m`'s tag, then refuses to move an immutable one.
async fn check_tag(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    let Some(tag) = &m.tag else {
        return Ok(());
    };
    lock(tx, &tag_lock(m.name.as_str(), tag.as_str())).await?;
    let Some(rule) = &m.immutable_rule else {
        return Ok(());
    };
    match tag_target(tx, m.name.as_str(), tag.as_str()).await? {
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
async fn guard_tags(
    tx: &Transaction<'_>,
    name: &RepositoryName,
    digest: &Digest,
    guard: &TagGuard,
) -> Result<(), MetaError> {
    let rows = tx
        .query(
            "SELECT tag FROM tags WHERE repo = $1 AND digest = $2",
            &[&name.as_str(), &digest.to_string()],
        )
        .await?;
    for row in rows {
        let tag: String = row.get(0);
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

async fn insert_manifest(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    gov::before_put(tx, m).await?;
    let (repo, digest) = (m.name.as_str(), m.digest.to_string());
    let annotations = serde_json::to_string(&m.annotations).expect("a string map serialises");
    let subject = m.subject.as_ref().map(Digest::to_string);
    tx.execute(
        "INSERT INTO manifests
         (repo, digest, media_type, size, subject, artifact_type, annotations, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (repo, digest) DO UPDATE SET media_type = EXCLUDED.media_type,
           size = EXCLUDED.size, subject = EXCLUDED.subject,
           artifact_type = EXCLUDED.artifact_type, annotations = EXCLUDED.annotations,
           created = EXCLUDED.created",
        &[
            &repo,
            &digest,
            &m.media_type,
            &(m.size as i64),
            &subject,
            &m.artifact_type,
            &annotations,
            // The server's clock, as garbage collection's cut-off is (never the database's,
            // which `::bigint` would also round up).
            &crate::services::now(),
        ],
    )
    .await?;
    for b in &m.blobs {
        tx.execute(
            "INSERT INTO manifest_blobs (repo, manifest, blob) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&repo, &digest, &b.to_string()],
        )
        .await?;
    }
    for c in &m.children {
        tx.execute(
            "INSERT INTO manifest_children (repo, manifest, child) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&repo, &digest, &c.to_string()],
        )
        .await?;
    }
    if let Some(tag) = &m.tag {
        tx.execute(
            "INSERT INTO tags (repo, tag, digest) VALUES ($1, $2, $3)
             ON CONFLICT (repo, tag) DO UPDATE SET digest = EXCLUDED.digest",
            &[&repo, &tag.as_str(), &digest],
        )
        .await?;
    }
    add_repository(tx, repo).await
}

/// Locks manifest `digest` of `repo` for deletion; false when it is not there.
async fn lock_manifest(tx: &Transaction<'_>, repo: &str, digest: &str) -> Result<bool, MetaError> {
    let row = tx
        .query_opt(
            "SELECT 1 FROM manifests WHERE repo = $1 AND digest = $2 FOR UPDATE",
            &[&repo, &digest],
        )
        .await?;
    Ok(row.is_some())
}

/// Removes manifest `digest` of `repo` with its tags and references; false when absent.
async fn remove_manifest(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
) -> Result<bool, MetaError> {
    gov::before_remove(tx, repo, digest).await?;
    let n = tx
        .execute(
            "DELETE FROM manifests WHERE repo = $1 AND digest = $2",
            &[&repo, &digest],
        )
        .await?;
    for sql in [
        "DELETE FROM tags WHERE repo = $1 AND digest = $2",
        "DELETE FROM manifest_blobs WHERE repo = $1 AND manifest = $2",
        "DELETE FROM manifest_children WHERE repo = $1 AND manifest = $2",
    ] {
        tx.execute(sql, &[&repo, &digest]).await?;
    }
    Ok(n > 0)
}

async fn find_manifest(
    tx: &Transaction<'_>,
    repo: &str,
    reference: &ManifestRef,
) -> Result<Option<ManifestRecord>, MetaError> {
    let digest = match reference {
        ManifestRef::Digest(d) => d.to_string(),
        ManifestRef::Tag(t) => match tag_target(tx, repo, t.as_str()).await? {
            Some(d) => d,
            None => return Ok(None),
        },
    };
    let row = tx
        .query_opt(
            "SELECT media_type, size FROM manifests WHERE repo = $1 AND digest = $2",
            &[&repo, &digest],
        )
        .await?;
    row.map(|r| {
        Ok(ManifestRecord {
            digest: self::digest(digest)?,
            media_type: r.get(0),
            size: r.get::<_, i64>(1) as u64,
        })
    })
    .transpose()
}

/// Runs a listing query (`$1` the scope, `$2` the `last` entry, `$3` the limit) for `page`.
async fn list(
    tx: &Transaction<'_>,
    sql: &str,
    scope: &str,
    page: &Page,
) -> Result<Listing, MetaError> {
    let limit: Option<i64> = page.n.map(|n| i64::from(n) + 1);
    let last = page.last.as_deref().unwrap_or("");
    let rows = tx.query(sql, &[&scope, &last, &limit]).await?;
    let mut entries: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let more = page.n.is_some_and(|n| entries.len() > n as usize);
    if let Some(n) = page.n {
        entries.truncate(n as usize);
    }
    Ok(Listing { entries, more })
}

async fn referrer_rows(
    tx: &Transaction<'_>,
    repo: &str,
    subject: &str,
) -> Result<Vec<Descriptor>, MetaError> {
    let rows = tx
        .query(
            "SELECT digest, media_type, size, artifact_type, annotations FROM manifests
             WHERE repo = $1 AND subject = $2 ORDER BY digest",
            &[&repo, &subject],
        )
        .await?;
    rows.into_iter()
        .map(|r| {
            let media_type: String = r.get(1);
            let size: i64 = r.get(2);
            let mut desc = Descriptor::new(&media_type, digest(r.get(0))?, size as u64);
            desc.artifact_type = r.get(3);
            desc.annotations = serde_json::from_str(r.get(4)).unwrap_or_default();
            Ok(desc)
        })
        .collect()
}

async fn referenced(tx: &Transaction<'_>, stale_before: i64) -> Result<HashSet<Digest>, MetaError> {
    tx.execute("DELETE FROM blob_pins WHERE created < $1", &[&stale_before])
        .await?;
    let rows = tx
        .query(
            "SELECT digest FROM repo_blobs UNION SELECT digest FROM manifests
             UNION SELECT blob FROM manifest_blobs UNION SELECT digest FROM blob_pins",
            &[],
        )
        .await?;
    rows.into_iter().map(|r| digest(r.get(0))).collect()
}

async fn untagged(
    tx: &Transaction<'_>,
    before: i64,
) -> Result<Vec<(RepositoryName, Digest)>, MetaError> {
    repo_digests(tx, &format!("{UNTAGGED} ORDER BY m.repo, m.digest"), before).await
}

/// The (repository, digest) rows `sql` selects for cut-off `before`.
async fn repo_digests(
    tx: &Transaction<'_>,
    sql: &str,
    before: i64,
) -> Result<Vec<(RepositoryName, Digest)>, MetaError> {
    let rows = tx.query(sql, &[&before]).await?;
    rows.into_iter()
        .filter_map(|r| Some((r.get::<_, String>(0).parse().ok()?, r.get::<_, String>(1))))
        .map(|(repo, d)| Ok((repo, digest(d)?)))
        .collect()
}

async fn delete_untagged(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    before: i64,
) -> Result<bool, MetaError> {
    if !lock_manifest(tx, repo, digest).await? {
        return Ok(false);
    }
    let sql = format!("{UNTAGGED} AND m.repo = $2 AND m.digest = $3");
    if tx
        .query_opt(&sql, &[&before, &repo, &digest])
        .await?
        .is_none()
    {
        return Ok(false);
    }
    remove_manifest(tx, repo, digest).await
}

/// A session-level advisory lock, held by a connection taken out of the pool: dropping it
/// closes the connection, which releases the lock (never back in the pool still locked).
struct SessionHold {
    client: Option<deadpool_postgres::Object>,
}

impl Drop for SessionHold {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

const ROBOT_COLUMNS: &str = "name, secret_sha256, repositories, actions, created, expires";

/// A robot account from its row (repositories newline-, actions comma-separated, as in
/// SQLite).
/// Links made at or before `$1` that no manifest of their repository references and no push
/// in flight pins (as SQLite's `STALE_LINKS`).
const STALE_LINKS: &str = "
SELECT l.repo, l.digest FROM repo_blobs l
WHERE l.linked <= $1
  AND NOT EXISTS(SELECT 1 FROM manifest_blobs b WHERE b.blob = l.digest AND b.repo = l.repo)
  AND NOT EXISTS(SELECT 1 FROM blob_pins p WHERE p.digest = l.digest)
ORDER BY l.repo, l.digest";

async fn stale_links(
    tx: &Transaction<'_>,
    before: i64,
) -> Result<Vec<(RepositoryName, Digest)>, MetaError> {
    repo_digests(tx, STALE_LINKS, before).await
}

/// Removes link `repo`→`digest` if, re-checked, it still is stale. The link's row is locked
/// first, so a manifest being recorded against it (which reads the link `FOR SHARE`) either
/// committed before (and the re-check, a new statement with a new snapshot, sees it) or
/// waits and then finds the link gone (its push fails cleanly, as with SQLite).
async fn unlink_stale(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    before: i64,
) -> Result<bool, MetaError> {
    let locked = tx
        .query_opt(
            "SELECT linked FROM repo_blobs WHERE repo = $1 AND digest = $2 FOR UPDATE",
            &[&repo, &digest],
        )
        .await?;
    let Some(row) = locked else {
        return Ok(false);
    };
    let linked: i64 = row.get(0);
    let used: bool = tx
        .query_one(
            "SELECT EXISTS(SELECT 1 FROM manifest_blobs WHERE blob = $2 AND repo = $1)
                 OR EXISTS(SELECT 1 FROM blob_pins WHERE digest = $2)",
            &[&repo, &digest],
        )
        .await?
        .get(0);
    if linked > before || used {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM repo_blobs WHERE repo = $1 AND digest = $2",
        &[&repo, &digest],
    )
    .await?;
    Ok(true)
}

fn robot_record(row: &tokio_postgres::Row) -> RobotRecord {
    let split = |text: String, sep: char| -> Vec<String> {
        text.split(sep)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    RobotRecord {
        name: row.get(0),
        secret_sha256: row.get(1),
        repositories: split(row.get(2), '\n'),
        actions: split(row.get(3), ','),
        created: row.get(4),
        expires: row.get(5),
    }
}

/// Runs `$body` (an expression using `$tx`) in one transaction on a pooled connection.
macro_rules! in_tx {
    ($self:ident, |$tx:ident| $body:expr) => {{
        let pool = $self.pool.clone();
        Box::pin(async move {
            let mut client = pool.get().await?;
            let $tx = client.transaction().await?;
            let out = $body;
            $tx.commit().await?;
            Ok::<_, MetaError>(out)
        })
    }};
}

impl PostgresMeta {
    /// Connects to the database at `url` (a `postgres://` URL or `key=value` settings; no
    /// TLS) and creates or migrates the schema.
    pub async fn connect(url: &str) -> Result<PostgresMeta, MetaError> {
        let config: tokio_postgres::Config = url.parse().map_err(MetaError::PostgresConfig)?;
        let pool = |size| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager).max_size(size).build()
        };
        let meta = PostgresMeta {
            pool: pool(POOL_SIZE)?,
            holds: pool(HOLD_POOL_SIZE)?,
        };
        meta.migrate().await?;
        Ok(meta)
    }

    /// Brings the schema to the latest version, under an advisory lock so that replicas
    /// starting together run each step once.
    async fn migrate(&self) -> Result<(), MetaError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "strata-registry schema").await?;
        let fresh: bool = tx
            .query_one("SELECT to_regclass('strata_schema') IS NULL", &[])
            .await?
            .get(0);
        if fresh {
            tx.batch_execute("CREATE TABLE strata_schema (version INTEGER NOT NULL)")
                .await?;
        }
        let row = tx
            .query_one("SELECT coalesce(max(version), 0) FROM strata_schema", &[])
            .await?;
        let current: i32 = row.get(0);
        if current as usize > MIGRATIONS.len() {
            return Err(MetaError::PostgresSchemaTooNew {
                found: current,
                known: MIGRATIONS.len(),
            });
        }
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(sql).await?;
            let version = step as i32 + 1;
            tx.execute(
                "INSERT INTO strata_schema (version) VALUES ($1)",
                &[&version],
            )
            .await?;
            tracing::info!(version, "metadata schema migrated");
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Meta for PostgresMeta {
    fn repository_exists<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        in_tx!(self, |tx| tx
            .query_opt(
                "SELECT 1 FROM repositories WHERE name = $1",
                &[&name.as_str()]
            )
            .await?
            .is_some())
    }

    fn link_blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<(), MetaError>> {
        in_tx!(self, |tx| {
            tx.execute(
                "INSERT INTO repo_blobs (repo, digest, size, linked) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (repo, digest)
                 DO UPDATE SET size = EXCLUDED.size, linked = EXCLUDED.linked",
                &[
                    &name.as_str(),
                    &digest.to_string(),
                    &(size as i64),
                    &crate::services::now(),
                ],
            )
            .await?;
            add_repository(&tx, name.as_str()).await?
        })
    }

    fn blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<u64>, MetaError>> {
        in_tx!(self, |tx| tx
            .query_opt(
                "SELECT size FROM repo_blobs WHERE repo = $1 AND digest = $2",
                &[&name.as_str(), &digest.to_string()],
            )
            .await?
            .map(|r| r.get::<_, i64>(0) as u64))
    }

    fn unlink_blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        in_tx!(self, |tx| tx
            .execute(
                "DELETE FROM repo_blobs WHERE repo = $1 AND digest = $2",
                &[&name.as_str(), &digest.to_string()],
            )
            .await?
            > 0)
    }

    fn put_manifest(&self, manifest: NewManifest) -> BoxFuture<'_, Result<(), MetaError>> {
        in_tx!(self, |tx| {
            check_references(&tx, &manifest).await?;
            check_tag(&tx, &manifest).await?;
            insert_manifest(&tx, &manifest).await?
        })
    }

    fn manifest<'a>(
        &'a self,
        name: &'a RepositoryName,
        reference: &'a ManifestRef,
    ) -> BoxFuture<'a, Result<Option<ManifestRecord>, MetaError>> {
        in_tx!(self, |tx| find_manifest(&tx, name.as_str(), reference)
            .await?)
    }

    fn delete_manifest<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        guard: TagGuard,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let hex = digest.to_string();
        in_tx!(self, |tx| {
            if lock_manifest(&tx, name.as_str(), &hex).await? {
                guard_tags(&tx, name, digest, &guard).await?;
                remove_manifest(&tx, name.as_str(), &hex).await?
            } else {
                false
            }
        })
    }

    fn delete_tag<'a>(
        &'a self,
        name: &'a RepositoryName,
        tag: &'a Tag,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        in_tx!(self, |tx| {
            lock(&tx, &tag_lock(name.as_str(), tag.as_str())).await?;
            gov::before_delete_tag(&tx, name.as_str(), tag.as_str()).await?;
            tx.execute(
                "DELETE FROM tags WHERE repo = $1 AND tag = $2",
                &[&name.as_str(), &tag.as_str()],
            )
            .await?
                > 0
        })
    }

    fn tags<'a>(
        &'a self,
        name: &'a RepositoryName,
        page: &'a Page,
    ) -> BoxFuture<'a, Result<Listing, MetaError>> {
        in_tx!(self, |tx| list(
            &tx,
            "SELECT tag FROM tags WHERE repo = $1 AND tag > $2 ORDER BY tag LIMIT $3",
            name.as_str(),
            page,
        )
        .await?)
    }

    fn repositories<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<Listing, MetaError>> {
        in_tx!(self, |tx| list(
            &tx,
            "SELECT name FROM repositories WHERE $1 = $1 AND name > $2 ORDER BY name LIMIT $3",
            "",
            page,
        )
        .await?)
    }

    fn referrers<'a>(
        &'a self,
        name: &'a RepositoryName,
        subject: &'a Digest,
    ) -> BoxFuture<'a, Result<Vec<Descriptor>, MetaError>> {
        in_tx!(self, |tx| referrer_rows(
            &tx,
            name.as_str(),
            &subject.to_string()
        )
        .await?)
    }

    fn create_upload(&self, upload: UploadRecord) -> BoxFuture<'_, Result<(), MetaError>> {
        in_tx!(self, |tx| {
            tx.execute(
                "INSERT INTO uploads (id, repo, updated) VALUES ($1, $2, $3)",
                &[&upload.id, &upload.name.as_str(), &upload.updated],
            )
            .await?;
        })
    }

    fn upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<UploadRecord>, MetaError>> {
        in_tx!(self, |tx| tx
            .query_opt("SELECT repo, updated FROM uploads WHERE id = $1", &[&id])
            .await?
            .and_then(|r| {
                Some(UploadRecord {
                    name: r.get::<_, String>(0).parse().ok()?,
                    id: id.to_owned(),
                    updated: r.get(1),
                })
            }))
    }

    fn touch_upload<'a>(&'a self, id: &'a str, now: i64) -> BoxFuture<'a, Result<(), MetaError>> {
        in_tx!(self, |tx| {
            tx.execute(
                "UPDATE uploads SET updated = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
        })
    }

    fn hold_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<UploadHold, MetaError>> {
        Box::pin(async move {
            // The connection is owned by the hold before the lock is asked for: however this
            // ends (dropped, cancelled while waiting), the connection closes and PostgreSQL
            // releases the lock with the session.
            let hold = SessionHold {
                client: Some(self.holds.get().await?),
            };
            let client = hold.client.as_ref().expect("just set");
            client
                .execute(
                    "SELECT pg_advisory_lock(hashtextextended($1, 0))",
                    &[&format!("strata-registry upload {id}")],
                )
                .await?;
            Ok(Box::new(hold) as UploadHold)
        })
    }

    fn remove_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), MetaError>> {
        in_tx!(self, |tx| {
            tx.execute("DELETE FROM uploads WHERE id = $1", &[&id])
                .await?;
        })
    }

    fn stale_uploads(&self, before: i64) -> BoxFuture<'_, Result<Vec<String>, MetaError>> {
        in_tx!(self, |tx| tx
            .query("SELECT id FROM uploads WHERE updated < $1", &[&before])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn pin_blob<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<String, MetaError>> {
        let (id, digest) = (crate::storage::random_name(), digest.to_string());
        in_tx!(self, |tx| {
            lock(&tx, &blob_lock(&digest)).await?;
            tx.execute(
                "INSERT INTO blob_pins (id, digest, created) VALUES ($1, $2, $3)",
                &[&id, &digest, &crate::services::now()],
            )
            .await?;
            id
        })
    }

    fn unpin_blob<'a>(&'a self, pin: &'a str) -> BoxFuture<'a, Result<(), MetaError>> {
        in_tx!(self, |tx| {
            tx.execute("DELETE FROM blob_pins WHERE id = $1", &[&pin])
                .await?;
        })
    }

    fn gc_referenced(
        &self,
        stale_pins_before: i64,
    ) -> BoxFuture<'_, Result<HashSet<Digest>, MetaError>> {
        in_tx!(self, |tx| referenced(&tx, stale_pins_before).await?)
    }

    fn gc_untagged(
        &self,
        before: i64,
    ) -> BoxFuture<'_, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        in_tx!(self, |tx| untagged(&tx, before).await?)
    }

    fn gc_delete_untagged<'a>(
        &'a self,
        manifests: &'a [(RepositoryName, Digest)],
        before: i64,
    ) -> BoxFuture<'a, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        in_tx!(self, |tx| {
            let mut removed = Vec::new();
            for (name, digest) in manifests {
                if delete_untagged(&tx, name.as_str(), &digest.to_string(), before).await? {
                    removed.push((name.clone(), digest.clone()));
                }
            }
            removed
        })
    }

    fn gc_stale_links(
        &self,
        before: i64,
    ) -> BoxFuture<'_, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        in_tx!(self, |tx| stale_links(&tx, before).await?)
    }

    fn gc_unlink_stale<'a>(
        &'a self,
        links: &'a [(RepositoryName, Digest)],
        before: i64,
    ) -> BoxFuture<'a, Result<Vec<(RepositoryName, Digest)>, MetaError>> {
        in_tx!(self, |tx| {
            let mut removed = Vec::new();
            for (name, digest) in links {
                if unlink_stale(&tx, name.as_str(), &digest.to_string(), before).await? {
                    removed.push((name.clone(), digest.clone()));
                }
            }
            removed
        })
    }

    fn gc_sweep_blobs<'a>(
        &'a self,
        digests: &'a [Digest],
        remove: SweepBlob,
    ) -> BoxFuture<'a, Result<Vec<Option<u64>>, MetaError>> {
        in_tx!(self, |tx| {
            let mut freed = Vec::with_capacity(digests.len());
            for digest in digests {
                let hex = digest.to_string();
                lock(&tx, &blob_lock(&hex)).await?;
                let referenced: bool = tx.query_one(REFERENCED, &[&hex]).await?.get(0);
                freed.push(if referenced {
                    None
                } else {
                    remove(digest).await.map_err(|source| MetaError::Sweep {
                        digest: digest.clone(),
                        source,
                    })?
                });
            }
            freed
        })
    }

    fn create_robot(&self, robot: RobotRecord) -> BoxFuture<'_, Result<bool, MetaError>> {
        in_tx!(self, |tx| tx
            .execute(
                &format!(
                    "INSERT INTO robots ({ROBOT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT DO NOTHING"
                ),
                &[
                    &robot.name,
                    &robot.secret_sha256,
                    &robot.repositories.join("\n"),
                    &robot.actions.join(","),
                    &robot.created,
                    &robot.expires,
                ],
            )
            .await?
            == 1)
    }

    fn robot<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<RobotRecord>, MetaError>> {
        in_tx!(self, |tx| tx
            .query_opt(
                &format!("SELECT {ROBOT_COLUMNS} FROM robots WHERE name = $1"),
                &[&name],
            )
            .await?
            .as_ref()
            .map(robot_record))
    }

    fn robots(&self) -> BoxFuture<'_, Result<Vec<RobotRecord>, MetaError>> {
        in_tx!(self, |tx| tx
            .query(
                &format!("SELECT {ROBOT_COLUMNS} FROM robots ORDER BY name"),
                &[]
            )
            .await?
            .iter()
            .map(robot_record)
            .collect())
    }

    fn delete_robot<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, MetaError>> {
        in_tx!(self, |tx| tx
            .execute("DELETE FROM robots WHERE name = $1", &[&name])
            .await?
            > 0)
    }
    fn images<'a>(
        &'a self,
        name: Option<&'a RepositoryName>,
    ) -> BoxFuture<'a, Result<Vec<StoredImage>, MetaError>> {
        let repo = name.map_or("", |n| n.as_str());
        in_tx!(self, |tx| gov::images(&tx, repo, None).await?)
    }

    fn image<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<StoredImage>, MetaError>> {
        let digest = digest.to_string();
        in_tx!(self, |tx| gov::images(&tx, name.as_str(), Some(&digest))
            .await?
            .pop())
    }

    fn record_pull<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        now: i64,
    ) -> BoxFuture<'a, Result<(), MetaError>> {
        let digest = digest.to_string();
        in_tx!(self, |tx| gov::record_pull(
            &tx,
            name.as_str(),
            &digest,
            now
        )
        .await?)
    }

    fn repository_summaries(&self) -> BoxFuture<'_, Result<Vec<RepositorySummary>, MetaError>> {
        in_tx!(self, |tx| gov::summaries(&tx).await?)
    }

    fn set_owner<'a>(
        &'a self,
        name: &'a RepositoryName,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        in_tx!(self, |tx| gov::set_owner(&tx, name.as_str(), owner).await?)
    }

    fn owner<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<Option<String>, MetaError>> {
        in_tx!(self, |tx| gov::owner(&tx, name.as_str()).await?)
    }

    fn add_label<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        label: &'a str,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let digest = digest.to_string();
        in_tx!(self, |tx| gov::add_label(
            &tx,
            name.as_str(),
            &digest,
            label
        )
        .await?)
    }

    fn remove_label<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        label: &'a str,
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        let digest = digest.to_string();
        in_tx!(self, |tx| gov::remove_label(
            &tx,
            name.as_str(),
            &digest,
            label
        )
        .await?)
    }

    fn promote(&self, promotion: PromotionRecord) -> BoxFuture<'_, Result<bool, MetaError>> {
        in_tx!(self, |tx| gov::promote(&tx, &promotion).await?)
    }

    fn promotions<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<Vec<PromotionRecord>, MetaError>> {
        in_tx!(self, |tx| gov::promotions(&tx, name).await?)
    }

    fn tag_history<'a>(
        &'a self,
        name: &'a RepositoryName,
        tag: &'a Tag,
    ) -> BoxFuture<'a, Result<Vec<TagRecord>, MetaError>> {
        in_tx!(self, |tx| gov::tag_history(
            &tx,
            name.as_str(),
            tag.as_str()
        )
        .await?)
    }

    fn lineage_generation(&self) -> BoxFuture<'_, Result<i64, MetaError>> {
        in_tx!(self, |tx| gov::generation(&tx).await?)
    }
}
