//! Streaming every layer's tar entries to visitors, layers in parallel.
//!
//! Each layer gets its own visitor (made by the caller's factory, so visitors need no
//! locks); the results come back bottom layer first, for the caller to merge in order.
//! A regular file's content is read only when the visitor asks ([`Want::Content`]), in
//! chunks of at most [`CHUNK`] bytes, so a huge file costs one buffer, not its size.

use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};
use strata_content::BlobSource;
use strata_oci::Digest;

use super::entry::{clean_path, whiteout, Entry, EntryKind};
use super::layers::LayerInfo;

/// Largest chunk of file content handed to [`LayerVisitor::content`].
pub const CHUNK: usize = 256 << 10;

/// What a visitor wants of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Only the entry (path, kind, size).
    Entry,
    /// The entry, then its content ([`LayerVisitor::content`] per chunk, then
    /// [`LayerVisitor::end_content`]). Only regular files have content.
    Content,
}

/// Receives the entries of one layer, in tar order.
pub trait LayerVisitor: Send {
    /// One entry; return [`Want::Content`] to be given a regular file's bytes.
    fn entry(&mut self, entry: &Entry) -> Want;
    /// The next chunk of the content of the last entry that wanted it.
    fn content(&mut self, _chunk: &[u8]) {}
    /// The content of the last entry that wanted it is complete.
    fn end_content(&mut self) {}
    /// The layer's last entry was read (a visitor can put what it collected aside, so
    /// finished layers do not hold memory while the others are read).
    fn end_layer(&mut self) {}
}

/// A layer that could not be read: names the layer.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("layer {index} ({digest}): cannot open its blob: {source}")]
    Open {
        index: usize,
        digest: Digest,
        source: io::Error,
    },
    #[error("layer {index} ({digest}) is corrupt: its bytes hash to {actual} ({size} bytes, the manifest says {expected_size})")]
    Digest {
        index: usize,
        digest: Digest,
        actual: Digest,
        size: u64,
        expected_size: u64,
    },
    #[error("layer {index} ({digest}): not a readable compressed stream: {source}")]
    Decompress {
        index: usize,
        digest: Digest,
        source: strata_archive::Error,
    },
    #[error("layer {index} ({digest}) is corrupt{}: {source}", after.as_deref().map(|a| format!(" after entry {a}")).unwrap_or_default())]
    Tar {
        index: usize,
        digest: Digest,
        after: Option<String>,
        source: io::Error,
    },
}

