//! Measures layer-writing throughput: builds a ~100 MB mixed context on disk
//! (10,000 small text-like files plus two 25 MB files, one compressible and
//! one random), then writes it as a layer to a sink with each compression.
//!
//! `cargo run --release -p strata-archive --example throughput [MB] [NAME-PREFIX]`

use std::io;
use std::path::Path;
use std::time::Instant;
use strata_archive::{
    apply_layer, entry_from_fs, write_layer, ApplyOptions, Compression, Entry, WriteOptions,
};

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn text(len: usize, seed: &mut u64) -> Vec<u8> {
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
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(WORDS[(rng(seed) % WORDS.len() as u64) as usize].as_bytes());
        if rng(seed) % 11 == 3 {
            out.extend_from_slice(format!("{}", rng(seed) % 100_000).as_bytes());
        }
    }
    out.truncate(len);
    out
}

fn random(len: usize, seed: &mut u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng(seed).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn make_context(root: &Path, mb: usize) -> io::Result<u64> {
    let mut seed = 0x1234_5678_9abc_def1u64;
    let small_total = mb * (1 << 20) / 2;
    let mut total = 0u64;
    let mut i = 0;
    while (total as usize) < small_total {
        let dir = root.join(format!("src/d{:03}", i / 100));
        std::fs::create_dir_all(&dir)?;
        let len = (rng(&mut seed) % 10_000) as usize + 100;
        std::fs::write(dir.join(format!("f{i:05}.rs")), text(len, &mut seed))?;
        total += len as u64;
        i += 1;
    }
    let big = mb * (1 << 20) / 4;
    std::fs::write(root.join("big.txt"), text(big, &mut seed))?;
    std::fs::write(root.join("big.bin"), random(big, &mut seed))?;
    Ok(total + 2 * big as u64)
}

fn entries(root: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for child in std::fs::read_dir(&dir)? {
            let child = child?;
            let meta = std::fs::symlink_metadata(child.path())?;
            let rel = child
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if meta.is_dir() {
                stack.push(child.path());
            }
            out.push(entry_from_fs(root, &rel, &meta).map_err(io::Error::other)?);
        }
    }
    Ok(out)
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
    let mb: usize = std::env::args().nth(1).map_or(Ok(100), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let input = make_context(dir.path(), mb)?;
    let list = entries(dir.path())?;
    println!(
        "context: {} entries, {:.1} MB",
        list.len(),
        input as f64 / 1e6
    );
    let runs = [
        ("uncompressed", Compression::None, 0),
        ("gzip:1 threads=1", Compression::Gzip { level: 1 }, 1),
        ("gzip:1 threads=auto", Compression::Gzip { level: 1 }, 0),
        ("gzip:6 threads=auto", Compression::Gzip { level: 6 }, 0),
        ("zstd:1 threads=auto", Compression::Zstd { level: 1 }, 0),
        ("zstd:3 threads=auto", Compression::Zstd { level: 3 }, 0),
    ];
    let only = std::env::args().nth(2);
    let repeat = if only.is_some() { 5 } else { 1 };
    for (name, compression, threads) in runs
        .into_iter()
        .flat_map(|r| std::iter::repeat_n(r, repeat))
    {
        if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        let opts = WriteOptions {
            source_date_epoch: Some(0),
            threads,
            ..WriteOptions::default()
        };
        let list = list.clone();
        let (start, cpu) = (Instant::now(), cpu_secs());
        let (info, _) = write_layer(list, io::sink(), compression, opts)?;
        let (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_secs() - cpu);
        let mb = input as f64 / 1e6;
        println!(
            "{name:22} {:7.1} MB/s wall  {:7.1} MB/cpu-s  {:6.3} s  ratio {:.3}",
            mb / secs,
            mb / cpu,
            secs,
            info.size as f64 / info.uncompressed_size as f64
        );
    }
    if only.as_deref().is_none_or(|o| o == "apply") {
        let (_, tar) = write_layer(list, Vec::new(), Compression::None, WriteOptions::default())?;
        let dest = tempfile::tempdir()?;
        let (start, cpu) = (Instant::now(), cpu_secs());
        let stats = apply_layer(&tar[..], dest.path(), &ApplyOptions::default())?;
        let (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_secs() - cpu);
        let mb = input as f64 / 1e6;
        println!(
            "{:22} {:7.1} MB/s wall  {:7.1} MB/cpu-s  {secs:6.3} s  ({} files)",
            "apply (uncompressed)",
            mb / secs,
            mb / cpu,
            stats.files
        );
    }
    Ok(())
}
