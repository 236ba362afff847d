//! Real clients against `strata registry serve`: Debian's docker (a throwaway `dockerd`; the
//! registry on loopback is insecure by default), podman and buildah (a private vfs storage,
//! `--tls-verify=false`), skopeo and strata itself. Every client pushes an image and the
//! others pull it; manifest, config and layer digests — and the bytes of the layers — agree
//! across all of them; then the same clients log in to a registry with `[auth]` (the
//! registry's own token flow). Needs root (dockerd, containers-storage:
//! `#[ignore = "needs root"]`); a missing client fails loudly (CI installs them all).
//!
//! One dockerd is started per test binary run: the scenarios run in sequence in one test,
//! each a function that tells its story, against one registry.

mod common;

use std::fs;
use std::path::Path;

use common::read_layer;
use common::registry_env::Env;
use common::served::Served;
use serde_json::{json, Value};
use strata_oci::Digest;
use strata_testkit::containers::Containers;
use strata_testkit::dockerd::Dockerd;
use strata_testkit::skopeo::{raw_manifest, skopeo};

/// Everything the scenarios talk to and with.
struct Clients {
    served: Served,
    docker: Dockerd,
    containers: Containers,
    /// strata's store that builds and pushes.
    strata: Env,
}

/// What a push left in the registry: the name and the digests every puller must see.
#[derive(Debug, Clone)]
struct Pushed {
    name: String,
    digest: String,
    config: String,
    layers: Vec<String>,
}

impl Pushed {
    /// Reads the manifest the registry serves for `name` back (skopeo, raw bytes).
    fn read(name: &str) -> Pushed {
        let raw = raw_manifest(name);
        let manifest: Value = serde_json::from_slice(&raw).unwrap();
        Pushed {
            name: name.to_owned(),
            digest: Digest::of(&raw).to_string(),
            config: manifest["config"]["digest"].as_str().unwrap().to_owned(),
            layers: manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_owned())
                .collect(),
        }
    }

    /// `host/repo`, without the tag.
    fn repository(&self) -> &str {
        self.name.rsplit_once(':').unwrap().0
    }
}

/// Credentials for a registry that asks for them.
#[derive(Debug, Clone, Copy)]
struct Credentials<'a> {
    user: &'a str,
    password: &'a str,
}

#[test]
#[ignore = "needs root"]
fn every_client_pushes_and_pulls_what_the_others_pushed() {
    common::require_root();
    let c = clients();
    eprintln!("dockerd storage driver: {}", c.docker.driver());
    step("strata builds and pushes; docker, podman, skopeo pull");
    let built = strata_builds_and_pushes_everyone_pulls(&c);
    step("docker tags and pushes; strata pulls");
    let docker_pushed = docker_retags_and_pushes_strata_pulls(&c, &built);
    step("docker builds on strata's image and pushes a layer of its own; strata pulls");
    docker_builds_and_pushes_a_new_layer_strata_pulls(&c, &built);
    step("podman pushes v2s2 and oci; strata pulls");
    podman_pushes_v2s2_and_oci_strata_pulls(&c, &built);
    step("buildah commits and pushes; strata pulls, skopeo copies to a layout");
    buildah_commits_and_pushes_strata_and_skopeo_pull(&c, &docker_pushed);
    step("skopeo and strata push an index; docker and podman pull the host's image");
    an_index_gives_docker_and_podman_the_host_image(&c);
    step("registries.conf's insecure = true stands for --tls-verify=false");
    podman_and_buildah_need_the_registry_marked_insecure(&c);
    step("skopeo deletes a manifest; docker pull finds it gone");
    a_deleted_manifest_is_not_found_by_docker(&c, &built);
    step("with [auth]: docker, podman and strata log in, push and pull; a reader cannot push");
    every_client_logs_in_to_a_registry_with_auth(&c, &built);
}

/// Names the scenario that starts, so a failure's output says where it was.
fn step(what: &str) {
    eprintln!("== {what}");
}