/// Walks every layer of `layers` (blobs from `blobs`) with a visitor from `make`, `jobs`
/// layers at a time. Returns the visitors bottom layer first, or the first error. Every
/// blob is read to its end and checked against its digest and size.
pub fn walk<B, V, F>(
    blobs: &B,
    layers: &[LayerInfo],
    jobs: usize,
    make: F,
) -> Result<Vec<V>, WalkError>
where
    B: BlobSource + ?Sized,
    V: LayerVisitor,
    F: Fn(&LayerInfo) -> V + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<V, WalkError>>>> =
        Mutex::new((0..layers.len()).map(|_| None).collect());
    let workers = jobs.clamp(1, layers.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(layer) = layers.get(i) else { break };
                let mut visitor = make(layer);
                let done = walk_layer(blobs, layer, &mut visitor).map(|()| visitor);
                let failed = done.is_err();
                results.lock().expect("walk results")[i] = Some(done);
                if failed {
                    next.store(layers.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let results = results.into_inner().expect("walk results");
    let mut out = Vec::with_capacity(layers.len());
    for r in results {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    Ok(out)
}

/// Streams one layer's entries to `visitor`, then checks the blob's digest (unless the
/// source's blobs are [`BlobSource::verified`]).
pub fn walk_layer<B: BlobSource + ?Sized, V: LayerVisitor + ?Sized>(
    blobs: &B,
    layer: &LayerInfo,
    visitor: &mut V,
) -> Result<(), WalkError> {
    let file = blobs
        .blob_reader(&layer.digest)
        .map_err(|source| WalkError::Open {
            index: layer.index,
            digest: layer.digest.clone(),
            source,
        })?;
    if blobs.verified() {
        return walk_blob(file, layer, visitor);
    }
    let hashed = Hashed::new(file);
    let state = hashed.state.clone();
    walk_blob(Box::new(hashed), layer, visitor)?;
    let (hasher, size) = std::mem::take(&mut *state.lock().expect("hash state"));
    let actual = Digest::from_raw(hasher.finalize().into());
    if actual != layer.digest || size != layer.blob_size {
        return Err(WalkError::Digest {
            index: layer.index,
            digest: layer.digest.clone(),
            actual,
            size,
            expected_size: layer.blob_size,
        });
    }
    Ok(())
}

/// Walks the (compressed) blob `file` to its very end.
fn walk_blob<V: LayerVisitor + ?Sized>(
    file: Box<dyn Read + Send>,
    layer: &LayerInfo,
    visitor: &mut V,
) -> Result<(), WalkError> {
    let reader = io::BufReader::with_capacity(1 << 16, file);
    let (mut tar, _) =
        strata_archive::open_decompressed(reader).map_err(|source| WalkError::Decompress {
            index: layer.index,
            digest: layer.digest.clone(),
            source,
        })?;
    let tar_error = |after, source| WalkError::Tar {
        index: layer.index,
        digest: layer.digest.clone(),
        after,
        source,
    };
    walk_tar(&mut tar, visitor).map_err(|(after, source)| tar_error(after, source))?;
    visitor.end_layer();
    // The tar's end blocks and the compression trailer: the whole blob is read (and hashed).
    io::copy(&mut tar, &mut io::sink()).map_err(|source| tar_error(None, source))?;
    Ok(())
}

/// The running hash and size of what a [`Hashed`] reader read.
type HashState = std::sync::Arc<Mutex<(Sha256, u64)>>;

/// A reader that hashes what passes through (the state is shared, since the decompressor
/// owns the reader).
struct Hashed<R> {
    inner: R,
    state: HashState,
}

impl<R> Hashed<R> {
    fn new(inner: R) -> Hashed<R> {
        Hashed {
            inner,
            state: Default::default(),
        }
    }
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.state.lock().expect("hash state");
        state.0.update(&buf[..n]);
        state.1 += n as u64;
        Ok(n)
    }
}

/// Streams the entries of the uncompressed tar `tar` to `visitor`. On error, the last
/// entry read before it and the cause.
pub fn walk_tar<R: Read, V: LayerVisitor + ?Sized>(
    tar: R,
    visitor: &mut V,
) -> Result<(), (Option<String>, io::Error)> {
    let mut archive = tar::Archive::new(tar);
    let mut last: Option<String> = None;
    let mut buf = vec![0u8; CHUNK];
    let entries = archive.entries().map_err(|e| (None, e))?;
    for item in entries {
        let mut tar_entry = item.map_err(|e| (last.clone(), e))?;
        let Some(entry) = to_entry(&tar_entry).map_err(|e| (last.clone(), e))? else {
            continue;
        };
        let want = visitor.entry(&entry);
        if want == Want::Content && entry.is_file() {
            loop {
                let n = read_some(&mut tar_entry, &mut buf)
                    .map_err(|e| (Some(entry.path.clone()), e))?;
                if n == 0 {
                    break;
                }
                visitor.content(&buf[..n]);
            }
            visitor.end_content();
        }
        last = Some(entry.path);
    }
    Ok(())
}

/// Reads until `buf` is full or the entry ends (chunks are full except the last).
fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The [`Entry`] of a tar entry; `None` for the root directory itself.
fn to_entry<R: Read>(e: &tar::Entry<'_, R>) -> io::Result<Option<Entry>> {
    let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
    let Some(path) = clean_path(&raw) else {
        return Ok(None);
    };
    let header = e.header();
    let link = || {
        e.link_name_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let (path, kind) = match whiteout(&path) {
        Some(decoded) => decoded,
        None => {
            let kind = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink { target: link() },
                tar::EntryType::Link => EntryKind::Hardlink {
                    target: clean_path(&link()).unwrap_or_default(),
                },
                _ => EntryKind::Other,
            };
            (path, kind)
        }
    };
    let size = if kind == EntryKind::File { e.size() } else { 0 };
    Ok(Some(Entry {
        path,
        kind,
        size,
        mode: header.mode().unwrap_or(0),
        uid: header.uid().unwrap_or(0),
        gid: header.gid().unwrap_or(0),
    }))
}

/// Two visitors in one walk: each gets every entry, and the content it asked for, so one
/// read of the layers serves both (`strata analyze --secrets`).
pub struct Pair<A, B> {
    pub first: A,
    pub second: B,
    wants: (bool, bool),
}

impl<A, B> Pair<A, B> {
    pub fn new(first: A, second: B) -> Pair<A, B> {
        Pair {
            first,
            second,
            wants: (false, false),
        }
    }
}

impl<A: LayerVisitor, B: LayerVisitor> LayerVisitor for Pair<A, B> {
    fn entry(&mut self, entry: &Entry) -> Want {
        self.wants = (
            self.first.entry(entry) == Want::Content,
            self.second.entry(entry) == Want::Content,
        );
        if self.wants.0 || self.wants.1 {
            Want::Content
        } else {
            Want::Entry
        }
    }

    fn content(&mut self, chunk: &[u8]) {
        if self.wants.0 {
            self.first.content(chunk);
        }
        if self.wants.1 {
            self.second.content(chunk);
        }
    }

    fn end_content(&mut self) {
        if self.wants.0 {
            self.first.end_content();
        }
        if self.wants.1 {
            self.second.end_content();
        }
    }

    fn end_layer(&mut self) {
        self.first.end_layer();
        self.second.end_layer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar with a directory, a file, a whiteout, an opaque marker and a symlink.
    fn sample_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        dir.set_mode(0o755);
        b.append_data(&mut dir, "./etc/", &[][..]).unwrap();
        let big = vec![b'x'; CHUNK + 10];
        let mut file = tar::Header::new_gnu();
        file.set_size(big.len() as u64);
        file.set_mode(0o644);
        b.append_data(&mut file, "./etc/big", &big[..]).unwrap();
        let mut wh = tar::Header::new_gnu();
        wh.set_size(0);
        b.append_data(&mut wh, "etc/.wh.gone", &[][..]).unwrap();
        let mut opq = tar::Header::new_gnu();
        opq.set_size(0);
        b.append_data(&mut opq, "var/.wh..wh..opq", &[][..])
            .unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        b.append_link(&mut link, "bin/sh", "busybox").unwrap();
        b.into_inner().unwrap()
    }

    #[derive(Default)]
    struct Seen {
        entries: Vec<(String, EntryKind)>,
        chunks: Vec<usize>,
        ended: usize,
        want: bool,
    }

    impl LayerVisitor for Seen {
        fn entry(&mut self, entry: &Entry) -> Want {
            self.entries.push((entry.path.clone(), entry.kind.clone()));
            if self.want {
                Want::Content
            } else {
                Want::Entry
            }
        }
        fn content(&mut self, chunk: &[u8]) {
            self.chunks.push(chunk.len());
        }
        fn end_content(&mut self) {
            self.ended += 1;
        }
    }

    #[test]
    fn entries_come_decoded_and_content_in_bounded_chunks() {
        let tar = sample_tar();
        let mut pair = Pair::new(
            Seen {
                want: true,
                ..Seen::default()
            },
            Seen::default(),
        );
        walk_tar(&tar[..], &mut pair).unwrap();
        let expected = vec![
            ("etc".to_string(), EntryKind::Dir),
            ("etc/big".to_string(), EntryKind::File),
            ("etc/gone".to_string(), EntryKind::Whiteout),
            ("var".to_string(), EntryKind::Opaque),
            (
                "bin/sh".to_string(),
                EntryKind::Symlink {
                    target: "busybox".into(),
                },
            ),
        ];
        assert_eq!(pair.first.entries, expected);
        assert_eq!(pair.second.entries, expected);
        assert_eq!(pair.first.chunks, vec![CHUNK, 10]);
        assert_eq!(pair.first.ended, 1);
        assert!(pair.second.chunks.is_empty() && pair.second.ended == 0);
    }

    /// Blobs in memory.
    struct Mem(Vec<u8>);

    impl BlobSource for Mem {
        fn blob_reader(&self, _: &Digest) -> io::Result<Box<dyn Read + Send>> {
            Ok(Box::new(io::Cursor::new(self.0.clone())))
        }
    }

    fn info(digest: Digest, size: u64) -> LayerInfo {
        LayerInfo {
            index: 3,
            digest,
            media_type: String::new(),
            blob_size: size,
            diff_id: None,
            created_by: None,
        }
    }

    #[test]
    fn every_blob_is_checked_against_its_digest() {
        let tar = sample_tar();
        let good = info(Digest::of(&tar), tar.len() as u64);
        walk_layer(&Mem(tar.clone()), &good, &mut Seen::default()).unwrap();
        let mut flipped = tar.clone();
        let last = flipped.len() - 1; // in the end blocks: the tar still reads
        flipped[last] ^= 1;
        let err = walk_layer(&Mem(flipped), &good, &mut Seen::default()).unwrap_err();
        assert!(matches!(err, WalkError::Digest { index: 3, .. }), "{err}");
        assert!(err
            .to_string()
            .starts_with(&format!("layer 3 ({}) is corrupt", good.digest)));
    }

    #[test]
    fn a_truncated_layer_names_the_last_entry_read() {
        let tar = sample_tar();
        let cut = &tar[..tar.len() / 2];
        let mut seen = Seen {
            want: true,
            ..Seen::default()
        };
        let (after, _) = walk_tar(cut, &mut seen).unwrap_err();
        assert_eq!(after.as_deref(), Some("etc/big"));
    }
}
