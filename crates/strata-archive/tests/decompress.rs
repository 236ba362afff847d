//! Compression sniffing for every supported format, and ADD's archive rule.

mod common;

use common::*;
use std::io::{Read, Write};
use strata_archive::{is_archive, open_decompressed, Detected};

fn sample_tar() -> Vec<u8> {
    tar_bytes(vec![file("hello.txt", b"hello world\n", 0o644)])
}

fn fixtures(tar: &[u8]) -> Vec<(&'static str, Detected, Vec<u8>)> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(tar).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(tar).unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(tar).unwrap();
    vec![
        ("tar.gz", Detected::Gzip, gz.finish().unwrap()),
        ("tar.bz2", Detected::Bzip2, bz.finish().unwrap()),
        ("tar.xz", Detected::Xz, xz.finish().unwrap()),
        ("tar.zst", Detected::Zstd, zstd::encode_all(tar, 3).unwrap()),
        ("tar", Detected::Tar, tar.to_vec()),
    ]
}

#[test]
fn sniffs_and_decompresses_all_formats() {
    let tar = sample_tar();
    for (name, kind, data) in fixtures(&tar) {
        let (mut r, detected) = open_decompressed(std::io::Cursor::new(data)).unwrap();
        assert_eq!(detected, kind, "{name}");
        assert_eq!(detected.is_compressed(), kind != Detected::Tar);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, tar, "{name}");
    }
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let mut data = Vec::new();
    for part in [&b"abc"[..], b"def"] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part).unwrap();
        data.extend(gz.finish().unwrap());
    }
    let (mut r, d) = open_decompressed(std::io::Cursor::new(data)).unwrap();
    assert_eq!(d, Detected::Gzip);
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    assert_eq!(s, "abcdef");
}

#[test]
fn is_archive_follows_dockers_add_rule() {
    let dir = tempfile::tempdir().unwrap();
    let tar = sample_tar();
    for (name, _, data) in fixtures(&tar) {
        let p = dir.path().join(format!("f.{name}"));
        std::fs::write(&p, data).unwrap();
        assert!(is_archive(&p).unwrap(), "{name}");
    }
    let mut gz_text = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz_text.write_all(&[b'x'; 4096]).unwrap();
    let not = [
        ("empty", Vec::new()),
        ("text", b"just some text\n".repeat(100)),
        ("zeros", vec![0u8; 4096]),
        ("gz-text", gz_text.finish().unwrap()),
        (
            "bad-gzip",
            vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        ),
    ];
    for (name, data) in not {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        assert!(!is_archive(&p).unwrap(), "{name}");
    }
    let missing = dir.path().join("missing");
    match is_archive(&missing) {
        Err(strata_archive::Error::ReadSource { path, source }) => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected ReadSource for a missing file, got {other:?}"),
    }
    assert!(!missing.exists(), "sniffing creates nothing");
}
