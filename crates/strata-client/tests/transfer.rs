//! Image-level pull, push and copy against a real registry (Debian's `docker-registry`,
//! distribution 2.8), checked with skopeo, and requests counted in the registry's
//! access log.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use strata_client::config::certs::CertsDirs;
use strata_client::config::credentials::CredentialStore;
use strata_client::config::registries::RegistriesConf;
use strata_client::image::location::Location;
use strata_client::{Client, CopyOptions, PullOptions, PushOptions, TransferError};
use strata_content::Store;
use strata_distribution::MediaError;
use strata_oci::{Digest, Platform, Reference};
use strata_testkit::registry::{AccessLine, TestRegistry};
use strata_testkit::skopeo::{raw_manifest, skopeo};
use strata_testkit::{gzip, noise_bytes};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn client() -> Client {
    let none = |_: &str| None;
    Client::new(
        CredentialStore::from_vars(none, None),
        RegistriesConf::default(),
        CertsDirs::default(),
    )
}

fn new_store(dir: &Path, name: &str) -> Store {
    Store::open(&dir.join(name)).unwrap()
}

fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

/// The bytes of an image: layers (gzip), config, manifest, as a registry or layout keeps
/// them.
struct Parts {
    blobs: Vec<Vec<u8>>,
    manifest: Vec<u8>,
}

fn image_parts(seed: u8, layers: usize, arch: &str) -> Parts {
    let mut blobs = Vec::new();
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..layers {
        let mut tar = noise_bytes(3000 + i * 1000);
        tar[0] = seed;
        tar[1] = i as u8;
        let layer = gzip(&tar);
        diff_ids.push(Digest::of(&tar).to_string());
        descs.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": Digest::of(&layer).to_string(),
            "size": layer.len(),
        }));
        blobs.push(layer);
    }
    let config = serde_json::to_vec(&json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Labels": {"seed": seed.to_string()}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": Digest::of(&config).to_string(),
            "size": config.len(),
        },
        "layers": descs,
    }))
    .unwrap();
    blobs.push(config);
    Parts { blobs, manifest }
}

/// Stores an image made of `parts` and tags it.
fn store_image(store: &Store, parts: &Parts, tag: &str) -> Digest {
    for b in &parts.blobs {
        store.put_blob(b).unwrap();
    }
    let digest = store.put_manifest_bytes(&parts.manifest).unwrap();
    store.tag(&reference(tag), &digest).unwrap();
    digest
}

/// Writes an OCI layout holding `images` under one index (tag `tag`) with their
/// platforms. Returns the index digest.
fn write_index_layout(dir: &Path, images: &[(&Parts, &str)], tag: &str) -> Digest {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        fs::write(blobs.join(d.hex()), bytes).unwrap();
        d
    };
    let mut entries = Vec::new();
    for (parts, arch) in images {
        parts.blobs.iter().for_each(|b| drop(put(b)));
        let d = put(&parts.manifest);
        entries.push(json!({
            "mediaType": OCI_MANIFEST, "digest": d.to_string(), "size": parts.manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries,
    }))
    .unwrap();
    let index_digest = put(&index);
    let top = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_INDEX, "digest": index_digest.to_string(), "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    index_digest
}

fn loc(s: &str) -> Location {
    s.parse().unwrap()
}

/// Requests made after `from` (an index into the access log).
fn requests_since(reg: &TestRegistry, from: usize) -> Vec<AccessLine> {
    reg.requests().into_iter().skip(from).collect()
}

fn count(lines: &[AccessLine], method: &str, part: &str) -> usize {
    lines
        .iter()
        .filter(|l| l.method == method && l.path.contains(part))
        .count()
}

/// Images and tags of a store, to check a failure changed neither.
fn snapshot(store: &Store) -> Vec<(Option<String>, Digest)> {
    let rows = store.list_images().unwrap();
    rows.into_iter()
        .map(|r| (r.reference.map(|r| r.to_string()), r.image.manifest_digest))
        .collect()
}

