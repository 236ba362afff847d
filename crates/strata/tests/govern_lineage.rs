//! The lineage scenario end to end, with the real binary against a real `strata
//! registry serve`: four images built from a temporary git repository (base FROM busybox →
//! runtime FROM base → app1, app2 FROM runtime), each `strata build --push`ed with its git
//! metadata; a new base pushed under the same tag; `strata rebuild --dependents-of
//! REG/base:1` plans and then rebuilds exactly runtime, app1 and app2, runtime first, as
//! `<tag>-rebuild.1`, their layers on the new parents', original tags untouched. Then owners,
//! labels, promotion and promotions through the CLI.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::registry_env::Env;
use common::served::Served;
use serde_json::Value;
use strata_testkit::require_tool;

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The repository: one directory per image, each with a Dockerfile and a file it copies.
fn make_repo(dir: &Path, reg: &str) {
    let images = [
        ("base", "busybox:test".to_owned()),
        ("runtime", format!("{reg}/base:1")),
        ("app1", format!("{reg}/runtime:1")),
        ("app2", format!("{reg}/runtime:1")),
    ];
    for (name, from) in images {
        let d = dir.join(name);
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("Dockerfile"),
            format!("FROM {from}\nCOPY {name}.txt /{name}.txt\n"),
        )
        .unwrap();
        fs::write(d.join(format!("{name}.txt")), format!("{name} v1\n")).unwrap();
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "images"]);
    // A remote to clone from, as CI has: the build records its URL and the commit.
    let origin = dir.with_extension("git");
    git(dir, &["init", "-q", "--bare", origin.to_str().unwrap()]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            &format!("file://{}", origin.display()),
        ],
    );
    git(dir, &["push", "-q", "origin", "main"]);
}

fn build_push(env: &Env, repo: &Path, name: &str, reference: &str) {
    let ctx = repo.join(name);
    env.ok(&[
        "build",
        "-q",
        "--push",
        "-t",
        reference,
        ctx.to_str().unwrap(),
    ]);
}

/// The registry's view of an image (the governance API through the CLI).
fn image(env: &Env, reference: &str) -> Value {
    let out = env.ok(&["label", "ls", "--format", "json", reference]).0;
    serde_json::from_str(&out).unwrap()
}

fn digest(env: &Env, reference: &str) -> String {
    image(env, reference)["digest"].as_str().unwrap().to_owned()
}

/// The layer digests of a manifest, read with the distribution API.
fn layers(reg: &str, repo: &str, reference: &str) -> Vec<String> {
    let url = format!("http://{reg}/v2/{repo}/manifests/{reference}");
    let text = ureq::get(&url)
        .set(
            "accept",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        )
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    body["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

/// The image rows of the plan table (header dropped): (wave, image).
fn plan_rows(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_owned(), cols[1].to_owned())
        })
        .collect()
}

