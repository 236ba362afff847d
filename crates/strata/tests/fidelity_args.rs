//! ARG scoping and stage resolution (`FROM`, `COPY --from`, `RUN --mount from=`, ONBUILD) as
//! BuildKit v0.24 does them. Expected values come from moby/buildkit's
//! `frontend/dockerfile/dockerfile2llb/` (each test cites the function) and were confirmed
//! with the BuildKit v0.24.0 oracle on the same Dockerfiles.

mod common;

use common::{stderr, Env};
use serde_json::Value;

/// Builds `dockerfile` (plus `files`) as `name:1`; returns the image's config blob.
fn build_image(env: &Env, name: &str, dockerfile: &str, files: &[(&str, &str)]) -> Value {
    let mut all = files.to_vec();
    all.push(("Dockerfile", dockerfile));
    let ctx = env.context(name, &all);
    env.build(&["-t", &format!("{name}:1"), ctx.to_str().unwrap()]);
    env.inspect(&format!("{name}:1"))["Config"].clone()
}

/// `KEY=VALUE` entries of the config's Env.
fn env_of(config: &Value) -> Vec<String> {
    config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn history(config: &Value) -> Vec<String> {
    config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Builds into a local directory with `extra` flags; returns the file at `rel` in it.
fn build_file(env: &Env, ctx: &std::path::Path, extra: &[&str], rel: &str) -> String {
    let out = env.path(&format!(
        "out-{}",
        ctx.file_name().unwrap().to_string_lossy()
    ));
    let dest = format!("type=local,dest={}", out.display());
    let mut args = vec!["--output", dest.as_str()];
    args.extend_from_slice(extra);
    args.push(ctx.to_str().unwrap());
    env.build(&args);
    std::fs::read_to_string(out.join(rel)).unwrap()
}

/// Runs a build that must fail; returns its stderr, after checking nothing was stored.
fn build_fails(env: &Env, name: &str, dockerfile: &str, extra: &[&str]) -> String {
    let ctx = env.context(name, &[("Dockerfile", dockerfile), ("f", "f\n")]);
    let mut args = vec!["build", "-t", "failed:1"];
    args.extend_from_slice(extra);
    args.push(ctx.to_str().unwrap());
    let out = env.strata(&args);
    assert_eq!(out.status.code(), Some(1), "{dockerfile}: {}", stderr(&out));
    assert!(!env.ok(&["images"]).contains("failed"), "no image written");
    stderr(&out)
}

/// convert.go `dispatchArg` (`d.state.AddEnv`, l.1875) writes the same build environment as
/// `dispatchEnv`: the later of ARG and ENV wins in expansion; only ENV is in the config.
#[test]
fn arg_after_env_of_the_same_name_wins_in_expansion() {
    let env = Env::empty();
    let df = "FROM scratch\nENV A=env\nARG A=arg\nENV B=$A\nARG C=arg\nENV C=env\nENV D=$C\n";
    let config = build_image(&env, "argenv", df, &[]);
    let vars = env_of(&config);
    for want in ["A=env", "B=arg", "C=env", "D=env"] {
        assert!(vars.contains(&want.to_owned()), "{want} in {vars:?}");
    }
    assert!(history(&config).contains(&"ENV B=arg".to_owned()));
}

/// The same in RUN's environment and history (`runCommandString` prints every declared ARG
/// with its value in the build environment), and with `--build-arg` for a bare ARG.
#[test]
#[ignore = "needs root"]
fn arg_after_env_of_the_same_name_wins_in_run() {
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let df =
        "FROM busybox:test\nENV A=env\nARG A=arg\nENV B=$A\nRUN echo \"A=$A B=$B\" > /out.txt\n";
    let ctx = env.context("argenv", &[("Dockerfile", df)]);
    assert_eq!(build_file(&env, &ctx, &[], "out.txt"), "A=arg B=arg\n");
    let config = build_image(&env, "argenv", df, &[]);
    assert!(env_of(&config).contains(&"A=env".to_owned()));
    let run = history(&config).pop().unwrap();
    assert!(run.starts_with("RUN |1 A=arg /bin/sh -c echo"), "{run}");

    let df = "FROM busybox:test\nENV A=env\nARG A\nRUN echo \"A=$A\" > /out.txt\n";
    let ctx = env.context("argenv2", &[("Dockerfile", df)]);
    assert_eq!(build_file(&env, &ctx, &[], "out.txt"), "A=env\n");
    let cli = ["--build-arg", "A=cli"];
    assert_eq!(build_file(&env, &ctx, &cli, "out.txt"), "A=cli\n");
}

/// `runCommandString`: declared ARGs in declaration order, once each, with their current
/// value (an ENV set later included) or empty.
#[test]
#[ignore = "needs root"]
fn run_history_lists_declared_args_in_order() {
    common::require_root(); // RUN in runc
    let env = Env::with_base();
    let df = "FROM busybox:test\nARG B=1\nARG A=2\nARG N\nENV A=3\nRUN true\n";
    let config = build_image(&env, "argorder", df, &[]);
    let run = history(&config).pop().unwrap();
    assert!(
        run.starts_with("RUN |3 B=1 A=3 N= /bin/sh -c true"),
        "{run}"
    );
}

/// convert.go `dispatch` does not expand ARG; `dispatchArg` expands each default in turn
/// against the build environment, which already holds the ones before it (l.909-912, l.1863).
#[test]
fn arg_defaults_on_one_line_see_the_earlier_ones() {
    let env = Env::empty();
    let df = "FROM scratch\nENV a=old\nENV a=1 b=$a\nARG c=2 d=$c\nENV D=$d\n";
    let config = build_image(&env, "sameline", df, &[]);
    let vars = env_of(&config);
    assert!(
        vars.contains(&"b=old".to_owned()),
        "ENV is expanded as a whole: {vars:?}"
    );
    assert!(vars.contains(&"D=2".to_owned()), "{vars:?}");
    assert!(history(&config).contains(&"ARG c=2 d=2".to_owned()));
}

/// `dispatchArg`: a bare `ARG NAME` takes the meta ARG's value, a `--build-arg` wins.
#[test]
fn a_bare_arg_inherits_the_meta_value() {
    let env = Env::empty();
    let df = "ARG V=meta\nFROM scratch\nARG V\nENV GOT=$V\n";
    let config = build_image(&env, "metaarg", df, &[]);
    assert!(env_of(&config).contains(&"GOT=meta".to_owned()));
    let ctx = env.context("metaarg", &[]);
    env.build(&["-t", "cli:1", "--build-arg", "V=cli", ctx.to_str().unwrap()]);
    let config = env.inspect("cli:1")["Config"].clone();
    assert!(env_of(&config).contains(&"GOT=cli".to_owned()));
}

/// `dispatchState.init`: a stage built on another starts from that stage's build
/// environment (its ARGs included, `ds.buildArgs` appended).
#[test]
fn a_stage_built_on_a_stage_keeps_its_args() {
    let env = Env::empty();
    let df = "FROM scratch AS a\nARG X=1\nFROM a\nARG Z=$X\nENV GOT=$Z\n";
    let config = build_image(&env, "inherit", df, &[]);
    assert!(env_of(&config).contains(&"GOT=1".to_owned()));
    assert!(!env_of(&config).iter().any(|v| v.starts_with("X=")));
}

/// platform.go `defaultArgs`: TARGETSTAGE is the target (as given) or the last stage's name
/// or `default`; BUILDOSVERSION and TARGETOSVERSION are empty on Linux.
#[test]
fn builtin_args_include_targetstage_and_osversions() {
    let env = Env::empty();
    let df = "FROM scratch AS first\nARG TARGETSTAGE BUILDOSVERSION TARGETOSVERSION\nENV TS=$TARGETSTAGE OV=[$BUILDOSVERSION$TARGETOSVERSION]\nFROM first\n";
    let config = build_image(&env, "builtin", df, &[]);
    let vars = env_of(&config);
    assert!(vars.contains(&"TS=default".to_owned()), "{vars:?}");
    assert!(vars.contains(&"OV=[]".to_owned()), "{vars:?}");
    let arg = "ARG TARGETSTAGE=default BUILDOSVERSION= TARGETOSVERSION=".to_owned();
    assert!(history(&config).contains(&arg));
    let ctx = env.context("builtin", &[]);
    env.build(&["-t", "t:1", "--target", "first", ctx.to_str().unwrap()]);
    assert!(env_of(&env.inspect("t:1")["Config"]).contains(&"TS=first".to_owned()));
}

/// convert.go `initOnBuildTriggers` (l.606-640): the `--from` of a base stage's trigger is a
/// dependency of the stage that runs it, so `helper` is built first.
#[test]
#[ignore = "needs root"]
fn onbuild_copy_from_a_stage_builds_that_stage_first() {
    common::require_root(); // COPY --from unpacks the stage's layers with their owners
    let env = Env::empty();
    let df = "FROM scratch AS helper\nCOPY f /helper\nFROM scratch AS base\nONBUILD COPY --from=helper /helper /helper\nFROM base\n";
    let ctx = env.context("onbuild", &[("Dockerfile", df), ("f", "helped\n")]);
    assert_eq!(build_file(&env, &ctx, &[], "helper"), "helped\n");
}

/// An image's triggers are read only when its stage starts, after strata planned the build:
/// a trigger naming a stage this stage depends on works, any other is refused clearly
/// (BuildKit re-plans instead).
#[test]
#[ignore = "needs root"]
fn onbuild_from_of_an_image_needs_a_planned_stage() {
    common::require_root(); // COPY --from unpacks the stage's layers with their owners
    let env = Env::empty();
    let parent = "FROM scratch\nONBUILD COPY --from=helper /helper /helper\n";
    build_image(&env, "parent", parent, &[]);
    let df = "FROM scratch AS helper\nCOPY f /helper\nFROM parent:1\n";
    let err = build_fails(&env, "unplanned", df, &[]);
    assert!(
        err.contains("Dockerfile:3")
            && err.contains("ONBUILD trigger of the base image reads stage \"helper\""),
        "{err}"
    );
    let df = "FROM scratch AS helper\nCOPY f /helper\nFROM parent:1\nCOPY --from=helper /helper /again\n";
    let ctx = env.context("planned", &[("Dockerfile", df), ("f", "helped\n")]);
    assert_eq!(build_file(&env, &ctx, &[], "helper"), "helped\n");
}

/// convert.go `toCommand` (l.820-828): `--from` is not expanded, a variable is an error.
#[test]
fn copy_from_a_variable_is_refused_at_its_line() {
    let env = Env::empty();
    let df = "ARG S=one\nFROM scratch AS one\nCOPY f /one\nFROM scratch\nARG S\nCOPY --from=$S /one /one\n";
    let err = build_fails(&env, "fromvar", df, &[]);
    assert!(
        err.contains("Dockerfile:6: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"),
        "{err}"
    );
}

/// convert.go `dispatch` (l.996-999) and convert_runmount.go `dispatchRunMounts`: a stage
/// read before it is defined fails when the stage reading it is built, not otherwise.
#[test]
fn reading_a_later_stage_is_refused_when_needed() {
    let env = Env::empty();
    let df = "FROM scratch AS a\nCOPY --from=b /f /f\nFROM scratch AS b\nCOPY f /f\n";
    let err = build_fails(&env, "later", df, &["--target", "a"]);
    assert!(
        err.contains("Dockerfile:2: cannot copy from stage \"b\", it needs to be defined before current stage \"a\""),
        "{err}"
    );
    let ctx = env.context("later", &[]);
    assert_eq!(build_file(&env, &ctx, &[], "f"), "f\n", "b alone builds");
    let df = "FROM scratch AS a\nCOPY --from=1 /f /f\nFROM scratch AS b\n";
    let err = build_fails(&env, "later_index", df, &["--target", "a"]);
    assert!(err.contains("cannot copy from stage \"1\""), "{err}");
    let df = "FROM scratch AS a\nCOPY --from=5 /f /f\n";
    let err = build_fails(&env, "bad_index", df, &[]);
    assert!(err.contains("Dockerfile:2: invalid stage index 5"), "{err}");
}

/// convert.go `addState`: FROM looks the stage up by the name as written (stage names are
/// stored lower-cased) and compares `scratch` exactly; anything else is an image reference,
/// which must be lower-case (`failed to parse stage name`). `COPY --from` lower-cases
/// (`findStateByName`).
#[test]
#[ignore = "needs root"]
fn stage_names_in_from_are_case_sensitive() {
    common::require_root(); // COPY --from unpacks the stage's layers with their owners
    let env = Env::empty();
    let df = "FROM scratch AS builder\nCOPY f /f\nFROM Builder\n";
    let err = build_fails(&env, "upper", df, &[]);
    assert!(
        err.contains("Dockerfile:3: failed to parse stage name \"Builder\": invalid reference format: repository name (library/Builder) must be lowercase"),
        "{err}"
    );
    let err = build_fails(&env, "scratch_upper", "FROM SCRATCH\n", &[]);
    assert!(
        err.contains("failed to parse stage name \"SCRATCH\""),
        "{err}"
    );
    let df = "FROM scratch AS builder\nCOPY f /f\nFROM scratch\nCOPY --from=BUILDER /f /g\n";
    let ctx = env.context("copy_upper", &[("Dockerfile", df), ("f", "f\n")]);
    assert_eq!(build_file(&env, &ctx, &[], "g"), "f\n");
}

/// convert.go `addState`/`findStateByName`: of two stages with one name, `FROM` takes the
/// last one before it and `COPY --from` the last one in the file (an error when that one
/// comes after the stage reading it). BuildKit only warns (lint DuplicateStageName).
#[test]
#[ignore = "needs root"]
fn of_two_stages_with_one_name_the_last_wins() {
    common::require_root(); // COPY --from unpacks the stage's layers with their owners
    let env = Env::empty();
    let files = [("one", "1\n"), ("two", "2\n")];
    let df = "FROM scratch AS dup\nCOPY one /v\nFROM scratch AS dup\nCOPY two /v\nFROM scratch\nCOPY --from=dup /v /v\n";
    let mut all = files.to_vec();
    all.push(("Dockerfile", df));
    let ctx = env.context("dup_copy", &all);
    assert_eq!(build_file(&env, &ctx, &[], "v"), "2\n");
    let df = "FROM scratch AS dup\nCOPY one /v\nFROM scratch AS dup\nCOPY two /v\nFROM dup\n";
    let mut all = files.to_vec();
    all.push(("Dockerfile", df));
    let ctx = env.context("dup_from", &all);
    assert_eq!(build_file(&env, &ctx, &[], "v"), "2\n");
    let df = "FROM scratch AS dup\nFROM scratch AS mid\nCOPY --from=dup /v /v\nFROM scratch AS dup\nFROM scratch\nCOPY --from=mid /v /v\n";
    let err = build_fails(&env, "dup_mid", df, &[]);
    assert!(
        err.contains("Dockerfile:3: cannot copy from stage \"dup\", it needs to be defined before current stage \"mid\""),
        "{err}"
    );
}
