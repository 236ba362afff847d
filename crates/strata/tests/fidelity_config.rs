//! The image config and WORKDIR as BuildKit v0.24 makes them (expected values from
//! moby/buildkit's `frontend/dockerfile/dockerfile2llb/`; each test cites the file).

mod common;

use common::{stderr, Env};

fn build_df(env: &Env, name: &str, dockerfile: &str, files: &[(&str, &str)]) -> serde_json::Value {
    let mut all = files.to_vec();
    all.push(("Dockerfile", dockerfile));
    let ctx = env.context(name, &all);
    env.build(&["-t", &format!("{name}:1"), ctx.to_str().unwrap()]);
    env.inspect(&format!("{name}:1"))["Config"]["config"].clone()
}

/// dockerfile2llb/image.go `emptyImage`: `img.Config.WorkingDir = "/"`.
#[test]
fn from_scratch_sets_working_dir_to_root() {
    let env = Env::empty();
    let config = build_df(
        &env,
        "scratch",
        "FROM scratch\nCOPY f.txt /f.txt\n",
        &[("f.txt", "x")],
    );
    assert_eq!(config["WorkingDir"], "/");
    let config = build_df(&env, "relative", "FROM scratch\nWORKDIR app\n", &[]);
    assert_eq!(
        config["WorkingDir"], "/app",
        "a relative WORKDIR starts from /"
    );
}

/// dockerfile2llb/convert_expose.go `parsePort`: a range is one key per port, the protocol
/// is lowercased, ARGs are expanded first.
#[test]
fn expose_ranges_and_protocols_as_buildkit_records_them() {
    let env = Env::empty();
    let config = build_df(
        &env,
        "expose",
        "FROM scratch\nARG P=9000\nEXPOSE 8000-8002 80/UDP ${P}/Sctp\n",
        &[],
    );
    let mut keys: Vec<&String> = config["ExposedPorts"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["80/udp", "8000/tcp", "8001/tcp", "8002/tcp", "9000/sctp"]
    );
}

/// convert_expose.go: an invalid protocol or port fails the build at its line.
#[test]
fn expose_rejects_an_invalid_port_at_its_line() {
    let env = Env::empty();
    let ctx = env.context("bad", &[("Dockerfile", "FROM scratch\nEXPOSE 80/icmp\n")]);
    let out = env.strata(&["build", "-t", "bad:1", ctx.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:2") && err.contains("invalid proto: icmp"),
        "{err}"
    );
    assert!(!env.ok(&["images"]).contains("bad"), "no image written");
}

/// dockerfile2llb/convert.go `dispatchWorkdir`: `llb.Mkdir(wd, 0755, WithParents(true),
/// WithUser(USER))`, and fsutil's `copy.MkdirAll` chowns each directory it creates.
#[test]
#[ignore = "needs root"]
fn workdir_under_user_creates_directories_owned_by_that_user() {
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let ctx = env.context(
        "wd",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN mkdir /kept\nUSER app\nWORKDIR /kept/owned/by/user\n\
             RUN stat -c '%u:%g %a %n' /kept /kept/owned /kept/owned/by /kept/owned/by/user > /tmp/st\n\
             USER root\nRUN cat /tmp/st\n",
        )],
    );
    let (_, err) = env.build(&["--no-cache", ctx.to_str().unwrap()]);
    for want in [
        "0:0 755 /kept\n",
        "1000:1000 755 /kept/owned\n",
        "1000:1000 755 /kept/owned/by\n",
        "1000:1000 755 /kept/owned/by/user\n",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
}
