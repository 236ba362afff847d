//! `strata build --build-context NAME=VALUE` (buildx's named contexts): a `FROM NAME` (after
//! ARG expansion, normalised) or `COPY --from=NAME` that names no stage reads the context —
//! an image (`docker-image://REF`, pulled from a real registry by digest) or a local
//! directory — and buildx's other forms are refused by name.

mod common;

use std::fs;

use common::registry_env::Env;
use strata_testkit::registry::TestRegistry;

/// Builds `FROM busybox:test` + `LABEL v=LABEL`, pushes it as `reference`; its digest.
fn publish(env: &Env, reference: &str, label: &str) -> String {
    let ctx = env.path(&format!("pub-{label}"));
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        format!("FROM busybox:test\nLABEL v={label}\n"),
    )
    .unwrap();
    env.ok(&["build", "-q", "-t", reference, ctx.to_str().unwrap()]);
    env.ok(&["push", "-q", reference]).0.trim().to_owned()
}

fn label_of(env: &Env, image: &str) -> String {
    let text = env.ok(&["inspect", image]).0;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[0]["Config"]["config"]["Labels"]["v"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn context(env: &Env, name: &str, dockerfile: &str) -> String {
    let dir = env.path(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir.to_str().unwrap().to_owned()
}

#[test]
fn a_docker_image_context_replaces_the_from_it_names_after_arg_expansion() {
    let reg = TestRegistry::start();
    let env = Env::with_base();
    let base = format!("{}/team/base", reg.host());
    publish(&env, &format!("{base}:1"), "one");
    let two = publish(&env, &format!("{base}:2"), "two");

    // FROM spelled through a meta ARG; the context named with its tag.
    let ctx = context(
        &env,
        "app",
        &format!("ARG BASE={base}:1\nFROM ${{BASE}}\nLABEL app=yes\n"),
    );
    let with = format!("{base}:1=docker-image://{base}@{two}");
    env.ok(&[
        "build",
        "-q",
        "-t",
        "app:ctx",
        "--build-context",
        &with,
        &ctx,
    ]);
    assert_eq!(
        label_of(&env, "app:ctx"),
        "two",
        "FROM resolved to the context"
    );
    env.ok(&["build", "-q", "-t", "app:plain", &ctx]);
    assert_eq!(
        label_of(&env, "app:plain"),
        "one",
        "no context: the FROM as written"
    );

    // COPY --from an image name, and a context keyed by a name that normalises alike
    // (`docker.io/library/tools:latest` is `tools`).
    let ctx = context(
        &env,
        "copy",
        "FROM busybox:test\nCOPY --from=tools /bin/busybox /bb\n",
    );
    let with = format!("docker.io/library/tools:latest=docker-image://{base}@{two}");
    env.ok(&[
        "build",
        "-q",
        "-t",
        "app:copy",
        "--build-context",
        &with,
        &ctx,
    ]);
    let err = env.fails(&["build", "-q", "--pull=never", "-t", "x:1", &ctx], 1);
    assert!(
        err.contains("tools"),
        "without the context `tools` is an image: {err}"
    );
}

#[test]
fn a_directory_context_is_read_by_copy_from_and_from() {
    let env = Env::with_base();
    let dir = env.path("extra");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/hello"), "hi from the dir\n").unwrap();
    fs::write(dir.join("skipped"), "ignored\n").unwrap();
    fs::write(dir.join(".dockerignore"), "skipped\n").unwrap();
    let with = format!("extra={}", dir.display());

    let ctx = context(
        &env,
        "copy",
        "FROM busybox:test\nCOPY --from=extra /sub/hello /hello\n",
    );
    let out = env.path("out-copy");
    let dest = format!("type=local,dest={}", out.display());
    env.ok(&["build", "-q", "--build-context", &with, "-o", &dest, &ctx]);
    assert_eq!(
        fs::read_to_string(out.join("hello")).unwrap(),
        "hi from the dir\n"
    );

    let ctx = context(&env, "from", "FROM extra\n");
    let out = env.path("out-from");
    let dest = format!("type=local,dest={}", out.display());
    env.ok(&["build", "-q", "--build-context", &with, "-o", &dest, &ctx]);
    assert_eq!(
        fs::read_to_string(out.join("sub/hello")).unwrap(),
        "hi from the dir\n"
    );
    assert!(
        !out.join("skipped").exists(),
        "the directory's .dockerignore applies"
    );
    assert!(
        !out.join("bin").exists(),
        "only the directory: no base image below"
    );
}

#[test]
fn unsupported_forms_and_conflicts_are_clear_errors() {
    let env = Env::with_base();
    let ctx = context(&env, "c", "FROM busybox:test AS base\nFROM base\n");
    for (value, form) in [
        ("x=oci-layout:///tmp/layout@sha256:00", "oci-layout://"),
        ("x=target:base", "target:"),
        ("x=https://example.com/repo.git", "URL"),
    ] {
        let err = env.fails(&["build", "--build-context", value, &ctx], 2);
        assert!(err.contains(form) && err.contains("not supported"), "{err}");
    }
    let err = env.fails(&["build", "--build-context", "x=/no/such/dir", &ctx], 1);
    assert!(
        err.contains("/no/such/dir") && err.contains("not a directory"),
        "{err}"
    );
    let err = env.fails(
        &[
            "build",
            "--build-context",
            "base=docker-image://busybox:test",
            &ctx,
        ],
        1,
    );
    assert!(
        err.contains("names stage") && err.contains("not supported"),
        "{err}"
    );
}
