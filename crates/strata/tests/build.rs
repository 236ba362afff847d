//! End-to-end `strata build` tests with the real binary (COPY/ADD, metadata, cache,
//! multi-stage, reproducibility, errors).

mod common;

use common::{stderr, Env};

const APP: &str = r#"FROM busybox:test AS base
WORKDIR /app
COPY src/ ./
COPY --chown=app:app --chmod=640 src/a.txt /var/run/a.txt
ENV GREETING=hi
LABEL org.example=yes
EXPOSE 8080 53/udp
USER app
ENTRYPOINT ["/bin/sh"]
FROM base
COPY --from=base /app/b.txt /copied/
CMD ["-c", "cat /app/a.txt"]
"#;

fn app_context(env: &Env) -> std::path::PathBuf {
    env.context(
        "ctx",
        &[
            ("Dockerfile", APP),
            ("src/a.txt", "hello\n"),
            ("src/b.txt", "world\n"),
            ("src/skip.log", "x"),
            (".dockerignore", "**/*.log\n"),
        ],
    )
}

#[test]
#[ignore = "needs root"]
fn copy_and_metadata_make_the_image_docker_would() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let ctx = app_context(&env);
    env.build(&["-t", "app:1", ctx.to_str().unwrap()]);
    let v = env.inspect("app:1");
    let c = &v["Config"]["config"];
    assert_eq!(
        c["Env"][0],
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(c["Env"][1], "GREETING=hi");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh"]));
    assert_eq!(c["Cmd"], serde_json::json!(["-c", "cat /app/a.txt"]));
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(c["User"], "app");
    assert!(c["ExposedPorts"]["53/udp"].is_object() && c["ExposedPorts"]["8080/tcp"].is_object());
    assert_eq!(c["Labels"]["org.example"], "yes");
    let history = v["Config"]["history"].as_array().unwrap();
    let empty: Vec<bool> = history
        .iter()
        .map(|h| h["empty_layer"].as_bool().unwrap_or(false))
        .collect();
    let layers = v["Manifest"]["layers"].as_array().unwrap().len();
    assert_eq!(
        empty.iter().filter(|e| !**e).count(),
        layers,
        "one non-empty history entry per layer"
    );

    let out = env.path("rootfs");
    env.ok(&[
        "build",
        "-q",
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("app/a.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("copied/b.txt")).unwrap(),
        "world\n"
    );
    assert!(
        !out.join("app/skip.log").exists(),
        ".dockerignore must exclude *.log"
    );
    // /var/run is a symlink to /run in the base: the file lands in /run, owned by app.
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(out.join("run/a.txt")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1000, 1000, 0o640)
    );
    assert!(std::fs::symlink_metadata(out.join("var/run"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
#[ignore = "needs root"]
fn warm_build_is_cached_and_a_change_is_noticed() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let ctx = app_context(&env);
    let (id1, _) = env.build(&["-q", ctx.to_str().unwrap()]);
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert_eq!(
        log.matches("CACHED").count(),
        4,
        "all four layer steps cached:\n{log}"
    );
    let (id2, _) = env.build(&["-q", ctx.to_str().unwrap()]);
    assert_eq!(id1, id2, "a fully cached build gives the same image ID");
    std::fs::write(ctx.join("src/b.txt"), "changed\n").unwrap();
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert!(log.contains("CACHED"), "WORKDIR stays cached:\n{log}");
    let out = env.path("rootfs2");
    env.ok(&[
        "build",
        "-q",
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("copied/b.txt")).unwrap(),
        "changed\n"
    );
}

#[test]
#[ignore = "needs root"]
fn source_date_epoch_makes_builds_byte_identical() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let digest = |env: &Env| {
        env.ok_at_epoch(&[
            "import",
            common::base_tarball().to_str().unwrap(),
            "busybox:test",
        ]);
        let ctx = app_context(env);
        env.ok_at_epoch(&["build", "-q", "-t", "app:r", ctx.to_str().unwrap()]);
        env.inspect("app:r")["Digest"].as_str().unwrap().to_owned()
    };
    let a = Env::empty();
    let first = digest(&a);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = Env::empty();
    assert_eq!(first, digest(&b), "two builds from empty stores differ");
    assert_eq!(
        a.inspect("app:r")["Config"]["created"],
        "2023-11-14T22:13:20Z"
    );
}

#[test]
#[ignore = "needs root"]
fn stages_the_target_does_not_need_are_not_built() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test AS unused\nCOPY does-not-exist /x\nFROM busybox:test AS used\nCOPY a /a\nFROM busybox:test\nCOPY --from=used /a /b\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("a", "a")]);
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert!(!log.contains("[unused"), "the unused stage ran:\n{log}");
    let images = env.snapshot_of_store().0;
    let out = env.strata(&["build", "--target", "unused", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(env.snapshot_of_store().0, images, "no image was added");
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:2") && err.contains("does-not-exist"),
        "{err}"
    );
}

#[test]
#[ignore = "needs root"]
fn add_unpacks_local_archives_and_onbuild_triggers_run() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let ctx = env.context("ctx", &[("payload/inner.txt", "inside\n")]);
    let status = std::process::Command::new("tar")
        .args([
            "-C",
            ctx.join("payload").to_str().unwrap(),
            "-cJf",
            ctx.join("p.tar.xz").to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:test\nADD p.tar.xz /opt/\nONBUILD COPY trigger.txt /t.txt\n",
    )
    .unwrap();
    env.build(&["-t", "parent:1", ctx.to_str().unwrap()]);
    let child = env.context(
        "child",
        &[
            ("Dockerfile", "FROM parent:1\n"),
            ("trigger.txt", "fired\n"),
        ],
    );
    let out = env.path("out");
    env.build(&[
        "--output",
        &format!("type=local,dest={}", out.display()),
        child.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("opt/inner.txt")).unwrap(),
        "inside\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("t.txt")).unwrap(),
        "fired\n"
    );
    // The triggers ran here; the child image does not carry them on (initOnBuildTriggers).
    env.build(&["-t", "child:1", child.to_str().unwrap()]);
    assert!(env.inspect("child:1")["Config"]["config"]["OnBuild"].is_null());
}

#[test]
#[ignore = "needs root"]
fn args_scope_and_build_args() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    let df =
        "ARG TAG=test\nFROM busybox:${TAG}\nARG NAME=default\nARG TAG\nENV WHO=${NAME} T=${TAG}\n";
    let ctx = env.context("ctx", &[("Dockerfile", df)]);
    env.build(&[
        "-t",
        "a:1",
        "--build-arg",
        "NAME=cli",
        ctx.to_str().unwrap(),
    ]);
    let v = env.inspect("a:1");
    let envs = v["Config"]["config"]["Env"].as_array().unwrap();
    assert!(envs.contains(&serde_json::json!("WHO=cli")), "{envs:?}");
    assert!(envs.contains(&serde_json::json!("T=test")), "{envs:?}");
    let text = serde_json::to_string(&v["Config"]["config"]).unwrap();
    assert!(
        !text.contains("NAME=cli"),
        "ARG values must not be persisted as env"
    );
}

