//! `strata build --cache-to/--cache-from`: the build cache shared through a real
//! `docker-registry` (CNCF distribution 2.8) and through an OCI layout directory, between
//! two stores — a first CI runner that builds and exports, and a fresh one that imports.
//! Each store runs with its own HOME and DOCKER_CONFIG, so no real credential is read.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{stderr, Env};
use serde_json::Value;
use strata_testkit::registry::TestRegistry;

/// A store with the busybox base imported at a fixed epoch, so every store has the same
/// base image digest (as runners pulling one base from a registry do).
fn runner() -> Env {
    let env = Env::empty();
    env.ok_at_epoch(&[
        "import",
        common::base_tarball().to_str().unwrap(),
        "busybox:test",
    ]);
    env
}

/// `strata --root ROOT build --progress=plain ARGS` with a private HOME; raw output.
fn build(env: &Env, args: &[&str]) -> Output {
    let home = env.path("home");
    std::fs::create_dir_all(&home).unwrap();
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args(["build", "--progress=plain"])
        .args(args)
        .env("HOME", &home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CONTAINERS_REGISTRIES_CONF")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap()
}

/// [`build`], asserting success; returns stderr (the progress log).
fn build_ok(env: &Env, args: &[&str]) -> String {
    let out = build(env, args);
    assert!(
        out.status.success(),
        "build {args:?} failed:\n{}",
        stderr(&out)
    );
    stderr(&out)
}

/// The files a build writes; the RUN steps' stamps differ whenever they run again.
const DOCKERFILE: &str = "\
FROM busybox:test AS deps
RUN --mount=type=cache,target=/cache echo warm > /cache/seed && date +%s%N > /deps-stamp && echo d > /deps-only
FROM busybox:test
COPY --from=deps /deps-stamp /deps-stamp
COPY app.txt /app.txt
RUN date +%s%N > /stamp
";

fn context(env: &Env, dockerfile: &str) -> PathBuf {
    env.context(
        "ctx",
        &[("Dockerfile", dockerfile), ("app.txt", "app v1\n")],
    )
}

/// Lines of the plain progress log that report a step as cached.
fn cached(log: &str) -> usize {
    log.lines().filter(|l| l.ends_with(" CACHED")).count()
}

/// Steps that ran (`#N DONE`) other than the FROM lines.
fn ran_runs(log: &str) -> Vec<String> {
    let runs: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("] RUN "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    runs.iter()
        .filter(|id| log.lines().any(|l| l.starts_with(&format!("{id} DONE"))))
        .map(|id| id.to_string())
        .collect()
}

/// The image ID (the config's digest: config and layers). Not the manifest's: that carries
/// the build record, which names each runner's own context path.
fn image_digest(env: &Env, image: &str) -> String {
    env.inspect(image)["Id"].as_str().unwrap().to_owned()
}

fn rootfs(env: &Env, image: &str, name: &str) -> PathBuf {
    let dest = env.path(name);
    let ctx = env.context(
        &format!("{name}-ctx"),
        &[("Dockerfile", &format!("FROM {image}\n"))],
    );
    let out = format!("type=local,dest={}", dest.display());
    build_ok(env, &["-o", &out, ctx.to_str().unwrap()]);
    dest
}

fn layer_digests(manifest: &Value) -> Vec<String> {
    let layers = manifest["layers"].as_array().unwrap();
    layers
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

fn has_blob(env: &Env, digest: &str) -> bool {
    let hex = digest.strip_prefix("sha256:").unwrap();
    env.root().join("blobs/sha256").join(hex).is_file()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
#[ignore = "needs root"]
fn a_fresh_store_hits_every_step_from_the_registry_cache_and_its_cache_mount_starts_warm() {
    common::require_root();
    let registry = TestRegistry::start();
    let cache = format!("{}/app:buildcache", registry.host());
    let a = runner();
    let ctx_a = context(&a, DOCKERFILE);
    let to = format!("type=registry,ref={cache},mode=max,mounts=true");
    let log = build_ok(
        &a,
        &["-t", "app:1", "--cache-to", &to, ctx_a.to_str().unwrap()],
    );
    assert!(
        log.contains(&format!("exporting cache to {cache}")),
        "{log}"
    );
    // The artifact is an OCI manifest of strata's artifactType, as skopeo reads it.
    let raw = strata_testkit::run_ok(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{cache}"),
    ]));
    let manifest: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.strata.build-cache.v1"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.strata.build-cache.config.v1+json"
    );

    let b = runner();
    let ctx_b = context(&b, DOCKERFILE);
    let from = format!("type=registry,ref={cache}");
    let log = build_ok(
        &b,
        &[
            "-t",
            "app:1",
            "--cache-from",
            &from,
            ctx_b.to_str().unwrap(),
        ],
    );
    assert_eq!(cached(&log), 4, "every layer step hits:\n{log}");
    assert!(ran_runs(&log).is_empty(), "no RUN executed:\n{log}");
    assert_eq!(
        image_digest(&a, "app:1"),
        image_digest(&b, "app:1"),
        "the same image, layer for layer"
    );
    let (ra, rb) = (rootfs(&a, "app:1", "out-a"), rootfs(&b, "app:1", "out-b"));
    assert_eq!(read(&ra.join("stamp")), read(&rb.join("stamp")));
    assert_eq!(read(&ra.join("deps-stamp")), read(&rb.join("deps-stamp")));
    // Layers came down only where the build needed their bytes: the final image's, and the
    // deps stage's (COPY --from keys on the content it reads); not the cache mount's, since
    // no RUN ran.
    let shared = layer_digests(&manifest);
    assert_eq!(
        shared.len(),
        5,
        "3 final layers, the deps RUN, the cache mount"
    );
    let config = manifest["config"]["digest"].as_str().unwrap();
    let hex = config.strip_prefix("sha256:").unwrap();
    let config: Value =
        serde_json::from_slice(&std::fs::read(b.root().join("blobs/sha256").join(hex)).unwrap())
            .unwrap();
    assert_eq!(config["mounts"][0]["id"], "/cache");
    let mount_layer = config["mounts"][0]["layer"].as_str().unwrap();
    for d in &shared {
        assert_eq!(has_blob(&b, d), d != mount_layer, "{d}");
    }

    // The imported records whose layers came down are now this store's own.
    let log = build_ok(&b, &["-t", "app:1", ctx_b.to_str().unwrap()]);
    assert_eq!(cached(&log), 4, "hits without --cache-from:\n{log}");

    // A changed RUN misses and runs; its cache mount starts from A's contents.
    let changed =
        format!("{DOCKERFILE}RUN --mount=type=cache,target=/cache cat /cache/seed > /seen\n");
    std::fs::write(ctx_b.join("Dockerfile"), changed).unwrap();
    let log = build_ok(
        &b,
        &[
            "-t",
            "app:2",
            "--cache-from",
            &from,
            ctx_b.to_str().unwrap(),
        ],
    );
    assert_eq!(ran_runs(&log).len(), 1, "only the new RUN runs:\n{log}");
    let rb2 = rootfs(&b, "app:2", "out-b2");
    assert_eq!(
        read(&rb2.join("seen")),
        "warm\n",
        "the cache mount started warm"
    );
}

#[test]
#[ignore = "needs root"]
fn mode_min_exports_the_final_stage_and_mode_max_every_stage() {
    common::require_root();
    let registry = TestRegistry::start();
    let (min, max) = (
        format!("{}/app:min", registry.host()),
        format!("{}/app:max", registry.host()),
    );
    let a = runner();
    let ctx = context(&a, DOCKERFILE);
    build_ok(
        &a,
        &[
            "--cache-to",
            &format!("type=registry,ref={min}"),
            "--cache-to",
            &format!("type=registry,ref={max},mode=max"),
            ctx.to_str().unwrap(),
        ],
    );
    let from_min = runner();
    let ctx = context(&from_min, DOCKERFILE);
    let log = build_ok(&from_min, &["--cache-from", &min, ctx.to_str().unwrap()]);
    assert_eq!(
        ran_runs(&log).len(),
        1,
        "the deps stage's RUN is not in min:\n{log}"
    );
    assert_eq!(cached(&log), 3, "the final stage's steps are:\n{log}");
    let from_max = runner();
    let ctx = context(&from_max, DOCKERFILE);
    let log = build_ok(&from_max, &["--cache-from", &max, ctx.to_str().unwrap()]);
    assert_eq!(cached(&log), 4, "{log}");
    assert!(ran_runs(&log).is_empty(), "{log}");
}

/// The records a local cache's config holds, by reading the layout as any tool would.
fn local_records(dir: &Path, tag: &str) -> Vec<Value> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap()
        .clone();
    let blob = |d: &Value| {
        let hex = d
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap()
            .to_owned();
        std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap()
    };
    let manifest: Value = serde_json::from_slice(&blob(&entry["digest"])).unwrap();
    let config: Value = serde_json::from_slice(&blob(&manifest["config"]["digest"])).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            blob(&layer["digest"]).len() as u64,
            layer["size"].as_u64().unwrap()
        );
    }
    config["records"].as_array().unwrap().clone()
}