#[test]
fn a_new_base_rebuilds_exactly_its_three_dependents_in_order() {
    require_tool("git");
    let served = Served::start();
    let reg = served.host();
    let env = Env::with_base();
    let repo = env.path("src");
    make_repo(&repo, &reg);
    for name in ["base", "runtime", "app1", "app2"] {
        // app2 is built from a dirty tree (an untracked file): its revision says so.
        let scratch = repo.join("notes.txt");
        if name == "app2" {
            fs::write(&scratch, "not committed\n").unwrap();
        }
        build_push(&env, &repo, name, &format!("{reg}/{name}:1"));
        let _ = fs::remove_file(&scratch);
    }
    let before: Vec<String> = ["base", "runtime", "app1", "app2"]
        .iter()
        .map(|n| digest(&env, &format!("{reg}/{n}:1")))
        .collect();
    let runtime_record = &image(&env, &format!("{reg}/runtime:1"))["build"];
    assert!(
        runtime_record["commit"].is_string(),
        "built with its git record: {runtime_record}"
    );

    // A fixed base, under the same tag.
    fs::write(repo.join("base/base.txt"), "base v2\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "fix the base"]);
    git(&repo, &["push", "-q", "origin", "main"]);
    build_push(&env, &repo, "base", &format!("{reg}/base:1"));
    let new_base = digest(&env, &format!("{reg}/base:1"));
    assert_ne!(new_base, before[0]);

    let target = format!("{reg}/base:1");
    let (plan, _) = env.ok(&["rebuild", "--dependents-of", &target, "--dry-run"]);
    let rows = plan_rows(&plan);
    assert_eq!(
        rows,
        vec![
            ("1".to_owned(), "runtime:1".to_owned()),
            ("2".to_owned(), "app1:1".to_owned()),
            ("2".to_owned(), "app2:1".to_owned()),
        ],
        "{plan}"
    );
    assert!(
        plan.contains(&format!("{reg}/runtime:1-rebuild.1")),
        "{plan}"
    );
    let tags = env.ok(&[
        "label",
        "ls",
        "--format",
        "json",
        &format!("{reg}/runtime:1"),
    ]);
    assert!(!tags.0.contains("rebuild"), "the dry run pushed nothing");

    let (done, log) = env.ok(&["rebuild", "--dependents-of", &target, "--jobs", "2"]);
    // The plan table first, then one result line per image.
    let lines: Vec<&str> = done
        .lines()
        .filter(|l| {
            ["rebuilt ", "skipped ", "failed "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(lines.len(), 3, "{done}\n{log}");
    assert!(lines[0].starts_with("rebuilt runtime:1 as "), "{done}");
    assert!(lines[1].starts_with("rebuilt app1:1 as "), "{done}");
    assert!(lines[2].starts_with("rebuilt app2:1 as "), "{done}");
    assert!(
        log.contains("app2:1 was built from a work tree with uncommitted changes"),
        "{log}"
    );
    assert!(!log.contains("app1:1 was built from a work tree"), "{log}");
    let runtime_at = log.find("rebuilt runtime:1 as").expect("runtime rebuilt");
    let app_at = log.find("rebuilt app1:1 as").expect("app1 rebuilt");
    assert!(runtime_at < app_at, "runtime before the apps:\n{log}");

    // Layers: the rebuilt runtime on the new base, the apps on the rebuilt runtime.
    let base_layers = layers(&reg, "base", &new_base);
    let runtime_layers = layers(&reg, "runtime", "1-rebuild.1");
    assert_eq!(runtime_layers[..base_layers.len()], base_layers[..]);
    assert_eq!(runtime_layers.len(), base_layers.len() + 1);
    for app in ["app1", "app2"] {
        let app_layers = layers(&reg, app, "1-rebuild.1");
        assert_eq!(
            app_layers[..runtime_layers.len()],
            runtime_layers[..],
            "{app}"
        );
    }
    let rebuilt = image(&env, &format!("{reg}/runtime:1-rebuild.1"));
    assert_eq!(
        rebuilt["annotations"]["org.strata.rebuild.of"], before[1],
        "{rebuilt}"
    );
    // Original tags unchanged.
    for (i, n) in ["runtime", "app1", "app2"].iter().enumerate() {
        assert_eq!(
            digest(&env, &format!("{reg}/{n}:1")),
            before[i + 1],
            "{n}:1"
        );
    }

    // Lineage through the CLI: the old base's dependents are the originals, the new base's
    // tree holds the rebuilt ones, indented under their parents.
    let old_base = format!("{reg}/base@{}", before[0]);
    let (out, _) = env.ok(&["lineage", "dependents", "--format", "json", &old_base]);
    let deps: Value = serde_json::from_str(&out).unwrap();
    let mut names: Vec<String> = deps["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["names"][0].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["app1:1", "app2:1", "runtime:1"], "{out}");
    let (out, _) = env.ok(&["lineage", "tree", &target]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("base:1 "), "{out}");
    assert!(lines[1].starts_with("└─ runtime:1-rebuild.1 "), "{out}");
    assert!(lines[2].contains("├─ app1:1-rebuild.1 "), "{out}");
    assert!(lines[3].contains("└─ app2:1-rebuild.1 "), "{out}");
    let (out, _) = env.ok(&["lineage", "tree", "--registry", &reg, "--format", "json"]);
    let forest: Value = serde_json::from_str(&out).unwrap();
    assert!(!forest["tree"].as_array().unwrap().is_empty(), "{out}");

    // A second run never overwrites: it takes the next number.
    let (plan, _) = env.ok(&["rebuild", "--dependents-of", &target, "--dry-run"]);
    assert!(
        plan.contains(&format!("{reg}/runtime:1-rebuild.2")),
        "{plan}"
    );
}

#[test]
fn owners_labels_promotion_and_promotions_through_the_cli() {
    let conf = tempfile::tempdir().unwrap();
    fs::write(
        conf.path().join("gates.toml"),
        "[forbidden-tags]\nprod = [\"*-rc*\"]\n",
    )
    .unwrap();
    let config = conf.path().join("registry.toml");
    fs::write(&config, "[govern]\ngates = \"gates.toml\"\n").unwrap();
    let served = Served::start_with(&["--config", config.to_str().unwrap()]);
    let reg = served.host();
    let env = Env::with_base();
    let ctx = env.path("app");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), "FROM busybox:test\nLABEL app=1\n").unwrap();
    let app = format!("{reg}/team/app:1");
    env.ok(&["build", "-q", "--push", "-t", &app, ctx.to_str().unwrap()]);

    let repo = format!("{reg}/team/app");
    let (out, _) = env.ok(&["owner", "set", &repo, "team-x"]);
    assert!(out.contains("team-x"), "{out}");
    let (out, _) = env.ok(&["owner", "show", "--format", "json", &repo]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["owner"], "team-x");

    let (out, _) = env.ok(&["label", "add", &app, "maybe_prod"]);
    assert!(out.contains("maybe_prod"), "{out}");
    let err = env.fails(&["label", "add", &app, "Bad Label"], 1);
    assert!(err.contains("Bad Label"), "{err}");

    let (out, _) = env.ok(&["promote", "--format", "json", &app, "prod"]);
    let p: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["env"], "prod");
    assert_eq!(p["repository"], "team/app");
    let labels = image(&env, &app)["labels"].clone();
    assert_eq!(
        labels,
        serde_json::json!(["maybe_prod", "prod"]),
        "labels accumulate"
    );

    let (out, _) = env.ok(&["promotions", &repo]);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 2, "a header and one promotion: {out}");
    assert!(
        rows[1].contains("prod") && rows[1].contains("team/app"),
        "{out}"
    );

    // A gate refuses: exit 1, each failed rule named, nothing promoted.
    let rc = format!("{reg}/team/app:2-rc1");
    fs::write(ctx.join("Dockerfile"), "FROM busybox:test\nLABEL app=2\n").unwrap();
    env.ok(&["build", "-q", "--push", "-t", &rc, ctx.to_str().unwrap()]);
    let err = env.fails(&["promote", &rc, "prod"], 1);
    assert!(err.contains("refused by the registry's gates"), "{err}");
    assert!(err.contains("forbidden-tags"), "the rule is named: {err}");
    let (out, _) = env.ok(&["promotions", "--format", "json", &repo]);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["promotions"].as_array().unwrap().len(), 1, "{out}");

    let (out, _) = env.ok(&["label", "rm", &app, "maybe_prod"]);
    assert!(!out.contains("maybe_prod"), "{out}");
    let err = env.fails(&["label", "rm", &app, "maybe_prod"], 1);
    assert!(
        err.contains("maybe_prod"),
        "removing an absent label: {err}"
    );
}

