#![allow(dead_code)]
//! Helpers shared by the integration tests.

use strata_archive::{
    write_layer, Compression, Entry, EntryKind, FileSource, LayerInfo, WriteOptions,
};

/// One raw ustar entry with arbitrary name bytes (for hostile archives).
pub fn raw_entry(out: &mut Vec<u8>, name: &[u8], typeflag: u8, link: &[u8], data: &[u8]) {
    let mut h = tar::Header::new_ustar();
    {
        let u = h.as_ustar_mut().unwrap();
        u.name[..name.len()].copy_from_slice(name);
        u.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::new(typeflag));
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

pub fn end_archive(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0u8; 1024]);
}

pub fn file(path: &str, data: &[u8], mode: u32) -> Entry {
    let mut e = Entry::file_bytes(path, data.to_vec(), mode);
    e.mtime = 1_600_000_000;
    e
}

pub fn layer(entries: Vec<Entry>, c: Compression) -> (LayerInfo, Vec<u8>) {
    write_layer(entries, Vec::new(), c, WriteOptions::default()).unwrap()
}

pub fn tar_bytes(entries: Vec<Entry>) -> Vec<u8> {
    layer(entries, Compression::None).1
}

#[allow(unused_imports)] // each test binary uses a different part
pub use strata_testkit::gunzip;

/// A varied set of entries covering every kind.
pub fn sample_entries(src_file: &std::path::Path) -> Vec<Entry> {
    let long = format!("deep/{}/file.txt", "x".repeat(120));
    let mut xattr_file = file("etc/cap", b"bin", 0o755);
    xattr_file.xattrs.insert(
        "security.capability".into(),
        vec![1, 0, 0, 2, 0, 0x20, 0, 0],
    );
    xattr_file
        .xattrs
        .insert("user.note".into(), b"hello".to_vec());
    let mut on_disk = Entry::new(
        "usr/bin/tool",
        EntryKind::File {
            source: FileSource::Path(src_file.to_path_buf()),
            size: std::fs::metadata(src_file).unwrap().len(),
        },
    );
    on_disk.mode = 0o4755;
    vec![
        Entry::dir("usr", 0o755),
        Entry::dir("usr/bin", 0o755),
        on_disk,
        Entry::dir("etc", 0o755),
        file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644),
        xattr_file,
        Entry::symlink("etc/link", "passwd"),
        Entry::new(
            "etc/hard",
            EntryKind::Hardlink {
                target: "etc/passwd".into(),
            },
        ),
        Entry::dir("deep", 0o755),
        Entry::dir(format!("deep/{}", "x".repeat(120)), 0o755),
        file(&long, b"long", 0o600),
        Entry::new("gone", EntryKind::Whiteout),
        Entry::dir("opq", 0o755),
        Entry::new("opq", EntryKind::OpaqueDir),
        Entry::new("dev/null", EntryKind::CharDevice { major: 1, minor: 3 }),
        Entry::new("fifo", EntryKind::Fifo),
        file("unicodé/ñ.txt", b"u", 0o644),
    ]
}
