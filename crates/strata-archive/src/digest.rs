//! Writer wrappers that hash (sha256) and count every byte passing through:
//! [`HashingWriter`] hashes on the writing thread, the crate-internal
//! `OffloadHashingWriter` hands 1 MiB chunks to a helper thread so that a
//! second hash (or the compressor) can run concurrently.

use sha2::{Digest as _, Sha256};
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use strata_oci::Digest;

/// Passes writes to `inner`, hashing and counting the bytes actually written.
pub struct HashingWriter<W> {
    inner: W,
    /// `None` counts only (see [`HashingWriter::counting`]).
    hasher: Option<Sha256>,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Some(Sha256::new()),
            count: 0,
        }
    }

    /// Counts without hashing; [`HashingWriter::finish`] then returns no
    /// digest.
    pub(crate) fn counting(inner: W) -> Self {
        Self {
            inner,
            hasher: None,
            count: 0,
        }
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The inner writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Returns the digest (`None` when only counting), byte count and inner writer.
    pub fn finish(self) -> (Option<Digest>, u64, W) {
        let digest = self.hasher.map(|h| Digest::from_raw(h.finalize().into()));
        (digest, self.count, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(buf);
        }
        self.count += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes per chunk handed to the hashing thread.
const CHUNK: usize = 1 << 20;
/// Chunks queued for the hashing thread before the writer waits.
const QUEUE: usize = 4;
/// Free space below which [`OffloadHashingWriter::spare`] starts a new chunk
/// rather than return a small slice (keeps reads into it large).
const MIN_SPARE: usize = 64 * 1024;

/// The hashing thread: chunks `(buffer, filled)` in, buffers back for reuse.
struct HashThread {
    tx: Option<SyncSender<(Vec<u8>, usize)>>,
    back: Receiver<Vec<u8>>,
    handle: Option<JoinHandle<[u8; 32]>>,
}

impl HashThread {
    fn spawn(hasher: Sha256) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(QUEUE);
        let (back_tx, back) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("strata-sha256".into())
            .spawn(move || {
                let mut hasher = hasher;
                for (buf, n) in rx {
                    hasher.update(&buf[..n]);
                    let _ = back_tx.send(buf);
                }
                hasher.finalize().into()
            })?;
        Ok(Self {
            tx: Some(tx),
            back,
            handle: Some(handle),
        })
    }

    fn died() -> io::Error {
        io::Error::other("sha256 thread died")
    }

    /// Stops the thread after it has hashed everything sent and returns the hash.
    fn finish(&mut self) -> io::Result<[u8; 32]> {
        self.tx.take();
        let handle = self.handle.take().ok_or_else(Self::died)?;
        handle.join().map_err(|_| Self::died())
    }
}

impl Drop for HashThread {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Like [`HashingWriter`], but the sha256 runs on a helper thread: written
/// bytes are copied into 1 MiB chunks that are queued (bounded) to it, in
/// order, so the result is the same as hashing inline. The thread is only
/// started once a first chunk fills up; smaller streams hash inline.
///
/// [`OffloadHashingWriter::spare`] and [`OffloadHashingWriter::commit`] let
/// a reader fill the chunk directly, saving the copy.
pub(crate) struct OffloadHashingWriter<W> {
    inner: W,
    buf: Vec<u8>,
    filled: usize,
    count: u64,
    thread: Option<HashThread>,
}

impl<W: Write> OffloadHashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            filled: 0,
            count: 0,
            thread: None,
        }
    }

    /// Queues the current chunk to the hashing thread (starting it if
    /// needed) and takes a fresh buffer.
    fn send(&mut self) -> io::Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        if self.thread.is_none() {
            self.thread = Some(HashThread::spawn(Sha256::new())?);
        }
        let Some(t) = &self.thread else {
            return Ok(());
        };
        let next = t.back.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
        let full = std::mem::replace(&mut self.buf, next);
        let tx = t.tx.as_ref().ok_or_else(HashThread::died)?;
        tx.send((full, self.filled))
            .map_err(|_| HashThread::died())?;
        self.filled = 0;
        Ok(())
    }

    /// At least `min.min(MIN_SPARE)` bytes of free chunk space to read
    /// into; pass what was filled to [`OffloadHashingWriter::commit`].
    pub(crate) fn spare(&mut self, min: usize) -> io::Result<&mut [u8]> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; CHUNK];
        }
        if CHUNK - self.filled < min.min(MIN_SPARE) {
            self.send()?;
        }
        Ok(&mut self.buf[self.filled..])
    }

    /// Writes the first `n` bytes of the last [`OffloadHashingWriter::spare`]
    /// slice to the inner writer and hashes them.
    pub(crate) fn commit(&mut self, n: usize) -> io::Result<()> {
        let end = self.filled + n;
        self.inner.write_all(&self.buf[self.filled..end])?;
        self.filled = end;
        self.count += n as u64;
        if self.filled == CHUNK {
            self.send()?;
        }
        Ok(())
    }

    /// Returns the digest, byte count and inner writer.
    pub(crate) fn finish(mut self) -> io::Result<(Digest, u64, W)> {
        let hash: [u8; 32] = match &mut self.thread {
            None => Sha256::digest(&self.buf[..self.filled]).into(),
            Some(_) => {
                self.send()?;
                match &mut self.thread {
                    Some(t) => t.finish()?,
                    None => return Err(HashThread::died()),
                }
            }
        };
        Ok((Digest::from_raw(hash), self.count, self.inner))
    }
}

