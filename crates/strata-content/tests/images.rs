//! Image records, tags, resolve, rmi, prune and multi-handle (multi-process) safety.

mod common;

use std::process::Command;

use common::{make_image, open};
use strata_content::{CacheRecord, Error, PruneOptions};
use strata_oci::{Digest, Reference};

fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

#[test]
fn put_image_requires_its_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let d = make_image(&s, &[("a", b"1")], false);
    let img = s.image(&d).unwrap();
    let mut m = img.manifest.clone();
    m.layers[0].digest = Digest::of(b"missing");
    assert!(matches!(s.put_image(&m), Err(Error::BlobNotFound { .. })));
    let mut m = img.manifest.clone();
    m.layers[0].size += 1;
    assert!(matches!(s.put_image(&m), Err(Error::InvalidImage { .. })));
    assert_eq!(
        img.size,
        img.manifest.config.size + img.manifest.layers[0].size
    );
    assert_eq!(img.created.as_deref(), Some("2024-01-01T00:00:00Z"));
}

#[test]
fn tag_moves_and_resolve_finds_by_name_id_prefix_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let a = make_image(&s, &[("a", b"1")], false);
    let b = make_image(&s, &[("b", b"2")], true);
    s.tag(&r("app:1"), &a).unwrap();
    assert_eq!(s.resolve("app:1").unwrap().manifest_digest, a);
    assert_eq!(
        s.resolve("docker.io/library/app:1")
            .unwrap()
            .manifest_digest,
        a
    );
    s.tag(&r("app:1"), &b).unwrap(); // a tag moves
    assert_eq!(s.resolve("app:1").unwrap().manifest_digest, b);
    s.tag(&r("debian"), &a).unwrap();
    assert_eq!(s.resolve("debian").unwrap().manifest_digest, a);
    assert_eq!(s.resolve("debian:latest").unwrap().manifest_digest, a);

    let id = s.image(&a).unwrap().config_digest;
    assert_eq!(s.resolve(&id.to_string()).unwrap().manifest_digest, a);
    assert_eq!(s.resolve(id.hex()).unwrap().manifest_digest, a);
    assert_eq!(s.resolve(id.short()).unwrap().manifest_digest, a);
    assert_eq!(
        s.resolve(&format!("sha256:{}", &id.hex()[..8]))
            .unwrap()
            .manifest_digest,
        a
    );
    assert_eq!(s.resolve(&a.to_string()).unwrap().manifest_digest, a);
    assert_eq!(s.resolve(&format!("app@{a}")).unwrap().manifest_digest, a);

    let err = s.resolve("nope").unwrap_err();
    assert_eq!(err.to_string(), "no such image: nope");
    assert!(matches!(
        s.tag(&r("x"), &Digest::of(b"zz")),
        Err(Error::NoSuchImage { .. })
    ));
    let digest_only = r(&format!("app@{a}"));
    assert!(matches!(
        s.tag(&digest_only, &a),
        Err(Error::InvalidTag { .. })
    ));
}

#[test]
fn ambiguous_id_prefix_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let mut ids = Vec::new();
    for i in 0..40u8 {
        let d = make_image(&s, &[("f", &[i])], false);
        ids.push(s.image(&d).unwrap().config_digest);
    }
    // With 40 ids, two share a first hex digit.
    let first = ids
        .iter()
        .find(|a| ids.iter().filter(|b| b.hex()[..1] == a.hex()[..1]).count() > 1)
        .unwrap();
    let prefix = &first.hex()[..1];
    let err = s.resolve(prefix).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("ambiguous image id prefix {prefix}")
    );
}

