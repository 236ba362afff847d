//! Metadata at build (docs/GOVERN.md): `strata build` in a real git repository (the `git`
//! binary) records the source, revision, version, authors, branch, base and build record as
//! manifest annotations; CI variables win over git, `--annotation` over both;
//! `--no-git-metadata` turns git and CI off; `--tag-from-git` derives tags; `--policy` gates
//! the built image before anything is tagged or pushed. The stored manifest is read from the
//! store's blobs; a pushed one back from a real registry with skopeo.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::registry_env::Env;
use strata_testkit::registry::TestRegistry;
use strata_testkit::{require_tool, stderr};

const SOURCE: &str = "org.opencontainers.image.source";
const REVISION: &str = "org.opencontainers.image.revision";
const VERSION: &str = "org.opencontainers.image.version";
const AUTHORS: &str = "org.opencontainers.image.authors";
const CREATED: &str = "org.opencontainers.image.created";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
const BRANCH: &str = "org.strata.git.branch";
const CI_RUN: &str = "org.strata.ci.run";
const BUILD: &str = "org.strata.build";

/// Every CI variable strata reads: cleared so the machine running the tests does not leak in.
const CI_VARS: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_REF_NAME",
    "GITHUB_REF_TYPE",
    "GITHUB_RUN_ID",
    "GITHUB_HEAD_REF",
    "GITLAB_CI",
    "CI_PROJECT_URL",
    "CI_COMMIT_SHA",
    "CI_COMMIT_TAG",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "CI_PIPELINE_URL",
    "CI_JOB_URL",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "JENKINS_URL",
    "GIT_URL",
    "GIT_COMMIT",
    "BRANCH_NAME",
    "GIT_BRANCH",
    "TAG_NAME",
    "BUILD_URL",
    "SOURCE_DATE_EPOCH",
];

/// strata in `env`, with no CI variables but `vars`.
fn strata(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("--root")
        .arg(env.root())
        .args(args)
        .env("HOME", env.path("home"))
        .env("DOCKER_CONFIG", env.path("docker"))
        .env("XDG_CONFIG_HOME", env.path("home/.config"))
        .env("CONTAINERS_REGISTRIES_CONF", env.path("registries.conf"))
        .env("TMPDIR", env.dir.path());
    for v in CI_VARS {
        cmd.env_remove(v);
    }
    cmd.envs(vars.iter().copied()).output().unwrap()
}

fn ok(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> String {
    let out = strata(env, args, vars);
    assert!(out.status.success(), "strata {args:?}:\n{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// `git ARGS` in `dir`, with a fixed identity and no user configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A git repository with the build context in `app/` (a busybox Dockerfile), one commit on
/// `main`, an `origin` with credentials in its URL; returns (repo, context, commit).
fn repo(env: &Env) -> (PathBuf, PathBuf, String) {
    require_tool("git");
    let repo = env.path("repo");
    let ctx = repo.join("app");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), "FROM busybox:test\nCOPY f /f\n").unwrap();
    fs::write(ctx.join("f"), "hello\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://bot:s3cret@git.example/org/app.git",
        ],
    );
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    (repo, ctx, commit)
}

