//! The embedded database (SQLite, WAL): schema, migrations and connection settings.
//!
//! The schema version lives in `PRAGMA user_version`. Migrations run in an immediate
//! transaction that re-reads the version, so two processes opening a fresh store at once
//! apply each migration exactly once.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE images (
        manifest_digest TEXT PRIMARY KEY,
        config_digest   TEXT NOT NULL,
        size            INTEGER NOT NULL,
        created         TEXT,
        added_at        INTEGER NOT NULL
    );
    CREATE INDEX images_config ON images(config_digest);
    CREATE TABLE tags (
        reference       TEXT PRIMARY KEY,
        manifest_digest TEXT NOT NULL REFERENCES images(manifest_digest),
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX tags_manifest ON tags(manifest_digest);
    CREATE TABLE cache (
        key       TEXT PRIMARY KEY,
        value     BLOB NOT NULL,
        created   INTEGER NOT NULL,
        last_used INTEGER NOT NULL
    );
    CREATE TABLE cache_blobs (
        key    TEXT NOT NULL REFERENCES cache(key) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        PRIMARY KEY (key, digest)
    ) WITHOUT ROWID;
    CREATE INDEX cache_blobs_digest ON cache_blobs(digest);
    CREATE TABLE context_files (
        context    TEXT PRIMARY KEY,
        stamps     BLOB NOT NULL,
        updated_at INTEGER NOT NULL
    );
"#,
    r#"
    -- docker's RepoDigests: the digest a registry knows an image by in a repository (the
    -- index's when it was pulled from one, else its manifest's).
    CREATE TABLE repo_digests (
        repository      TEXT NOT NULL,
        digest          TEXT NOT NULL,
        manifest_digest TEXT NOT NULL REFERENCES images(manifest_digest) ON DELETE CASCADE,
        PRIMARY KEY (repository, digest)
    ) WITHOUT ROWID;
    CREATE INDEX repo_digests_manifest ON repo_digests(manifest_digest);
"#,
    r#"
    -- When an image was last used (pulled, run, used as a base, tagged); NULL when never
    -- since it was stored. `prune --keep-last` ranks images by it (see usage.rs).
    ALTER TABLE images ADD COLUMN last_used INTEGER;
"#,
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long opening waits for other connections that are setting up the same database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating and migrating) the database at `path`.
///
/// Switching a new database to WAL takes an exclusive lock, and SQLite answers `SQLITE_BUSY`
/// to a connection that meets it there without calling the busy handler; so when several
/// processes (or handles) open a fresh store at once, the setup is retried until
/// [`BUSY_TIMEOUT`]. WAL mode is persistent: once set, later opens only read it.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match open_once(path) {
            Err(Error::Db(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                tracing::debug!(path = %path.display(), "store database busy while opening; retrying");
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn open_once(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tracing::debug!(from = i, to = i + 1, "migrating store database");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Now, as nanoseconds since the Unix epoch (the time unit of every DB column).
pub(crate) fn now_ns() -> i64 {
    to_ns(SystemTime::now())
}

pub(crate) fn to_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

pub(crate) fn from_ns(ns: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: several handles opening a fresh store at once got "database is locked"
    /// from the switch to WAL, which SQLite answers without calling the busy handler.
    #[test]
    fn a_fresh_database_opened_by_many_connections_at_once() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db");
            let start = std::sync::Barrier::new(8);
            std::thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| {
                        start.wait();
                        let conn = open(&path).unwrap();
                        let mode: String = conn
                            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                            .unwrap();
                        assert_eq!(mode, "wal");
                    });
                }
            });
        }
    }

    #[test]
    fn migrates_once_and_rejects_newer_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        drop(open(&path).unwrap());
        let conn = open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            open(&path),
            Err(Error::SchemaTooNew { found: 99, .. })
        ));
    }
}
