//! `strata registry serve` end to end: the real binary on a free loopback port, started and
//! stopped (SIGTERM) by each test, with strata's own client and skopeo pushing and pulling
//! through it — OCI and Docker schema 2 images and a whole index — digests preserved.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry_env::Env;
use common::served::Served;
use serde_json::json;
use strata_oci::Digest;
use strata_testkit::garage::{TestGarage, BUCKET, REGION};
use strata_testkit::pki::Pki;
use strata_testkit::postgres::TestPostgres;
use strata_testkit::registry::free_port;
use strata_testkit::skopeo::{raw_manifest, skopeo};

#[test]
fn serve_answers_logs_each_request_and_stops_on_sigterm() {
    let mut s = Served::start();
    let r = ureq::get(&format!("http://{}/v2/", s.host()))
        .call()
        .unwrap();
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert!(s.dir.path().join("data/registry.db").is_file());
    assert!(s.dir.path().join("data/blobs/sha256").is_dir());
    let status = s.stop();
    assert!(
        status.success(),
        "exit after SIGTERM: {status:?}\n{}",
        s.log()
    );
    let log = s.log();
    assert!(
        log.contains(&format!("serving http://{}", s.host())),
        "{log}"
    );
    let access = log
        .lines()
        .find(|l| l.contains("strata_registry::access"))
        .unwrap_or("");
    assert!(
        access.contains("method=GET") && access.contains("status=200"),
        "{log}"
    );
    assert!(log.contains("registry stopped"), "{log}");
}

#[test]
fn strata_push_pull_and_skopeo_copy_keep_the_digest() {
    let s = Served::start();
    let env = Env::with_base();
    let name = format!("{}/team/bb:1", s.host());
    let (digest, _) = env.ok(&["push", "busybox:test", &name]);
    let digest = digest.trim().to_owned();
    assert_eq!(Digest::of(&raw_manifest(&name)).to_string(), digest);
    let fresh = Env::new();
    fresh.ok(&["pull", &name]);
    assert!(fresh.images().contains(&digest), "{}", fresh.images());
    // skopeo between two repositories of the same registry (it mounts the blobs).
    let copy = format!("{}/other/bb:2", s.host());
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{name}"),
        &format!("docker://{copy}"),
    ]);
    assert_eq!(Digest::of(&raw_manifest(&copy)).to_string(), digest);
    // skopeo out to a layout and strata copy back in as a third name.
    let layout = env.path("layout");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{copy}"),
        &format!("oci:{}:bb", layout.display()),
    ]);
    let third = format!("{}/third:3", s.host());
    env.ok(&[
        "copy",
        &format!("oci:{}:bb", layout.display()),
        &format!("docker://{third}"),
    ]);
    assert_eq!(Digest::of(&raw_manifest(&third)).to_string(), digest);
    let tags = ureq::get(&format!("http://{}/v2/team/bb/tags/list", s.host()))
        .call()
        .unwrap();
    let tags: serde_json::Value = serde_json::from_str(&tags.into_string().unwrap()).unwrap();
    assert_eq!(tags, json!({"name": "team/bb", "tags": ["1"]}));
}

#[test]
fn skopeo_pushes_and_pulls_a_docker_schema2_image() {
    let s = Served::start();
    let env = Env::with_base();
    let oci = format!("{}/src:1", s.host());
    env.ok(&["push", "busybox:test", &oci]);
    let v2s2 = format!("{}/docker/bb:1", s.host());
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--format",
        "v2s2",
        &format!("docker://{oci}"),
        &format!("docker://{v2s2}"),
    ]);
    let raw = raw_manifest(&v2s2);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let r = ureq::get(&format!("http://{}/v2/docker/bb/manifests/1", s.host()))
        .set(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .call()
        .unwrap();
    assert_eq!(
        r.content_type(),
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let out = env.path("out");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{v2s2}"),
        &format!("dir:{}", out.display()),
    ]);
    assert_eq!(fs::read(out.join("manifest.json")).unwrap(), raw);
    let fresh = Env::new();
    fresh.ok(&["pull", &v2s2]);
    assert!(fresh.images().contains(&Digest::of(&raw).to_string()));
}