/// A build context `name` with a Dockerfile FROM `from` copying `name.txt`.
fn plain_context(env: &Env, name: &str, from: &str) -> String {
    let d = env.path(name);
    fs::create_dir_all(&d).unwrap();
    fs::write(
        d.join("Dockerfile"),
        format!("FROM {from}\nCOPY {name}.txt /\n"),
    )
    .unwrap();
    fs::write(d.join(format!("{name}.txt")), format!("{name} v1\n")).unwrap();
    d.to_str().unwrap().to_owned()
}

#[test]
fn images_without_a_record_are_skipped_local_sources_warned_and_failures_exit_1() {
    let served = Served::start();
    let reg = served.host();
    let env = Env::with_base();
    let base = format!("{reg}/base:1");
    let base_ctx = plain_context(&env, "base", "busybox:test");
    env.ok(&["build", "-q", "--push", "-t", &base, &base_ctx]);
    // No git here: the record names the local context; with SOURCE_DATE_EPOCH and no git
    // there is no record at all; `gone` loses its source before the rebuild.
    let local = plain_context(&env, "local", &base);
    env.ok(&[
        "build",
        "-q",
        "--push",
        "-t",
        &format!("{reg}/local:1"),
        &local,
    ]);
    let norecord = plain_context(&env, "norecord", &base);
    env.ok(&[
        "build",
        "-q",
        "--push",
        "--source-date-epoch",
        "1700000000",
        "-t",
        &format!("{reg}/norecord:1"),
        &norecord,
    ]);
    let gone = plain_context(&env, "gone", &base);
    env.ok(&[
        "build",
        "-q",
        "--push",
        "-t",
        &format!("{reg}/gone:1"),
        &gone,
    ]);
    fs::remove_dir_all(&gone).unwrap();

    fs::write(env.path("base/base.txt"), "base v2\n").unwrap();
    env.ok(&["build", "-q", "--push", "-t", &base, &base_ctx]);

    let (plan, _) = env.ok(&["rebuild", "--dependents-of", &base, "--dry-run"]);
    let row = |name: &str| {
        plan.lines()
            .find(|l| l.contains(name))
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        row("norecord:1").contains("skipped: no build record"),
        "{plan}"
    );
    assert!(
        row("local:1").ends_with(&format!("{reg}/local:1-rebuild.1")),
        "{plan}"
    );

    let out = env.strata(&["rebuild", "--dependents-of", &base]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed rebuild: exit 1\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("rebuilt local:1 as "), "{stdout}");
    assert!(
        stdout.contains("skipped norecord:1: no build record"),
        "{stdout}"
    );
    assert!(stdout.contains("failed gone:1: "), "{stdout}");
    assert!(stderr.contains("is a local path"), "the warning: {stderr}");
    assert!(stderr.contains("1 rebuild(s) failed"), "{stderr}");
    // The failure left no tag behind; the others were pushed.
    let gone_tags = image(&env, &format!("{reg}/gone:1"))["tags"].clone();
    assert_eq!(gone_tags, serde_json::json!(["1"]));
    let local_new = image(&env, &format!("{reg}/local:1-rebuild.1"));
    assert_eq!(
        local_new["annotations"]["org.strata.rebuild.of"],
        image(&env, &format!("{reg}/local:1"))["digest"]
    );
}

