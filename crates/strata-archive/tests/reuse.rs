//! `ApplyOptions::reuse`: identical files are hard-linked from an earlier unpack, anything
//! that differs in a byte or in metadata is written, and the result is always what a plain
//! unpack gives.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use strata_archive::{apply_layer, ApplyOptions, ApplyStats, Entry};

/// A 600 kB file (more than one 256 kB read buffer) whose byte at `at` is `b`.
fn big(at: usize, b: u8) -> Vec<u8> {
    let mut v: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    v[at] = b;
    v
}

fn entries(edit: bool) -> Vec<Entry> {
    let (small, large) = if edit {
        (b"print(2)\n".to_vec(), big(400_000, 0xFF))
    } else {
        (b"print(1)\n".to_vec(), big(400_000, 0x00))
    };
    vec![
        Entry::dir("app", 0o755),
        file("app/same.py", b"unchanged\n", 0o644),
        file("app/edit.py", &small, 0o644),
        file("app/big.bin", &large, 0o644),
        file("app/empty", b"", 0o600),
        Entry::symlink("app/link", "same.py"),
    ]
}

/// Owner of the files: the test user's, so the test runs with or without root.
fn opts(dir: &Path, reuse: Option<&Path>) -> ApplyOptions {
    let m = fs::metadata(dir).unwrap();
    ApplyOptions {
        chown: Some((m.uid(), m.gid())),
        reuse: reuse.map(Path::to_path_buf),
        ..ApplyOptions::default()
    }
}

fn unpack(tar: &[u8], dest: &Path, reuse: Option<&Path>) -> ApplyStats {
    fs::create_dir_all(dest).unwrap();
    apply_layer(tar, dest, &opts(dest, reuse)).unwrap()
}

fn ino(p: &Path) -> u64 {
    fs::symlink_metadata(p).unwrap().ino()
}

#[test]
fn identical_files_are_linked_and_changed_ones_written() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new, plain) = (
        dir.path().join("old"),
        dir.path().join("new"),
        dir.path().join("plain"),
    );
    unpack(&tar_bytes(entries(false)), &old, None);
    let tar = tar_bytes(entries(true));
    let stats = unpack(&tar, &new, Some(&old));
    unpack(&tar, &plain, None);

    // same.py and the empty file are linked; edit.py (same size and mtime, one byte
    // different) and big.bin (differs after the first read buffer) are not.
    assert_eq!(stats.linked, 2, "{stats:?}");
    assert_eq!(stats.files, 4);
    assert_eq!(ino(&old.join("app/same.py")), ino(&new.join("app/same.py")));
    assert_eq!(ino(&old.join("app/empty")), ino(&new.join("app/empty")));
    assert_ne!(ino(&old.join("app/edit.py")), ino(&new.join("app/edit.py")));
    assert_ne!(ino(&old.join("app/big.bin")), ino(&new.join("app/big.bin")));
    // The result is byte for byte and mode for mode what a plain unpack gives.
    for name in ["same.py", "edit.py", "big.bin", "empty"] {
        let (a, b) = (new.join("app").join(name), plain.join("app").join(name));
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{name}");
        let (ma, mb) = (fs::metadata(&a).unwrap(), fs::metadata(&b).unwrap());
        assert_eq!(
            (ma.mode(), ma.mtime(), ma.mtime_nsec(), ma.uid()),
            (mb.mode(), mb.mtime(), mb.mtime_nsec(), mb.uid()),
            "{name}"
        );
    }
    assert_eq!(
        fs::read(new.join("app/big.bin")).unwrap(),
        big(400_000, 0xFF)
    );
    // The earlier unpack is untouched.
    assert_eq!(fs::read(old.join("app/edit.py")).unwrap(), b"print(1)\n");
    assert_eq!(fs::read(old.join("app/big.bin")).unwrap(), big(400_000, 0));
}

