//! Measures the parallel gzip compressor (formerly the ignored `pgzip_throughput` unit test):
//! a 64 MiB layer of one mixed file written with 1, 2 and 3 compression threads, raw deflate
//! at levels 1–4 on mixed and text-like data (what each block costs), and crc32.
//!
//! `cargo run --release -p strata-archive --example pgzip_throughput [MiB]`

use std::time::Instant;

use strata_archive::{write_layer, Compression, Entry, WriteOptions};

fn words(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            b"fn let mut self.unwrap() match => {}\n return String impl "[(i * 31 + i / 97) % 57]
        })
        .collect()
}

fn mb_per_s(bytes: usize, t: Instant) -> f64 {
    bytes as f64 / 1e6 / t.elapsed().as_secs_f64()
}

/// Raw deflate of all of `data` at `level`, as one block of the compressor does.
fn deflate(level: u32, data: &[u8]) -> usize {
    let mut c = flate2::Compress::new(flate2::Compression::new(level), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 4096);
    loop {
        if out.capacity() - out.len() < 16 * 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let pos = c.total_in() as usize;
        let status = c
            .compress_vec(&data[pos..], &mut out, flate2::FlushCompress::Finish)
            .unwrap();
        if status == flate2::Status::StreamEnd {
            return out.len();
        }
    }
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map_or(64, |a| a.parse().expect("MiB must be a number"));
    let data = strata_testkit::mixed_bytes(mib << 20);
    for threads in [1, 2, 3] {
        let entry = Entry::file_bytes("data.bin", data.clone(), 0o644);
        let opts = WriteOptions {
            threads,
            ..Default::default()
        };
        let t = Instant::now();
        write_layer(
            vec![entry],
            std::io::sink(),
            Compression::Gzip { level: 1 },
            opts,
        )
        .unwrap();
        println!("threads {threads}: {:.1} MB/s", mb_per_s(data.len(), t));
    }
    let text = words(mib << 20);
    for level in 1..=4 {
        for (name, d) in [("mixed", &data), ("text", &text)] {
            let t = Instant::now();
            let out = deflate(level, d);
            println!(
                "level {level} {name}: {:.1} MB/s ratio {:.3}",
                mb_per_s(d.len(), t),
                out as f64 / d.len() as f64
            );
        }
    }
    let t = Instant::now();
    let mut h = crc32fast::Hasher::new();
    h.update(&data);
    let crc = h.finalize();
    println!("crc: {:.1} MB/s {crc:08x}", mb_per_s(data.len(), t));
}