#[test]
fn list_images_has_a_row_per_tag_and_none_rows_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let a = make_image(&s, &[("a", b"1")], false);
    s.tag(&r("app:1"), &a).unwrap();
    s.tag(&r("app:2"), &a).unwrap();
    let dangling = make_image(&s, &[("b", b"2")], false);
    let rows = s.list_images().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].image.manifest_digest, dangling);
    assert!(rows[0].reference.is_none());
    let tags: Vec<String> = rows[1..]
        .iter()
        .map(|r| r.reference.as_ref().unwrap().familiar())
        .collect();
    assert_eq!(tags, ["app:1", "app:2"]);
}

#[test]
fn rmi_untags_then_deletes_and_needs_force_for_several_repos() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let a = make_image(&s, &[("a", b"1")], false);
    s.tag(&r("app:1"), &a).unwrap();
    s.tag(&r("other:1"), &a).unwrap();
    let id = s.image(&a).unwrap().config_digest;

    let err = s.remove_image(id.short(), false).unwrap_err();
    assert!(matches!(err, Error::ImageInUse { .. }), "{err}");
    assert!(err.to_string().contains("must be forced"));

    let rep = s.remove_image("app:1", false).unwrap();
    assert_eq!(rep.lines(), ["Untagged: app:1"]);
    assert!(s.image(&a).is_ok());
    let rep = s.remove_image("other:1", false).unwrap();
    assert_eq!(
        rep.lines(),
        ["Untagged: other:1".to_owned(), format!("Deleted: {id}")]
    );
    assert!(matches!(s.image(&a), Err(Error::NoSuchImage { .. })));
    assert!(s.list_images().unwrap().is_empty());

    let b = make_image(&s, &[("b", b"2")], false);
    s.tag(&r("x:1"), &b).unwrap();
    s.tag(&r("y:1"), &b).unwrap();
    let rep = s.remove_image(&b.to_string(), true).unwrap();
    assert_eq!(rep.untagged.len(), 2);
    assert_eq!(rep.deleted_manifests, [b]);
    assert!(matches!(
        s.remove_image("x:1", false),
        Err(Error::NoSuchImage { .. })
    ));
    assert!(!s.untag(&r("x:1")).unwrap());
}

#[test]
fn prune_frees_exactly_the_unreferenced_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let kept = make_image(&s, &[("a", b"kept")], true);
    s.tag(&r("kept:1"), &kept).unwrap();
    let dangling = make_image(&s, &[("b", b"dangling")], false);
    let cached_blob = s.put_blob(b"cache layer").unwrap();
    s.cache_put(&CacheRecord::new("key", vec![], vec![cached_blob.clone()]))
        .unwrap();
    let junk = s.put_blob(b"junk").unwrap();
    std::fs::write(dir.path().join("tmp/blob-leftover"), b"partial").unwrap();

    let dangling_img = s.image(&dangling).unwrap();
    let mut expected: Vec<Digest> = vec![junk.clone(), dangling, dangling_img.config_digest];
    expected.extend(
        dangling_img
            .manifest
            .layers
            .iter()
            .map(|l| l.digest.clone()),
    );
    expected.sort();
    let expected_bytes: u64 = expected.iter().map(|d| s.blob_size(d).unwrap()).sum();

    let before = s.list_blobs().unwrap().len();
    let rep = s.prune(&PruneOptions::default()).unwrap();
    let mut removed = rep.removed_blobs.clone();
    removed.sort();
    assert_eq!(removed, expected);
    assert_eq!(rep.freed_bytes, expected_bytes);
    assert_eq!(rep.removed_tmp_files, 1);
    assert_eq!(rep.removed_images.len(), 1);
    assert_eq!(
        rep.to_string(),
        format!(
            "Total reclaimed space: {}",
            strata_content::human_size(expected_bytes)
        )
    );
    assert_eq!(s.list_blobs().unwrap().len(), before - expected.len());
    let img = s.resolve("kept:1").unwrap();
    for l in &img.manifest.layers {
        s.verify_blob(&l.digest).unwrap();
    }
    assert!(s.has_blob(&cached_blob));

    // Dropping the cache frees its blob; a second prune finds nothing else.
    let rep = s
        .prune(&PruneOptions {
            cache: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rep.removed_blobs, [cached_blob]);
    assert_eq!(rep.removed_cache_records, 1);
    let rep = s.prune(&PruneOptions::default()).unwrap();
    assert!(rep.removed_blobs.is_empty());
    assert_eq!(rep.freed_bytes, 0);
}

