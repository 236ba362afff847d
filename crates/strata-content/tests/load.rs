//! `load` of legacy docker-archives and of corrupt or truncated inputs (store unchanged).

mod common;

use std::io::Read;
use std::path::Path;

use common::{gzip, layer_tar, make_image, open};
use strata_content::{docker_archive, load::load, Error, Store};
use strata_oci::config::host_architecture;
use strata_oci::{Digest, ImageConfig, Reference};

fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

/// A tar of `(name, bytes)` files and `(name, target)` symlinks.
fn build_tar(files: &[(&str, Vec<u8>)], links: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, bytes.as_slice()).unwrap();
    }
    for (name, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, name, target).unwrap();
    }
    b.into_inner().unwrap()
}

/// Every entry of a tar, with `edit` applied to the file contents.
fn rewrite(tar_bytes: &[u8], edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    let mut files = Vec::new();
    let mut a = tar::Archive::new(tar_bytes);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = e.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        let bytes = edit(&name, bytes);
        files.push((name, bytes));
    }
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    build_tar(&files, &[])
}

/// A legacy (docker < 25) archive: `<config>.json`, `<id>/layer.tar`; the second image's
/// layer is a symlink to the first's.
fn legacy_archive(diff_id_override: Option<Digest>) -> Vec<u8> {
    let layer = layer_tar("hello.txt", b"legacy\n");
    let mut config = ImageConfig::scratch(host_architecture());
    config.rootfs.diff_ids = vec![diff_id_override.unwrap_or_else(|| Digest::of(&layer))];
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_name = format!("{}.json", Digest::of(&config_bytes).hex());
    let manifest = serde_json::json!([
        {"Config": config_name, "RepoTags": ["legacy:1"], "Layers": ["aaaa/layer.tar"]},
        {"Config": config_name, "RepoTags": ["legacy:2"], "Layers": ["bbbb/layer.tar"]},
    ]);
    build_tar(
        &[
            (&config_name, config_bytes.clone()),
            ("aaaa/VERSION", b"1.0".to_vec()),
            ("aaaa/json", b"{}".to_vec()),
            ("aaaa/layer.tar", layer),
            ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
            ("repositories", b"{}".to_vec()),
        ],
        &[("bbbb/layer.tar", "../aaaa/layer.tar")],
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Images and tags of a store, to compare before and after a failed load.
fn snapshot(s: &Store) -> Vec<(Option<String>, Digest)> {
    s.list_images()
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                row.reference.map(|r| r.to_string()),
                row.image.manifest_digest,
            )
        })
        .collect()
}

#[test]
fn loads_a_legacy_docker_archive_with_symlinked_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(&tmp.path().join("store"));
    let file = write(tmp.path(), "legacy.tar", &legacy_archive(None));
    let loaded = load(&s, &file).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].manifest_digest, loaded[1].manifest_digest);
    let img = s.resolve("legacy:2").unwrap();
    assert_eq!(
        img.manifest.layers[0].media_type,
        strata_oci::media_types::OCI_LAYER
    );
    assert_eq!(img.manifest.layers[0].digest, img.config.rootfs.diff_ids[0]);
    assert_eq!(s.list_images().unwrap().len(), 2);
}

#[test]
fn diff_id_mismatch_is_an_error_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(&tmp.path().join("store"));
    let file = write(
        tmp.path(),
        "bad.tar",
        &legacy_archive(Some(Digest::of(b"other"))),
    );
    let err = load(&s, &file).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.tar") && msg.contains("aaaa/layer.tar"),
        "{msg}"
    );
    assert!(msg.contains("diffID"), "{msg}");
    assert!(s.list_images().unwrap().is_empty());
}

fn saved_archive(s: &Store, big: bool) -> (Vec<u8>, strata_content::Image) {
    // A big layer (> 1 MiB) is streamed into the store rather than kept in memory.
    let big_content: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let second: &[u8] = if big { &big_content } else { b"bbbb" };
    let d = make_image(s, &[("a.txt", b"aaaa"), ("b.txt", second)], !big);
    let image = s.image(&d).unwrap();
    let bytes = docker_archive::save(s, &[(image.clone(), vec![r("app:1")])], Vec::new()).unwrap();
    (bytes, image)
}

#[test]
fn corrupt_blob_in_archive_is_rejected_naming_the_entry() {
    corrupt_blob_case(false);
}

#[test]
fn corrupt_big_blob_in_archive_is_rejected_naming_the_entry() {
    corrupt_blob_case(true);
}

fn corrupt_blob_case(big: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let src = open(&tmp.path().join("src"));
    let (bytes, image) = saved_archive(&src, big);
    let layer = image.manifest.layers[1].digest.hex().to_owned();
    let corrupt = rewrite(&bytes, |name, mut b| {
        if name.ends_with(&layer) {
            let n = b.len() / 2;
            b[n] ^= 0xff;
        }
        b
    });
    let file = write(tmp.path(), "corrupt.tar", &corrupt);

    let dst = open(&tmp.path().join("dst"));
    let other = make_image(&dst, &[("x", b"x")], false);
    dst.tag(&r("app:1"), &other).unwrap();
    let before = snapshot(&dst);
    let err = load(&dst, &file).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Load { .. }), "{msg}");
    assert!(
        msg.contains("corrupt.tar") && msg.contains(&format!("blobs/sha256/{layer}")),
        "{msg}"
    );
    assert_eq!(snapshot(&dst), before);
    assert_eq!(dst.resolve("app:1").unwrap().manifest_digest, other);
    assert!(!dst.has_blob(&image.manifest.layers[1].digest));
}

#[test]
fn truncated_archives_are_rejected_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = open(&tmp.path().join("src"));
    let (bytes, _) = saved_archive(&src, true);
    let dst = open(&tmp.path().join("dst"));
    let before = snapshot(&dst);
    for cut in [
        1000,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 2048 - 700,
    ] {
        let plain = write(tmp.path(), "cut.tar", &bytes[..cut]);
        let err = load(&dst, &plain).unwrap_err();
        assert!(err.to_string().contains("cut.tar"), "{err}");
        let gz = gzip(&bytes);
        let gz_file = write(tmp.path(), "cut.tar.gz", &gz[..gz.len() * 2 / 3]);
        let err = load(&dst, &gz_file).unwrap_err();
        assert!(err.to_string().contains("cut.tar.gz"), "{err}");
    }
    assert_eq!(snapshot(&dst), before);
    assert_eq!(
        std::fs::read_dir(dst.root().join("tmp")).unwrap().count(),
        0
    );
}

#[test]
fn not_an_archive_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(&tmp.path().join("store"));
    let empty = write(
        tmp.path(),
        "empty.tar",
        &build_tar(&[("hello", b"x".to_vec())], &[]),
    );
    let err = load(&s, &empty).unwrap_err();
    assert!(
        err.to_string()
            .contains("neither manifest.json nor index.json"),
        "{err}"
    );
    let missing = build_tar(
        &[(
            "manifest.json",
            br#"[{"Config":"c.json","RepoTags":[],"Layers":[]}]"#.to_vec(),
        )],
        &[],
    );
    let file = write(tmp.path(), "missing.tar", &missing);
    let err = load(&s, &file).unwrap_err();
    assert!(
        err.to_string().contains("c.json: missing from the archive"),
        "{err}"
    );
}
