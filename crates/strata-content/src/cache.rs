//! The build cache (opaque records keyed by cache key, keeping blobs alive) and the context
//! file-hash cache (stat stamps → content digests, for fast warm builds).

use std::collections::HashMap;
use std::time::SystemTime;

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use strata_oci::Digest;

use crate::db::{from_ns, now_ns, to_ns};
use crate::error::{Error, Result};
use crate::store::Store;

/// One build-cache record. `value` is opaque to the store; `blobs` are kept by GC as long as
/// the record exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRecord {
    pub key: String,
    pub value: Vec<u8>,
    pub blobs: Vec<Digest>,
    pub created: SystemTime,
    pub last_used: SystemTime,
}

impl CacheRecord {
    /// A new record, created and used now.
    pub fn new(key: impl Into<String>, value: Vec<u8>, blobs: Vec<Digest>) -> CacheRecord {
        let now = SystemTime::now();
        CacheRecord {
            key: key.into(),
            value,
            blobs,
            created: now,
            last_used: now,
        }
    }
}

/// What a context file looked like when its content was hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ino: u64,
    pub ctime_ns: i64,
    pub mode: u32,
    pub digest: Digest,
}

impl Store {
    /// The record for `key`, marking it used. A record whose blobs have gone is dropped and
    /// reported as a miss.
    pub fn cache_get(&self, key: &str) -> Result<Option<CacheRecord>> {
        let row: Option<(Vec<u8>, i64)> = self
            .conn()
            .query_row(
                "SELECT value, created FROM cache WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((value, created)) = row else {
            return Ok(None);
        };
        let blobs = self.cache_blobs(key)?;
        if let Some(missing) = blobs.iter().find(|d| !self.has_blob(d)) {
            tracing::warn!(key, digest = %missing, "cache record lost a blob; dropping it");
            self.cache_delete(key)?;
            return Ok(None);
        }
        let now = now_ns();
        self.conn().execute(
            "UPDATE cache SET last_used = ?1 WHERE key = ?2",
            params![now, key],
        )?;
        Ok(Some(CacheRecord {
            key: key.to_owned(),
            value,
            blobs,
            created: from_ns(created),
            last_used: from_ns(now),
        }))
    }

