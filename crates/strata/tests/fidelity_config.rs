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
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
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

const CONFIG_DF: &str = r#"FROM scratch AS base
ARG VERSION=1.2
ENV A b c
ENV B="x y" C=z\ w D=
LABEL "a b"="c d" version=$VERSION
MAINTAINER Jane <j@example.org>
SHELL ["/bin/sh", "-ec"]
CMD echo hi
ENTRYPOINT ["/app"]
VOLUME /data /logs
VOLUME ["/cache"]
USER 1000:1000
STOPSIGNAL sigquit
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --start-interval=2s --retries=4 CMD true
ONBUILD ENV TRIGGERED=yes
FROM base
"#;

/// dockerfile2llb/convert.go: dispatchEnv (legacy `ENV a b c` is one value), dispatchLabel,
/// dispatchMaintainer (Author), dispatchCmd/dispatchEntrypoint (SHELL wraps shell forms; an
/// ENTRYPOINT keeps a CMD set in the same stage), dispatchVolume, dispatchUser,
/// dispatchStopSignal (kept as written), dispatchHealthcheck (durations in ns), dispatchOnbuild;
/// ARG values never reach the config.
#[test]
fn config_instructions_record_what_buildkit_records() {
    let env = Env::empty();
    let ctx = env.context("cfg", &[("Dockerfile", CONFIG_DF)]);
    env.build(&["--target", "base", "-t", "base:1", ctx.to_str().unwrap()]);
    let v = env.inspect("base:1");
    let c = &v["Config"]["config"];
    assert_eq!(
        c["Env"],
        serde_json::json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "A=b c",
            "B=x y",
            "C=z w",
            "D="
        ])
    );
    assert_eq!(
        c["Labels"],
        serde_json::json!({"a b": "c d", "version": "1.2"})
    );
    assert_eq!(v["Config"]["author"], "Jane <j@example.org>");
    assert_eq!(c["Shell"], serde_json::json!(["/bin/sh", "-ec"]));
    assert_eq!(c["Cmd"], serde_json::json!(["/bin/sh", "-ec", "echo hi"]));
    assert_eq!(c["Entrypoint"], serde_json::json!(["/app"]));
    assert_eq!(
        c["Volumes"],
        serde_json::json!({"/data": {}, "/logs": {}, "/cache": {}})
    );
    assert_eq!(c["User"], "1000:1000");
    assert_eq!(c["StopSignal"], "sigquit");
    assert_eq!(
        c["Healthcheck"],
        serde_json::json!({
            "Test": ["CMD-SHELL", "true"],
            "Interval": 30_000_000_000u64,
            "Timeout": 5_000_000_000u64,
            "StartPeriod": 10_000_000_000u64,
            "StartInterval": 2_000_000_000u64,
            "Retries": 4
        })
    );
    assert_eq!(c["OnBuild"], serde_json::json!(["ENV TRIGGERED=yes"]));
    assert_eq!(c["WorkingDir"], "/");
    assert_eq!(c["ArgsEscaped"], true, "dispatchCmd sets ArgsEscaped");
    let history: Vec<&str> = v["Config"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    // commitToHistory texts of each dispatch function; ONBUILD writes none. HEALTHCHECK is
    // strata's own text: BuildKit v0.24 prints Go's %q of a struct there.
    assert_eq!(
        history,
        [
            "ARG VERSION=1.2",
            "ENV A=b c",
            "ENV B=x y C=z w D=",
            "LABEL a b=c d version=1.2",
            "MAINTAINER Jane <j@example.org>",
            "SHELL [/bin/sh -ec]",
            r#"CMD ["/bin/sh" "-ec" "echo hi"]"#,
            r#"ENTRYPOINT ["/app"]"#,
            "VOLUME [/data /logs]",
            "VOLUME [/cache]",
            "USER 1000:1000",
            "STOPSIGNAL sigquit",
            r#"HEALTHCHECK ["CMD-SHELL","true"]"#,
        ]
    );
}

/// `ENTRYPOINT []` and `CMD []` clear them; BuildKit's config omits empty lists (omitempty).
#[test]
fn empty_entrypoint_and_cmd_are_omitted() {
    let env = Env::empty();
    let config = build_df(
        &env,
        "empty",
        "FROM scratch\nCMD [\"x\"]\nENTRYPOINT []\nCMD []\n",
        &[],
    );
    assert!(
        config.get("Entrypoint").is_none() && config.get("Cmd").is_none(),
        "{config}"
    );
}

/// dockerfile2llb/convert.go (the onbuild loop before dispatch, and `dispatchState.init`):
/// a stage used as a base runs the ONBUILD triggers written in that stage, and its own image
/// does not carry them on.
#[test]
fn a_stage_used_as_base_runs_its_onbuild_triggers() {
    let env = Env::empty();
    let ctx = env.context("onbuild", &[("Dockerfile", CONFIG_DF)]);
    env.build(&["-t", "child:1", ctx.to_str().unwrap()]);
    let c = env.inspect("child:1")["Config"]["config"].clone();
    assert!(
        c["Env"]
            .as_array()
            .unwrap()
            .contains(&"TRIGGERED=yes".into()),
        "{c}"
    );
    assert!(c["OnBuild"].is_null(), "triggers are not inherited: {c}");
}

