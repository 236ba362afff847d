//! Root-only integration tests: real unpacking, overlay mounts and diffs.
//! Each is `#[ignore = "needs root"]`: CI runs them as root with `--include-ignored`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Cursor, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use strata_archive::{write_layer, Compression, Entry, EntryKind, WriteOptions};
use strata_oci::Digest;
use strata_snapshot::mounter::is_mounted;
use strata_snapshot::{chain_ids, diff_upper, Error, LayerSource, SnapshotStore};

fn layer(entries: Vec<Entry>) -> (Digest, Vec<u8>) {
    let (info, bytes) = write_layer(
        entries,
        Vec::new(),
        Compression::None,
        WriteOptions::default(),
    )
    .unwrap();
    (info.diff_id, bytes)
}

fn source(
    chain_id: &Digest,
    diff_id: &Digest,
    bytes: Vec<u8>,
    opens: Option<Arc<AtomicUsize>>,
) -> LayerSource {
    LayerSource {
        diff_id: diff_id.clone(),
        chain_id: chain_id.clone(),
        parent: None,
        open: Box::new(move || {
            if let Some(n) = opens {
                n.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Box::new(Cursor::new(bytes)) as Box<dyn Read>)
        }),
    }
}

fn file(path: &str, data: &str) -> Entry {
    Entry::file_bytes(path, data.as_bytes().to_vec(), 0o644)
}

/// Base layer: a, keep, d/{x,y}, gone/{z}; second layer deletes `a2`, adds opaque `o`.
fn base_layers(store: &SnapshotStore) -> Vec<PathBuf> {
    let (d0, t0) = layer(vec![
        file("a", "a0"),
        file("a2", "to be deleted by layer 1"),
        file("keep", "k"),
        Entry::dir("d", 0o755),
        file("d/x", "x"),
        file("d/y", "y"),
        Entry::dir("o", 0o755),
        file("o/old", "old"),
    ]);
    let mut wh = Entry::new("a2", EntryKind::Whiteout);
    wh.mode = 0o644;
    let mut opq = Entry::new("o", EntryKind::OpaqueDir);
    opq.mode = 0o755;
    let (d1, t1) = layer(vec![wh, Entry::dir("o", 0o755), opq, file("o/new", "new")]);
    let chains = chain_ids(&[d0.clone(), d1.clone()]);
    let p0 = store.ensure(source(&chains[0], &d0, t0, None)).unwrap();
    let p1 = store.ensure(source(&chains[1], &d1, t1, None)).unwrap();
    vec![p1, p0]
}

#[test]
#[ignore = "needs root"]
fn ensure_unpacks_once_and_stores_overlay_whiteouts() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let lowers = base_layers(&store);
    assert_eq!(fs::read_to_string(lowers[1].join("d/x")).unwrap(), "x");
    let wh = fs::symlink_metadata(lowers[0].join("a2")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "whiteout stored as 0:0 char device"
    );
    let opaque =
        rustix::fs::getxattr(lowers[0].join("o"), "trusted.overlay.opaque", &mut [0u8; 8]).unwrap();
    assert_eq!(opaque, 1);
    assert!(lowers[0].starts_with(store.dir().join("sha256")));
    // Present: the opener must not be called again.
    let chain = Digest::from_hex(&lowers[1].file_name().unwrap().to_string_lossy()).unwrap();
    let layer = LayerSource {
        diff_id: chain.clone(),
        chain_id: chain,
        parent: None,
        open: Box::new(|| panic!("must not reopen an unpacked layer")),
    };
    assert_eq!(store.ensure(layer).unwrap(), lowers[1]);
}

#[test]
#[ignore = "needs root"]
fn concurrent_ensure_unpacks_once() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let (diff, bytes) = layer(vec![file("f", "same")]);
    let opens = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (store, diff, bytes, opens) =
                (store.clone(), diff.clone(), bytes.clone(), opens.clone());
            std::thread::spawn(move || {
                store
                    .ensure(source(&diff, &diff, bytes, Some(opens)))
                    .unwrap()
            })
        })
        .collect();
    let paths: Vec<PathBuf> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(paths.iter().all(|p| p == &paths[0]));
    assert_eq!(opens.load(Ordering::SeqCst), 1);
    assert_eq!(fs::read_dir(store.dir().join("tmp")).unwrap().count(), 0);
}