/// An OCI layout holding an index of two one-layer images, tagged `idx`; returns the
/// index's digest.
fn write_index_layout(dir: &Path) -> Digest {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        fs::write(blobs.join(d.hex()), bytes).unwrap();
        json!({"digest": d.to_string(), "size": bytes.len()})
    };
    let mut children = Vec::new();
    for arch in ["amd64", "arm64"] {
        let mut tar = tar::Builder::new(Vec::new());
        let content = format!("built for {arch}\n");
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "arch.txt", content.as_bytes())
            .unwrap();
        let tar = tar.into_inner().unwrap();
        let layer = strata_testkit::gzip(&tar);
        let config = json!({"architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(&tar).to_string()]}});
        let mut c = put(&serde_json::to_vec(&config).unwrap());
        c["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
        let mut l = put(&layer);
        l["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+gzip");
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": c, "layers": [l]});
        let mut m = put(&serde_json::to_vec(&manifest).unwrap());
        m["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
        m["platform"] = json!({"architecture": arch, "os": "linux"});
        children.push(m);
    }
    let index = serde_json::to_vec(&json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}))
    .unwrap();
    let mut top = put(&index);
    top["mediaType"] = json!("application/vnd.oci.image.index.v1+json");
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "idx"});
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [top]})).unwrap(),
    )
    .unwrap();
    Digest::of(&index)
}

fn layout_entry(dir: &Path) -> String {
    let mut text = String::new();
    fs::File::open(dir.join("index.json"))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

#[test]
fn an_index_with_all_its_images_round_trips_through_skopeo_and_strata() {
    let s = Served::start();
    let env = Env::new();
    let src: PathBuf = env.path("src");
    let digest = write_index_layout(&src);
    let name = format!("{}/multi:1", s.host());
    skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:idx", src.display()),
        &format!("docker://{name}"),
    ]);
    assert_eq!(Digest::of(&raw_manifest(&name)), digest);
    let out = env.path("out");
    env.ok(&[
        "copy",
        "--all",
        &format!("docker://{name}"),
        &format!("oci:{}:idx", out.display()),
    ]);
    assert_eq!(layout_entry(&out), digest.to_string());
    let back = env.path("back");
    skopeo(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        &format!("docker://{name}"),
        &format!("oci:{}:idx", back.display()),
    ]);
    assert_eq!(layout_entry(&back), digest.to_string());
    // Both children are there by digest.
    let index: serde_json::Value = serde_json::from_slice(&raw_manifest(&name)).unwrap();
    for child in index["manifests"].as_array().unwrap() {
        let url = format!(
            "http://{}/v2/multi/manifests/{}",
            s.host(),
            child["digest"].as_str().unwrap()
        );
        assert_eq!(ureq::head(&url).call().unwrap().status(), 200);
    }
}

#[test]
fn configs_it_cannot_honour_are_refused_clearly() {
    let env = Env::new();
    let serve = |config: &Path| {
        env.fails(
            &[
                "registry",
                "serve",
                "--addr",
                &format!("127.0.0.1:{}", free_port()),
                "--data",
                env.path("data").to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
            1,
        )
    };
    let s3 = env.path("s3.toml");
    fs::write(&s3, "[storage]\nkind = \"s3\"\nbucket = \"images\"\n").unwrap();
    let err = serve(&s3);
    assert!(
        err.contains("storage kind \"s3\" with metadata kind \"sqlite\" is refused"),
        "{err}"
    );
    let pg = env.path("pg.yaml");
    fs::write(
        &pg,
        "metadata:\n  kind: postgres\n  url: postgres://db/registry\n",
    )
    .unwrap();
    let err = serve(&pg);
    assert!(
        err.contains("storage kind \"filesystem\" with metadata kind \"postgres\" is refused"),
        "{err}"
    );
    let typo = env.path("typo.toml");
    fs::write(&typo, "adress = \"127.0.0.1:5000\"\n").unwrap();
    let err = serve(&typo);
    assert!(err.contains("typo.toml") && err.contains("adress"), "{err}");
    assert!(
        !env.path("data/registry.db").exists(),
        "nothing opened for a refused config"
    );
    let err = env.fails(&["registry", "serve", "--addr", "not-an-address"], 2);
    assert!(err.contains("not-an-address"), "{err}");
}

/// skopeo `inspect --raw` of `image` as `creds`, trusting `cert_dir`, TLS verified.
fn skopeo_tls_inspect(cert_dir: &Path, image: &str, creds: &str) -> std::process::Output {
    strata_testkit::require_tool("skopeo");
    Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            &format!("--creds={creds}"),
            "--cert-dir",
        ])
        .arg(cert_dir)
        .arg(format!("docker://{image}"))
        .output()
        .unwrap()
}

