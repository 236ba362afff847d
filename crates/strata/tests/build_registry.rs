//! `strata build` with a registry: a `FROM` or `COPY --from=IMAGE` the store lacks is pulled
//! (`--pull` refreshes, `--pull=never` forbids), and `--push` / `-o type=registry` push the
//! result under every tag. The real binary against a real `docker-registry`, read back with
//! skopeo.

mod common;

use std::fs;
use std::path::Path;

use common::registry_env::Env;
use strata_testkit::registry::TestRegistry;
use strata_testkit::skopeo::raw_manifest;

/// A build context with `Dockerfile` and one file `f`.
fn context(dir: &Path, dockerfile: &str) -> String {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    fs::write(dir.join("f"), "from the context\n").unwrap();
    dir.to_str().unwrap().to_owned()
}

/// Pushes the store's `busybox:test` as `reference`, with `label` making its digest its own.
fn publish_base(source: &Env, reference: &str, label: &str) -> String {
    let ctx = source.path(&format!("base-{label}"));
    let ctx = context(
        &ctx,
        &format!("FROM busybox:test\nLABEL base.version={label}\n"),
    );
    source.ok(&["build", "-q", "-t", reference, &ctx]);
    source.ok(&["push", "-q", reference]).0.trim().to_owned()
}

/// The manifest digest `name` has in `env`'s store.
fn local_digest(env: &Env, name: &str) -> String {
    let out = env.ok(&["images", "--no-trunc", "--format", "json"]).0;
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

/// The manifest digest skopeo reads for `reference`.
fn digest_of(reference: &str) -> String {
    strata_oci::Digest::of(&raw_manifest(reference)).to_string()
}

#[test]
fn a_missing_base_is_pulled_and_pull_never_forbids_it() {
    let reg = TestRegistry::start();
    let publisher = Env::with_base();
    let base = format!("{}/team/base:1", reg.host());
    let pushed = publish_base(&publisher, &base, "1");

    let runner = Env::new();
    let ctx = context(&runner.path("ctx"), &format!("FROM {base}\nCOPY f /f\n"));
    let err = runner.fails(&["build", "--pull=never", "-t", "app:1", &ctx], 1);
    assert!(err.contains("--pull=never"), "{err}");
    assert!(err.contains(&format!("FROM {base}")), "{err}");
    let images = runner.ok(&["images", "--format", "json"]).0;
    assert_eq!(images.trim(), "[]", "nothing stored");

    let (_, log) = runner.ok(&["build", "--progress=plain", "-t", "app:1", &ctx]);
    assert!(log.contains(&format!("pulling {base}")), "{log}");
    assert_eq!(
        local_digest(&runner, &base),
        pushed,
        "the pulled manifest as pushed"
    );
    let (_, log) = runner.ok(&["build", "--progress=plain", "-t", "app:1", &ctx]);
    assert!(!log.contains("pulling"), "stored: not pulled again\n{log}");
    runner.ok(&["build", "--pull=never", "-t", "app:1", &ctx]);
}

#[test]
fn pull_always_follows_a_moved_tag_and_missing_keeps_the_stored_one() {
    let reg = TestRegistry::start();
    let publisher = Env::with_base();
    let base = format!("{}/team/base:stable", reg.host());
    let first = publish_base(&publisher, &base, "1");

    let runner = Env::new();
    let ctx = context(&runner.path("ctx"), &format!("FROM {base}\nCOPY f /f\n"));
    runner.ok(&["build", "-q", "-t", "app:1", &ctx]);
    assert_eq!(local_digest(&runner, &base), first);

    let second = publish_base(&publisher, &base, "2");
    assert_ne!(first, second);
    runner.ok(&["build", "-q", "-t", "app:1", &ctx]);
    assert_eq!(
        local_digest(&runner, &base),
        first,
        "missing: the stored tag"
    );
    let (_, log) = runner.ok(&["build", "--pull", "--progress=plain", "-t", "app:1", &ctx]);
    assert!(log.contains(&format!("pulling {base}")), "{log}");
    assert_eq!(
        local_digest(&runner, &base),
        second,
        "--pull: the moved tag"
    );
    let config = runner.ok(&["inspect", "app:1"]).0;
    assert!(config.contains("\"base.version\": \"2\""), "{config}");
}

#[test]
fn copy_from_an_image_the_store_lacks_pulls_it() {
    let reg = TestRegistry::start();
    let publisher = Env::with_base();
    let tools = format!("{}/team/tools:1", reg.host());
    publish_base(&publisher, &tools, "tools");

    let runner = Env::new();
    let ctx = context(
        &runner.path("ctx"),
        &format!("FROM scratch\nCOPY --from={tools} /bin/busybox /busybox\nCOPY f /f\n"),
    );
    runner.ok(&["build", "-q", "-t", "app:1", &ctx]);
    let out = runner.path("out");
    runner.ok(&[
        "build",
        "-q",
        "-o",
        &format!("type=local,dest={}", out.display()),
        &ctx,
    ]);
    assert!(out.join("busybox").is_file());
    assert_eq!(
        fs::read_to_string(out.join("f")).unwrap(),
        "from the context\n"
    );
}

#[test]
fn push_sends_every_tag_and_output_registry_its_name() {
    let reg = TestRegistry::start();
    let env = Env::with_base();
    let ctx = context(&env.path("ctx"), "FROM busybox:test\nCOPY f /f\n");
    let v1 = format!("{}/team/app:v1.2.0", reg.host());
    let sha = format!("{}/team/app:sha-abc1234", reg.host());
    let (_, log) = env.ok(&[
        "build",
        "--progress=plain",
        "-t",
        &v1,
        "-t",
        &sha,
        "--push",
        &ctx,
    ]);
    let local = local_digest(&env, &v1);
    assert_eq!(digest_of(&v1), local);
    assert_eq!(digest_of(&sha), local);
    assert!(
        log.contains(&format!("pushing manifest for {v1}@{local}")),
        "{log}"
    );

    let named = format!("{}/team/app:v2", reg.host());
    env.ok(&[
        "build",
        "-q",
        "-o",
        &format!("type=registry,name={named}"),
        &ctx,
    ]);
    // The same image (config and layers); its manifest names another tag (`ref.name`).
    let config = |reference: &str| {
        let m: serde_json::Value = serde_json::from_slice(&raw_manifest(reference)).unwrap();
        m["config"]["digest"].as_str().unwrap().to_owned()
    };
    assert_eq!(config(&named), config(&v1), "the same image");
    let m: serde_json::Value = serde_json::from_slice(&raw_manifest(&named)).unwrap();
    assert_eq!(m["annotations"]["org.opencontainers.image.ref.name"], "v2");
    let images = env.ok(&["images", "--format", "json"]).0;
    assert!(
        !images.contains("app:v2") && !images.contains("\"v2\""),
        "type=registry names no local tag: {images}"
    );
}

#[test]
fn a_push_without_a_name_fails_before_building() {
    let env = Env::with_base();
    let ctx = context(&env.path("ctx"), "FROM busybox:test\nCOPY f /f\n");
    let err = env.fails(&["build", "--push", &ctx], 1);
    assert!(err.contains("a push needs a name"), "{err}");
    let images = env.ok(&["images", "-q"]).0;
    assert_eq!(
        images.lines().count(),
        1,
        "only the base: nothing was built\n{images}"
    );
    let err = env.fails(&["build", "--pull=newer", &ctx], 2);
    assert!(err.contains("newer"), "{err}");
}