#[test]
#[ignore = "needs root"]
fn wrong_diff_id_is_rejected_and_leaves_nothing() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let (_, bytes) = layer(vec![file("f", "x")]);
    let wrong = Digest::from_hex(&"0".repeat(64)).unwrap();
    let err = store
        .ensure(source(&wrong, &wrong, bytes, None))
        .unwrap_err();
    assert!(matches!(err, Error::DiffIdMismatch { .. }), "{err}");
    assert!(!store.contains(&wrong));
    assert_eq!(fs::read_dir(store.dir().join("tmp")).unwrap().count(), 0);
    let failing = LayerSource {
        diff_id: wrong.clone(),
        chain_id: wrong.clone(),
        parent: None,
        open: Box::new(|| Err(io::Error::other("blob missing"))),
    };
    assert!(matches!(
        store.ensure(failing).unwrap_err(),
        Error::OpenLayer { .. }
    ));
}

#[test]
#[ignore = "needs root"]
fn open_removes_leftover_temp_dirs() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let stale = store
        .dir()
        .join("tmp")
        .join(format!("{}-1-2-3", "a".repeat(64)));
    fs::create_dir_all(stale.join("half/unpacked")).unwrap();
    SnapshotStore::open(tmp.path()).unwrap();
    assert!(!stale.exists());
}

fn set_file_capability(path: &Path) {
    // VFS_CAP_REVISION_2 granting cap_net_bind_service (bit 10) permitted+effective.
    let mut cap = Vec::new();
    for word in [0x0200_0001u32, 1 << 10, 0, 0, 0] {
        cap.extend_from_slice(&word.to_le_bytes());
    }
    rustix::fs::setxattr(
        path,
        "security.capability",
        &cap,
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
}

fn by_path(entries: &[Entry]) -> BTreeMap<String, Vec<Entry>> {
    let mut map: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for e in entries {
        map.entry(e.path.clone()).or_default().push(e.clone());
    }
    map
}

fn kinds(map: &BTreeMap<String, Vec<Entry>>, path: &str) -> Vec<EntryKind> {
    map.get(path)
        .map(|v| v.iter().map(|e| e.kind.clone()).collect())
        .unwrap_or_default()
}

#[test]
#[ignore = "needs root"]
fn overlay_changes_become_layer_entries() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let lowers = base_layers(&store);
    let mount = store.mount_rw(&lowers).unwrap();
    let root = mount.rootfs();
    assert!(is_mounted(&root));
    assert_eq!(fs::read_to_string(root.join("o/new")).unwrap(), "new");
    assert!(!root.join("o/old").exists() && !root.join("a2").exists());

    fs::write(root.join("new"), "n").unwrap();
    fs::write(root.join("a"), "modified").unwrap();
    fs::remove_file(root.join("keep")).unwrap();
    fs::remove_dir_all(root.join("d")).unwrap();
    fs::create_dir(root.join("d")).unwrap();
    fs::write(root.join("d/fresh"), "f").unwrap();
    fs::hard_link(root.join("new"), root.join("new-link")).unwrap();
    std::os::unix::fs::symlink("new", root.join("sym")).unwrap();
    fs::write(root.join("capped"), "bin").unwrap();
    set_file_capability(&root.join("capped"));
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("fifo"),
        rustix::fs::FileType::Fifo,
        0o600.into(),
        0,
    )
    .unwrap();
    fs::set_permissions(root.join("new"), fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::lchown(root.join("new"), Some(1234), None).unwrap();

    let entries = mount.diff().unwrap();
    let map = by_path(&entries);
    assert_eq!(kinds(&map, "keep"), [EntryKind::Whiteout]);
    assert_eq!(kinds(&map, "d"), [EntryKind::Dir, EntryKind::OpaqueDir]);
    // Markers carry no metadata of their own (BuildKit's whiteouts: 0000, 0:0, mtime 0).
    for marker in [&map["keep"][0], &map["d"][1]] {
        let meta = (marker.mode, marker.uid, marker.gid, marker.mtime);
        assert_eq!(meta, (0, 0, 0, 0), "{}", marker.path);
    }
    assert!(matches!(
        kinds(&map, "d/fresh")[..],
        [EntryKind::File { size: 1, .. }]
    ));
    assert!(matches!(
        kinds(&map, "a")[..],
        [EntryKind::File { size: 8, .. }]
    ));
    let new = &map["new"][0];
    assert_eq!((new.mode, new.uid), (0o750, 1234));
    assert_eq!(
        kinds(&map, "new-link"),
        [EntryKind::Hardlink {
            target: "new".into()
        }]
    );
    assert_eq!(
        kinds(&map, "sym"),
        [EntryKind::Symlink {
            target: "new".into()
        }]
    );
    assert_eq!(kinds(&map, "fifo"), [EntryKind::Fifo]);
    assert!(map["capped"][0].xattrs.contains_key("security.capability"));
    assert!(entries
        .iter()
        .all(|e| e.xattrs.keys().all(|k| !k.contains("overlay"))));
    for untouched in ["d/x", "o", "o/new", "a2"] {
        assert!(
            !map.contains_key(untouched),
            "{untouched} must not be in the diff"
        );
    }
    // Parents come before children.
    let pos = |p: &str| entries.iter().position(|e| e.path == p).unwrap();
    assert!(pos("d") < pos("d/fresh"));

    let dir = root.parent().unwrap().to_path_buf();
    mount.release();
    assert!(!is_mounted(&root));
    assert!(!dir.exists());
}