#[test]
fn serves_https_and_asks_for_client_certificates_when_configured() {
    let pki = Pki::new();
    let env = Env::with_base();
    let config = env.path("tls.toml");
    let (crt, key, client_ca) = (
        pki.path("server.crt"),
        pki.path("server.key"),
        pki.path("client-ca.crt"),
    );
    // With auth too: the challenge's default realm must be https for the login to work.
    strata_testkit::require_tool("htpasswd");
    let user = strata_testkit::run_ok(Command::new("htpasswd").args(["-Bbn", "ci", "pw"]));
    let htpasswd = env.path("htpasswd");
    fs::write(&htpasswd, &user.stdout).unwrap();
    fs::write(
        &config,
        format!(
            "[tls]\ncertificate = {crt:?}\nkey = {key:?}\nclient_cas = [{client_ca:?}]\n\
             [auth]\nhtpasswd = {htpasswd:?}\n\
             [[auth.access]]\naccount = \"ci\"\nrepository = \"**\"\nactions = [\"pull\", \"push\"]\n"
        ),
    )
    .unwrap();
    let s = Served::start_with(&["--config", config.to_str().unwrap()]);
    assert!(s.log().contains("serving https://"), "{}", s.log());

    // strata trusts the CA and presents the client pair from certs.d.
    let certs = env.path(&format!("home/.config/containers/certs.d/{}", s.host()));
    fs::create_dir_all(&certs).unwrap();
    fs::copy(pki.path("server-ca.crt"), certs.join("ca.crt")).unwrap();
    fs::copy(pki.path("client.crt"), certs.join("client.cert")).unwrap();
    fs::copy(pki.path("client.key"), certs.join("client.key")).unwrap();
    let name = format!("{}/tls/bb:1", s.host());
    let err = env.fails(&["push", "busybox:test", &name], 1);
    assert!(err.contains("401") || err.contains("nauthorized"), "{err}");
    env.ok(&["login", "-u", "ci", "-p", "pw", &s.host()]);
    let (digest, _) = env.ok(&["push", "busybox:test", &name]);

    // skopeo, verifying TLS, with the same directory: the same manifest.
    let out = skopeo_tls_inspect(&certs, &name, "ci:pw");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Digest::of(&out.stdout).to_string(), digest.trim());

    // Without a client certificate the handshake is refused.
    let only_ca = env.path("only-ca");
    fs::create_dir_all(&only_ca).unwrap();
    fs::copy(pki.path("server-ca.crt"), only_ca.join("ca.crt")).unwrap();
    let out = skopeo_tls_inspect(&only_ca, &name, "ci:pw");
    assert!(!out.status.success(), "no client certificate, no answer");
    // Plain HTTP to the HTTPS port gets no registry answer.
    let plain = ureq::get(&format!("http://{}/v2/", s.host())).call();
    assert!(plain.is_err(), "plain HTTP is not served: {plain:?}");
}