#[test]
#[ignore = "needs root"]
fn a_local_cache_directory_round_trips() {
    common::require_root();
    let a = runner();
    let dir = a.path("ci-cache");
    let ctx = context(&a, DOCKERFILE);
    let to_max = format!("type=local,dest={},tag=max,mode=max", dir.display());
    let to_min = format!("type=local,dest={}", dir.display());
    build_ok(
        &a,
        &[
            "-t",
            "app:1",
            "--cache-to",
            &to_max,
            "--cache-to",
            &to_min,
            ctx.to_str().unwrap(),
        ],
    );
    assert_eq!(local_records(&dir, "max").len(), 4);
    assert_eq!(
        local_records(&dir, "latest").len(),
        3,
        "min: the final stage's steps"
    );
    let b = runner();
    let ctx = context(&b, DOCKERFILE);
    let from = format!("type=local,src={},tag=max", dir.display());
    let log = build_ok(
        &b,
        &["-t", "app:1", "--cache-from", &from, ctx.to_str().unwrap()],
    );
    assert_eq!(cached(&log), 4, "{log}");
    assert_eq!(image_digest(&a, "app:1"), image_digest(&b, "app:1"));
    // Exporting again replaces the tag's entry and keeps the other.
    build_ok(&b, &["--cache-to", &to_min, ctx.to_str().unwrap()]);
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
}

