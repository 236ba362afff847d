//! docker's COPY rules, compression choice, and the store under concurrent or killed builds.

mod common;

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

use common::{stderr, Env};

#[test]
#[ignore = "needs root"]
fn sources_symlinks_globs_modes_and_mtimes() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let ctx = env.context(
        "ctx",
        &[
            ("dir/a.txt", "a"),
            ("dir/sub/b.txt", "b"),
            ("one.conf", "1"),
            ("two.conf", "2"),
            ("target.txt", "via link"),
        ],
    );
    symlink("target.txt", ctx.join("link.txt")).unwrap();
    symlink("../target.txt", ctx.join("dir/inner-link")).unwrap();
    std::fs::set_permissions(
        ctx.join("dir/a.txt"),
        std::fs::Permissions::from_mode(0o751),
    )
    .unwrap();
    let old = filetime::FileTime::from_unix_time(1_600_000_000, 0);
    filetime::set_file_mtime(ctx.join("dir/a.txt"), old).unwrap();
    let df = "FROM busybox:test\nWORKDIR /w\nCOPY dir /copied\nCOPY link.txt /followed.txt\nCOPY *.conf conf/\nCOPY one.conf two.conf /multi/\nCOPY one.conf /renamed\n";
    std::fs::write(ctx.join("Dockerfile"), df).unwrap();
    let out = env.path("out");
    env.build(&[
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert!(
        out.join("copied/a.txt").exists() && !out.join("copied/dir").exists(),
        "contents, not the directory"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("copied/sub/b.txt")).unwrap(),
        "b"
    );
    let a = std::fs::metadata(out.join("copied/a.txt")).unwrap();
    assert_eq!(
        (a.mode() & 0o7777, a.mtime()),
        (0o751, 1_600_000_000),
        "mode and mtime kept"
    );
    assert!(
        std::fs::symlink_metadata(out.join("copied/inner-link"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "links inside a dir stay links"
    );
    let followed = std::fs::symlink_metadata(out.join("followed.txt")).unwrap();
    assert!(
        followed.is_file(),
        "a symlink named as a source is followed"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("followed.txt")).unwrap(),
        "via link"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("w/conf/two.conf")).unwrap(),
        "2",
        "globs, WORKDIR-relative dest"
    );
    assert!(out.join("multi/one.conf").exists() && out.join("multi/two.conf").exists());
    assert_eq!(std::fs::read_to_string(out.join("renamed")).unwrap(), "1");

    let bad = env.context(
        "bad",
        &[
            (
                "Dockerfile",
                "FROM busybox:test\nCOPY one.conf two.conf /nodir\n",
            ),
            ("one.conf", "1"),
            ("two.conf", "2"),
        ],
    );
    let images = env.snapshot_of_store().0;
    let out = env.strata(&["build", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(env.snapshot_of_store().0, images, "no image was added");
    assert!(stderr(&out).contains("Dockerfile:2"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("must be a directory and end with a /"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs root"]
fn zstd_layers_on_request() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", "FROM busybox:test\nCOPY f /f\n"),
            ("f", "zstd please"),
        ],
    );
    env.build(&["--compression", "zstd", "-t", "z:1", ctx.to_str().unwrap()]);
    let layers = env.inspect("z:1")["Manifest"]["layers"].clone();
    assert_eq!(
        layers[1]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    let out = env.path("out");
    env.build(&[
        "--compression",
        "zstd",
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("f")).unwrap(),
        "zstd please"
    );
}

fn big_context(env: &Env) -> std::path::PathBuf {
    let ctx = env.context(
        "big",
        &[("Dockerfile", "FROM busybox:test\nCOPY . /data\n")],
    );
    for i in 0..40 {
        let bytes: Vec<u8> = (0..(1u32 << 20))
            .map(|j| (j.wrapping_mul(2_654_435_761).wrapping_add(i) >> 11) as u8)
            .collect();
        std::fs::write(ctx.join(format!("f{i}.bin")), bytes).unwrap();
    }
    ctx
}

#[test]
#[ignore = "needs root"]
fn two_builds_at_once_on_one_store() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    let ctx = big_context(&env);
    let spawn = |tag: &str| env.strata_at_epoch(&["build", "-q", "-t", tag, ctx.to_str().unwrap()]);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("one:1"));
        let b = s.spawn(|| spawn("two:1"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(
        a.status.success() && b.status.success(),
        "{} {}",
        stderr(&a),
        stderr(&b)
    );
    assert_eq!(
        a.stdout, b.stdout,
        "the same input and epoch give the same image ID"
    );
    assert_eq!(
        env.inspect("one:1")["Digest"],
        env.inspect("two:1")["Digest"]
    );
}

#[test]
#[ignore = "needs root"]
fn a_killed_build_leaves_nothing_a_later_build_trusts() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    let ctx = big_context(&env);
    let before = env.snapshot_of_store();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "--root",
            env.root().to_str().unwrap(),
            "build",
            "-q",
            "--compression",
            "gzip",
            "-t",
            "k:1",
            ctx.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it while a blob is being written: as soon as a temp file appears in the store.
    let tmp = env.root().join("tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        let busy = std::fs::read_dir(&tmp)
            .map(|d| d.count() > 0)
            .unwrap_or(false);
        if busy {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(rustix::process::Signal::Kill as i32),
        "the build finished ({status:?}) before it could be killed"
    );
    assert_eq!(
        env.snapshot_of_store().0,
        before.0,
        "no image recorded by the killed build"
    );
    env.build(&["-t", "k:1", ctx.to_str().unwrap()]);
    let out = env.path("out");
    env.build(&[
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_dir(out.join("data")).unwrap().count(), 41);
    env.ok(&["prune"]);
}
