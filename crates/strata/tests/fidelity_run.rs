//! RUN flags whose effect no other test sees, with BuildKit v0.24's behaviour as the expected
//! value (`frontend/dockerfile/instructions/commands_runmount.go`, `convert_runmount.go`,
//! `commands_runsecurity.go`).

mod common;

use common::Env;

/// convert_runmount.go: `size` of a tmpfs mount becomes the tmpfs size limit.
#[test]
#[ignore = "needs root"]
fn run_tmpfs_mount_size_is_its_limit() {
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let ctx = env.context(
        "tmpfs",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN --mount=type=tmpfs,target=/t,size=1m df -k /t | tail -n 1 > /df\n",
        )],
    );
    let out = env.path("out");
    env.build(&[
        "-o",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    let df = std::fs::read_to_string(out.join("df")).unwrap();
    let blocks: Vec<&str> = df.split_whitespace().collect();
    assert_eq!(blocks.get(1), Some(&"1024"), "1 MiB tmpfs: {df}");
}

/// commands_runsecurity.go accepts `insecure` only with the `security.insecure`
/// entitlement; strata grants no entitlements, so the step fails at its line.
#[test]
#[ignore = "needs root"]
fn run_security_insecure_is_refused_at_its_line() {
    common::require_root(); // the base is unpacked before the step
    let env = Env::with_base();
    let ctx = env.context(
        "insecure",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN --security=sandbox true\nRUN --security=insecure true\n",
        )],
    );
    let err = env.build_fails(&ctx);
    assert!(
        err.contains("Dockerfile:3") && err.contains("--security=insecure is not supported"),
        "{err}"
    );
}

/// The differ (`solver/llbsolver` exec diff, overlay whiteouts): a file that becomes a
/// directory, and a directory that becomes a file, read back as the new kind, with nothing
/// left of the old one.
#[test]
#[ignore = "needs root"]
fn a_file_replaced_by_a_directory_and_back_across_runs() {
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let ctx = env.context(
        "replace",
        &[(
            "Dockerfile",
            "FROM busybox:test\n\
             RUN echo f > /x && mkdir -p /y/sub && echo s > /y/sub/s\n\
             RUN rm /x && mkdir /x && echo in > /x/in && rm -rf /y && echo file > /y\n\
             RUN cat /x/in /y > /result && test ! -e /y/sub\n",
        )],
    );
    let out = env.path("out");
    env.build(&[
        "-o",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("result")).unwrap(),
        "in\nfile\n"
    );
    assert!(out.join("x").is_dir() && out.join("y").is_file());
}

/// A hard link a RUN makes to a file of a lower layer survives in the image: the layer holds
/// the copied-up file and the new name as a hard link to it (BuildKit's differ writes the new
/// name as a separate plain file instead; docs/FIDELITY.md).
#[test]
#[ignore = "needs root"]
fn a_hard_link_to_a_lower_file_survives_in_the_image() {
    use std::os::unix::fs::MetadataExt;
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let ctx = env.context(
        "link",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN ln /bin/busybox /bb2\n",
        )],
    );
    let out = env.path("out");
    env.build(&[
        "-o",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    let (a, b) = (
        std::fs::metadata(out.join("bin/busybox")).unwrap(),
        std::fs::metadata(out.join("bb2")).unwrap(),
    );
    assert_eq!(a.ino(), b.ino(), "one file, two names");
}

/// convert_runmount.go: `uid`, `gid` and `mode` set the owner and mode of a cache mount's
/// directory (`setCacheUIDGID`) and of a secret's file (`dispatchSecret`); `ro` makes a tmpfs
/// read-only (`llb.Readonly`).
#[test]
#[ignore = "needs root"]
fn mount_owner_mode_and_readonly_options_take_effect() {
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let ctx = env.context(
        "mountopts",
        &[
            (
                "Dockerfile",
                "FROM busybox:test\n\
                 RUN --mount=type=cache,target=/c,uid=1000,gid=1000,mode=0750 stat -c '%u:%g %a' /c > /cache-stat\n\
                 RUN --mount=type=secret,id=tok,uid=1000,gid=1000,mode=0440 stat -c '%u:%g %a' /run/secrets/tok > /secret-stat\n\
                 RUN --mount=type=tmpfs,target=/t,ro sh -c 'touch /t/x 2>/dev/null && echo writable || echo readonly' > /tmpfs-ro\n",
            ),
            ("tok.txt", "s3cret"),
        ],
    );
    let out = env.path("out");
    let secret = format!("id=tok,src={}", ctx.join("tok.txt").display());
    let dest = format!("type=local,dest={}", out.display());
    env.build(&["--secret", &secret, "-o", &dest, ctx.to_str().unwrap()]);
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    assert_eq!(read("cache-stat"), "1000:1000 750\n");
    assert_eq!(read("secret-stat"), "1000:1000 440\n");
    assert_eq!(read("tmpfs-ro"), "readonly\n");
}