/// The reuse dir holds `a` and `b` as one inode (a hard link in its layer); the new layer
/// has them as two identical files. Linking both from there would make them one inode in
/// the new unpack, a hard link the layer does not have (COPY --from would then copy it as
/// a link): only the first is linked, the second written. A real link in the layer still is.
#[test]
fn one_reused_inode_is_never_linked_at_two_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    let link = strata_archive::EntryKind::Hardlink {
        target: "app/a".into(),
    };
    let linked = vec![
        Entry::dir("app", 0o755),
        file("app/a", b"same\n", 0o644),
        Entry::new("app/b", link.clone()),
    ];
    unpack(&tar_bytes(linked.clone()), &old, None);
    assert_eq!(ino(&old.join("app/a")), ino(&old.join("app/b")));
    let separate = vec![
        Entry::dir("app", 0o755),
        file("app/a", b"same\n", 0o644),
        file("app/b", b"same\n", 0o644),
    ];
    let stats = unpack(&tar_bytes(separate), &new, Some(&old));
    assert_eq!(stats.linked, 1, "{stats:?}");
    assert_eq!(ino(&old.join("app/a")), ino(&new.join("app/a")));
    assert_ne!(ino(&new.join("app/a")), ino(&new.join("app/b")));
    assert_eq!(fs::read(new.join("app/b")).unwrap(), b"same\n");

    let again = dir.path().join("again");
    unpack(&tar_bytes(linked), &again, Some(&new));
    assert_eq!(ino(&again.join("app/a")), ino(&again.join("app/b")));
}

#[test]
fn metadata_differences_are_not_linked() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    unpack(&tar_bytes(entries(false)), &old, None);
    let mut changed = entries(false);
    changed[1].mtime += 1; // same.py: newer mtime
    changed[4].mode = 0o644; // empty: another mode
    let stats = unpack(&tar_bytes(changed), &new, Some(&old));
    assert_eq!(stats.linked, 2, "only edit.py and big.bin: {stats:?}");
    assert_ne!(ino(&old.join("app/same.py")), ino(&new.join("app/same.py")));
    assert_ne!(ino(&old.join("app/empty")), ino(&new.join("app/empty")));
    assert_eq!(
        fs::metadata(new.join("app/same.py")).unwrap().mtime(),
        1_600_000_001
    );
    assert_eq!(
        fs::metadata(new.join("app/empty")).unwrap().mode() & 0o7777,
        0o644
    );
}

#[test]
fn files_with_xattrs_are_not_linked() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    unpack(&tar_bytes(entries(false)), &old, None);
    strata_archive::set_xattr(&old.join("app/same.py"), "user.note", b"x")
        .unwrap_or_else(|e| panic!("needs a TMPDIR filesystem with user xattrs: {e}"));
    let stats = unpack(&tar_bytes(entries(false)), &new, Some(&old));
    assert_eq!(stats.linked, 3, "all but the file with an xattr: {stats:?}");
    assert_ne!(ino(&old.join("app/same.py")), ino(&new.join("app/same.py")));
    assert!(strata_archive::list_xattrs(&new.join("app/same.py"))
        .unwrap()
        .is_empty());
}

#[test]
fn candidates_are_never_found_through_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let (outside, reuse, new) = (
        dir.path().join("outside"),
        dir.path().join("reuse"),
        dir.path().join("new"),
    );
    // The identical files exist, but only through a symlink in the reuse dir.
    unpack(&tar_bytes(entries(false)), &outside, None);
    fs::create_dir_all(&reuse).unwrap();
    symlink(outside.join("app"), reuse.join("app")).unwrap();
    let stats = unpack(&tar_bytes(entries(false)), &new, Some(&reuse));
    assert_eq!(stats.linked, 0, "{stats:?}");
    assert_ne!(
        ino(&outside.join("app/same.py")),
        ino(&new.join("app/same.py"))
    );
}

#[test]
fn a_missing_reuse_dir_is_a_plain_unpack() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new");
    let stats = unpack(
        &tar_bytes(entries(true)),
        &new,
        Some(&dir.path().join("nope")),
    );
    assert_eq!((stats.linked, stats.files), (0, 4));
    assert_eq!(fs::read(new.join("app/edit.py")).unwrap(), b"print(2)\n");
}

#[test]
fn a_truncated_entry_fails_while_comparing() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    unpack(&tar_bytes(entries(false)), &old, None);
    let tar = tar_bytes(entries(false));
    // Cut the archive inside big.bin's data (after its first read buffer).
    let at = tar
        .windows(11)
        .position(|w| w == b"app/big.bin")
        .expect("big.bin header");
    let cut = &tar[..at + 512 + 300_000];
    fs::create_dir_all(&new).unwrap();
    let err = apply_layer(cut, &new, &opts(&new, Some(&old))).unwrap_err();
    assert!(
        err.to_string().contains("app/big.bin"),
        "names the entry: {err}"
    );
}