#[test]
#[ignore = "needs root"]
fn diffed_layer_applies_like_the_merged_view() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let lowers = base_layers(&store);
    let mount = store.mount_rw(&lowers).unwrap();
    let root = mount.rootfs();
    fs::remove_file(root.join("a")).unwrap();
    fs::write(root.join("d/x"), "x2").unwrap();
    let (_, bytes) = layer(mount.diff().unwrap());
    drop(mount);
    // Apply base + the new layer the normal way and compare.
    let out = tmp.path().join("flat");
    fs::create_dir(&out).unwrap();
    let apply = |tar: &[u8]| strata_archive::apply_layer(tar, &out, &Default::default()).unwrap();
    let (_, t0) = layer(vec![
        file("a", "a0"),
        Entry::dir("d", 0o755),
        file("d/x", "x"),
    ]);
    apply(&t0);
    apply(&bytes);
    assert!(!out.join("a").exists());
    assert_eq!(fs::read_to_string(out.join("d/x")).unwrap(), "x2");
}

#[test]
#[ignore = "needs root"]
fn many_long_lowers_and_no_lowers_both_mount() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let mut diffs = Vec::new();
    let mut tars = Vec::new();
    for i in 0..70 {
        let (d, t) = layer(vec![file(&format!("f{i}"), &i.to_string())]);
        diffs.push(d);
        tars.push(t);
    }
    let chains = chain_ids(&diffs);
    let mut lowers: Vec<PathBuf> = chains
        .iter()
        .zip(diffs.iter().zip(tars))
        .map(|(c, (d, t))| store.ensure(source(c, d, t, None)).unwrap())
        .collect();
    lowers.reverse();
    let total: usize = lowers.iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(total > 4096, "the test must exceed one page ({total})");
    let mount = store.mount_rw(&lowers).unwrap();
    assert_eq!(fs::read_to_string(mount.rootfs().join("f0")).unwrap(), "0");
    assert_eq!(
        fs::read_to_string(mount.rootfs().join("f69")).unwrap(),
        "69"
    );
    drop(mount);

    let scratch = store.mount_rw(&[]).unwrap();
    fs::write(scratch.rootfs().join("only"), "x").unwrap();
    let entries = scratch.diff().unwrap();
    assert_eq!(
        entries.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["only"]
    );
    let _ = diff_upper;
}