/// The stored manifest of `name`.
fn manifest(env: &Env, name: &str) -> serde_json::Value {
    let digest = digest(env, name);
    let hex = digest.strip_prefix("sha256:").unwrap();
    let bytes = fs::read(env.root().join("blobs/sha256").join(hex)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn digest(env: &Env, name: &str) -> String {
    let out = ok(env, &["images", "--no-trunc", "--format", "json"], &[]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (repo, tag) = name.rsplit_once(':').unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["Repository"] == repo && r["Tag"] == tag)
        .unwrap_or_else(|| panic!("{name} not in {out}"))["Digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn tags_of(env: &Env) -> Vec<String> {
    let out = ok(env, &["images", "--format", "json"], &[]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut tags: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["Repository"].as_str().unwrap(),
                r["Tag"].as_str().unwrap()
            )
        })
        .filter(|t| !t.starts_with("busybox:") && !t.contains("<none>"))
        .collect();
    tags.sort();
    tags
}

fn annotations(env: &Env, name: &str) -> BTreeMap<String, String> {
    serde_json::from_value(manifest(env, name)["annotations"].clone()).unwrap_or_default()
}

fn record(a: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::from_str(&a[BUILD]).unwrap()
}

fn config_created(env: &Env, name: &str) -> String {
    let m = manifest(env, name);
    let hex = m["config"]["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap()
        .to_owned();
    let bytes = fs::read(env.root().join("blobs/sha256").join(hex)).unwrap();
    let config: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    config["created"].as_str().unwrap().to_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_build_in_a_git_repository_records_where_it_came_from() {
    let env = Env::with_base();
    let (repo, ctx, commit) = repo(&env);
    git(&repo, &["tag", "v1.2.0"]);
    ok(&env, &["build", "-q", "-t", "app:1", s(&ctx)], &[]);

    let a = annotations(&env, "app:1");
    assert_eq!(
        a[SOURCE], "https://git.example/org/app.git",
        "credentials stripped"
    );
    assert_eq!(a[REVISION], commit);
    assert_eq!(a[VERSION], "v1.2.0");
    assert_eq!(a[AUTHORS], "Ada Lovelace <ada@example.com>");
    assert_eq!(a[BRANCH], "main");
    assert_eq!(a[REF_NAME], "1");
    assert_eq!(a[BASE_NAME], "docker.io/library/busybox:test");
    assert_eq!(a[BASE_DIGEST], digest(&env, "busybox:test"));
    assert_eq!(a[CREATED], config_created(&env, "app:1"));
    assert!(!a.contains_key(CI_RUN), "no CI");
    assert_eq!(
        record(&a),
        serde_json::json!({
            "source": "https://git.example/org/app.git",
            "commit": commit,
            "context": "app",
            "dockerfile": "app/Dockerfile",
        })
    );

    // The same inputs give the same manifest (no clock of its own).
    let first = digest(&env, "app:1");
    ok(&env, &["build", "-q", "-t", "app:1", s(&ctx)], &[]);
    assert_eq!(digest(&env, "app:1"), first);
}

#[test]
fn tag_from_git_gives_the_release_tag_and_with_full_its_major_and_minor() {
    let env = Env::with_base();
    let (repo, ctx, _) = repo(&env);
    git(&repo, &["tag", "v1.2.0"]);
    ok(
        &env,
        &[
            "build",
            "-q",
            "--tag-from-git",
            "-t",
            "reg.test/app",
            s(&ctx),
        ],
        &[],
    );
    assert_eq!(tags_of(&env), ["reg.test/app:v1.2.0"]);
    ok(
        &env,
        &[
            "build",
            "-q",
            "--tag-from-git=full",
            "-t",
            "reg.test/web",
            "-t",
            "reg.test/web:edge",
            s(&ctx),
        ],
        &[],
    );
    assert_eq!(
        tags_of(&env),
        [
            "reg.test/app:v1.2.0",
            "reg.test/web:1",
            "reg.test/web:1.2",
            "reg.test/web:edge",
            "reg.test/web:v1.2.0"
        ]
    );
    let a = annotations(&env, "reg.test/web:v1.2.0");
    assert_eq!(a[REF_NAME], "v1.2.0", "the first tag");
}

#[test]
fn tag_from_git_on_an_untagged_commit_gives_sha_and_refuses_only_latest() {
    let env = Env::with_base();
    let (repo, ctx, _) = repo(&env);
    git(&repo, &["tag", "v1.2.0"]);
    fs::write(ctx.join("f"), "changed\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "second"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    ok(
        &env,
        &["build", "-q", "--tag-from-git=full", "-t", "app", s(&ctx)],
        &[],
    );
    let tag = format!("app:sha-{}", &commit[..7]);
    assert_eq!(tags_of(&env), std::slice::from_ref(&tag));
    assert!(
        !annotations(&env, &tag).contains_key(VERSION),
        "no exact tag"
    );

    git(&repo, &["tag", "latest"]);
    let out = strata(
        &env,
        &["build", "-q", "--tag-from-git", "-t", "app", s(&ctx)],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("only `latest`"), "{}", stderr(&out));
    let out = strata(
        &env,
        &["build", "-q", "--tag-from-git", "-t", "app:v1", s(&ctx)],
        &[],
    );
    assert!(
        stderr(&out).contains("-t NAME without a tag"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tags_of(&env), [tag], "nothing else tagged");
}

#[test]
fn a_dirty_tree_marks_the_revision() {
    let env = Env::with_base();
    let (_, ctx, commit) = repo(&env);
    fs::write(ctx.join("f"), "not committed\n").unwrap();
    ok(&env, &["build", "-q", "-t", "app:1", s(&ctx)], &[]);
    let a = annotations(&env, "app:1");
    assert_eq!(a[REVISION], format!("{commit}-dirty"));
    assert_eq!(
        record(&a)["commit"],
        commit.as_str(),
        "the record keeps the commit"
    );
}

#[test]
fn github_actions_variables_win_over_git() {
    let env = Env::with_base();
    let (_, ctx, _) = repo(&env);
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let vars = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "org/app"),
        ("GITHUB_SHA", sha),
        ("GITHUB_REF_TYPE", "tag"),
        ("GITHUB_REF_NAME", "v2.0.0"),
        ("GITHUB_RUN_ID", "4242"),
    ];
    ok(
        &env,
        &["build", "-q", "--tag-from-git", "-t", "app", s(&ctx)],
        &vars,
    );
    assert_eq!(tags_of(&env), ["app:v2.0.0"]);
    let a = annotations(&env, "app:v2.0.0");
    assert_eq!(a[SOURCE], "https://github.com/org/app");
    assert_eq!(a[REVISION], sha);
    assert_eq!(a[VERSION], "v2.0.0");
    assert_eq!(a[CI_RUN], "https://github.com/org/app/actions/runs/4242");
    assert_eq!(a[BRANCH], "main", "git's branch: a tag build names none");
    let r = record(&a);
    assert_eq!(r["source"], "https://github.com/org/app");
    assert_eq!(r["commit"], sha);
}

#[test]
fn an_explicit_annotation_wins_and_other_buildx_types_are_refused() {
    let env = Env::with_base();
    let (repo, ctx, _) = repo(&env);
    git(&repo, &["tag", "v1.2.0"]);
    ok(
        &env,
        &[
            "build",
            "-q",
            "-t",
            "app:1",
            "--annotation",
            &format!("{VERSION}=custom"),
            "--annotation",
            "manifest:com.example.team=core",
            s(&ctx),
        ],
        &[],
    );
    let a = annotations(&env, "app:1");
    assert_eq!(a[VERSION], "custom");
    assert_eq!(a["com.example.team"], "core");
    assert_eq!(a[REVISION].len(), 40, "the others stay");

    let out = strata(&env, &["build", "--annotation", "index:a=b", s(&ctx)], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("index annotations are not supported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_git_metadata_keeps_only_the_base_created_and_a_path_record() {
    let env = Env::with_base();
    let (_, ctx, _) = repo(&env);
    let vars = [("GITHUB_ACTIONS", "true"), ("GITHUB_SHA", "abc")];
    ok(
        &env,
        &["build", "-q", "--no-git-metadata", "-t", "app:1", s(&ctx)],
        &vars,
    );
    let a = annotations(&env, "app:1");
    let keys: Vec<&str> = a.keys().map(String::as_str).collect();
    assert_eq!(keys, [BASE_DIGEST, BASE_NAME, CREATED, REF_NAME, BUILD]);
    let ctx = ctx.canonicalize().unwrap();
    assert_eq!(
        record(&a),
        serde_json::json!({"source": s(&ctx), "context": ".", "dockerfile": "Dockerfile"})
    );
    let out = strata(
        &env,
        &[
            "build",
            "--no-git-metadata",
            "--tag-from-git",
            "-t",
            "a",
            s(&ctx),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn outside_git_the_record_is_the_context_path() {
    let env = Env::with_base();
    let ctx = env.path("plain");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:test AS app\nARG A\nCOPY f /f\n",
    )
    .unwrap();
    fs::write(ctx.join("f"), "x\n").unwrap();
    ok(
        &env,
        &[
            "build",
            "-q",
            "-t",
            "app:1",
            "--build-arg",
            "A=1",
            "--target",
            "app",
            s(&ctx),
        ],
        &[],
    );
    let a = annotations(&env, "app:1");
    for key in [SOURCE, REVISION, VERSION, AUTHORS, BRANCH, CI_RUN] {
        assert!(!a.contains_key(key), "{key} in {a:?}");
    }
    let ctx = ctx.canonicalize().unwrap();
    assert_eq!(
        record(&a),
        serde_json::json!({
            "source": s(&ctx), "context": ".", "dockerfile": "Dockerfile",
            "target": "app", "args": {"A": "1"},
        })
    );
    let out = strata(
        &env,
        &["build", "--tag-from-git", "-t", "app", s(&ctx)],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no git commit"), "{}", stderr(&out));

    // Reproducible output names no place on this machine.
    let epoch = [("SOURCE_DATE_EPOCH", "1700000000")];
    ok(&env, &["build", "-q", "-t", "app:2", s(&ctx)], &epoch);
    let a = annotations(&env, "app:2");
    assert!(!a.contains_key(BUILD), "{a:?}");
    assert_eq!(a[CREATED], "2023-11-14T22:13:20Z");
}

#[test]
fn a_policy_violation_fails_the_build_naming_the_rule_and_tags_nothing() {
    let env = Env::with_base();
    let (_, ctx, _) = repo(&env);
    let policy = env.path("gates.toml");
    fs::write(
        &policy,
        "allowed-bases = [\"registry.example.com\"]\n\
         required-annotations = [\"com.example.owner\"]\n",
    )
    .unwrap();
    let out = strata(
        &env,
        &["build", "--policy", s(&policy), "-t", "app:1", s(&ctx)],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("allowed-bases"), "{err}");
    assert!(err.contains("docker.io/library/busybox:test"), "{err}");
    assert!(err.contains("required-annotations"), "{err}");
    assert!(err.contains("2 rule(s) failed"), "{err}");
    assert!(tags_of(&env).is_empty(), "nothing tagged");

    let bad = env.path("bad.toml");
    fs::write(&bad, "max-size = \"5 parsecs\"\n").unwrap();
    let out = strata(&env, &["build", "--policy", s(&bad), s(&ctx)], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("max-size"), "{}", stderr(&out));
}

#[test]
fn a_passing_policy_builds_and_tags() {
    let env = Env::with_base();
    let (_, ctx, _) = repo(&env);
    let policy = env.path("gates.yaml");
    fs::write(
        &policy,
        "allowed-bases: [\"docker.io/library/busybox:*\"]\n\
         max-size: 100MB\n\
         no-secrets: true\n\
         required-annotations: [org.opencontainers.image.source, org.opencontainers.image.revision]\n",
    )
    .unwrap();
    ok(
        &env,
        &[
            "build",
            "-q",
            "--policy",
            s(&policy),
            "-t",
            "app:1",
            s(&ctx),
        ],
        &[],
    );
    assert_eq!(tags_of(&env), ["app:1"]);

    let small = env.path("small.toml");
    fs::write(&small, "max-size = 1000\n").unwrap();
    let out = strata(
        &env,
        &["build", "--policy", s(&small), "-t", "app:2", s(&ctx)],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("max-size"), "{}", stderr(&out));
    assert_eq!(tags_of(&env), ["app:1"]);
}

#[test]
fn a_pushed_image_keeps_its_annotations() {
    require_tool("skopeo");
    let reg = TestRegistry::start();
    let env = Env::with_base();
    let (repo, ctx, _) = repo(&env);
    git(&repo, &["tag", "v1.2.0"]);
    let name = format!("{}/team/app", reg.host());
    ok(
        &env,
        &[
            "build",
            "-q",
            "--push",
            "--tag-from-git",
            "-t",
            &name,
            s(&ctx),
        ],
        &[],
    );
    let tagged = format!("{name}:v1.2.0");
    let raw = strata_testkit::skopeo::raw_manifest(&tagged);
    let pushed: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let local = annotations(&env, &tagged);
    assert_eq!(
        serde_json::from_value::<BTreeMap<String, String>>(pushed["annotations"].clone()).unwrap(),
        local
    );
    assert_eq!(local[VERSION], "v1.2.0");
    assert_eq!(
        strata_oci::Digest::of(&raw).to_string(),
        digest(&env, &tagged)
    );
}

#[test]
fn the_base_is_the_final_stages_image_through_stage_chains_and_none_for_scratch() {
    let env = Env::with_base();
    let ctx = env.path("stages");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("f"), "x\n").unwrap();
    let dockerfile = "FROM scratch AS tools\nCOPY f /tool\n\
                      FROM busybox:test AS runtime\nCOPY f /rt\n\
                      FROM runtime\nCOPY --from=tools /tool /tool\n";
    fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    ok(&env, &["build", "-q", "-t", "app:1", s(&ctx)], &[]);
    let a = annotations(&env, "app:1");
    assert_eq!(a[BASE_NAME], "docker.io/library/busybox:test");
    assert_eq!(a[BASE_DIGEST], digest(&env, "busybox:test"));

    ok(
        &env,
        &["build", "-q", "--target", "tools", "-t", "tools:1", s(&ctx)],
        &[],
    );
    let a = annotations(&env, "tools:1");
    assert!(
        !a.contains_key(BASE_NAME) && !a.contains_key(BASE_DIGEST),
        "{a:?}"
    );
}
