//! The metadata side of garbage collection on SQLite: what is referenced, which untagged
//! manifests and repository→blob links are collectable, pins that keep a blob alive while a
//! push writes it, and the re-checked removal of one blob inside a write transaction.

use std::collections::HashSet;

use rusqlite::{params, Transaction};
use strata_distribution::RepositoryName;
use strata_oci::Digest;

use super::{digest, MetaError};

/// Whether anything still references `digest`: a repository link, a manifest (its bytes
/// are a blob), a manifest's config/layer, or a pin of a push in flight.
const REFERENCED: &str = "
SELECT EXISTS(SELECT 1 FROM repo_blobs WHERE digest = ?1)
    OR EXISTS(SELECT 1 FROM manifests WHERE digest = ?1)
    OR EXISTS(SELECT 1 FROM manifest_blobs WHERE blob = ?1)
    OR EXISTS(SELECT 1 FROM blob_pins WHERE digest = ?1)";

/// Untagged manifests created at or before `?1`: no tag points at them, no manifest of their
/// repository lists them as a child (an index keeps its children), and their subject, if
/// any, is not in the repository (a referrer lives as long as what it refers to).
const UNTAGGED: &str = "
SELECT m.repo, m.digest FROM manifests m
WHERE m.created <= ?1
  AND NOT EXISTS(SELECT 1 FROM tags t WHERE t.repo = m.repo AND t.digest = m.digest)
  AND NOT EXISTS(SELECT 1 FROM manifest_children c WHERE c.repo = m.repo AND c.child = m.digest)
  AND (m.subject IS NULL
       OR NOT EXISTS(SELECT 1 FROM manifests s WHERE s.repo = m.repo AND s.digest = m.subject))";

/// Repository→blob links made at or before `?1` that no manifest of their repository
/// references and no push in flight pins: a blob pushed (or mounted) into a repository and
/// never used there. Dropping one leaves the blob to the sweep if nothing else uses it.
const STALE_LINKS: &str = "
SELECT l.repo, l.digest FROM repo_blobs l
WHERE l.linked <= ?1
  AND NOT EXISTS(SELECT 1 FROM manifest_blobs b WHERE b.blob = l.digest AND b.repo = l.repo)
  AND NOT EXISTS(SELECT 1 FROM blob_pins p WHERE p.digest = l.digest)";

/// Removes link `?2`→`?3` if it still is a stale link (see [`STALE_LINKS`]).
const UNLINK_STALE: &str = "
DELETE FROM repo_blobs AS l
WHERE l.repo = ?2 AND l.digest = ?3 AND l.linked <= ?1
  AND NOT EXISTS(SELECT 1 FROM manifest_blobs b WHERE b.blob = l.digest AND b.repo = l.repo)
  AND NOT EXISTS(SELECT 1 FROM blob_pins p WHERE p.digest = l.digest)";

pub(super) fn pin(tx: &Transaction<'_>, id: &str, digest: &str, now: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO blob_pins (id, digest, created) VALUES (?1, ?2, ?3)",
        params![id, digest, now],
    )
    .map(drop)
}

pub(super) fn unpin(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM blob_pins WHERE id = ?1", [id])
        .map(drop)
}

/// Every referenced digest, after dropping pins older than `stale_before` (left by a push
/// that died between pinning and linking).
pub(super) fn referenced(
    tx: &Transaction<'_>,
    stale_before: i64,
) -> Result<HashSet<Digest>, MetaError> {
    tx.execute("DELETE FROM blob_pins WHERE created < ?1", [stale_before])?;
    let mut stmt = tx.prepare(
        "SELECT digest FROM repo_blobs UNION SELECT digest FROM manifests
         UNION SELECT blob FROM manifest_blobs UNION SELECT digest FROM blob_pins",
    )?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(digest).collect()
}

pub(super) fn is_referenced(tx: &Transaction<'_>, digest: &str) -> rusqlite::Result<bool> {
    tx.prepare_cached(REFERENCED)?
        .query_row([digest], |r| r.get(0))
}

/// The collectable untagged manifests (see [`UNTAGGED`]).
pub(super) fn untagged(
    tx: &Transaction<'_>,
    before: i64,
) -> Result<Vec<(RepositoryName, Digest)>, MetaError> {
    repo_digests(tx, &format!("{UNTAGGED} ORDER BY m.repo, m.digest"), before)
}

/// Deletes manifest `digest` of `repo` if it is still a collectable untagged manifest.
pub(super) fn delete_untagged(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    before: i64,
) -> Result<bool, MetaError> {
    let still = tx
        .prepare_cached(&format!("{UNTAGGED} AND m.repo = ?2 AND m.digest = ?3"))?
        .exists(params![before, repo, digest])?;
    if !still {
        return Ok(false);
    }
    super::sqlite::remove_manifest(tx, repo, digest)
}

/// The stale links (see [`STALE_LINKS`]).
pub(super) fn stale_links(
    tx: &Transaction<'_>,
    before: i64,
) -> Result<Vec<(RepositoryName, Digest)>, MetaError> {
    repo_digests(
        tx,
        &format!("{STALE_LINKS} ORDER BY l.repo, l.digest"),
        before,
    )
}

/// The (repository, digest) rows `sql` selects for cut-off `before`.
fn repo_digests(
    tx: &Transaction<'_>,
    sql: &str,
    before: i64,
) -> Result<Vec<(RepositoryName, Digest)>, MetaError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt
        .query_map([before], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .filter_map(|(repo, d)| Some((repo.parse().ok()?, d)))
        .map(|(repo, d)| Ok((repo, digest(d)?)))
        .collect()
}

/// Removes each of `links` that still is stale; returns the ones removed.
pub(super) fn unlink_stale(
    tx: &Transaction<'_>,
    links: &[(RepositoryName, Digest)],
    before: i64,
) -> Result<Vec<(RepositoryName, Digest)>, MetaError> {
    let mut stmt = tx.prepare_cached(UNLINK_STALE)?;
    let mut removed = Vec::new();
    for (name, d) in links {
        if stmt.execute(params![before, name.as_str(), d.to_string()])? > 0 {
            removed.push((name.clone(), d.clone()));
        }
    }
    Ok(removed)
}