/// Starts the registry, a dockerd and a containers-storage. A missing client (CI installs
/// them all in `.ci/run`) fails the test loudly, as `require_tool` does everywhere: a test
/// that cannot run must not pass.
fn clients() -> Clients {
    for tool in ["skopeo", "podman", "buildah", "htpasswd"] {
        strata_testkit::require_tool(tool);
    }
    let docker = Dockerd::start().unwrap_or_else(|why| panic!("dockerd cannot run: {why}"));
    let containers =
        Containers::new().unwrap_or_else(|why| panic!("containers-storage cannot run: {why}"));
    Clients {
        served: Served::start(),
        docker,
        containers,
        strata: Env::with_base(),
    }
}

/// A second registry, with `[auth]`: `ci` may push and pull everything, `reader` only pull.
fn served_with_auth(c: &Clients) -> Served {
    let mut users = String::new();
    for (user, password) in [("ci", "ci pw"), ("reader", "reader-pw")] {
        let out = strata_testkit::run_ok(
            std::process::Command::new("htpasswd").args(["-Bbn", user, password]),
        );
        users.push_str(String::from_utf8(out.stdout).unwrap().trim());
        users.push('\n');
    }
    let htpasswd = c.strata.path("htpasswd");
    fs::write(&htpasswd, users).unwrap();
    let config = c.strata.path("auth.toml");
    fs::write(
        &config,
        format!(
            "[auth]\nhtpasswd = {htpasswd:?}\n\
             [[auth.access]]\naccount = \"ci\"\nrepository = \"**\"\nactions = [\"pull\", \"push\"]\n\
             [[auth.access]]\naccount = \"reader\"\nrepository = \"**\"\nactions = [\"pull\"]\n"
        ),
    )
    .unwrap();
    Served::start_with(&["--config", config.to_str().unwrap()])
}

/// With `[auth]`: a wrong password is refused by every client's login; `docker login`,
/// `podman login` and `strata login` succeed with the right one; docker pushes what strata
/// built and podman, strata and docker pull it back (the registry's own token flow); a
/// pull-only user's `docker push` is denied.
fn every_client_logs_in_to_a_registry_with_auth(c: &Clients, built: &Pushed) {
    let served = served_with_auth(c);
    let host = served.host();
    assert!(!c.docker.login(&host, "ci", "wrong").status.success());
    assert!(!c
        .containers
        .podman_login(&host, "ci", "wrong")
        .status
        .success());
    c.strata
        .fails(&["login", "-u", "ci", "-p", "wrong", &host], 1);
    log_in_everywhere(
        c,
        &host,
        Credentials {
            user: "ci",
            password: "ci pw",
        },
    );

    let name = format!("{host}/secure/app:1");
    c.docker.ok(&["tag", &built.name, &name]);
    c.docker.ok(&["push", &name]);
    c.containers
        .podman_ok(&["pull", "--tls-verify=false", &name]);
    let fresh = Env::new();
    fresh.ok(&["login", "-u", "reader", "-p", "reader-pw", &host]);
    fresh.ok(&["pull", &name]);
    c.docker.ok(&["rmi", &name]);
    c.docker.ok(&["pull", &name]);

    assert!(c
        .docker
        .login(&host, "reader", "reader-pw")
        .status
        .success());
    let denied = format!("{host}/secure/app:2");
    c.docker.ok(&["tag", &built.name, &denied]);
    let out = c.docker.run(&["push", &denied]);
    assert!(!out.status.success(), "a pull-only user cannot push");
    let err = common::stderr(&out);
    assert!(
        err.contains("denied") || err.contains("unauthorized"),
        "{err}"
    );
}

/// Logs docker (`docker login`), podman (`podman login`, which buildah reads too) and strata
/// in to `host` with `credentials`, asserting each succeeds.
fn log_in_everywhere(c: &Clients, host: &str, credentials: Credentials) {
    let Credentials { user, password } = credentials;
    let out = c.docker.login(host, user, password);
    assert!(
        out.status.success(),
        "docker login: {}",
        common::stderr(&out)
    );
    let out = c.containers.podman_login(host, user, password);
    assert!(
        out.status.success(),
        "podman login: {}",
        common::stderr(&out)
    );
    c.strata
        .ok(&["login", "--username", user, "--password", password, host]);
}

