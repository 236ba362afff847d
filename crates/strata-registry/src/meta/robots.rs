//! Robot accounts in SQLite: one row each, repositories newline-separated, actions
//! comma-separated, the secret only as its SHA-256.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::{MetaError, RobotRecord};

const COLUMNS: &str = "name, secret_sha256, repositories, actions, created, expires";

fn record(row: &Row<'_>) -> rusqlite::Result<RobotRecord> {
    let split = |text: String, sep: char| -> Vec<String> {
        text.split(sep)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    Ok(RobotRecord {
        name: row.get(0)?,
        secret_sha256: row.get(1)?,
        repositories: split(row.get(2)?, '\n'),
        actions: split(row.get(3)?, ','),
        created: row.get(4)?,
        expires: row.get(5)?,
    })
}

pub(super) fn create(tx: &Transaction<'_>, r: &RobotRecord) -> Result<bool, MetaError> {
    let n = tx.execute(
        &format!("INSERT OR IGNORE INTO robots ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            r.name,
            r.secret_sha256,
            r.repositories.join("\n"),
            r.actions.join(","),
            r.created,
            r.expires
        ],
    )?;
    Ok(n == 1)
}

pub(super) fn get(tx: &Transaction<'_>, name: &str) -> Result<Option<RobotRecord>, MetaError> {
    let sql = format!("SELECT {COLUMNS} FROM robots WHERE name = ?1");
    Ok(tx.query_row(&sql, [name], record).optional()?)
}

pub(super) fn list(tx: &Transaction<'_>) -> Result<Vec<RobotRecord>, MetaError> {
    let mut stmt = tx.prepare(&format!("SELECT {COLUMNS} FROM robots ORDER BY name"))?;
    let rows = stmt.query_map([], record)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn delete(tx: &Transaction<'_>, name: &str) -> Result<bool, MetaError> {
    Ok(tx.execute("DELETE FROM robots WHERE name = ?1", [name])? > 0)
}
