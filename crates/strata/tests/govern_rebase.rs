//! `strata rebuild --dependents-of IMAGE --rebase` end to end, with the real binary against a
//! real `strata registry serve`: an app whose own layers are all `COPY --link` records
//! `linkedLayers` at build, is offered a re-base by the plan, and is re-based without a
//! build: its link layers (same digests) on the new base's, its config's diff_ids to match,
//! and it unpacks (a build copies a file out of it). An app with an unlinked COPY, or a RUN
//! (root only), is rebuilt instead.

mod common;

use std::fs;

use common::registry_env::Env;
use common::served::Served;
use serde_json::Value;
use strata_testkit::require_root;

/// A build context `name` with `dockerfile` and the files it copies.
fn context(env: &Env, name: &str, dockerfile: &str, files: &[&str]) -> String {
    let d = env.path(name);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("Dockerfile"), dockerfile).unwrap();
    for f in files {
        fs::write(d.join(f), format!("{f} of {name}\n")).unwrap();
    }
    d.to_str().unwrap().to_owned()
}

/// A manifest and its config, read with the distribution API.
fn manifest_and_config(reg: &str, repo: &str, reference: &str) -> (Value, Value) {
    let get = |url: String| -> Value {
        let text = ureq::get(&url)
            .set("accept", "application/vnd.oci.image.manifest.v1+json")
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let m = get(format!("http://{reg}/v2/{repo}/manifests/{reference}"));
    let config = m["config"]["digest"].as_str().unwrap().to_owned();
    let c = get(format!("http://{reg}/v2/{repo}/blobs/{config}"));
    (m, c)
}

fn digests(list: &Value, key: Option<&str>) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| match key {
            Some(k) => v[k].as_str().unwrap().to_owned(),
            None => v.as_str().unwrap().to_owned(),
        })
        .collect()
}

fn record(env: &Env, reference: &str) -> Value {
    let out = env.ok(&["label", "ls", "--format", "json", reference]).0;
    let image: Value = serde_json::from_str(&out).unwrap();
    serde_json::from_str(image["annotations"]["org.strata.build"].as_str().unwrap()).unwrap()
}

const LINKED: &str = "FROM {base}\nCOPY --link app.txt /app/\nENV GREETING=hi\nCOPY --link b.txt /b.txt\nCMD [\"cat\", \"/app/app.txt\"]\n";

#[test]
fn a_linked_app_is_rebased_without_a_build_and_an_unlinked_one_rebuilt() {
    let served = Served::start();
    let reg = served.host();
    let env = Env::with_base();
    let base = format!("{reg}/base:1");
    let base_ctx = context(
        &env,
        "base",
        "FROM busybox:test\nCOPY base.txt /\n",
        &["base.txt"],
    );
    env.ok(&["build", "-q", "--push", "-t", &base, &base_ctx]);
    let app = format!("{reg}/app:1");
    let app_ctx = context(
        &env,
        "app",
        &LINKED.replace("{base}", &base),
        &["app.txt", "b.txt"],
    );
    env.ok(&["build", "-q", "--push", "-t", &app, &app_ctx]);
    let plain = format!("{reg}/plain:1");
    let plain_ctx = context(
        &env,
        "plain",
        &format!("FROM {base}\nCOPY --link a.txt /\nCOPY b.txt /\n"),
        &["a.txt", "b.txt"],
    );
    env.ok(&["build", "-q", "--push", "-t", &plain, &plain_ctx]);
    assert_eq!(record(&env, &app)["linkedLayers"], 2, "recorded at build");
    assert_eq!(record(&env, &plain).get("linkedLayers"), None);
    let (app_m, _) = manifest_and_config(&reg, "app", "1");

    fs::write(env.path("base/base.txt"), "base v2\n").unwrap();
    env.ok(&["build", "-q", "--push", "-t", &base, &base_ctx]);
    let (base_m, base_c) = manifest_and_config(&reg, "base", "1");

    let (plan, _) = env.ok(&["rebuild", "--dependents-of", &base, "--dry-run"]);
    let row = |name: &str| plan.lines().find(|l| l.contains(name)).unwrap_or("");
    assert!(
        row("app:1").ends_with(&format!("{reg}/app:1-rebuild.1 (rebase possible)")),
        "{plan}"
    );
    assert!(
        row("plain:1").ends_with(&format!("{reg}/plain:1-rebuild.1")),
        "{plan}"
    );

    let (done, log) = env.ok(&["rebuild", "--dependents-of", &base, "--rebase"]);
    assert!(done.contains("rebased app:1 as "), "{done}\n{log}");
    assert!(done.contains("rebuilt plain:1 as "), "{done}\n{log}");
    // The app took no build step (a build would print its COPY of app.txt).
    assert!(!log.contains("app.txt"), "{log}");

    let (m, c) = manifest_and_config(&reg, "app", "1-rebuild.1");
    let app_layers = digests(&app_m["layers"], Some("digest"));
    let want: Vec<String> = [
        digests(&base_m["layers"], Some("digest")),
        app_layers[app_layers.len() - 2..].to_vec(),
    ]
    .concat();
    assert_eq!(digests(&m["layers"], Some("digest")), want);
    let base_ids = digests(&base_c["rootfs"]["diff_ids"], None);
    let ids = digests(&c["rootfs"]["diff_ids"], None);
    assert_eq!(ids.len(), base_ids.len() + 2);
    assert_eq!(ids[..base_ids.len()], base_ids[..]);
    assert!(c["config"]["Env"].to_string().contains("GREETING=hi"));
    assert_eq!(
        m["annotations"]["org.opencontainers.image.base.digest"],
        served_digest(&env, &base)
    );
    assert_eq!(
        m["annotations"]["org.strata.rebuild.of"],
        served_digest(&env, &app)
    );
    let history = c["history"].as_array().unwrap();
    assert_eq!(
        history.len(),
        base_c["history"].as_array().unwrap().len() + 4,
        "the base's history and the app's 4 entries"
    );

    // It unpacks: a build copies a file out of it and of the new base.
    let out = env.path("out");
    let check = context(
        &env,
        "check",
        &format!("FROM scratch\nCOPY --from={reg}/app:1-rebuild.1 /app/app.txt /base.txt /\n"),
        &[],
    );
    env.ok(&[
        "build",
        "-q",
        "-o",
        &format!("type=local,dest={}", out.display()),
        &check,
    ]);
    assert_eq!(
        fs::read_to_string(out.join("app.txt")).unwrap(),
        "app.txt of app\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("base.txt")).unwrap(),
        "base v2\n"
    );
}