/// `strata build` then `strata push`; docker, podman, buildah and skopeo pull it and see the
/// digest strata printed.
fn strata_builds_and_pushes_everyone_pulls(c: &Clients) -> Pushed {
    let ctx = c.strata.path("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:test\nCOPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n",
    )
    .unwrap();
    fs::write(ctx.join("hello.txt"), "hello from strata\n").unwrap();
    c.strata.ok(&[
        "build",
        "--progress=plain",
        "-t",
        "app:1",
        ctx.to_str().unwrap(),
    ]);
    let name = format!("{}/team/app:1", c.served.host());
    let (printed, _) = c.strata.ok(&["push", "-q", "app:1", &name]);
    let pushed = Pushed::read(&name);
    assert_eq!(printed.trim(), pushed.digest);

    c.docker.ok(&["pull", &name]);
    let repo_digests = c.docker.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &name,
    ]);
    let by_digest = format!("{}@{}", pushed.repository(), pushed.digest);
    assert!(repo_digests.contains(&by_digest), "{repo_digests}");
    let id = c
        .docker
        .ok(&["image", "inspect", "--format", "{{.Id}}", &name]);
    assert_eq!(
        id.trim(),
        pushed.config,
        "docker's image ID is the config digest"
    );
    c.docker.ok(&["pull", &by_digest]);

    c.containers
        .podman_ok(&["pull", "--tls-verify=false", &name]);
    let podman =
        c.containers
            .podman_ok(&["image", "inspect", "--format", "{{.Digest}} {{.Id}}", &name]);
    assert_eq!(
        podman.trim(),
        format!("{} {}", pushed.digest, hex(&pushed.config))
    );

    let inspected: Value = serde_json::from_slice(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{name}"),
    ]))
    .unwrap();
    assert_eq!(inspected["Digest"], json!(pushed.digest));
    assert_eq!(inspected["Layers"], json!(pushed.layers));
    assert_eq!(inspected["Architecture"], json!(host_arch()));
    pushed
}

/// docker tags what it pulled from strata under a new name and pushes it (a Docker schema 2
/// manifest, the blobs mounted from the first repository); strata pulls it, verifying every
/// blob, and has the same config and layers under docker's digest.
fn docker_retags_and_pushes_strata_pulls(c: &Clients, built: &Pushed) -> Pushed {
    let name = format!("{}/docker/app:2", c.served.host());
    c.docker.ok(&["tag", &built.name, &name]);
    let out = c.docker.ok(&["push", &name]);
    let pushed = Pushed::read(&name);
    assert!(
        out.contains(&format!("2: digest: {} size:", pushed.digest)),
        "{out}"
    );
    assert!(out.contains("Mounted from team/app"), "{out}");
    let manifest: Value = serde_json::from_slice(&raw_manifest(&name)).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(pushed.config, built.config);
    assert_eq!(pushed.layers, built.layers);

    let fresh = Env::new();
    let (printed, _) = fresh.ok(&["pull", "-q", &name]);
    assert!(printed.contains(&name), "{printed}");
    assert_same_image(&fresh, &name, &pushed);
    // And docker sees its own push as a repo digest too.
    let repo_digests = c.docker.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &name,
    ]);
    assert!(
        repo_digests.contains(&format!("{}@{}", pushed.repository(), pushed.digest)),
        "{repo_digests}"
    );
    pushed
}

/// docker builds `FROM` strata's image (the legacy builder pulls it from the registry) and
/// pushes: the base layers are mounted, the new one uploaded the way docker does it (`POST`,
/// a streamed `PATCH`, `PUT ?digest=`). strata pulls it and finds docker's file in that layer.
fn docker_builds_and_pushes_a_new_layer_strata_pulls(c: &Clients, built: &Pushed) {
    let ctx = c.strata.path("docker-ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {}\nCOPY docker.txt /docker.txt\n", built.name),
    )
    .unwrap();
    fs::write(ctx.join("docker.txt"), "made by docker build\n").unwrap();
    let name = format!("{}/docker/built:1", c.served.host());
    let out = c
        .docker
        .docker()
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-t", &name])
        .arg(&ctx)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker build: {}",
        common::stderr(&out)
    );
    let out = c.docker.ok(&["push", &name]);
    let pushed = Pushed::read(&name);
    assert!(
        out.contains(&format!("1: digest: {}", pushed.digest)),
        "{out}"
    );
    assert_eq!(pushed.layers[..2], built.layers[..]);
    assert_eq!(pushed.layers.len(), 3);
    let log = c.served.log();
    assert!(
        log.lines().any(|l| l.contains("method=PATCH")
            && l.contains("path=/v2/docker/built/blobs/uploads/")
            && l.contains("status=202")),
        "docker uploaded no chunk:\n{log}"
    );

    let fresh = Env::new();
    fresh.ok(&["pull", &name]);
    assert_same_image(&fresh, &name, &pushed);
    let layer = layer_files(&fresh, &pushed.layers[2]);
    assert_eq!(file(&layer, "docker.txt"), b"made by docker build\n");
}