#[test]
fn push_keeps_the_manifest_bytes_and_skopeo_reads_and_copies_the_result() {
    let reg = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), "store");
    let parts = image_parts(1, 2, "amd64");
    let digest = store_image(&store, &parts, "app:1");
    let image = store.image(&digest).unwrap();
    let dest = reference(&format!("{}/app:1", reg.host()));
    let pushed = client()
        .push_image(&store, &image, &dest, &PushOptions::default())
        .unwrap();
    assert_eq!(pushed, digest);
    assert_eq!(raw_manifest(&dest.to_string()), parts.manifest);
    let layout = dir.path().join("layout");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{dest}"),
        &format!("oci:{}:v1", layout.display()),
    ]);
    assert!(layout.join("blobs/sha256").join(digest.hex()).is_file());
}

#[test]
fn a_noop_push_only_heads_and_a_push_to_another_repository_mounts() {
    let reg = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), "store");
    let parts = image_parts(2, 3, "amd64");
    let digest = store_image(&store, &parts, &format!("{}/base:1", reg.host()));
    let image = store.image(&digest).unwrap();
    let client = client();
    let first = reference(&format!("{}/base:1", reg.host()));
    client
        .push_image(&store, &image, &first, &PushOptions::default())
        .unwrap();
    let before = reg.requests().len();
    client
        .push_image(&store, &image, &first, &PushOptions::default())
        .unwrap();
    let again = requests_since(&reg, before);
    assert_eq!(count(&again, "HEAD", "/blobs/"), 4, "{again:#?}");
    assert_eq!(count(&again, "POST", "/blobs/uploads/"), 0, "{again:#?}");
    assert_eq!(count(&again, "PUT", "/manifests/"), 1, "{again:#?}");
    // The store's tag says the blobs came from base: a push to app mounts all four.
    let before = reg.requests().len();
    let other = reference(&format!("{}/app:1", reg.host()));
    client
        .push_image(&store, &image, &other, &PushOptions::default())
        .unwrap();
    let mounted = requests_since(&reg, before);
    assert_eq!(count(&mounted, "POST", "mount="), 4, "{mounted:#?}");
    assert_eq!(
        count(&mounted, "PATCH", "/blobs/uploads/"),
        0,
        "{mounted:#?}"
    );
    assert_eq!(count(&mounted, "PUT", "/blobs/uploads/"), 0, "{mounted:#?}");
    assert_eq!(raw_manifest(&other.to_string()), parts.manifest);
}

#[test]
fn pull_of_an_image_pushed_by_skopeo_keeps_its_digest_and_skips_stored_blobs() {
    let reg = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let parts = image_parts(3, 2, Platform::host().architecture.as_str());
    let index_digest = write_index_layout(
        &layout,
        &[(&parts, Platform::host().architecture.as_str())],
        "v1",
    );
    let name = format!("{}/pulled:1", reg.host());
    skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", layout.display()),
        &format!("docker://{name}"),
    ]);
    let store = new_store(dir.path(), "store");
    let pulled = client()
        .pull_image(&store, &reference(&name), &PullOptions::default())
        .unwrap();
    assert_eq!(pulled.manifest_digest, Digest::of(&parts.manifest));
    assert_eq!(pulled.index_digest, Some(index_digest));
    assert!(!pulled.up_to_date);
    assert_eq!(
        store.lookup_tag(&reference(&name)).unwrap(),
        Some(pulled.manifest_digest.clone())
    );
    assert_eq!(
        store.read_blob(&pulled.manifest_digest).unwrap(),
        parts.manifest
    );
    let before = reg.requests().len();
    let again = client()
        .pull_image(&store, &reference(&name), &PullOptions::default())
        .unwrap();
    assert!(again.up_to_date);
    let lines = requests_since(&reg, before);
    assert_eq!(count(&lines, "GET", "/blobs/"), 0, "{lines:#?}");
}