#[test]
fn the_cli_authenticates_as_pull_does_and_the_registry_decides_who_may_change() {
    require_tool("htpasswd");
    let conf = tempfile::tempdir().unwrap();
    let mut users = String::new();
    for (user, password) in [("alice", "alice-pw"), ("bob", "bob-pw")] {
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .unwrap();
        assert!(out.status.success());
        users.push_str(String::from_utf8(out.stdout).unwrap().trim());
        users.push('\n');
    }
    fs::write(conf.path().join("htpasswd"), users).unwrap();
    let config = conf.path().join("registry.toml");
    let htpasswd = conf.path().join("htpasswd");
    fs::write(
        &config,
        "[auth]\nhtpasswd = \"HTPASSWD\"\n\n[[auth.access]]\naccount = \"alice\"\nrepository = \"team/**\"\nactions = [\"pull\", \"push\"]\n\n[[auth.access]]\naccount = \"bob\"\nrepository = \"team/**\"\nactions = [\"pull\"]\n"
            .replace("HTPASSWD", htpasswd.to_str().unwrap()),
    )
    .unwrap();
    let served = Served::start_with(&["--config", config.to_str().unwrap()]);
    let reg = served.host();

    let alice = Env::with_base();
    alice.ok(&["login", "-u", "alice", "-p", "alice-pw", &reg]);
    let ctx = plain_context(&alice, "app", "busybox:test");
    let app = format!("{reg}/team/app:1");
    alice.ok(&["build", "-q", "--push", "-t", &app, &ctx]);
    alice.ok(&["owner", "set", &format!("{reg}/team/app"), "team-a"]);
    alice.ok(&["label", "add", &app, "maybe_prod"]);

    let bob = Env::new();
    bob.ok(&["login", "-u", "bob", "-p", "bob-pw", &reg]);
    let (out, _) = bob.ok(&["label", "ls", &app]);
    assert!(out.contains("maybe_prod"), "bob may read: {out}");
    let err = bob.fails(&["label", "add", &app, "prod"], 1);
    assert!(err.contains("push"), "the scope refused is named: {err}");
    let err = bob.fails(&["promote", &app, "prod"], 1);
    assert!(err.contains("push"), "{err}");

    let anonymous = Env::new();
    let err = anonymous.fails(&["owner", "show", &format!("{reg}/team/app")], 1);
    assert!(err.contains("team/app"), "{err}");
}