/// podman pushes what it pulled in both manifest formats; the registry keeps each as sent
/// and strata pulls both with the same config and layers (docker the schema 2 one too).
fn podman_pushes_v2s2_and_oci_strata_pulls(c: &Clients, built: &Pushed) {
    for (format, media_type) in [
        (
            "v2s2",
            "application/vnd.docker.distribution.manifest.v2+json",
        ),
        ("oci", "application/vnd.oci.image.manifest.v1+json"),
    ] {
        let name = format!("{}/podman/{format}:1", c.served.host());
        c.containers.podman_ok(&[
            "push",
            "--tls-verify=false",
            "--format",
            format,
            &built.name,
            &name,
        ]);
        let manifest: Value = serde_json::from_slice(&raw_manifest(&name)).unwrap();
        assert_eq!(
            manifest["mediaType"], media_type,
            "podman push --format {format}"
        );
        let pushed = Pushed::read(&name);
        assert_eq!(pushed.config, built.config);
        let fresh = Env::new();
        fresh.ok(&["pull", &name]);
        assert_same_image(&fresh, &name, &pushed);
        let layer = layer_files(&fresh, pushed.layers.last().unwrap());
        assert_eq!(file(&layer, "hello.txt"), b"hello from strata\n");
        if format == "v2s2" {
            docker_pulls(c, &pushed);
        }
    }
}

/// docker pulls `pushed` by name: its image ID is the config digest and `RepoDigests`
/// names the manifest digest the registry serves.
fn docker_pulls(c: &Clients, pushed: &Pushed) {
    c.docker.ok(&["pull", &pushed.name]);
    let seen = c.docker.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{json .RepoDigests}}",
        &pushed.name,
    ]);
    assert!(seen.starts_with(&format!("{} ", pushed.config)), "{seen}");
    let by_digest = format!("{}@{}", pushed.repository(), pushed.digest);
    assert!(seen.contains(&by_digest), "{seen}");
}

/// buildah pulls docker's push, adds a layer of its own (compressed by buildah), commits and
/// pushes; strata pulls it and finds buildah's file in the new layer, docker pulls it, and
/// skopeo copies it to an OCI layout under the same digest.
fn buildah_commits_and_pushes_strata_and_skopeo_pull(c: &Clients, docker_pushed: &Pushed) {
    let b = &c.containers;
    b.buildah_ok(&["pull", "--tls-verify=false", &docker_pushed.name]);
    let ctr = b.buildah_ok(&["from", "--pull-never", &docker_pushed.name]);
    let ctr = ctr.trim();
    let added = c.strata.path("buildah.txt");
    fs::write(&added, "added by buildah\n").unwrap();
    b.buildah_ok(&["copy", ctr, added.to_str().unwrap(), "/buildah.txt"]);
    b.buildah_ok(&["config", "--label", "made-by=buildah", ctr]);
    b.buildah_ok(&["commit", ctr, "buildah-app:1"]);
    let name = format!("{}/buildah/app:1", c.served.host());
    b.buildah_ok(&[
        "push",
        "--tls-verify=false",
        "buildah-app:1",
        &format!("docker://{name}"),
    ]);
    let pushed = Pushed::read(&name);
    assert_eq!(pushed.layers[..2], docker_pushed.layers[..]);
    assert_eq!(pushed.layers.len(), 3);

    let fresh = Env::new();
    fresh.ok(&["pull", &name]);
    assert_same_image(&fresh, &name, &pushed);
    let config = inspect(&fresh, &name)["Config"].clone();
    assert_eq!(config["config"]["Labels"]["made-by"], "buildah");
    let layer = layer_files(&fresh, &pushed.layers[2]);
    assert_eq!(file(&layer, "buildah.txt"), b"added by buildah\n");
    docker_pulls(c, &pushed);

    let layout = c.strata.path("buildah-layout");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{name}"),
        &format!("oci:{}:app", layout.display()),
    ]);
    assert_eq!(layout_digest(&layout), pushed.digest);
}

