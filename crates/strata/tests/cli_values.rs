//! Flag values are parsed by clap through the library types' `FromStr`: a bad value is a
//! usage error (exit 2) naming the flag and the value, before the store is opened.

mod common;

use common::{stderr, Env};

/// Runs `strata build ARGS CTX` in an empty temp dir and checks the usage error.
fn refused(args: &[&str], flag: &str, value: &str, reason: &str) {
    let env = Env::empty();
    let ctx = env.context("ctx", &[("Dockerfile", "FROM scratch\n")]);
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    all.push(ctx.to_str().unwrap());
    let out = env.strata(&all);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(&format!("invalid value '{value}' for '{flag}")),
        "{args:?}: {err}"
    );
    assert!(
        err.contains(reason),
        "{args:?}: {reason:?} missing from {err}"
    );
    assert!(!env.root().exists(), "the store was opened for {args:?}");
}

#[test]
fn a_bad_compression_is_a_usage_error() {
    refused(
        &["--compression", "lz4"],
        "--compression",
        "lz4",
        "unknown compression \"lz4\"",
    );
    refused(
        &["--compression=gzip:12"],
        "--compression",
        "gzip:12",
        "unknown compression",
    );
}

#[test]
fn a_bad_secret_is_a_usage_error() {
    refused(
        &["--secret", "src=/x"],
        "--secret",
        "src=/x",
        "id= is required",
    );
    refused(
        &["--secret", "id=a,mode=0400"],
        "--secret",
        "id=a,mode=0400",
        "unknown key \"mode\"",
    );
    refused(
        &["--secret", "id=a,type=ssh"],
        "--secret",
        "id=a,type=ssh",
        "unsupported secret type \"ssh\"",
    );
    refused(
        &["--secret", "id=a,src=/f,env=V"],
        "--secret",
        "id=a,src=/f,env=V",
        "not both",
    );
}

#[test]
fn a_bad_output_is_a_usage_error() {
    refused(
        &["-o", "type=tar,dest=x"],
        "--output",
        "type=tar,dest=x",
        "unknown output type \"tar\"",
    );
    refused(
        &["--output", "type=oci"],
        "--output",
        "type=oci",
        "dest= is required",
    );
    refused(
        &["--output", "type=registry,name=app:no spaces"],
        "--output",
        "type=registry,name=app:no spaces",
        "is not an image reference",
    );
    refused(
        &["--pull=newer"],
        "--pull",
        "newer",
        "expected always, missing, never, true or false",
    );
    refused(
        &["--output", "dest=/o"],
        "--output",
        "dest=/o",
        "type= is required",
    );
}

#[test]
fn a_bad_ssh_is_a_usage_error() {
    refused(&["--ssh", "=/a.sock"], "--ssh", "=/a.sock", "id is empty");
    refused(&["--ssh", "gh="], "--ssh", "gh=", "socket is empty");
    refused(
        &["--ssh", "gh=/a,/b"],
        "--ssh",
        "gh=/a,/b",
        "several sockets or keys",
    );
}

#[test]
fn other_bad_values_are_usage_errors() {
    refused(
        &["--network", "bridge"],
        "--network",
        "bridge",
        "possible values",
    );
    refused(
        &["--progress", "rawjson"],
        "--progress",
        "rawjson",
        "possible values",
    );
    refused(
        &["--build-arg", "=x"],
        "--build-arg",
        "=x",
        "the name is empty",
    );
    refused(&["--label", "=x"], "--label", "=x", "the name is empty");
    refused(&["-t", "UPPER:1"], "--tag", "UPPER:1", "");
}

#[test]
fn other_commands_refuse_bad_values() {
    let env = Env::empty();
    let out = env.strata(&["export", "--format", "docker", "-o", "x", "img"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid value 'docker' for '--format"));
    let out = env.strata(&["import", "--platform", "windows/amd64", "r.tar"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("invalid value 'windows/amd64' for '--platform"),
        "{err}"
    );
    assert!(err.contains("only linux/ARCH"), "{err}");
    assert!(!env.root().exists());
}

#[test]
#[ignore = "needs root"]
fn compression_levels_and_a_bare_output_path_are_accepted() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", "FROM busybox:test\nCOPY f /f\n"),
            ("f", "levels"),
        ],
    );
    let ctx = ctx.to_str().unwrap();
    for (compression, tag, media_type) in [
        (
            "gzip:9",
            "g:1",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        (
            "ZSTD:19",
            "z:1",
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ),
        ("none", "n:1", "application/vnd.oci.image.layer.v1.tar"),
    ] {
        // --no-cache: a cached layer is reused whatever its compression.
        env.build(&["--no-cache", "--compression", compression, "-t", tag, ctx]);
        let layers = env.inspect(tag)["Manifest"]["layers"].clone();
        assert_eq!(layers[1]["mediaType"], media_type, "{compression}");
    }
    // A bare path is type=local,dest=PATH, as in buildx.
    let out = env.path("out");
    env.build(&["-o", out.to_str().unwrap(), ctx]);
    assert_eq!(std::fs::read_to_string(out.join("f")).unwrap(), "levels");
}

/// buildx's `--secret id=ID` alone: the variable ID when set, else the file ID.
#[test]
#[ignore = "needs root"]
fn a_secret_id_alone_reads_the_variable_else_the_file() {
    common::require_root(); // RUN needs mounts and runc
    let env = Env::with_base();
    let dockerfile = "FROM busybox:test
RUN --mount=type=secret,id=tokfile,required=true --mount=type=secret,id=TOKENV,required=true \
    mkdir /got && cp /run/secrets/tokfile /run/secrets/TOKENV /got/
";
    let ctx = env.context("ctx", &[("Dockerfile", dockerfile)]);
    std::fs::write(env.path("tokfile"), "from-file").unwrap();
    std::fs::write(env.path("TOKENV"), "file-not-used").unwrap();
    let out = env.path("out");
    let build = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(env.dir.path())
        .arg("--root")
        .arg(env.root())
        .args(["build", "--progress=plain", "--secret", "id=tokfile"])
        .args(["--secret", "id=TOKENV", "-o"])
        .arg(format!("type=local,dest={}", out.display()))
        .arg(&ctx)
        .env_remove("tokfile")
        .env("TOKENV", "from-env")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(build.status.success(), "build failed:\n{}", stderr(&build));
    let read = |name: &str| std::fs::read_to_string(out.join("got").join(name)).unwrap();
    assert_eq!(read("tokfile"), "from-file");
    assert_eq!(read("TOKENV"), "from-env");
}
