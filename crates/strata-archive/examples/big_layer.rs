//! Measures writing one large layer: a ~1 GB context of three files (⅓
//! random, ⅓ zeros, ⅓ source-like text) written with gzip level 1 and
//! uncompressed to a counting sink, printing wall and CPU time and the
//! layer's identity (which must not change between runs or versions).
//!
//! `cargo run --release -p strata-archive --example big_layer [MB] [RUNS]`

use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;
use strata_archive::{entry_from_fs, write_layer, Compression, Entry, WriteOptions};

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn write_text(path: &Path, len: usize, seed: &mut u64) -> io::Result<()> {
    const WORDS: &[&str] = &[
        "fn ",
        "let ",
        "mut ",
        "self",
        ".unwrap()",
        "match ",
        "=> ",
        "{\n",
        "}\n",
        "return ",
        "Result<",
        ">",
        "String",
        "impl ",
        "for ",
        "in ",
        "0x1f",
        "path",
        "entry",
        "    ",
    ];
    let mut f = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = 0;
    let mut chunk = Vec::with_capacity(1 << 16);
    while written < len {
        chunk.clear();
        while chunk.len() < 1 << 16 {
            chunk.extend_from_slice(WORDS[(rng(seed) % WORDS.len() as u64) as usize].as_bytes());
            if rng(seed) % 11 == 3 {
                chunk.extend_from_slice(format!("{}", rng(seed) % 100_000).as_bytes());
            }
        }
        let n = chunk.len().min(len - written);
        f.write_all(&chunk[..n])?;
        written += n;
    }
    f.flush()
}

fn write_random(path: &Path, len: usize, seed: &mut u64) -> io::Result<()> {
    let mut f = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = 0;
    while written < len {
        let b = rng(seed).to_le_bytes();
        let n = b.len().min(len - written);
        f.write_all(&b[..n])?;
        written += n;
    }
    f.flush()
}

fn write_zeros(path: &Path, len: usize) -> io::Result<()> {
    let mut f = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let zeros = vec![0u8; 1 << 20];
    let mut written = 0;
    while written < len {
        let n = zeros.len().min(len - written);
        f.write_all(&zeros[..n])?;
        written += n;
    }
    f.flush()
}

/// Counts the bytes written and drops them.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_secs() -> f64 {
    // SAFETY: rusage is plain data; getrusage only writes into it.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mb: usize = std::env::args().nth(1).map_or(Ok(1024), |s| s.parse())?;
    let runs: usize = std::env::args().nth(2).map_or(Ok(3), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let third = mb * (1 << 20) / 3;
    let mut seed = 0x1234_5678_9abc_def1u64;
    write_random(&dir.path().join("random.bin"), third, &mut seed)?;
    write_zeros(&dir.path().join("zeros.bin"), third)?;
    write_text(&dir.path().join("text.txt"), third, &mut seed)?;
    let mut list: Vec<Entry> = Vec::new();
    for name in ["random.bin", "zeros.bin", "text.txt"] {
        let meta = std::fs::symlink_metadata(dir.path().join(name))?;
        list.push(entry_from_fs(dir.path(), name, &meta)?);
    }
    let input = 3 * third as u64;
    println!("context: 3 files, {:.1} MB", input as f64 / 1e6);
    let modes = [
        ("gzip:1", Compression::Gzip { level: 1 }),
        ("uncompressed", Compression::None),
    ];
    for (name, compression) in modes {
        for _ in 0..runs {
            let opts = WriteOptions {
                source_date_epoch: Some(0),
                ..WriteOptions::default()
            };
            let (start, cpu) = (Instant::now(), cpu_secs());
            let (info, out) = write_layer(list.clone(), Counter::default(), compression, opts)?;
            let (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_secs() - cpu);
            assert_eq!(out.0, info.size);
            println!(
                "{name:13} {secs:6.3} s wall  {cpu:6.3} s cpu  {:7.1} MB/s  size {}  diff_id {}  digest {}",
                input as f64 / 1e6 / secs,
                info.size,
                info.diff_id.short(),
                info.digest.as_ref().map_or("-unhashed---", |d| d.short()),
            );
        }
    }
    Ok(())
}
