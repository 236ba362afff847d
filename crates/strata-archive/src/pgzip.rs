//! Parallel gzip: the input is cut into fixed 1 MiB blocks, each block is
//! deflated on a worker thread as an independent raw deflate stream (primed
//! with the previous block's last 32 KiB as dictionary, like pigz) ending in
//! a sync flush; the streams are concatenated into one gzip member.
//!
//! Block boundaries depend only on the input bytes, never on how writes
//! arrive or how many threads run, so the output is byte-identical for any
//! thread count (including 1, which compresses inline).

use flate2::{Compress, FlushCompress, Status};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Uncompressed bytes per block.
pub const BLOCK_SIZE: usize = 1 << 20;
const DICT_SIZE: usize = 32 * 1024;
/// Deterministic gzip header: no name, mtime 0, XFL 0, OS 255 (unknown).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];

type Job = Box<dyn FnOnce() + Send>;
type BlockResult = io::Result<(Vec<u8>, Vec<u8>)>;

/// A fixed set of worker threads fed through one channel.
struct Pool {
    tx: Option<Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let handles = (0..threads)
            .map(|i| {
                let rx = Arc::clone(&rx);
                std::thread::Builder::new()
                    .name(format!("strata-gzip-{i}"))
                    .spawn(move || loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    })
                    .expect("spawning gzip worker thread")
            })
            .collect();
        Self {
            tx: Some(tx),
            handles,
        }
    }

    fn submit(&self, job: Job) {
        if let Some(tx) = &self.tx {
            // Workers only exit after the sender is dropped, so this cannot fail.
            let _ = tx.send(job);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.tx.take();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Parallel gzip writer; see the module docs.
pub struct ParGzWriter<W: Write> {
    out: W,
    level: u32,
    block: Vec<u8>,
    dict: Vec<u8>,
    crc: crc32fast::Hasher,
    total_in: u64,
    pool: Option<Pool>,
    pending: VecDeque<Receiver<BlockResult>>,
    spare: Vec<Vec<u8>>,
    max_pending: usize,
    header_written: bool,
}

impl<W: Write> ParGzWriter<W> {
    /// `threads` worker threads (0 or 1 compresses on the calling thread).
    pub fn new(out: W, level: u32, threads: usize) -> Self {
        let pool = (threads > 1).then(|| Pool::new(threads));
        Self {
            out,
            level: level.min(9),
            block: Vec::with_capacity(BLOCK_SIZE),
            dict: Vec::new(),
            crc: crc32fast::Hasher::new(),
            total_in: 0,
            pool,
            pending: VecDeque::new(),
            spare: Vec::new(),
            max_pending: threads.max(1) * 2,
            header_written: false,
        }
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            let mut header = GZIP_HEADER;
            // XFL: 4 = fastest, 2 = best, as Go's compress/gzip writes it.
            header[8] = match self.level {
                1 => 4,
                9 => 2,
                _ => 0,
            };
            self.out.write_all(&header)?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Hands the full (or, when `last`, final) block to a worker.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        self.write_header()?;
        let next = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BLOCK_SIZE));
        let data = std::mem::replace(&mut self.block, next);
        let dict = std::mem::take(&mut self.dict);
        if !last {
            let tail = data.len().saturating_sub(DICT_SIZE);
            self.dict.extend_from_slice(&data[tail..]);
        }
        let level = self.level;
        match &self.pool {
            None => {
                let (out, data) = deflate_block(level, &dict, data, last)?;
                self.out.write_all(&out)?;
                self.recycle(data);
            }
            Some(pool) => {
                let (tx, rx) = mpsc::sync_channel(1);
                pool.submit(Box::new(move || {
                    let _ = tx.send(deflate_block(level, &dict, data, last));
                }));
                self.pending.push_back(rx);
                while self.pending.len() >= self.max_pending {
                    self.drain_one()?;
                }
            }
        }
        Ok(())
    }

    fn recycle(&mut self, mut data: Vec<u8>) {
        if self.spare.len() < self.max_pending + 1 {
            data.clear();
            self.spare.push(data);
        }
    }

    fn drain_one(&mut self) -> io::Result<()> {
        if let Some(rx) = self.pending.pop_front() {
            let (out, data) = rx
                .recv()
                .map_err(|_| io::Error::other("gzip worker thread died"))??;
            self.out.write_all(&out)?;
            self.recycle(data);
        }
        Ok(())
    }

    /// Compresses what is left, writes the gzip trailer and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.dispatch(true)?;
        while !self.pending.is_empty() {
            self.drain_one()?;
        }
        let crc = self.crc.clone().finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.write_all(&(self.total_in as u32).to_le_bytes())?;
        self.out.flush()?;
        self.pool.take();
        Ok(self.out)
    }
}