fn served_digest(env: &Env, reference: &str) -> Value {
    let out = env.ok(&["label", "ls", "--format", "json", reference]).0;
    let image: Value = serde_json::from_str(&out).unwrap();
    image["digest"].clone()
}

#[test]
#[ignore = "needs root"]
fn an_app_with_a_run_is_rebuilt_and_a_rebased_one_runs() {
    require_root();
    let served = Served::start();
    let reg = served.host();
    let env = Env::with_base();
    let base = format!("{reg}/base:1");
    let base_ctx = context(
        &env,
        "base",
        "FROM busybox:test\nCOPY base.txt /\n",
        &["base.txt"],
    );
    env.ok(&["build", "-q", "--push", "-t", &base, &base_ctx]);
    let app_ctx = context(
        &env,
        "app",
        &LINKED.replace("{base}", &base),
        &["app.txt", "b.txt"],
    );
    env.ok(&[
        "build",
        "-q",
        "--push",
        "-t",
        &format!("{reg}/app:1"),
        &app_ctx,
    ]);
    let ran = format!("{reg}/ran:1");
    let ran_ctx = context(
        &env,
        "ran",
        &format!("FROM {base}\nCOPY --link a.txt /\nRUN cat /a.txt > /b.txt\n"),
        &["a.txt"],
    );
    env.ok(&["build", "-q", "--push", "-t", &ran, &ran_ctx]);
    assert_eq!(record(&env, &ran).get("linkedLayers"), None);

    fs::write(env.path("base/base.txt"), "base v2\n").unwrap();
    env.ok(&["build", "-q", "--push", "-t", &base, &base_ctx]);
    let (done, log) = env.ok(&["rebuild", "--dependents-of", &base, "--rebase"]);
    assert!(done.contains("rebased app:1 as "), "{done}\n{log}");
    assert!(done.contains("rebuilt ran:1 as "), "{done}\n{log}");

    // A RUN in an image built on the re-based one reads its files.
    let out = env.path("out");
    let check = context(
        &env,
        "check",
        &format!("FROM {reg}/app:1-rebuild.1\nRUN cat /app/app.txt /base.txt > /got.txt\n"),
        &[],
    );
    env.ok(&[
        "build",
        "-q",
        "-o",
        &format!("type=local,dest={}", out.display()),
        &check,
    ]);
    assert_eq!(
        fs::read_to_string(out.join("got.txt")).unwrap(),
        "app.txt of app\nbase v2\n"
    );
}