#[test]
fn prune_can_keep_dangling_images() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let d = make_image(&s, &[("a", b"x")], false);
    let opts = PruneOptions {
        dangling: false,
        ..Default::default()
    };
    assert!(s.prune(&opts).unwrap().removed_blobs.is_empty());
    let opts = PruneOptions {
        keep_untagged_since: Some(
            std::time::SystemTime::now() - std::time::Duration::from_secs(60),
        ),
        ..Default::default()
    };
    assert!(s.prune(&opts).unwrap().removed_blobs.is_empty());
    assert!(s.image(&d).is_ok());
    // An image a container uses is kept, with its blobs.
    let opts = PruneOptions {
        keep_images: vec![d.clone()],
        ..Default::default()
    };
    let rep = s.prune(&opts).unwrap();
    assert!(rep.removed_images.is_empty() && rep.removed_blobs.is_empty());
    assert!(s.image(&d).is_ok());
    let rep = s.prune(&PruneOptions::default()).unwrap();
    assert_eq!(rep.removed_images, [d]);
}

#[test]
fn prune_waits_for_other_handles_and_keeps_their_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let other = open(dir.path());
    let opts = PruneOptions {
        wait: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    assert!(matches!(s.prune(&opts), Err(Error::Busy { .. })));
    drop(other);
    let mut w = s.blob_writer().unwrap();
    std::io::Write::write_all(&mut w, b"in flight").unwrap();
    let rep = s.prune(&opts).unwrap();
    assert_eq!(rep.removed_tmp_files, 0);
    let (d, _) = w.commit(None).unwrap();
    assert!(s.has_blob(&d));
}

#[test]
fn separate_handles_write_and_tag_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let root = dir.path().to_owned();
            scope.spawn(move || {
                let s = open(&root); // a separate handle: its own connection and lock fd
                for i in 0..10u8 {
                    let d = make_image(&s, &[("f", &[t, i]), ("shared", b"same")], i % 2 == 0);
                    s.tag(&r(&format!("t{t}:{i}")), &d).unwrap();
                    s.tag(&r("race:latest"), &d).unwrap();
                }
            });
        }
    });
    let s = open(dir.path());
    let rows = s.list_images().unwrap();
    assert_eq!(rows.iter().filter(|r| r.reference.is_some()).count(), 41);
    for (d, _) in s.list_blobs().unwrap() {
        s.verify_blob(&d).unwrap();
    }
    assert!(s.resolve("race").is_ok());
}

/// What each child process of `two_processes_share_a_store` does.
fn child_process_writer(root: &str) {
    let who: u8 = std::env::var("STRATA_TEST_CHILD_ID")
        .unwrap()
        .parse()
        .unwrap();
    let s = open(std::path::Path::new(root));
    for i in 0..15u8 {
        let d = make_image(&s, &[("f", &[who, i]), ("common", b"common")], i % 3 == 0);
        s.tag(&r(&format!("p{who}:{i}")), &d).unwrap();
        s.cache_put(&CacheRecord::new(format!("k{who}-{i}"), vec![i], vec![d]))
            .unwrap();
    }
}