impl<W: Write> Write for OffloadHashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let dst = self.spare(1)?;
            let n = dst.len().min(buf.len());
            dst[..n].copy_from_slice(&buf[..n]);
            self.commit(n)?;
            buf = &buf[n..];
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_counts() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (digest, n, inner) = w.finish();
        assert_eq!(n, 11);
        assert_eq!(inner, b"hello world");
        let digest = digest.unwrap();
        assert_eq!(digest, Digest::of(b"hello world"));
        assert_eq!(
            digest.to_string(),
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }

    fn sample(len: usize) -> Vec<u8> {
        strata_testkit::noise_bytes(len)
    }

    #[test]
    fn offload_matches_inline_hash_for_any_length_and_write_pattern() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 7 * CHUNK + 12345] {
            let data = sample(len);
            for step in [1000, CHUNK / 3, 3 * CHUNK] {
                let mut w = OffloadHashingWriter::new(Vec::new());
                for c in data.chunks(step) {
                    w.write_all(c).unwrap();
                }
                let (digest, n, inner) = w.finish().unwrap();
                assert_eq!(n, len as u64);
                assert_eq!(inner, data);
                assert_eq!(digest, Digest::of(&data), "len {len} step {step}");
            }
        }
    }

    #[test]
    fn offload_spare_and_commit_mix_with_writes() {
        let data = sample(5 * CHUNK + 777);
        let mut w = OffloadHashingWriter::new(Vec::new());
        let mut rest = &data[..];
        let mut i = 0;
        while !rest.is_empty() {
            // Alternate header-like small writes and large reads.
            let n = if i % 2 == 0 {
                let n = rest.len().min(512);
                w.write_all(&rest[..n]).unwrap();
                n
            } else {
                let dst = w.spare(CHUNK).unwrap();
                assert!(dst.len() >= MIN_SPARE);
                let n = dst.len().min(rest.len()).min(CHUNK - 1000);
                dst[..n].copy_from_slice(&rest[..n]);
                w.commit(n).unwrap();
                n
            };
            rest = &rest[n..];
            i += 1;
        }
        let (digest, n, inner) = w.finish().unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(inner, data);
        assert_eq!(digest, Digest::of(&data));
    }

    #[test]
    fn offload_dropped_unfinished_stops_its_thread() {
        let mut w = OffloadHashingWriter::new(io::sink());
        w.write_all(&sample(3 * CHUNK)).unwrap();
        assert!(w.thread.is_some());
        drop(w);
    }
}
