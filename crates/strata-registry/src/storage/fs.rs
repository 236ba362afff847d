//! The filesystem blob store: `blobs/sha256/<hex>` (OCI-layout shaped), uploads in
//! `uploads/<id>`, whole writes through `tmp/`. Every blob is written elsewhere, hashed,
//! synced and renamed into place.

use std::collections::{HashMap, HashSet};
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use strata_distribution::ByteRange;
use strata_oci::Digest;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BlobReader, Blobs, ByteStream, StorageError, StoredBlob};

/// The hash of an upload's first `len` bytes, kept while it is written in order so that
/// finishing it does not read it again.
struct Running {
    hasher: Sha256,
    len: u64,
}

/// Blobs in a directory (the embedded default).
pub struct FsBlobs {
    root: PathBuf,
    running: Mutex<HashMap<String, Running>>,
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StorageError + 'a {
    move |source| StorageError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

impl FsBlobs {
    /// Opens (creating) the store under `root`.
    pub fn open(root: &Path) -> Result<FsBlobs, StorageError> {
        for dir in ["blobs/sha256", "uploads", "tmp"] {
            let path = root.join(dir);
            std::fs::create_dir_all(&path).map_err(io_err("create", &path))?;
        }
        Ok(FsBlobs {
            root: root.to_owned(),
            running: Mutex::new(HashMap::new()),
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn read_range(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<BlobReader, StorageError> {
        let path = self.blob_path(digest);
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || map_range(&path, range))
        };
        let opened = opened
            .await
            .map_err(|e| io_err("open", &path)(io::Error::other(e)))?;
        match opened {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::BlobNotFound {
                digest: digest.clone(),
            }),
            other => other.map_err(io_err("read", &path)),
        }
    }

    async fn put_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<(), StorageError> {
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(StorageError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        let tmp = self.root.join("tmp").join(random_name());
        let mut file = File::create(&tmp).await.map_err(io_err("create", &tmp))?;
        let written = async {
            file.write_all(&bytes).await?;
            file.sync_all().await
        }
        .await;
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp).await;
            return Err(StorageError::Io {
                action: "write",
                path: tmp,
                source,
            });
        }
        self.rename_into_place(&tmp, digest).await
    }

    async fn rename_into_place(&self, from: &Path, digest: &Digest) -> Result<(), StorageError> {
        let to = self.blob_path(digest);
        if let Err(source) = fs::rename(from, &to).await {
            let _ = fs::remove_file(from).await;
            return Err(StorageError::Io {
                action: "rename into place",
                path: to,
                source,
            });
        }
        Ok(())
    }

    /// Every `blobs/<algorithm>/<hex>` whose name parses as a digest.
    fn list_sync(root: &Path) -> Result<Vec<StoredBlob>, StorageError> {
        let top = root.join("blobs");
        let mut out = Vec::new();
        for algorithm in std::fs::read_dir(&top).map_err(io_err("list", &top))? {
            let dir = algorithm.map_err(io_err("list", &top))?.path();
            let algo = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let algo = algo.to_owned();
            for entry in std::fs::read_dir(&dir).map_err(io_err("list", &dir))? {
                let entry = entry.map_err(io_err("list", &dir))?;
                let name = entry.file_name();
                let Ok(digest) = format!("{algo}:{}", name.to_string_lossy()).parse() else {
                    continue;
                };
                let meta = match entry.metadata() {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err("stat", &entry.path())(e)),
                };
                let modified = meta.modified().map_err(io_err("stat", &entry.path()))?;
                out.push(StoredBlob {
                    digest,
                    size: meta.len(),
                    modified,
                });
            }
        }
        Ok(out)
    }

