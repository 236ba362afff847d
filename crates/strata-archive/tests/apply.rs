//! Applying layers: whiteouts, opaque dirs, hardlinks, containment, metadata,
//! corrupt input.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use strata_archive::{
    apply_layer, entry_from_fs, open_decompressed, write_layer, ApplyOptions, Compression, Entry,
    EntryKind, Error, WhiteoutMode, WriteOptions,
};

fn apply(
    tar: &[u8],
    dest: &Path,
    mode: WhiteoutMode,
) -> strata_archive::Result<strata_archive::ApplyStats> {
    let opts = ApplyOptions {
        same_owner: true,
        whiteouts: mode,
        ..ApplyOptions::default()
    };
    apply_layer(tar, dest, &opts)
}

fn lower(dest: &Path) {
    fs::create_dir_all(dest.join("app/cache/sub")).unwrap();
    fs::write(dest.join("app/keep"), b"keep").unwrap();
    fs::write(dest.join("app/gone"), b"gone").unwrap();
    fs::write(dest.join("app/cache/old"), b"old").unwrap();
    fs::write(dest.join("app/cache/sub/older"), b"older").unwrap();
    fs::create_dir_all(dest.join("dir-gone/x")).unwrap();
}

#[test]
#[ignore = "needs root"]
fn whiteouts_remove_lower_files_and_opaque_dirs_clear() {
    strata_testkit::require_root(); // unpacking keeps the layers' owners (lchown)
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path();
    lower(dest);
    let tar = tar_bytes(vec![
        Entry::dir("app", 0o755),
        Entry::new("app/gone", EntryKind::Whiteout),
        Entry::new("dir-gone", EntryKind::Whiteout),
        Entry::dir("app/cache", 0o700),
        Entry::new("app/cache", EntryKind::OpaqueDir),
        // Sorts before ".wh..wh..opq": must survive the opaque clearing.
        file("app/cache/-early", b"new", 0o644),
        file("app/cache/new", b"new", 0o644),
        Entry::new("never-existed", EntryKind::Whiteout),
    ]);
    let stats = apply(&tar, dest, WhiteoutMode::Apply).unwrap();
    assert_eq!(stats.whiteouts, 4);
    assert!(dest.join("app/keep").exists());
    assert!(!dest.join("app/gone").exists());
    assert!(!dest.join("dir-gone").exists());
    let mut names: Vec<_> = fs::read_dir(dest.join("app/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["-early", "new"]);
    let m = fs::metadata(dest.join("app/cache")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o700);
}

#[test]
#[ignore = "needs root"]
fn overlay_mode_writes_char_devices_and_opaque_xattr() {
    strata_testkit::require_root();
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_bytes(vec![
        Entry::dir("a", 0o755),
        Entry::new("a", EntryKind::OpaqueDir),
        Entry::new("a/x", EntryKind::Whiteout),
    ]);
    apply(&tar, dir.path(), WhiteoutMode::Overlay).unwrap();
    let m = fs::symlink_metadata(dir.path().join("a/x")).unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(m.file_type().is_char_device());
    assert_eq!(m.rdev(), 0);
    assert!(strata_archive::is_overlay_whiteout(&m));
    let v = strata_archive::get_xattr(&dir.path().join("a"), "trusted.overlay.opaque");
    assert_eq!(v.unwrap(), b"y");
    // entry_from_fs never copies overlayfs' private xattrs into a layer.
    let meta = fs::symlink_metadata(dir.path().join("a")).unwrap();
    let e = entry_from_fs(dir.path(), "a", &meta).unwrap();
    assert!(e.xattrs.is_empty(), "{:?}", e.xattrs);
}

#[test]
#[ignore = "needs root"]
fn ignore_mode_writes_whiteouts_literally() {
    strata_testkit::require_root(); // unpacking keeps the layers' owners (lchown)
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("x"), b"lower").unwrap();
    let tar = tar_bytes(vec![Entry::new("x", EntryKind::Whiteout)]);
    apply(&tar, dir.path(), WhiteoutMode::Ignore).unwrap();
    assert!(dir.path().join("x").exists());
    assert!(dir.path().join(".wh.x").is_file());
}

#[test]
fn round_trip_preserves_content_modes_times_links_and_xattrs() {
    let src = tempfile::tempdir().unwrap();
    let s = src.path();
    fs::create_dir_all(s.join("bin")).unwrap();
    fs::write(s.join("bin/su"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(s.join("bin/su"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(s.join("bin/a"), vec![7u8; 200_000]).unwrap();
    fs::hard_link(s.join("bin/a"), s.join("bin/b")).unwrap();
    std::os::unix::fs::symlink("a", s.join("bin/link")).unwrap();
    fs::set_permissions(s.join("bin"), fs::Permissions::from_mode(0o750)).unwrap();

    let mut det = strata_archive::HardlinkDetector::new();
    let mut entries = Vec::new();
    for rel in ["bin", "bin/a", "bin/b", "bin/link", "bin/su"] {
        let meta = fs::symlink_metadata(s.join(rel)).unwrap();
        let mut e = entry_from_fs(s, rel, &meta).unwrap();
        det.check(&mut e, &meta);
        e.mtime = 1_234_567_890;
        if rel == "bin/su" {
            e.xattrs.insert("user.k".into(), b"v".to_vec());
            e.xattrs
                .insert("security.capability".into(), CAP_NET_BIND.to_vec());
        }
        entries.push(e);
    }
    let (_, gz) = write_layer(
        entries,
        Vec::new(),
        Compression::default(),
        WriteOptions::default(),
    )
    .unwrap();
    let (reader, detected) = open_decompressed(std::io::Cursor::new(gz)).unwrap();
    assert_eq!(detected, strata_archive::Detected::Gzip);
    let dest = tempfile::tempdir().unwrap();
    let d = dest.path();
    let stats = apply_layer(
        reader,
        d,
        &ApplyOptions {
            same_owner: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (stats.files, stats.dirs, stats.hardlinks, stats.symlinks),
        (2, 1, 1, 1)
    );
    assert_eq!(fs::read(d.join("bin/b")).unwrap(), vec![7u8; 200_000]);
    let (ma, mb) = (
        fs::metadata(d.join("bin/a")).unwrap(),
        fs::metadata(d.join("bin/b")).unwrap(),
    );
    assert_eq!(ma.ino(), mb.ino(), "hardlinked");
    assert_eq!(
        fs::metadata(d.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert_eq!(fs::metadata(d.join("bin")).unwrap().mode() & 0o7777, 0o750);
    assert_eq!(fs::metadata(d.join("bin")).unwrap().mtime(), 1_234_567_890);
    assert_eq!(ma.mtime(), 1_234_567_890);
    assert_eq!(fs::read_link(d.join("bin/link")).unwrap(), Path::new("a"));
    assert_eq!(
        fs::symlink_metadata(d.join("bin/link")).unwrap().mtime(),
        1_234_567_890
    );
    let meta = fs::symlink_metadata(d.join("bin/su")).unwrap();
    let back = entry_from_fs(d, "bin/su", &meta).unwrap();
    assert_eq!(back.xattrs.get("user.k").map(|v| &v[..]), Some(&b"v"[..]));
    if strata_testkit::is_root() {
        assert_eq!(
            back.xattrs.get("security.capability").map(|v| &v[..]),
            Some(&CAP_NET_BIND[..]),
            "capability survives chown"
        );
    }
}

/// vfs_cap_data v2: cap_net_bind_service=ep.
const CAP_NET_BIND: [u8; 20] = [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

#[test]
#[ignore = "needs root"]
fn chown_override_and_ownership() {
    strata_testkit::require_root();
    let dir = tempfile::tempdir().unwrap();
    let mut f = file("f", b"x", 0o644);
    f.uid = 123;
    f.gid = 456;
    let tar = tar_bytes(vec![f.clone()]);
    apply(&tar, dir.path(), WhiteoutMode::Apply).unwrap();
    let m = fs::metadata(dir.path().join("f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (123, 456));
    let opts = ApplyOptions {
        chown: Some((7, 8)),
        ..Default::default()
    };
    apply_layer(&tar[..], dir.path(), &opts).unwrap();
    let m = fs::metadata(dir.path().join("f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (7, 8));
}

#[test]
#[ignore = "needs root"]
fn hostile_paths_stay_inside_dest() {
    strata_testkit::require_root(); // unpacking keeps the layers' owners (lchown)
    let outer = tempfile::tempdir().unwrap();
    let dest = outer.path().join("dest");
    let outside = outer.path().join("outside");
    fs::create_dir_all(&dest).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), b"secret").unwrap();
    // A lower-layer symlink pointing outside, to be written through.
    std::os::unix::fs::symlink(&outside, dest.join("lowlink")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), dest.join("filelink")).unwrap();

    let out = outside.display().to_string();
    let mut tar = Vec::new();
    raw_entry(&mut tar, b"../../escape", b'0', b"", b"1");
    raw_entry(&mut tar, b"/abs", b'0', b"", b"2");
    raw_entry(&mut tar, b"evil", b'2', out.as_bytes(), b"");
    raw_entry(&mut tar, b"evil/pwned", b'0', b"", b"3");
    raw_entry(&mut tar, b"rel", b'2', b"../../../../..", b"");
    raw_entry(&mut tar, b"rel/pwned2", b'0', b"", b"4");
    raw_entry(&mut tar, b"lowlink/pwned3", b'0', b"", b"5");
    raw_entry(&mut tar, b"filelink", b'0', b"", b"replaced");
    end_archive(&mut tar);
    apply(&tar, &dest, WhiteoutMode::Apply).unwrap();

    let mut left: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["secret"], "nothing written outside");
    assert_eq!(fs::read(outside.join("secret")).unwrap(), b"secret");
    assert_eq!(fs::read(dest.join("escape")).unwrap(), b"1");
    assert_eq!(fs::read(dest.join("abs")).unwrap(), b"2");
    assert_eq!(
        fs::read(dest.join(out.trim_start_matches('/')).join("pwned")).unwrap(),
        b"3"
    );
    assert_eq!(fs::read(dest.join("pwned2")).unwrap(), b"4");
    assert_eq!(fs::read(dest.join("filelink")).unwrap(), b"replaced");
    assert!(!fs::symlink_metadata(dest.join("filelink"))
        .unwrap()
        .file_type()
        .is_symlink());

    // A hardlink to a file outside resolves inside dest and fails.
    let mut tar = Vec::new();
    raw_entry(&mut tar, b"hl", b'1', b"../outside/secret", b"");
    end_archive(&mut tar);
    let err = apply(&tar, &dest, WhiteoutMode::Apply).unwrap_err();
    assert!(
        matches!(err, Error::Apply { ref entry, .. } if entry == "hl"),
        "{err}"
    );
    // A whiteout cannot delete outside either.
    let mut tar = Vec::new();
    raw_entry(&mut tar, b"../outside/.wh.secret", b'0', b"", b"");
    raw_entry(&mut tar, b"lowlink/.wh.secret", b'0', b"", b"");
    end_archive(&mut tar);
    fs::remove_dir_all(dest.join("lowlink")).ok();
    std::os::unix::fs::symlink(&outside, dest.join("lowlink")).unwrap();
    apply(&tar, &dest, WhiteoutMode::Apply).unwrap();
    assert!(outside.join("secret").exists());
}

#[test]
#[ignore = "needs root"]
fn truncated_and_corrupt_input_is_an_error_naming_the_entry() {
    strata_testkit::require_root(); // unpacking keeps the layers' owners (lchown)
    let big: Vec<u8> = (0..500_000u32).map(|i| (i % 13) as u8).collect();
    let entries = vec![
        file("a", b"small", 0o644),
        file("big", &big, 0o644),
        file("z", b"z", 0o644),
    ];
    let tar = tar_bytes(entries.clone());
    let dir = tempfile::tempdir().unwrap();

    // Cut in the middle of "big"'s content.
    let err = apply(&tar[..300_000], dir.path(), WhiteoutMode::Apply).unwrap_err();
    assert!(
        matches!(err, Error::Truncated { ref entry, .. } if entry == "big"),
        "{err}"
    );

    // Corrupt the header of the third entry.
    let mut bad = tar.clone();
    let z_header = 512 + 512 + 512 + 500_224;
    assert_eq!(&bad[z_header..z_header + 1], b"z");
    bad[z_header + 130] ^= 0x55;
    let err = apply(&bad, dir.path(), WhiteoutMode::Apply).unwrap_err();
    assert!(
        matches!(err, Error::ReadTar { after: Some(ref a), .. } if a == "big"),
        "{err}"
    );

    // Truncated gzip stream.
    let (_, gz) = write_layer(
        entries.clone(),
        Vec::new(),
        Compression::default(),
        WriteOptions::default(),
    )
    .unwrap();
    let (r, _) = open_decompressed(std::io::Cursor::new(gz[..gz.len() / 2].to_vec())).unwrap();
    let err = apply_layer(r, dir.path(), &ApplyOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("big") || matches!(err, Error::ReadTar { .. }),
        "{err}"
    );

    // Corrupted gzip stream (bit flips in the middle of the deflate data).
    let mut gz2 = write_layer(
        entries,
        Vec::new(),
        Compression::default(),
        WriteOptions::default(),
    )
    .unwrap()
    .1;
    let mid = gz2.len() / 3;
    for b in &mut gz2[mid..mid + 64] {
        *b ^= 0xa5;
    }
    let (r, _) = open_decompressed(std::io::Cursor::new(gz2)).unwrap();
    let err = apply_layer(r, dir.path(), &ApplyOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ReadTar { .. } | Error::ReadEntry { .. } | Error::Truncated { .. }
        ),
        "a corrupt stream is a read error, not a write error: {err:?}"
    );

    // Garbage.
    let err = apply(&[0x41u8; 1024], dir.path(), WhiteoutMode::Apply).unwrap_err();
    assert!(matches!(err, Error::ReadTar { after: None, .. }), "{err}");
}

#[test]
#[ignore = "needs root"]
fn replaces_dirs_with_files_and_files_with_dirs() {
    strata_testkit::require_root(); // unpacking keeps the layers' owners (lchown)
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("was-dir/child")).unwrap();
    fs::write(d.join("was-file"), b"f").unwrap();
    let tar = tar_bytes(vec![
        file("was-dir", b"now a file", 0o644),
        Entry::dir("was-file", 0o755),
        file("was-file/inner", b"i", 0o644),
    ]);
    apply(&tar, d, WhiteoutMode::Apply).unwrap();
    assert_eq!(fs::read(d.join("was-dir")).unwrap(), b"now a file");
    assert_eq!(fs::read(d.join("was-file/inner")).unwrap(), b"i");
}
