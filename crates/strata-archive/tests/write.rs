//! Layer writing: determinism, digests, header normalisation, GNU tar interop.

mod common;

use common::*;
use std::io::{Read, Write};
use strata_archive::{write_layer, Compression, Entry, EntryKind, LayerWriter, WriteOptions};
use strata_oci::Digest;

fn src_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("tool");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn same_entries_give_identical_bytes_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let src = src_file(dir.path());
    for c in [
        Compression::None,
        Compression::Gzip { level: 1 },
        Compression::Gzip { level: 6 },
        Compression::Zstd { level: 3 },
    ] {
        let outs: Vec<_> = [1usize, 2, 4]
            .iter()
            .map(|&threads| {
                let opts = WriteOptions {
                    source_date_epoch: None,
                    threads,
                    ..WriteOptions::default()
                };
                write_layer(sample_entries(&src), Vec::new(), c, opts).unwrap()
            })
            .collect();
        assert_eq!(outs[0], outs[1], "{c}");
        assert_eq!(outs[0], outs[2], "{c}");
        // Input order does not matter for write_layer.
        let mut reversed = sample_entries(&src);
        reversed.reverse();
        let again = write_layer(reversed, Vec::new(), c, WriteOptions::default()).unwrap();
        assert_eq!(outs[0], again, "{c} reversed input");
    }
}

#[test]
fn digests_and_sizes_match_the_streams() {
    let dir = tempfile::tempdir().unwrap();
    let src = src_file(dir.path());
    let (info, gz) = layer(sample_entries(&src), Compression::default());
    let tar = gunzip(&gz);
    assert_eq!(info.digest, Some(Digest::of(&gz)));
    assert_eq!(info.size, gz.len() as u64);
    assert_eq!(info.diff_id, Digest::of(&tar));
    assert_eq!(info.uncompressed_size, tar.len() as u64);
    assert_eq!(tar, tar_bytes(sample_entries(&src)));
    let (zinfo, z) = layer(sample_entries(&src), Compression::Zstd { level: 3 });
    assert_eq!(zinfo.diff_id, info.diff_id);
    assert_eq!(zstd::decode_all(&z[..]).unwrap(), tar);
    assert!(tar.len() & 511 == 0 && tar[tar.len() - 1024..].iter().all(|b| *b == 0));
}

#[test]
fn uncompressed_digest_is_the_diff_id() {
    let dir = tempfile::tempdir().unwrap();
    let src = src_file(dir.path());
    // Large enough for the diff_id to be hashed on its helper thread.
    let (info, tar) = layer(sample_entries(&src), Compression::None);
    assert!(tar.len() > 2 << 20);
    assert_eq!(info.diff_id, Digest::of(&tar));
    assert_eq!(info.digest.as_ref(), Some(&info.diff_id));
    assert_eq!(info.size, tar.len() as u64);
    assert_eq!(info.uncompressed_size, tar.len() as u64);
    // Small layers hash inline.
    let (small, tar) = layer(vec![file("a", b"hello", 0o644)], Compression::None);
    assert_eq!(small.digest, Some(Digest::of(&tar)));
    assert_eq!(Some(small.diff_id.clone()), small.digest);
}

#[test]
fn headers_are_normalised() {
    let dir = tempfile::tempdir().unwrap();
    let src = src_file(dir.path());
    let mut entries = sample_entries(&src);
    for e in &mut entries {
        e.mtime = 2_000_000_000;
        e.mtime_nsec = 123;
        e.uid = 1000;
        e.gid = 1001;
    }
    let opts = WriteOptions {
        source_date_epoch: Some(1_700_000_000),
        threads: 1,
        ..WriteOptions::default()
    };
    let (_, tar) = write_layer(entries, Vec::new(), Compression::None, opts).unwrap();
    let mut ar = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        assert_eq!(h.username_bytes(), Some(&b""[..]), "{name}");
        assert_eq!(h.groupname_bytes(), Some(&b""[..]), "{name}");
        assert_eq!(h.mtime().unwrap(), 1_700_000_000, "{name} clamped");
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (1000, 1001));
        assert!(h.as_ustar().is_some(), "{name} is ustar");
        let pax: Vec<(String, Vec<u8>)> = e
            .pax_extensions()
            .unwrap()
            .map(|exts| {
                exts.map(|x| {
                    let x = x.unwrap();
                    (x.key().unwrap().to_string(), x.value_bytes().to_vec())
                })
                .collect()
            })
            .unwrap_or_default();
        assert!(
            pax.iter().all(|(k, _)| k != "mtime"),
            "no sub-second mtimes"
        );
        match name.as_str() {
            "usr/" | "etc/" | "opq/" => {
                assert_eq!(h.entry_type(), tar::EntryType::Directory);
                assert_eq!(h.mode().unwrap(), 0o755);
            }
            "usr/bin/tool" => assert_eq!(h.mode().unwrap(), 0o4755),
            // "etc/hard" sorts first, so it carries the content.
            "etc/passwd" => {
                assert_eq!(h.entry_type(), tar::EntryType::Link);
                assert_eq!(&*e.link_name_bytes().unwrap(), b"etc/hard");
            }
            "etc/hard" => assert_eq!(h.entry_type(), tar::EntryType::Regular),
            "etc/link" => assert_eq!(h.entry_type(), tar::EntryType::Symlink),
            ".wh.gone" | "opq/.wh..wh..opq" => {
                assert_eq!(h.entry_type(), tar::EntryType::Regular);
                assert_eq!((h.mode().unwrap(), h.size().unwrap()), (0, 0));
            }
            "etc/cap" => {
                let keys: Vec<&str> = pax.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!(
                    keys,
                    ["SCHILY.xattr.security.capability", "SCHILY.xattr.user.note"]
                );
                assert_eq!(pax[1].1, b"hello");
            }
            "dev/null" => {
                assert_eq!(h.entry_type(), tar::EntryType::Char);
                assert_eq!(h.device_major().unwrap(), Some(1));
                assert_eq!(h.device_minor().unwrap(), Some(3));
            }
            n if n.starts_with("deep/x") && n.ends_with("file.txt") => {
                assert_eq!(pax[0].0, "path", "long name goes to PAX");
                assert_eq!(n.len(), 5 + 120 + 9);
            }
            "unicodé/ñ.txt" => assert_eq!(pax[0].0, "path"),
            _ => {}
        }
        names.push(name);
    }
    // Component-wise order: parents first, '.wh.' names in byte order.
    let expected_prefix = [".wh.gone", "deep/"];
    assert_eq!(&names[..2], expected_prefix);
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(pos("etc/") < pos("etc/cap") && pos("etc/cap") < pos("etc/hard"));
    assert!(pos("opq/") < pos("opq/.wh..wh..opq"));
}