/// An index of two images (this machine's platform and another) pushed whole by skopeo
/// (`copy --all`) and by strata (`copy --all`): docker and podman each pull the image of
/// this machine's platform and record the index digest.
fn an_index_gives_docker_and_podman_the_host_image(c: &Clients) {
    let src = c.strata.path("index-src");
    let (index, host_config) = write_index_layout(&src);
    let by_skopeo = format!("{}/multi/skopeo:1", c.served.host());
    skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:idx", src.display()),
        &format!("docker://{by_skopeo}"),
    ]);
    let by_strata = format!("{}/multi/strata:1", c.served.host());
    c.strata.ok(&[
        "copy",
        "--all",
        &format!("oci:{}:idx", src.display()),
        &format!("docker://{by_strata}"),
    ]);
    for name in [&by_skopeo, &by_strata] {
        assert_eq!(Digest::of(&raw_manifest(name)), index, "{name}");
    }
    let repository = |name: &str| name.rsplit_once(':').unwrap().0.to_owned();

    c.docker.ok(&["pull", &by_skopeo]);
    let docker = c.docker.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Architecture}} {{.Id}} {{json .RepoDigests}}",
        &by_skopeo,
    ]);
    assert!(
        docker.starts_with(&format!("{} {host_config} ", host_arch())),
        "{docker}"
    );
    assert!(
        docker.contains(&format!("{}@{index}", repository(&by_skopeo))),
        "{docker}"
    );

    c.containers
        .podman_ok(&["pull", "--tls-verify=false", &by_strata]);
    let podman = c.containers.podman_ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Architecture}} {{.Id}} {{json .RepoDigests}}",
        &by_strata,
    ]);
    assert!(
        podman.starts_with(&format!(
            "{} {} ",
            host_arch(),
            hex(&host_config.to_string())
        )),
        "{podman}"
    );
    assert!(
        podman.contains(&format!("{}@{index}", repository(&by_strata))),
        "{podman}"
    );
}

/// podman and buildah do not take a loopback registry for plain HTTP by themselves (unlike
/// docker and strata); with the host marked `insecure = true` in their `registries.conf`
/// they pull without `--tls-verify=false`.
fn podman_and_buildah_need_the_registry_marked_insecure(c: &Clients) {
    let name = format!("{}/docker/built:1", c.served.host());
    let out = c
        .containers
        .podman()
        .args(["pull", &name])
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert!(!out.status.success(), "podman pulled over HTTP unasked");
    assert!(
        err.contains("server gave HTTP response to HTTPS client"),
        "{err}"
    );
    c.containers.mark_insecure(&c.served.host());
    c.containers.podman_ok(&["pull", &name]);
    c.containers.buildah_ok(&["pull", &name]);
    let id = c
        .containers
        .podman_ok(&["image", "inspect", "--format", "{{.Digest}}", &name]);
    assert_eq!(id.trim(), Pushed::read(&name).digest);
}

/// skopeo deletes a manifest through the API; docker's pulls by tag and by digest then fail
/// with the registry's "manifest unknown", and other repositories holding the same image are
/// untouched.
fn a_deleted_manifest_is_not_found_by_docker(c: &Clients, built: &Pushed) {
    let name = format!("{}/podman/oci:1", c.served.host());
    let digest = Pushed::read(&name).digest;
    skopeo(&["delete", "--tls-verify=false", &format!("docker://{name}")]);
    let by_digest = format!("{}/podman/oci@{digest}", c.served.host());
    for reference in [&name, &by_digest] {
        let out = c.docker.run(&["pull", reference]);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "docker pull {reference}: {err}");
        assert!(
            err.contains(&format!("manifest for {reference} not found"))
                && err.contains("manifest unknown"),
            "{err}"
        );
    }
    // The same image under strata's first name is still there for everyone.
    assert_eq!(Pushed::read(&built.name).digest, built.digest);
    c.docker.ok(&["pull", &built.name]);
}