#[test]
#[ignore = "needs root"]
fn snapshots_from_an_earlier_boot_are_unpacked_again() {
    strata_testkit::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(tmp.path()).unwrap();
    let (diff_id, bytes) = layer(vec![file("f", "content")]);
    let chain = chain_ids(std::slice::from_ref(&diff_id)).remove(0);
    let opens = Arc::new(AtomicUsize::new(0));
    let dir = store
        .ensure(source(&chain, &diff_id, bytes.clone(), Some(opens.clone())))
        .unwrap();
    store
        .ensure(source(&chain, &diff_id, bytes.clone(), Some(opens.clone())))
        .unwrap();
    assert_eq!(opens.load(Ordering::SeqCst), 1, "same boot: unpacked once");

    // Simulate a power loss: the marker names another boot and a file lost its data.
    let hex = chain.hex();
    fs::write(tmp.path().join("snapshots/boot").join(hex), "another-boot").unwrap();
    fs::write(dir.join("f"), "").unwrap();
    let dir = store
        .ensure(source(&chain, &diff_id, bytes, Some(opens.clone())))
        .unwrap();
    assert_eq!(
        opens.load(Ordering::SeqCst),
        2,
        "an earlier boot's snapshot is not trusted"
    );
    assert_eq!(fs::read_to_string(dir.join("f")).unwrap(), "content");
    store.remove(&chain).unwrap();
    assert!(
        !tmp.path().join("snapshots/boot").join(hex).exists(),
        "remove drops the marker"
    );
}

/// Two layers over the same parent (the same build step before and after a one-file edit):
/// the second unpack hard-links the first one's unchanged files, writes the changed one,
/// and a removed sibling is never used again.
#[test]
#[ignore = "needs root"]
fn sibling_unpacks_share_unchanged_files() {
    strata_testkit::require_root();
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(root.path()).unwrap();
    let (base, base_tar) = layer(vec![file("etc/os", "base")]);
    store.ensure(source(&base, &base, base_tar, None)).unwrap();
    let app = |edited: &str| {
        layer(vec![
            Entry::dir("app", 0o755),
            file("app/a.py", "a = 1\n"),
            file("app/b.py", edited),
            file("app/c.py", "c = 3\n"),
        ])
    };
    let over_base = |diff_id: &Digest, tar: Vec<u8>| {
        let chain = strata_snapshot::chain_id(Some(&base), diff_id);
        let mut s = source(&chain, diff_id, tar, None);
        s.parent = Some(base.clone());
        (chain, s)
    };
    let (d1, t1) = app("b = 2\n");
    let (c1, s1) = over_base(&d1, t1);
    let p1 = store.ensure(s1).unwrap();
    let (d2, t2) = app("b = 9\n");
    let (c2, s2) = over_base(&d2, t2);
    let p2 = store.ensure(s2).unwrap();

    let ino = |p: &Path| fs::metadata(p).unwrap().ino();
    assert_eq!(ino(&p1.join("app/a.py")), ino(&p2.join("app/a.py")));
    assert_eq!(ino(&p1.join("app/c.py")), ino(&p2.join("app/c.py")));
    assert_ne!(ino(&p1.join("app/b.py")), ino(&p2.join("app/b.py")));
    assert_eq!(fs::read_to_string(p2.join("app/b.py")).unwrap(), "b = 9\n");
    assert_eq!(fs::read_to_string(p1.join("app/b.py")).unwrap(), "b = 2\n");

    // The newest sibling is the hint; once it is removed, a third unpack writes everything.
    store.remove(&c2).unwrap();
    assert_eq!(store.clean_hints().unwrap(), 1);
    let (d3, t3) = app("b = 10\n");
    let (_, s3) = over_base(&d3, t3);
    let p3 = store.ensure(s3).unwrap();
    assert_ne!(ino(&p1.join("app/a.py")), ino(&p3.join("app/a.py")));
    assert_eq!(fs::read_to_string(p3.join("app/a.py")).unwrap(), "a = 1\n");
    assert!(p1.join("app/a.py").exists(), "{c1} untouched");
}