    fn cache_blobs(&self, key: &str) -> Result<Vec<Digest>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT digest FROM cache_blobs WHERE key = ?1")?;
        let rows = stmt.query_map([key], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(d) = row?.parse() {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Inserts or replaces a record. Its blobs must be in the store.
    pub fn cache_put(&self, rec: &CacheRecord) -> Result<()> {
        if let Some(missing) = rec.blobs.iter().find(|d| !self.has_blob(d)) {
            return Err(Error::BlobNotFound {
                digest: missing.clone(),
            });
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM cache WHERE key = ?1", [&rec.key])?;
        tx.execute(
            "INSERT INTO cache (key, value, created, last_used) VALUES (?1, ?2, ?3, ?4)",
            params![rec.key, rec.value, to_ns(rec.created), to_ns(rec.last_used)],
        )?;
        for d in &rec.blobs {
            tx.execute(
                "INSERT OR IGNORE INTO cache_blobs (key, digest) VALUES (?1, ?2)",
                params![rec.key, d.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes a record; whether it existed.
    pub fn cache_delete(&self, key: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM cache WHERE key = ?1", [key])?
            > 0)
    }

    /// How many cache records there are.
    pub fn cache_len(&self) -> Result<usize> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM cache", [], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// Every known file stamp of a build context (keyed by path relative to the context).
    pub fn file_hashes(&self, context: &str) -> Result<HashMap<String, FileStamp>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT stamps FROM context_files WHERE context = ?1")?;
        let mut rows = stmt.query([context])?;
        match rows.next()? {
            Some(row) => Ok(decode_stamps(row.get_ref(0)?.as_blob().unwrap_or_default())),
            None => Ok(HashMap::new()),
        }
    }

    /// Inserts or updates stamps of a context, in one transaction.
    pub fn put_file_hashes(&self, context: &str, rows: &[(String, FileStamp)]) -> Result<()> {
        self.write_file_hashes(context, rows, false)
    }

    /// Replaces all stamps of a context with `rows` (files gone from the context are dropped).
    pub fn replace_file_hashes(&self, context: &str, rows: &[(String, FileStamp)]) -> Result<()> {
        self.write_file_hashes(context, rows, true)
    }

    fn write_file_hashes(
        &self,
        context: &str,
        rows: &[(String, FileStamp)],
        replace: bool,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut all = HashMap::new();
        if !replace {
            let old: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT stamps FROM context_files WHERE context = ?1",
                    [context],
                    |r| r.get(0),
                )
                .optional()?;
            all = old.map(|b| decode_stamps(&b)).unwrap_or_default();
        }
        for (path, stamp) in rows {
            all.insert(path.clone(), stamp.clone());
        }
        tx.execute(
            "INSERT OR REPLACE INTO context_files (context, stamps, updated_at)
             VALUES (?1, ?2, ?3)",
            params![context, encode_stamps(&all), now_ns()],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// The stamps of one context as one blob: per file `len u32, path, size u64, mtime i64,
/// ino u64, ctime i64, mode u32, sha256 [u8; 32]`, little-endian, after a version byte.
fn encode_stamps(stamps: &HashMap<String, FileStamp>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + stamps.len() * 100);
    out.push(STAMPS_VERSION);
    for (path, s) in stamps {
        out.extend_from_slice(&(path.len() as u32).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&s.size.to_le_bytes());
        out.extend_from_slice(&s.mtime_ns.to_le_bytes());
        out.extend_from_slice(&s.ino.to_le_bytes());
        out.extend_from_slice(&s.ctime_ns.to_le_bytes());
        out.extend_from_slice(&s.mode.to_le_bytes());
        let mut raw = [0u8; 32];
        let _ = hex::decode_to_slice(s.digest.hex(), &mut raw);
        out.extend_from_slice(&raw);
    }
    out
}

const STAMPS_VERSION: u8 = 1;

/// The inverse of `encode_stamps`; a damaged or unknown blob decodes to what it can (a
/// cache miss costs a re-hash, never a wrong answer: the stamps must still match).
fn decode_stamps(mut b: &[u8]) -> HashMap<String, FileStamp> {
    let mut out = HashMap::with_capacity(b.len() / 96);
    if b.first() != Some(&STAMPS_VERSION) {
        return out;
    }
    b = &b[1..];
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        *b = rest;
        Some(head)
    }
    fn u64_of(b: &mut &[u8]) -> Option<u64> {
        Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
    }
    let next = |b: &mut &[u8]| -> Option<(String, FileStamp)> {
        let len = u32::from_le_bytes(take(b, 4)?.try_into().ok()?) as usize;
        let path = std::str::from_utf8(take(b, len)?).ok()?.to_owned();
        let size = u64_of(b)?;
        let mtime_ns = u64_of(b)? as i64;
        let ino = u64_of(b)?;
        let ctime_ns = u64_of(b)? as i64;
        let mode = u32::from_le_bytes(take(b, 4)?.try_into().ok()?);
        let digest = Digest::from_raw(take(b, 32)?.try_into().ok()?);
        Some((
            path,
            FileStamp {
                size,
                mtime_ns,
                ino,
                ctime_ns,
                mode,
                digest,
            },
        ))
    };
    while !b.is_empty() {
        match next(&mut b) {
            Some((path, stamp)) => {
                out.insert(path, stamp);
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        (dir, s)
    }

    #[test]
    fn cache_records_round_trip_and_track_use() {
        let (_d, s) = store();
        let blob = s.put_blob(b"layer").unwrap();
        assert!(s.cache_get("k").unwrap().is_none());
        let rec = CacheRecord::new("k", b"{\"x\":1}".to_vec(), vec![blob.clone()]);
        s.cache_put(&rec).unwrap();
        let got = s.cache_get("k").unwrap().unwrap();
        assert_eq!(got.value, rec.value);
        assert_eq!(got.blobs, vec![blob]);
        assert!(got.last_used >= rec.last_used);
        let missing = CacheRecord::new("m", vec![], vec![Digest::of(b"absent")]);
        assert!(matches!(
            s.cache_put(&missing),
            Err(Error::BlobNotFound { .. })
        ));
        assert_eq!(s.cache_len().unwrap(), 1);
    }

    #[test]
    fn cache_record_with_a_lost_blob_is_a_miss() {
        let (_d, s) = store();
        let blob = s.put_blob(b"layer").unwrap();
        s.cache_put(&CacheRecord::new("k", vec![1], vec![blob.clone()]))
            .unwrap();
        std::fs::remove_file(s.blob_path(&blob)).unwrap();
        assert!(s.cache_get("k").unwrap().is_none());
        assert_eq!(s.cache_len().unwrap(), 0);
    }

    fn stamp(i: u64) -> FileStamp {
        FileStamp {
            size: i,
            mtime_ns: i as i64 * 1000,
            ino: i + 7,
            ctime_ns: -1,
            mode: 0o100644,
            digest: Digest::of(&i.to_le_bytes()),
        }
    }

    #[test]
    fn file_hashes_are_fast_in_bulk() {
        let (_d, s) = store();
        let rows: Vec<(String, FileStamp)> = (0..20_000)
            .map(|i| (format!("src/dir{}/file{i}.rs", i % 100), stamp(i)))
            .collect();
        let t = Instant::now();
        s.put_file_hashes("/ctx", &rows).unwrap();
        let write = t.elapsed();
        let t = Instant::now();
        let got = s.file_hashes("/ctx").unwrap();
        let read = t.elapsed();
        assert_eq!(got.len(), 20_000);
        assert_eq!(got["src/dir5/file5.rs"], stamp(5));
        assert!(s.file_hashes("/other").unwrap().is_empty());
        eprintln!("20k file hashes: write {write:?}, read {read:?}");
        // The budget (write < 100 ms, read < 20 ms) holds for optimised builds; debug builds
        // of this crate are ~5x slower.
        let slack = if cfg!(debug_assertions) { 8 } else { 1 };
        assert!(write.as_millis() < 100 * slack, "write took {write:?}");
        assert!(read.as_millis() < 20 * slack, "read took {read:?}");
        s.put_file_hashes("/ctx", &[("new".into(), stamp(1))])
            .unwrap();
        assert_eq!(s.file_hashes("/ctx").unwrap().len(), 20_001);
        s.replace_file_hashes("/ctx", &rows[..10]).unwrap();
        assert_eq!(s.file_hashes("/ctx").unwrap().len(), 10);
    }
}