#[test]
fn platform_selection_and_its_errors() {
    let reg = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let amd = image_parts(4, 1, "amd64");
    let arm = image_parts(5, 1, "arm64");
    let index = write_index_layout(&layout, &[(&amd, "amd64"), (&arm, "arm64")], "v1");
    let name = format!("{}/multi:1", reg.host());
    let client = client();
    client
        .copy(
            None,
            &loc(&format!("oci:{}:v1", layout.display())),
            &loc(&name),
            &CopyOptions {
                all: true,
                ..CopyOptions::default()
            },
        )
        .unwrap();
    let store = new_store(dir.path(), "store");
    let opts = |p: &str| PullOptions {
        platform: Some(p.parse().unwrap()),
        ..PullOptions::default()
    };
    let pulled = client
        .pull_image(&store, &reference(&name), &opts("linux/arm64"))
        .unwrap();
    assert_eq!(pulled.manifest_digest, Digest::of(&arm.manifest));
    // docker's RepoDigests: the index digest, by which the store then finds the image.
    let by_index = format!("{}/multi@{index}", reg.host());
    let recorded = store.repo_digests_of(&pulled.manifest_digest).unwrap();
    assert_eq!(recorded, [by_index.as_str()]);
    assert_eq!(
        store.resolve(&by_index).unwrap().manifest_digest,
        pulled.manifest_digest
    );
    let before = snapshot(&store);
    let err = client
        .pull_image(&store, &reference(&name), &opts("linux/s390x"))
        .unwrap_err();
    match &err {
        TransferError::NoPlatform {
            wanted, available, ..
        } => {
            assert_eq!(wanted, "linux/s390x");
            assert_eq!(available, "linux/amd64, linux/arm64");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&store), before);
}

#[test]
fn copy_all_between_registries_and_layouts_keeps_every_digest() {
    let a = TestRegistry::start();
    let b = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let amd = image_parts(6, 2, "amd64");
    let arm = image_parts(7, 2, "arm64");
    let index = write_index_layout(&layout, &[(&amd, "amd64"), (&arm, "arm64")], "v1");
    let src = format!("{}/multi:1", a.host());
    skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", layout.display()),
        &format!("docker://{src}"),
    ]);
    let client = client();
    let all = CopyOptions {
        all: true,
        ..CopyOptions::default()
    };
    let dst = format!("{}/copied:2", b.host());
    let copied = client.copy(None, &loc(&src), &loc(&dst), &all).unwrap();
    assert_eq!(copied.digest, index);
    assert_eq!(copied.images.len(), 2);
    assert_eq!(raw_manifest(&dst), raw_manifest(&src));
    let arm_ref = format!("{}/copied@{}", b.host(), Digest::of(&arm.manifest));
    assert_eq!(raw_manifest(&arm_ref), arm.manifest);
    // Into a new layout, next to an entry that must stay.
    let out = dir.path().join("out");
    client
        .copy(
            None,
            &loc(&dst),
            &loc(&format!("oci:{}:keep", out.display())),
            &CopyOptions::default(),
        )
        .unwrap();
    client
        .copy(
            None,
            &loc(&dst),
            &loc(&format!("oci:{}:all", out.display())),
            &all,
        )
        .unwrap();
    let written: Value =
        serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let entries = written["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{written}");
    assert_eq!(entries[1]["digest"], index.to_string());
    assert_eq!(entries[1]["mediaType"], OCI_INDEX);
    skopeo(&["inspect", "--raw", &format!("oci:{}:all", out.display())]);
    // --all into the store is refused before anything is read or written.
    let store = new_store(dir.path(), "store");
    let err = client
        .copy(Some(&store), &loc(&dst), &loc("store:x:1"), &all)
        .unwrap_err();
    assert!(
        matches!(err, TransferError::AllNeedsIndexDestination { .. }),
        "{err:?}"
    );
    assert!(store.list_images().unwrap().is_empty());
}

#[test]
fn copies_through_the_store_layouts_and_archives_keep_the_digest() {
    let reg = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), "store");
    let parts = image_parts(8, 2, "amd64");
    let digest = store_image(&store, &parts, "app:1");
    let client = client();
    let opts = CopyOptions::default();
    let archive = dir.path().join("app.tar");
    let steps = [
        (
            "store:app:1".to_owned(),
            format!("oci:{}:v1", dir.path().join("l").display()),
        ),
        (
            format!("oci:{}:v1", dir.path().join("l").display()),
            format!("docker-archive:{}:app:2", archive.display()),
        ),
        (
            format!("docker-archive:{}:app:2", archive.display()),
            format!("docker://{}/app:3", reg.host()),
        ),
        (
            format!("docker://{}/app:3", reg.host()),
            "store:copied:4".to_owned(),
        ),
    ];
    for (src, dst) in &steps {
        let copied = client
            .copy(Some(&store), &loc(src), &loc(dst), &opts)
            .unwrap();
        assert_eq!(copied.digest, digest, "{src} -> {dst}");
    }
    assert_eq!(
        store.lookup_tag(&reference("copied:4")).unwrap(),
        Some(digest)
    );
    // skopeo reads the archive strata wrote.
    skopeo(&["inspect", &format!("docker-archive:{}", archive.display())]);
}