    /// Removes the files of `tmp/`, and those of `uploads/` not in `sessions`, that were
    /// last written before `before`.
    fn remove_orphans_sync(
        root: &Path,
        before: SystemTime,
        sessions: &HashSet<String>,
    ) -> Result<usize, StorageError> {
        let mut removed = 0;
        for dir in ["tmp", "uploads"] {
            let dir = root.join(dir);
            for entry in std::fs::read_dir(&dir).map_err(io_err("list", &dir))? {
                let entry = entry.map_err(io_err("list", &dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if sessions.contains(&name) {
                    continue;
                }
                let modified = match entry.metadata().and_then(|m| m.modified()) {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err("stat", &entry.path())(e)),
                };
                if modified >= before {
                    continue;
                }
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("remove", &entry.path())(e)),
                }
            }
        }
        Ok(removed)
    }

    async fn upload_len(&self, id: &str) -> Result<u64, StorageError> {
        let path = self.upload_path(id);
        match fs::metadata(&path).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StorageError::UploadNotFound { id: id.to_owned() })
            }
            Err(e) => Err(io_err("stat", &path)(e)),
        }
    }

    async fn append(&self, id: &str, offset: u64, body: ByteStream) -> Result<u64, StorageError> {
        let path = self.upload_path(id);
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .await
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => StorageError::UploadNotFound { id: id.to_owned() },
                _ => io_err("open", &path)(e),
            })?;
        let file = file.into_std().await;
        let running = self.take_running(id, offset);
        let (written, running) = write_body(file, offset, body, running).await;
        match written {
            Ok(len) => {
                if let Some(mut r) = running {
                    r.len = len;
                    self.running().insert(id.to_owned(), r);
                }
                Ok(len)
            }
            Err(Failure::Body(source)) => Err(StorageError::Body {
                id: id.to_owned(),
                source,
            }),
            Err(Failure::Write(e)) => Err(io_err("write", &path)(e)),
        }
    }

    /// The running hash of an upload when it covers exactly its first `offset` bytes.
    fn take_running(&self, id: &str, offset: u64) -> Option<Running> {
        match self.running().remove(id) {
            Some(r) if r.len == offset => Some(r),
            None if offset == 0 => Some(Running {
                hasher: Sha256::new(),
                len: 0,
            }),
            _ => None,
        }
    }

    async fn finish(&self, id: &str, expected: &Digest) -> Result<u64, StorageError> {
        let path = self.upload_path(id);
        let len = self.upload_len(id).await?;
        let running = self.running().remove(id);
        let actual = match running {
            Some(r) if r.len == len => Digest::from_raw(r.hasher.finalize().into()),
            _ => hash_file(&path).await?,
        };
        if &actual != expected {
            self.abort(id).await?;
            return Err(StorageError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        let file = File::open(&path).await.map_err(io_err("open", &path))?;
        file.sync_all().await.map_err(io_err("sync", &path))?;
        self.rename_into_place(&path, expected).await?;
        Ok(len)
    }

    async fn abort(&self, id: &str) -> Result<(), StorageError> {
        self.running().remove(id);
        let path = self.upload_path(id);
        match fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}

/// Bytes per chunk of a blob being served (one `writev` entry for the HTTP layer).
const READ_CHUNK: u64 = 256 << 10;
/// Request body chunks queued for an upload's writer (and written with one `writev`).
const QUEUED_CHUNKS: usize = 16;

/// `range` of the blob file at `path` (all of it when `None`) as chunks of one read-only
/// map of the file: the HTTP layer writes them to the socket straight from the page cache
/// (one copy, in the kernel), where reading into buffers would copy every byte twice. The
/// map is populated here, on a blocking thread, so the async writer never waits on a page
/// fault (or the disk).
fn map_range(path: &Path, range: Option<ByteRange>) -> io::Result<BlobReader> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let (start, len) = match range {
        None => (0, size),
        Some(r) => (r.start, r.len()),
    };
    if len == 0 {
        return Ok(Box::pin(futures_util::stream::empty()));
    }
    if start.checked_add(len).is_none_or(|end| end > size) {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
    }
    // SAFETY: a blob file is immutable once it is in place: written under `tmp/`, verified
    // and renamed; strata never opens it for writing again, and garbage collection unlinks
    // it (the map keeps the inode). Only another process truncating a blob file behind the
    // server's back could make an access fault (SIGBUS) — the documented cost.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(start)
            .len(len as usize)
            .populate()
            .map(&file)?
    };
    let _ = map.advise(memmap2::Advice::Sequential);
    let bytes = Bytes::from_owner(map);
    let chunks = (0..len as usize)
        .step_by(READ_CHUNK as usize)
        .map(move |at| Ok(bytes.slice(at..(at + READ_CHUNK as usize).min(len as usize))));
    Ok(Box::pin(futures_util::stream::iter(chunks)))
}