#[test]
fn a_tls_key_that_is_not_a_key_is_refused_naming_the_file() {
    let pki = Pki::new();
    let env = Env::new();
    let config = env.path("tls.yaml");
    let crt = pki.path("server.crt");
    fs::write(
        &config,
        format!(
            "tls:\n  certificate: {}\n  key: {}\n",
            crt.display(),
            crt.display()
        ),
    )
    .unwrap();
    let err = env.fails(
        &[
            "registry",
            "serve",
            "--addr",
            &format!("127.0.0.1:{}", free_port()),
            "--data",
            env.path("data").to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        err.contains("holds no private key") && err.contains("server.crt"),
        "{err}"
    );
    assert!(
        !env.path("data").exists(),
        "nothing opened for a refused config"
    );
}

/// Pushes `bytes` into `repo` of the served registry; returns its digest.
fn push_blob(served: &Served, repo: &str, bytes: &[u8]) -> Digest {
    let digest = Digest::of(bytes);
    let url = format!(
        "http://{}/v2/{repo}/blobs/uploads/?digest={digest}",
        served.host()
    );
    let r = ureq::post(&url).send_bytes(bytes).unwrap();
    assert_eq!(r.status(), 201);
    digest
}

/// `strata registry gc` with a zero grace period on the served data directory; its stdout.
fn gc(served: &Served, extra: &[&str]) -> String {
    let config = served.dir.path().join("gc.toml");
    fs::write(&config, "[gc]\ngrace_secs = 0\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["registry", "gc", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(served.dir.path().join("data"))
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "strata registry gc failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Pushes an OCI manifest over `config` and `layers` (digest, size) as `app:v1`.
fn push_manifest(served: &Served, config: (&Digest, usize), layers: &[(&Digest, usize)]) {
    let desc = |media: &str, (d, size): (&Digest, usize)| json!({"mediaType": media, "digest": d.to_string(), "size": size});
    let layers: Vec<_> = layers
        .iter()
        .map(|l| desc("application/vnd.oci.image.layer.v1.tar", *l))
        .collect();
    let manifest = json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", config),
        "layers": layers});
    let url = format!("http://{}/v2/app/manifests/v1", served.host());
    let r = ureq::put(&url)
        .set("content-type", "application/vnd.oci.image.manifest.v1+json")
        .send_bytes(&serde_json::to_vec(&manifest).unwrap())
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[test]
fn gc_beside_serve_dry_run_then_removes_only_unreferenced_blobs() {
    let served = Served::start();
    let kept = push_blob(&served, "app", b"kept layer");
    let config = push_blob(&served, "app", b"{}");
    push_manifest(&served, (&config, 2), &[(&kept, 10)]);
    let gone = push_blob(&served, "app", b"deleted layer");
    let unused = push_blob(&served, "app", b"never used");
    let url = format!("http://{}/v2/app/blobs/{gone}", served.host());
    assert_eq!(ureq::delete(&url).call().unwrap().status(), 202);
    let blob_file = |d: &Digest| served.dir.path().join("data/blobs/sha256").join(d.hex());
    let dry = gc(&served, &["--dry-run"]);
    assert!(dry.contains(&format!("would remove blob {gone}")), "{dry}");
    assert!(
        dry.contains(&format!("would remove link app@{unused}")),
        "{dry}"
    );
    assert!(
        dry.ends_with("would remove 0 untagged manifests, 1 unused links, 1 blobs, 13 bytes\n"),
        "{dry}"
    );
    assert!(blob_file(&gone).exists(), "--dry-run removed {gone}");
    let real = gc(&served, &[]);
    assert!(
        real.ends_with("removed 0 untagged manifests, 1 unused links, 2 blobs, 23 bytes\n"),
        "{real}"
    );
    assert!(!blob_file(&gone).exists() && !blob_file(&unused).exists());
    assert!(blob_file(&kept).exists() && blob_file(&config).exists());
    let url = format!("http://{}/v2/app/blobs/{kept}", served.host());
    let mut body = Vec::new();
    ureq::get(&url)
        .call()
        .unwrap()
        .into_reader()
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body, b"kept layer");
    let url = format!("http://{}/v2/app/blobs/{unused}", served.host());
    assert!(ureq::get(&url).call().is_err(), "the unused link stayed");
}

#[test]
fn gc_on_a_directory_without_a_registry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["registry", "gc", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no registry"), "{stderr}");
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "gc created files"
    );
}

#[test]
fn two_serve_processes_on_s3_and_postgres_are_one_registry() {
    let postgres = TestPostgres::start_required();
    let garage = TestGarage::start_required();
    let env = Env::with_base();
    // YAML, credentials from the environment (as the docs say).
    let config = env.path("replica.yaml");
    fs::write(
        &config,
        format!(
            "storage:\n  kind: s3\n  bucket: {BUCKET}\n  endpoint: {}\n  region: {REGION}\n  \
             allow_http: true\nmetadata:\n  kind: postgres\n  url: {}\n",
            garage.endpoint(),
            postgres.url()
        ),
    )
    .unwrap();
    let credentials = [
        ("AWS_ACCESS_KEY_ID", garage.key_id()),
        ("AWS_SECRET_ACCESS_KEY", garage.secret()),
    ];
    let mut a = Served::start_shared(&config, &credentials);
    let mut b = Served::start_shared(&config, &credentials);
    assert!(
        a.log()
            .contains("data in S3 bucket strata-test and PostgreSQL"),
        "{}",
        a.log()
    );
    // strata pushes to A, strata pulls from B; skopeo copies from B into A.
    let pushed = format!("{}/team/bb:1", a.host());
    let (digest, _) = env.ok(&["push", "busybox:test", &pushed]);
    let digest = digest.trim().to_owned();
    let fresh = Env::new();
    fresh.ok(&["pull", &format!("{}/team/bb:1", b.host())]);
    assert!(fresh.images().contains(&digest), "{}", fresh.images());
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{}/team/bb:1", b.host()),
        &format!("docker://{}/copy/bb:2", a.host()),
    ]);
    let copied = format!("{}/copy/bb:2", b.host());
    assert_eq!(Digest::of(&raw_manifest(&copied)).to_string(), digest);
    // `strata registry gc` on the same config, beside both replicas.
    let gc = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["registry", "gc", "--dry-run", "--config"])
        .arg(&config)
        .envs(credentials)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&gc.stdout);
    assert!(
        gc.status.success()
            && stdout.contains("would remove 0 untagged manifests, 0 unused links, 0 blobs"),
        "{stdout}{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    for replica in [&mut a, &mut b] {
        let status = replica.stop();
        assert!(status.success(), "{status:?}\n{}", replica.log());
    }
}