#[test]
fn bad_manifests_are_clear_errors_that_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), "store");
    store_image(&store, &image_parts(9, 1, "amd64"), "kept:1");
    let before = snapshot(&store);
    let client = client();
    let layout = |name: &str, media_type: &str, body: &[u8]| {
        let root = dir.path().join(name);
        fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        let d = Digest::of(body);
        fs::write(root.join("blobs/sha256").join(d.hex()), body).unwrap();
        let index = json!({"schemaVersion": 2, "manifests": [{
            "mediaType": media_type, "digest": d.to_string(), "size": body.len(),
            "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
        fs::write(root.join("index.json"), index.to_string()).unwrap();
        loc(&format!("oci:{}:v1", root.display()))
    };
    let garbage = layout(
        "garbage",
        OCI_MANIFEST,
        b"{\"schemaVersion\": 2, \"config\": 7",
    );
    let err = client
        .copy(
            Some(&store),
            &garbage,
            &loc("store:bad:1"),
            &CopyOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, TransferError::Media { .. }), "{err:?}");
    let unknown = layout("unknown", "application/vnd.example.thing+json", b"{}");
    let err = client
        .copy(
            Some(&store),
            &unknown,
            &loc("store:bad:1"),
            &CopyOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            TransferError::Media {
                source: MediaError::Unsupported { media_type },
                ..
            } if media_type == "application/vnd.example.thing+json"
        ),
        "{err:?}"
    );
    // An artifact (not an image config) cannot become a store image.
    let artifact = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.example.config+json",
                   "digest": Digest::of(b"{}").to_string(), "size": 2},
        "layers": []}))
    .unwrap();
    let artifact_loc = layout("artifact", OCI_MANIFEST, &artifact);
    fs::write(
        dir.path()
            .join("artifact/blobs/sha256")
            .join(Digest::of(b"{}").hex()),
        b"{}",
    )
    .unwrap();
    let err = client
        .copy(
            Some(&store),
            &artifact_loc,
            &loc("store:bad:1"),
            &CopyOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, TransferError::Unsupported { .. }), "{err:?}");
    // A blob whose bytes are not its digest.
    let parts = image_parts(10, 1, "amd64");
    let root = dir.path().join("corrupt");
    write_index_layout(&root, &[(&parts, "amd64")], "v1");
    let layer = Digest::of(&parts.blobs[0]);
    fs::write(
        root.join("blobs/sha256").join(layer.hex()),
        vec![b'x'; parts.blobs[0].len()],
    )
    .unwrap();
    let err = client
        .copy(
            Some(&store),
            &loc(&format!("oci:{}:v1", root.display())),
            &loc("store:bad:1"),
            &CopyOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, TransferError::Digest { .. }), "{err:?}");
    assert_eq!(snapshot(&store), before);
    assert!(!store.has_blob(&layer));
}

#[test]
fn progress_sees_every_blob() {
    use std::sync::Mutex;
    use strata_client::image::{BlobKind, BlobOutcome, TransferProgress};

    #[derive(Default)]
    struct Record(Mutex<Vec<(Digest, BlobKind, BlobOutcome)>>);
    impl TransferProgress for Record {
        fn blob_done(&self, digest: &Digest, kind: BlobKind, outcome: &BlobOutcome) {
            self.0
                .lock()
                .unwrap()
                .push((digest.clone(), kind, outcome.clone()));
        }
    }
    let reg = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), "store");
    let parts = image_parts(11, 2, "amd64");
    let digest = store_image(&store, &parts, "app:1");
    let record = Arc::new(Record::default());
    let opts = PushOptions {
        progress: record.clone(),
        ..PushOptions::default()
    };
    let dest = reference(&format!("{}/app:1", reg.host()));
    client()
        .push_image(&store, &store.image(&digest).unwrap(), &dest, &opts)
        .unwrap();
    let seen = record.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|(_, _, o)| *o == BlobOutcome::Pushed));
    assert_eq!(
        seen.iter()
            .filter(|(_, k, _)| *k == BlobKind::Config)
            .count(),
        1
    );
}