/// Why an append stopped.
enum Failure {
    /// The request body failed (the client went away).
    Body(io::Error),
    /// Writing the upload failed.
    Write(io::Error),
}

/// What the writer of an append is told.
enum Batch {
    Bytes(Bytes),
    /// The body is complete: keep what was written.
    Done,
}

/// Appends `body` to `file` at `offset`: each chunk of the body goes as it arrives to one
/// blocking task, which hashes it (into `running`, when given) and writes what has queued
/// up with one vectored write (chunks are released at once, so the HTTP layer reuses its
/// buffers). Unless the body completes and every write succeeds (a failure, or the request
/// dropped half-way), the upload is cut back to `offset`. Returns the new length and the
/// running hash.
async fn write_body(
    file: std::fs::File,
    offset: u64,
    mut body: ByteStream,
    running: Option<Running>,
) -> (Result<u64, Failure>, Option<Running>) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(QUEUED_CHUNKS);
    let writer = tokio::task::spawn_blocking(move || write_batches(file, offset, rx, running));
    let mut failed = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                if tx.send(Batch::Bytes(chunk)).await.is_err() {
                    break; // the writer failed: its error comes below
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if failed.is_none() {
        let _ = tx.send(Batch::Done).await;
    }
    drop(tx);
    let (written, running) = match writer.await {
        Ok(out) => out,
        Err(e) => (Err(io::Error::other(e)), None),
    };
    match (failed, written) {
        (_, Err(e)) => (Err(Failure::Write(e)), None),
        (Some(e), Ok(_)) => (Err(Failure::Body(e)), None),
        (None, Ok(len)) => (Ok(len), running),
    }
}

/// The blocking side of [`write_body`]: writes chunks until `Done`; cuts the upload
/// back to `offset` when a write fails or the sender stops without `Done`.
fn write_batches(
    mut file: std::fs::File,
    offset: u64,
    mut rx: tokio::sync::mpsc::Receiver<Batch>,
    mut running: Option<Running>,
) -> (io::Result<u64>, Option<Running>) {
    match write_until_done(&mut file, offset, &mut rx, running.as_mut()) {
        Ok(Some(len)) => (Ok(len), running),
        Ok(None) => {
            cut_back(&file, offset);
            (Ok(offset), None)
        }
        Err(e) => {
            cut_back(&file, offset);
            (Err(e), None)
        }
    }
}

/// The new length once `Done` arrives, `None` when the sender stopped without it.
fn write_until_done(
    file: &mut std::fs::File,
    offset: u64,
    rx: &mut tokio::sync::mpsc::Receiver<Batch>,
    mut running: Option<&mut Running>,
) -> io::Result<Option<u64>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut len = offset;
    let mut batch = Vec::with_capacity(QUEUED_CHUNKS);
    loop {
        // One chunk (waiting for it), then whatever else is queued already.
        let mut done = match rx.blocking_recv() {
            Some(Batch::Bytes(chunk)) => {
                batch.push(chunk);
                false
            }
            Some(Batch::Done) => true,
            None => return Ok(None),
        };
        while !done && batch.len() < QUEUED_CHUNKS {
            match rx.try_recv() {
                Ok(Batch::Bytes(chunk)) => batch.push(chunk),
                Ok(Batch::Done) => done = true,
                Err(_) => break,
            }
        }
        if let Some(r) = running.as_deref_mut() {
            batch.iter().for_each(|chunk| r.hasher.update(chunk));
        }
        write_all_vectored(file, &batch)?;
        len += batch.iter().map(|c| c.len() as u64).sum::<u64>();
        batch.clear();
        if done {
            return Ok(Some(len));
        }
    }
}