impl<W: Write> Write for ParGzWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        self.crc.update(buf);
        self.total_in += buf.len() as u64;
        while !buf.is_empty() {
            let room = BLOCK_SIZE - self.block.len();
            let n = room.min(buf.len());
            self.block.extend_from_slice(&buf[..n]);
            buf = &buf[n..];
            if self.block.len() == BLOCK_SIZE {
                self.dispatch(false)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Flushing mid-block would change block boundaries; only flush the
        // output of blocks already compressed.
        self.out.flush()
    }
}

/// Deflates one block as a raw deflate stream; returns (compressed, input).
fn deflate_block(level: u32, dict: &[u8], data: Vec<u8>, last: bool) -> BlockResult {
    let level = if level > 0 && incompressible(level, &data)? {
        0
    } else {
        level
    };
    let mut c = Compress::new(flate2::Compression::new(level), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 4096);
    loop {
        if out.capacity() - out.len() < 16 * 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let pos = c.total_in() as usize;
        let status = c
            .compress_vec(&data[pos..], &mut out, flush)
            .map_err(io::Error::other)?;
        let consumed = c.total_in() as usize == data.len();
        let done = if last {
            status == Status::StreamEnd
        } else {
            consumed && out.len() < out.capacity()
        };
        if done {
            return Ok((out, data));
        }
    }
}

/// Bytes of each probe compressed to decide whether a block is worth
/// compressing, and how many probes (spread over the block).
const PROBE: usize = 8 * 1024;
const PROBES: usize = 4;

/// True when every probe (8 KiB at 0, ¼, ½ and ¾ of a large block) fails to
/// shrink by 3%: already compressed data (archives, images, media). Such
/// blocks are stored, at ~memcpy speed instead of deflate's slowest case.
/// Depends only on the data, so output stays deterministic.
fn incompressible(level: u32, data: &[u8]) -> io::Result<bool> {
    if data.len() < 8 * PROBE * PROBES {
        return Ok(false);
    }
    let mut out = Vec::with_capacity(PROBE + PROBE / 8);
    for i in 0..PROBES {
        let start = data.len() / PROBES * i;
        let probe = &data[start..start + PROBE];
        let mut c = Compress::new(flate2::Compression::new(level), false);
        out.clear();
        c.compress_vec(probe, &mut out, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        if c.total_in() as usize != PROBE || out.len() * 100 < PROBE * 97 {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        strata_testkit::mixed_bytes(len)
    }

    fn compress(data: &[u8], threads: usize, chunk: usize) -> Vec<u8> {
        let mut w = ParGzWriter::new(Vec::new(), 1, threads);
        for c in data.chunks(chunk) {
            w.write_all(c).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn round_trips_and_is_thread_count_independent() {
        let data = sample(3 * BLOCK_SIZE + 12345);
        let a = compress(&data, 1, 4096);
        let b = compress(&data, 2, 100_000);
        let c = compress(&data, 4, 7);
        assert_eq!(a, b);
        assert_eq!(a, c);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn incompressible_blocks_are_stored_and_still_decode() {
        let mut x: u64 = 7;
        let random: Vec<u8> = (0..2 * BLOCK_SIZE + 5)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(incompressible(1, &random[..BLOCK_SIZE]).unwrap());
        assert!(!incompressible(1, &sample(BLOCK_SIZE)).unwrap());
        // One compressible region is enough to compress the block.
        let mut mixed = random[..BLOCK_SIZE].to_vec();
        mixed[BLOCK_SIZE / 2..BLOCK_SIZE / 2 + 20_000].fill(b'a');
        assert!(!incompressible(1, &mixed).unwrap());
        let gz = compress(&random, 2, 1 << 16);
        assert!(gz.len() < random.len() + random.len() / 100);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, random);
    }

    #[test]
    fn empty_and_exact_block_inputs() {
        for len in [0, 1, BLOCK_SIZE, 2 * BLOCK_SIZE] {
            let data = sample(len);
            let gz = compress(&data, 2, 65536);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "len {len}");
        }
    }
}