#[test]
fn hardlink_sorted_before_its_file_takes_the_content() {
    let entries = vec![
        file("b", b"data", 0o644),
        Entry::new("a", EntryKind::Hardlink { target: "b".into() }),
        Entry::new("c", EntryKind::Hardlink { target: "b".into() }),
    ];
    let tar = tar_bytes(entries);
    let mut ar = tar::Archive::new(&tar[..]);
    let got: Vec<(String, tar::EntryType, Option<String>)> = ar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().display().to_string(),
                e.header().entry_type(),
                e.link_name().unwrap().map(|l| l.display().to_string()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".into(), tar::EntryType::Regular, None),
            ("b".into(), tar::EntryType::Link, Some("a".into())),
            ("c".into(), tar::EntryType::Link, Some("a".into())),
        ]
    );
}

#[test]
fn invalid_entries_are_rejected() {
    let mut w = LayerWriter::new(Vec::new(), Compression::None, WriteOptions::default()).unwrap();
    for bad in ["", "a/../../b", "/"] {
        let err = w.append(&file(bad, b"", 0o644)).unwrap_err();
        assert!(err.to_string().starts_with("invalid entry"), "{err}");
    }
    // The root directory is skipped; a root opaque marker is valid.
    w.append(&Entry::dir(".", 0o755)).unwrap();
    w.append(&Entry::new("", EntryKind::OpaqueDir)).unwrap();
    let mut e = file("x", b"abc", 0o644);
    e.kind = EntryKind::File {
        source: strata_archive::FileSource::Path("/nonexistent/strata".into()),
        size: 3,
    };
    let err = w.append(&e).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/strata"), "{err}");
    let (_, tar) = w.finish().unwrap();
    let mut ar = tar::Archive::new(&tar[..]);
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, [".wh..wh..opq"]);
}

#[test]
fn source_file_shrinking_is_an_error_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    std::fs::write(&p, b"short").unwrap();
    let e = Entry::new(
        "app/f",
        EntryKind::File {
            source: strata_archive::FileSource::Path(p),
            size: 100,
        },
    );
    let err = write_layer(
        vec![e],
        Vec::new(),
        Compression::None,
        WriteOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, strata_archive::Error::SourceChanged { ref entry, actual: 5, .. } if entry == "app/f")
    );
}

#[test]
fn gnu_tar_lists_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let src = src_file(dir.path());
    let (_, gz) = layer(sample_entries(&src), Compression::default());
    let path = dir.path().join("layer.tar.gz");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&gz)
        .unwrap();
    let out = std::process::Command::new("tar")
        .args(["--numeric-owner", "-tvzf"])
        .arg(&path)
        .output()
        .expect("GNU tar installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tar failed: {stderr}");
    assert!(stderr.is_empty(), "tar warned: {stderr}");
    let long = format!("deep/{}/file.txt", "x".repeat(120));
    let tool = stdout
        .lines()
        .find(|l| l.ends_with(" usr/bin/tool"))
        .unwrap();
    assert!(tool.starts_with("-rwsr-xr-x 0/0"), "{tool}");
    assert!(tool.contains(" 3000000 1970-01-01"), "{tool}");
    for needle in [
        "etc/link -> passwd",
        "etc/passwd link to etc/hard",
        "dev/null",
        long.as_str(),
        "unicodé/ñ.txt",
        "opq/.wh..wh..opq",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    // GNU tar agrees on the content.
    let x = std::process::Command::new("tar")
        .args(["-xOzf"])
        .arg(&path)
        .arg("usr/bin/tool")
        .output()
        .unwrap();
    assert_eq!(x.stdout, std::fs::read(&src).unwrap());
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut back)
        .unwrap();
    assert!(!back.is_empty());
}

#[test]
fn skip_output_digest_leaves_the_stream_unhashed_but_identical() {
    let entries = || vec![Entry::file_bytes("a", b"content".to_vec(), 0o644)];
    let gz = Compression::Gzip { level: 1 };
    let (full, a) = write_layer(entries(), Vec::new(), gz, WriteOptions::default()).unwrap();
    let opts = WriteOptions {
        skip_output_digest: true,
        ..WriteOptions::default()
    };
    let (skipped, b) = write_layer(entries(), Vec::new(), gz, opts).unwrap();
    assert_eq!(a, b, "same bytes either way");
    assert_eq!(skipped.digest, None);
    assert_eq!(full.digest, Some(Digest::of(&a)));
    assert_eq!((skipped.diff_id, skipped.size), (full.diff_id, full.size));
}