#[test]
#[ignore = "needs root"]
fn bad_dockerfiles_point_at_the_line_and_change_nothing() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    let before = env.snapshot_of_store();
    for (df, want) in [
        ("FROM busybox:test\nCOPPY a /b\n", "Dockerfile:2"),
        (
            "FROM busybox:test\nCOPY --from=nowhere-stage-x:1 a /b\n",
            "nowhere-stage-x",
        ),
        ("FROM busybox:test\nCOPY missing.txt /b\n", "missing.txt"),
        ("FROM busybox:test\nCOPY --bogus a /b\n", "unknown flag"),
        ("FROM busybox:test AS a\nCOPY --from=a x /y\n", "circular"),
    ] {
        let ctx = env.context("bad", &[("Dockerfile", df)]);
        let out = env.strata(&["build", "--progress=plain", ctx.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{df}");
        assert!(stderr(&out).contains(want), "{df}: {}", stderr(&out));
    }
    assert_eq!(env.snapshot_of_store().0, before.0, "no image was added");
    let out = env.strata(&[
        "build",
        "--target",
        "nope",
        env.path("bad").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("target stage \"nope\" could not be found"));
    assert_eq!(env.snapshot_of_store().0, before.0, "no image was added");
}

#[test]
#[ignore = "needs root"]
fn copy_from_an_index_and_from_an_image() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY a /a\nFROM busybox:test\nCOPY --from=0 /a /from-index\nCOPY --from=busybox:test /etc/passwd /from-image\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("a", "A")]);
    let out = env.path("out");
    env.build(&[
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("from-index")).unwrap(),
        "A"
    );
    assert!(std::fs::read_to_string(out.join("from-image"))
        .unwrap()
        .contains("app:x:1000"));
    let bad = env.context(
        "bad",
        &[("Dockerfile", "FROM busybox:test\nCOPY --from=1 /a /b\n")],
    );
    let images = env.snapshot_of_store().0;
    let out = env.strata(&["build", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    // convert.go `findStateByIndex`.
    assert!(
        stderr(&out).contains("invalid stage index 1"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Dockerfile:2"), "{}", stderr(&out));
    assert_eq!(env.snapshot_of_store().0, images, "no image was added");
}

#[test]
#[ignore = "needs root"]
fn invalid_references_are_rejected_before_building() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    let ctx = env.context("ctx", &[("Dockerfile", "FROM busybox:test\n")]);
    let before = env.snapshot_of_store();
    for bad in ["Upper:1", "a//b", "app:-x"] {
        // A usage error of clap's (exit 2), naming the flag and the value.
        let out = env.strata(&["build", "-t", bad, ctx.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let want = format!("invalid value '{bad}' for '--tag");
        assert!(stderr(&out).contains(&want), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains(bad), "names {bad}: {}", stderr(&out));
    }
    let out = env.strata(&["tag", "busybox:test", "Bad Name"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Bad Name"), "{}", stderr(&out));
    assert_eq!(env.snapshot_of_store(), before, "the store is unchanged");
}
