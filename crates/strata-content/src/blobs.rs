//! Content-addressed blobs: atomic, verified writes and (optionally verified) reads.
//!
//! A blob is written to a temp file in `tmp/`, hashed as it is written, fsynced, checked
//! against the expected digest and only then renamed to `blobs/sha256/<hex>`. A blob that is
//! already present is kept (same digest, same content), unless its size is wrong.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};
use strata_oci::{Digest, Sha256Writer};
use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::store::Store;

/// A blob being written. `commit` verifies and publishes it; dropping it without a commit
/// removes the temp file.
pub struct BlobWriter {
    store: Store,
    tmp_path: PathBuf,
    inner: Option<Sha256Writer<BufWriter<NamedTempFile>>>,
}

impl Store {
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// The size of a stored blob, or `BlobNotFound`.
    pub fn blob_size(&self, d: &Digest) -> Result<u64> {
        match fs::metadata(self.blob_path(d)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Error::BlobNotFound { digest: d.clone() })
            }
            Err(e) => Err(Error::io(self.blob_path(d))(e)),
        }
    }

    /// Stores `bytes` and returns their digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::of(bytes);
        if self.blob_size(&digest).ok() == Some(bytes.len() as u64) {
            return Ok(digest);
        }
        let mut w = self.blob_writer()?;
        w.write_all(bytes).map_err(Error::io(&w.tmp_path))?;
        w.commit(Some(&digest))?;
        Ok(digest)
    }

    /// A writer for a new blob (see [`BlobWriter::commit`]).
    pub fn blob_writer(&self) -> Result<BlobWriter> {
        let tmp = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.inner.tmp_dir)
            .map_err(Error::io(&self.inner.tmp_dir))?;
        let tmp_path = tmp.path().to_owned();
        self.inner
            .active_tmp
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tmp_path.clone());
        Ok(BlobWriter {
            store: self.clone(),
            tmp_path,
            inner: Some(Sha256Writer::new(BufWriter::with_capacity(1 << 20, tmp))),
        })
    }

    /// The whole blob, verified against its digest.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_blob(d)?
            .read_to_end(&mut bytes)
            .map_err(Error::io(self.blob_path(d)))?;
        let actual = Digest::of(&bytes);
        if &actual != d {
            return Err(Error::BlobCorrupt {
                digest: d.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// The blob file, unverified (use [`Store::verify_blob`] when it matters).
    pub fn open_blob(&self, d: &Digest) -> Result<File> {
        let path = self.blob_path(d);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::BlobNotFound { digest: d.clone() },
            _ => Error::io(path)(e),
        })
    }

    /// A verified blob, parsed as JSON.
    pub fn read_json<T: DeserializeOwned>(&self, d: &Digest) -> Result<T> {
        let bytes = self.read_blob(d)?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            digest: d.clone(),
            source,
        })
    }

    /// Re-hashes a stored blob; `BlobCorrupt` if it does not match its name.
    pub fn verify_blob(&self, d: &Digest) -> Result<()> {
        let mut file = self.open_blob(d)?;
        let mut hasher = Sha256Writer::new(io::sink());
        io::copy(&mut file, &mut hasher).map_err(Error::io(self.blob_path(d)))?;
        let (actual, _, _) = hasher.finish();
        if &actual != d {
            return Err(Error::BlobCorrupt {
                digest: d.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Every blob in the store with its size.
    pub fn list_blobs(&self) -> Result<Vec<(Digest, u64)>> {
        let dir = &self.inner.blobs_dir;
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
            let entry = entry.map_err(Error::io(dir))?;
            let name = entry.file_name();
            let Some(d) = name.to_str().and_then(|n| Digest::from_hex(n).ok()) else {
                continue;
            };
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push((d, len));
        }
        out.sort();
        Ok(out)
    }
}

impl BlobWriter {
    /// Flushes, fsyncs and verifies the blob (against `expected` when given), then moves it
    /// into the store. Returns its digest and size.
    pub fn commit(mut self, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        let writer = self.inner.take().expect("a blob writer commits once");
        let (digest, size, buf) = writer.finish();
        let tmp = buf
            .into_inner()
            .map_err(|e| Error::io(&self.tmp_path)(e.into_error()))?;
        if let Some(expected) = expected {
            if expected != &digest {
                return Err(Error::DigestMismatch {
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        let target = self.store.blob_path(&digest);
        if self.store.blob_size(&digest).ok() == Some(size) {
            return Ok((digest, size)); // already there; the temp file goes on drop
        }
        tmp.as_file()
            .sync_all()
            .map_err(Error::io(&self.tmp_path))?;
        tmp.persist(&target)
            .map_err(|e| Error::io(&target)(e.error))?;
        sync_dir(&self.store.inner.blobs_dir);
        tracing::trace!(%digest, size, "stored blob");
        Ok((digest, size))
    }

    /// The temp file being written.
    pub fn path(&self) -> &std::path::Path {
        &self.tmp_path
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .as_mut()
            .expect("blob writer used after commit")
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // The NamedTempFile (if not persisted) removes itself when `inner` drops.
        drop(self.inner.take());
        let _ = fs::remove_file(&self.tmp_path).or_else(|e| match e.kind() {
            io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        });
        self.store
            .inner
            .active_tmp
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.tmp_path);
    }
}

fn sync_dir(dir: &std::path::Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// The sha256 of everything `r` yields.
pub(crate) fn digest_reader(mut r: impl Read) -> io::Result<(Digest, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n_total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        n_total += n as u64;
    }
    Ok((Digest::from_raw(hasher.finalize().into()), n_total))
}

/// A place whole blobs can be streamed from: the store, or an image read where it lies
/// (an OCI layout, a docker-archive tar). Unless [`BlobSource::verified`], a caller that
/// reads a blob to the end checks its digest (`strata_check::image::walk` does).
pub trait BlobSource: Sync {
    /// The bytes of blob `digest`.
    fn blob_reader(&self, digest: &Digest) -> io::Result<Box<dyn io::Read + Send>>;

    /// Whether every blob was verified against its digest when it was written, so a reader
    /// need not hash it again (the store: blobs are committed only once their digest
    /// matched, as containerd's content store).
    fn verified(&self) -> bool {
        false
    }
}

impl BlobSource for Store {
    fn blob_reader(&self, digest: &Digest) -> io::Result<Box<dyn io::Read + Send>> {
        Ok(Box::new(File::open(self.blob_path(digest))?))
    }

    fn verified(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        (dir, s)
    }

    fn tmp_count(s: &Store) -> usize {
        fs::read_dir(s.root().join("tmp")).unwrap().count()
    }

    #[test]
    fn put_and_read_round_trip() {
        let (_d, s) = store();
        let d = s.put_blob(b"hello").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert!(s.has_blob(&d));
        assert_eq!(s.read_blob(&d).unwrap(), b"hello");
        assert_eq!(s.put_blob(b"hello").unwrap(), d);
        s.verify_blob(&d).unwrap();
        assert_eq!(tmp_count(&s), 0);
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let (_d, s) = store();
        let mut w = s.blob_writer().unwrap();
        w.write_all(&[7u8; 100_000]).unwrap();
        assert_eq!(tmp_count(&s), 1);
        drop(w);
        assert_eq!(tmp_count(&s), 0);
        assert!(s.list_blobs().unwrap().is_empty());
    }

    #[test]
    fn wrong_expected_digest_is_rejected() {
        let (_d, s) = store();
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"real content").unwrap();
        let wrong = Digest::of(b"other content");
        let err = w.commit(Some(&wrong)).unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        assert!(s.list_blobs().unwrap().is_empty());
        assert_eq!(tmp_count(&s), 0);
    }

    #[test]
    fn corrupt_blob_is_detected_on_read() {
        let (_d, s) = store();
        let d = s.put_blob(b"payload").unwrap();
        fs::write(s.blob_path(&d), b"payloaX").unwrap();
        assert!(matches!(s.read_blob(&d), Err(Error::BlobCorrupt { .. })));
        assert!(matches!(s.verify_blob(&d), Err(Error::BlobCorrupt { .. })));
        assert!(matches!(
            s.read_blob(&Digest::of(b"nope")),
            Err(Error::BlobNotFound { .. })
        ));
    }

    #[test]
    fn concurrent_writers_of_the_same_and_different_blobs() {
        let (_d, s) = store();
        std::thread::scope(|scope| {
            for i in 0..8u8 {
                let s = s.clone();
                scope.spawn(move || {
                    for j in 0..20u8 {
                        let mut w = s.blob_writer().unwrap();
                        w.write_all(&vec![j; 50_000]).unwrap();
                        w.commit(None).unwrap();
                        s.put_blob(&[i, j]).unwrap();
                    }
                });
            }
        });
        assert_eq!(s.list_blobs().unwrap().len(), 20 + 8 * 20);
        for (d, _) in s.list_blobs().unwrap() {
            s.verify_blob(&d).unwrap();
        }
        assert_eq!(tmp_count(&s), 0);
    }
}