/// The store `env` holds `name` with exactly `pushed`'s manifest, config and layers.
fn assert_same_image(env: &Env, name: &str, pushed: &Pushed) {
    let inspected = inspect(env, name);
    assert_eq!(inspected["Digest"], json!(pushed.digest), "{name}");
    assert_eq!(inspected["Id"], json!(pushed.config), "{name}");
    let layers: Vec<&str> = inspected["Manifest"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(layers, pushed.layers, "{name}");
    for layer in &pushed.layers {
        let blob = blob(env, layer);
        assert_eq!(
            Digest::of(&blob).to_string(),
            *layer,
            "stored bytes of {layer}"
        );
    }
}

/// `strata inspect NAME`: its manifest and config.
fn inspect(env: &Env, name: &str) -> Value {
    let (out, _) = env.ok(&["inspect", name]);
    let all: Value = serde_json::from_str(&out).unwrap();
    all[0].clone()
}

/// A blob of `env`'s store.
fn blob(env: &Env, digest: &str) -> Vec<u8> {
    fs::read(env.root().join("blobs/sha256").join(hex(digest))).unwrap()
}

/// The entries of a gzip layer of `env`'s store.
fn layer_files(env: &Env, digest: &str) -> Vec<common::Row> {
    read_layer(&strata_testkit::gunzip(&blob(env, digest)))
}

/// The content of the regular file `path` in `layer`.
fn file<'a>(layer: &'a [common::Row], path: &str) -> &'a [u8] {
    let row = layer
        .iter()
        .find(|r| r.path.trim_start_matches("./").trim_start_matches('/') == path)
        .unwrap_or_else(|| panic!("{path} not in the layer: {layer:?}"));
    &row.data
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

/// This machine's architecture, in OCI's spelling.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("no OCI architecture known for {other}"),
    }
}

/// An architecture other than this machine's.
fn other_arch() -> &'static str {
    if host_arch() == "amd64" {
        "arm64"
    } else {
        "amd64"
    }
}

/// The manifest digest `index.json` of an OCI layout names first.
fn layout_digest(dir: &Path) -> String {
    let index: Value = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

/// An OCI layout at `dir` holding, tagged `idx`, an index of two one-layer images: one for
/// this machine's platform, one for another. Returns the index's digest and the config
/// digest of this machine's image.
fn write_index_layout(dir: &Path) -> (Digest, Digest) {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8], media_type: &str| {
        let d = Digest::of(bytes);
        fs::write(blobs.join(d.hex()), bytes).unwrap();
        json!({"mediaType": media_type, "digest": d.to_string(), "size": bytes.len()})
    };
    let mut children = Vec::new();
    let mut host_config = None;
    for arch in [host_arch(), other_arch()] {
        let tar = one_file_tar("arch.txt", format!("built for {arch}\n").as_bytes());
        let config = serde_json::to_vec(&json!({"architecture": arch, "os": "linux",
            "config": {"Cmd": ["/arch.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(&tar).to_string()]}}))
        .unwrap();
        if arch == host_arch() {
            host_config = Some(Digest::of(&config));
        }
        let manifest = json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": put(&config, "application/vnd.oci.image.config.v1+json"),
            "layers": [put(&strata_testkit::gzip(&tar), "application/vnd.oci.image.layer.v1.tar+gzip")]});
        let mut m = put(
            &serde_json::to_vec(&manifest).unwrap(),
            "application/vnd.oci.image.manifest.v1+json",
        );
        m["platform"] = json!({"architecture": arch, "os": "linux"});
        children.push(m);
    }
    let index = serde_json::to_vec(&json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}))
    .unwrap();
    let mut top = put(&index, "application/vnd.oci.image.index.v1+json");
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "idx"});
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [top]})).unwrap(),
    )
    .unwrap();
    (Digest::of(&index), host_config.unwrap())
}

/// An uncompressed tar holding one regular file.
fn one_file_tar(path: &str, content: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    tar.append_data(&mut header, path, content).unwrap();
    tar.into_inner().unwrap()
}