/// convert.go dispatchStopSignal (`signal.ParseSignal`) and dispatchVolume refuse these.
#[test]
fn invalid_stopsignal_and_empty_volume_fail_at_their_line() {
    let env = Env::empty();
    for (i, (df, want)) in [
        (
            "FROM scratch\nSTOPSIGNAL SIGFOO\n",
            "invalid signal: SIGFOO",
        ),
        (
            "FROM scratch\nVOLUME [\"\"]\n",
            "VOLUME specified can not be an empty string",
        ),
    ]
    .iter()
    .enumerate()
    {
        let ctx = env.context(&format!("bad{i}"), &[("Dockerfile", df)]);
        let err = env.build_fails(&ctx);
        assert!(err.contains("Dockerfile:2") && err.contains(want), "{err}");
    }
}

/// dockerfile2llb/convert.go expands `FROM --platform` with the meta and platform ARGs.
/// strata runs steps natively: the host's platform (however spelled) builds, another one
/// is refused at its FROM line rather than ignored.
#[test]
fn from_platform_is_the_host_or_a_clear_error() {
    let env = Env::empty();
    let host = format!("linux/{}", strata_oci_arch());
    for (i, p) in ["$BUILDPLATFORM", "${TARGETPLATFORM}", host.as_str()]
        .iter()
        .enumerate()
    {
        let df = format!("FROM --platform={p} scratch\nCOPY f /f\n");
        let ctx = env.context(&format!("ok{i}"), &[("Dockerfile", &df), ("f", "x")]);
        env.build(&[ctx.to_str().unwrap()]);
    }
    let ctx = env.context(
        "foreign",
        &[(
            "Dockerfile",
            "ARG P=linux/s390x\nFROM --platform=$P scratch\n",
        )],
    );
    let err = env.build_fails(&ctx);
    assert!(
        err.contains("Dockerfile:2") && err.contains("--platform=linux/s390x"),
        "{err}"
    );
}

fn strata_oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// convert.go dispatchCopy `commitMessage`: `COPY [--parents] [--chown=…] [--chmod=…]
/// SRC… [<<NAME…] DEST`, values expanded, other flags (`--from`, `--link`, `--exclude`) left
/// out.
#[test]
#[ignore = "needs root"]
fn copy_history_is_written_as_buildkit_writes_it() {
    common::require_root(); // COPY --from reads the stage's unpacked layers
    let env = Env::empty();
    let df = "FROM scratch AS one\nCOPY f /f\n\
              FROM scratch\nARG U=7\n\
              COPY --link --chown=$U:8 --chmod=600 f /a\n\
              COPY --from=one --exclude=nothing /f /b\n\
              COPY f <<EOT /c/\nbody\nEOT\n";
    let ctx = env.context("hist", &[("Dockerfile", df), ("f", "x")]);
    env.build(&["-t", "hist:1", ctx.to_str().unwrap()]);
    let v = env.inspect("hist:1");
    let history: Vec<&str> = v["Config"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str().filter(|t| t.starts_with("COPY")))
        .collect();
    assert_eq!(
        history,
        [
            "COPY --chown=7:8 --chmod=600 f /a # strata",
            "COPY /f /b # strata",
            "COPY f <<EOT /c/ # strata",
        ]
    );
}

/// BuildKit's WORKDIR mkdir fails on a file in the path (`lstat /f/sub: not a directory`);
/// the file is never replaced by a directory.
#[test]
#[ignore = "needs root"]
fn workdir_through_a_file_fails_at_its_line() {
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let ctx = env.context(
        "wdfile",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN echo x > /f\nWORKDIR /f/sub\n",
        )],
    );
    let err = env.build_fails(&ctx);
    assert!(
        err.contains("Dockerfile:3") && err.contains("mkdir /f: not a directory"),
        "{err}"
    );
}

/// convert.go dispatchCopy with `--from=scratch`: the empty image's root is an empty
/// directory, so copying `/` makes the destination directory (0755) and nothing else.
#[test]
#[ignore = "needs root"]
fn copy_from_scratch_root_makes_an_empty_directory() {
    use std::os::unix::fs::PermissionsExt;
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let ctx = env.context(
        "scratchroot",
        &[(
            "Dockerfile",
            "FROM busybox:test\nCOPY --from=scratch / /s/\nCOPY --from=scratch / /t\n",
        )],
    );
    let (out, _) = env.build_rootfs(&ctx, "out");
    for d in ["s", "t"] {
        let meta = std::fs::metadata(out.join(d)).unwrap();
        assert!(
            meta.is_dir() && meta.permissions().mode() & 0o7777 == 0o755,
            "/{d}"
        );
        assert_eq!(
            std::fs::read_dir(out.join(d)).unwrap().count(),
            0,
            "/{d} is empty"
        );
    }
}