#[test]
#[ignore = "needs root"]
fn an_image_given_as_cache_from_is_an_error_that_says_so() {
    common::require_root();
    let registry = TestRegistry::start();
    let a = runner();
    let layout = a.path("plain-layout");
    a.ok(&["export", "-o", layout.to_str().unwrap(), "busybox:test"]);
    let plain = format!("{}/plain:1", registry.host());
    strata_testkit::run_ok(Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:test", layout.display()),
        &format!("docker://{plain}"),
    ]));
    let ctx = context(&a, DOCKERFILE);
    let before = a.snapshot_of_store();
    let out = build(
        &a,
        &["-t", "app:1", "--cache-from", &plain, ctx.to_str().unwrap()],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{plain} is not a strata build cache: it is an image (config application/vnd.oci.image.config.v1+json)"
        )),
        "{err}"
    );
    assert_eq!(a.snapshot_of_store().0, before.0, "no image was made");
}

/// Pushes a manifest shaped as BuildKit's `--cache-to type=registry,image-manifest=true`
/// writes it (its config is BuildKit's cache config).
fn push_buildkit_cache(registry: &TestRegistry, repo: &str) {
    use strata_client::{Registry, RegistryOptions};
    use strata_distribution::ManifestRef;
    let reg = Registry::connect(&registry.host(), RegistryOptions::default()).unwrap();
    let repo = repo.parse().unwrap();
    let config = br#"{"layers":[],"records":[]}"#;
    let digest = strata_oci::Digest::of(config);
    reg.push_blob(&repo, &digest, config.len() as u64, &config[..], None)
        .unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.buildkit.cacheconfig.v0","digest":"{digest}","size":{}}},"layers":[]}}"#,
        config.len()
    );
    let tag = ManifestRef::Tag("cache".parse().unwrap());
    let media = "application/vnd.oci.image.manifest.v1+json";
    reg.put_manifest(&repo, &tag, manifest.as_bytes(), media)
        .unwrap();
}

#[test]
#[ignore = "needs root"]
fn a_buildkit_cache_given_as_cache_from_is_an_error_that_says_so() {
    common::require_root();
    let registry = TestRegistry::start();
    push_buildkit_cache(&registry, "bk");
    let a = runner();
    let ctx = context(&a, DOCKERFILE);
    let reference = format!("{}/bk:cache", registry.host());
    let out = build(&a, &["--cache-from", &reference, ctx.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{reference} is not a strata build cache: it is a BuildKit cache (application/vnd.buildkit.cacheconfig.v0)"
        )),
        "{err}"
    );
}

#[test]
#[ignore = "needs root"]
fn a_missing_cache_warns_and_builds() {
    common::require_root();
    let registry = TestRegistry::start();
    let a = runner();
    let ctx = context(&a, DOCKERFILE);
    let missing = format!("{}/app:never-pushed", registry.host());
    let log = build_ok(
        &a,
        &[
            "-t",
            "app:1",
            "--cache-from",
            &missing,
            ctx.to_str().unwrap(),
        ],
    );
    assert!(
        log.contains(&format!(
            "WARNING: cache {missing} not found: building without it"
        )),
        "{log}"
    );
    assert_eq!(ran_runs(&log).len(), 2, "{log}");
    let dir = a.path("none");
    let from = format!("type=local,src={}", dir.display());
    let log = build_ok(&a, &["--cache-from", &from, ctx.to_str().unwrap()]);
    assert!(log.contains("not found: building without it"), "{log}");
}

#[test]
fn bad_cache_values_are_usage_errors() {
    let env = Env::empty();
    let ctx = env.context("ctx", &[("Dockerfile", "FROM scratch\n")]);
    for (flag, value, says) in [
        ("--cache-to", "type=gha", "unsupported cache type \"gha\""),
        (
            "--cache-to",
            "type=registry,ref=r/a:c,compression=zstd",
            "unknown key \"compression\"",
        ),
        (
            "--cache-to",
            "type=registry,ref=r/a:c,oci-mediatypes=true",
            "unknown key \"oci-mediatypes\"",
        ),
        (
            "--cache-to",
            "type=registry,ref=r/a:c,mode=all",
            "unknown cache mode \"all\"",
        ),
        ("--cache-from", "type=local,dest=/x", "unknown key \"dest\""),
    ] {
        let out = build(&env, &[flag, value, ctx.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(says) && err.contains(value),
            "{flag} {value}: {err}"
        );
    }
}
