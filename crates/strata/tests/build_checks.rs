//! BuildKit's build checks in `strata build`: `--check` (checks only, buildx's output, exit 1
//! when any, nothing built), the summary printed after a build, `# check=error=true` failing
//! before anything runs, `# check=skip=`.

mod common;

use common::{stderr, Env};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn check_prints_each_warning_and_exits_1_without_building() {
    let env = Env::empty();
    let ctx = env.context(
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox:test AS Base\nENV greeting hello\nCMD echo hi\n",
        )],
    );
    let out = env.strata(&["build", "--check", "-t", "app:1", ctx.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for part in [
        "WARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/\nStage name 'Base' should be lowercase\n",
        "WARNING: LegacyKeyValueFormat - https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/\n\"ENV key=value\" should be used instead of legacy \"ENV key value\" format\n",
        "WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\nJSON arguments recommended for CMD to prevent unintended behavior related to OS signals\n",
        " >>>   3 | CMD echo hi\n",
        "Check complete, 3 warnings have been found!",
    ] {
        assert!(err.contains(part), "missing {part:?} in:\n{err}");
    }
    // Nothing was built: the base is not even in the store, and no image was named.
    assert!(!err.contains("naming to"), "{err}");
    let images = env.ok(&["images", "--format", "json"]);
    assert!(!images.contains("app"), "{images}");
}

#[test]
fn check_on_a_clean_dockerfile_says_so_and_exits_0() {
    let env = Env::empty();
    let ctx = env.context(
        "ctx",
        &[("Dockerfile", "FROM busybox:test\nCMD [\"true\"]\n")],
    );
    let out = env.strata(&["build", "--check", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Check complete, no warnings found.\n");
}

#[test]
fn check_skip_directive_and_build_arg_override() {
    let env = Env::empty();
    let ctx = env.context(
        "ctx",
        &[(
            "Dockerfile",
            "# check=skip=JSONArgsRecommended\nFROM busybox:test\nCMD echo hi\n",
        )],
    );
    let out = env.strata(&["build", "--check", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // BUILDKIT_DOCKERFILE_CHECK replaces the directive, as in BuildKit.
    let out = env.strata(&[
        "build",
        "--check",
        "--build-arg",
        "BUILDKIT_DOCKERFILE_CHECK=skip=StageNameCasing",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("WARNING: JSONArgsRecommended"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn error_true_fails_the_build_before_anything_runs() {
    let env = Env::empty();
    let ctx = env.context(
        "ctx",
        &[(
            "Dockerfile",
            "# check=error=true\nFROM busybox:test AS Base\nRUN touch /ran\nCMD echo hi\n",
        )],
    );
    let out = env.strata(&["build", "-t", "app:1", ctx.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lint violation found for rules: JSONArgsRecommended, StageNameCasing"),
        "{err}"
    );
    // It failed on the checks, not on the missing base image: nothing was pulled or run.
    assert!(!err.contains("busybox"), "{err}");
    let images = env.ok(&["images", "--format", "json"]);
    assert!(!images.contains("app"), "{images}");
}

#[test]
fn an_invalid_check_directive_is_an_error_naming_the_file() {
    let env = Env::empty();
    let ctx = env.context(
        "ctx",
        &[("Dockerfile", "# check=skip\nFROM busybox:test\n")],
    );
    let out = env.strata(&["build", "--check", ctx.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("Dockerfile: invalid check directive"), "{err}");
    assert!(err.contains("invalid check option \"skip\""), "{err}");
}

#[test]
#[ignore = "needs root"]
fn a_build_prints_buildkits_warning_summary_and_succeeds() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context(
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox:test AS Base\nWORKDIR app\nCMD echo hi\n",
        )],
    );
    let (_, err) = env.build(&["-t", "app:1", ctx.to_str().unwrap()]);
    assert!(
        err.contains("3 warnings found (use strata build --check to expand):\n - StageNameCasing: Stage name 'Base' should be lowercase (line 1)\n - WorkdirRelativePath: Relative workdir \"app\" can have unexpected results if the base image changes (line 2)\n - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 3)\n"),
        "{err}"
    );
    assert!(env.ok(&["images"]).contains("app"));
}