/// Writes every byte of `batch`, as few `writev` calls as it takes.
fn write_all_vectored(file: &mut std::fs::File, batch: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Cuts a failed append back, so the upload holds what it held before.
fn cut_back(file: &std::fs::File, len: u64) {
    if let Err(error) = file.set_len(len) {
        tracing::warn!(%error, len, "cannot truncate an upload after a failed append");
    }
}

async fn hash_file(path: &Path) -> Result<Digest, StorageError> {
    let mut file = File::open(path).await.map_err(io_err("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await.map_err(io_err("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Digest::from_raw(hasher.finalize().into()))
}

/// A random name for temp files and upload ids: 32 hex digits.
pub fn random_name() -> String {
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw).expect("the OS random source is available");
    hex::encode(raw)
}

impl Blobs for FsBlobs {
    fn size<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        Box::pin(async move {
            let path = self.blob_path(digest);
            match fs::metadata(&path).await {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_err("stat", &path)(e)),
            }
        })
    }

    fn read<'a>(
        &'a self,
        digest: &'a Digest,
        range: Option<ByteRange>,
    ) -> BoxFuture<'a, Result<BlobReader, StorageError>> {
        Box::pin(self.read_range(digest, range))
    }

    fn put<'a>(
        &'a self,
        digest: &'a Digest,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.put_bytes(digest, bytes))
    }

    fn start_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let path = self.upload_path(id);
            File::create(&path).await.map_err(io_err("create", &path))?;
            Ok(())
        })
    }

    fn upload_size<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(self.upload_len(id))
    }

    fn append_upload<'a>(
        &'a self,
        id: &'a str,
        offset: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(self.append(id, offset, body))
    }

    fn finish_upload<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Digest,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(self.finish(id, expected))
    }

    fn abort_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.abort(id))
    }

    fn remove_orphans(
        &self,
        before: SystemTime,
        sessions: HashSet<String>,
    ) -> BoxFuture<'_, Result<usize, StorageError>> {
        let root = self.root.clone();
        Box::pin(async move {
            let removed = tokio::task::spawn_blocking(move || {
                FsBlobs::remove_orphans_sync(&root, before, &sessions)
            })
            .await;
            removed.map_err(|e| StorageError::Io {
                action: "clean",
                path: self.root.join("tmp"),
                source: io::Error::other(e),
            })?
        })
    }

    fn list_blobs(&self) -> BoxFuture<'_, Result<Vec<StoredBlob>, StorageError>> {
        let root = self.root.clone();
        Box::pin(async move {
            let listed = tokio::task::spawn_blocking(move || FsBlobs::list_sync(&root)).await;
            listed.map_err(|e| StorageError::Io {
                action: "list",
                path: self.root.join("blobs"),
                source: io::Error::other(e),
            })?
        })
    }

    fn remove_blob(
        &self,
        digest: &Digest,
        keep_since: SystemTime,
    ) -> BoxFuture<'static, io::Result<Option<u64>>> {
        let path = self.blob_path(digest);
        Box::pin(async move { remove_older(&path, keep_since) })
    }
}

/// Removes the file at `path` unless it was modified at or after `keep_since` (plain
/// blocking calls: one stat and one unlink, run inside the sweep's transaction).
fn remove_older(path: &Path, keep_since: std::time::SystemTime) -> io::Result<Option<u64>> {
    let meta = match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => other?,
    };
    if meta.modified()? >= keep_since {
        return Ok(None);
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        other => other.map(|()| Some(meta.len())),
    }
}