/// Three processes (this test binary run again, as children) write one store at once.
#[test]
fn two_processes_share_a_store() {
    if let Ok(root) = std::env::var("STRATA_TEST_CHILD_ROOT") {
        return child_process_writer(&root);
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", "two_processes_share_a_store", "--test-threads=1"])
                .env("STRATA_TEST_CHILD_ROOT", dir.path())
                .env("STRATA_TEST_CHILD_ID", id.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let s = open(dir.path());
    assert_eq!(s.list_images().unwrap().len(), 45);
    assert_eq!(s.cache_len().unwrap(), 45);
    for (d, _) in s.list_blobs().unwrap() {
        s.verify_blob(&d).unwrap();
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
    // Nothing is garbage: every blob is referenced.
    let rep = s.prune(&PruneOptions::default()).unwrap();
    assert!(rep.removed_blobs.is_empty(), "{rep:?}");
}

#[test]
fn repo_digests_find_an_image_by_its_index_and_go_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let a = make_image(&s, &[("a", b"1")], false);
    let b = make_image(&s, &[("b", b"2")], false);
    s.tag(&r("reg.test/app:1"), &a).unwrap();
    let index = Digest::of(b"an index naming a");
    s.add_repo_digest("reg.test/app", &index, &a).unwrap();
    assert_eq!(
        s.repo_digests_of(&a).unwrap(),
        [format!("reg.test/app@{index}")]
    );
    let by_index = format!("reg.test/app@{index}");
    assert_eq!(s.resolve(&by_index).unwrap().manifest_digest, a);
    // Another repository does not know that digest.
    assert!(matches!(
        s.resolve(&format!("reg.test/other@{index}")),
        Err(Error::NoSuchImage { .. })
    ));
    // Recorded again for another image (the tag moved upstream): it follows.
    s.add_repo_digest("reg.test/app", &index, &b).unwrap();
    assert_eq!(s.resolve(&by_index).unwrap().manifest_digest, b);
    assert!(s.repo_digests_of(&a).unwrap().is_empty());
    // Deleting the image deletes its repo digests.
    s.remove_image(&b.to_string(), true).unwrap();
    assert!(matches!(
        s.resolve(&by_index),
        Err(Error::NoSuchImage { .. })
    ));
}

#[test]
fn keep_last_ranks_tagged_images_by_last_use_and_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let imgs: Vec<Digest> = (0..4u8)
        .map(|i| {
            let d = make_image(&s, &[("f", &[b'0' + i])], false);
            s.tag(&r(&format!("app:{i}")), &d).unwrap();
            d
        })
        .collect();
    let dangling = make_image(&s, &[("g", b"dangling")], false);
    s.touch_image(&imgs[0]).unwrap();
    s.touch_image(&imgs[2]).unwrap();
    // Last use: app:2, app:0, then by storing (tagging) time the dangling one, app:3, app:1.
    let ranked: Vec<Digest> = s
        .images_by_last_use()
        .unwrap()
        .into_iter()
        .filter(|u| !u.tags.is_empty())
        .map(|u| u.manifest_digest)
        .collect();
    assert_eq!(
        ranked,
        [&imgs[2], &imgs[0], &imgs[3], &imgs[1]].map(Clone::clone)
    );

    let opts = PruneOptions {
        keep_last: Some(2),
        keep_images: vec![imgs[1].clone()],
        dry_run: true,
        ..Default::default()
    };
    let blobs = s.list_blobs().unwrap();
    let dry = s.prune(&opts).unwrap();
    assert_eq!(dry.removed_images, [dangling.clone(), imgs[3].clone()]);
    assert_eq!(dry.untagged, [r("app:3")]);
    assert!(dry.freed_bytes > 0 && !dry.removed_blobs.is_empty());
    assert_eq!(s.list_blobs().unwrap(), blobs, "a dry run removes nothing");
    assert!(s.resolve("app:3").is_ok());

    let real = s
        .prune(&PruneOptions {
            dry_run: false,
            ..opts
        })
        .unwrap();
    assert_eq!(real.removed_images, dry.removed_images);
    assert_eq!(real.removed_blobs, dry.removed_blobs);
    assert_eq!(real.freed_bytes, dry.freed_bytes);
    assert!(matches!(s.resolve("app:3"), Err(Error::NoSuchImage { .. })));
    for kept in ["app:0", "app:1", "app:2"] {
        s.resolve(kept).unwrap();
    }
}
