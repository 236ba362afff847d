//! `strata sbom` and `strata build --sbom` end to end: the real binary on real images,
//! its findings compared with the real package managers (dpkg-query, pip, npm run inside
//! the image), `go version -m` and the `Cargo.lock` of a crate built with `cargo
//! auditable`; SBOMs pushed as OCI referrers to `strata registry serve` (referrers API)
//! and to `docker-registry` (distribution 2.8: the referrers tag schema), read back with
//! skopeo and HTTP.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry_env::Env;
use common::served::Served;
use serde_json::Value;
use strata_oci::Digest;
use strata_testkit::registry::TestRegistry;
use strata_testkit::skopeo::raw_manifest;
use strata_testkit::{require_root, require_tool, run_ok, workspace_root};

type Set = BTreeSet<(String, String)>;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The (name, version) of the CycloneDX components whose purl starts with `prefix` and
/// that were found at a path starting with `at`.
fn components(doc: &Value, prefix: &str, at: &str) -> Set {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["purl"].as_str().unwrap().starts_with(prefix))
        .filter(|c| {
            c["properties"].as_array().unwrap().iter().any(|p| {
                p["name"].as_str().unwrap().ends_with(":path")
                    && p["value"].as_str().unwrap().starts_with(at)
            })
        })
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn sbom(env: &Env, image: &str, format: &str) -> Value {
    json(&env.ok(&["sbom", image, "--format", format]).0)
}

// ---- an OCI layout made by hand: two layers, the second deletes a package -------------

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn put_blob(dir: &Path, bytes: &[u8]) -> (String, usize) {
    let d = Digest::of(bytes);
    fs::write(dir.join("blobs/sha256").join(d.hex()), bytes).unwrap();
    (d.to_string(), bytes.len())
}

/// An OCI layout at `dir` with one image of `layers` (uncompressed tars).
fn oci_layout(dir: &Path, layers: &[Vec<u8>]) {
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let diff_ids: Vec<String> = layers.iter().map(|l| Digest::of(l).to_string()).collect();
    let config = serde_json::json!({
        "created": "2024-01-02T03:04:05Z", "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": layers.iter().map(|_| serde_json::json!({"created_by": "test"})).collect::<Vec<_>>(),
    });
    let (cd, cs) = put_blob(dir, config.to_string().as_bytes());
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            let (d, s) = put_blob(dir, l);
            serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s})
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": layer_descs,
    });
    let (md, ms) = put_blob(dir, manifest.to_string().as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                       "annotations": {"org.opencontainers.image.ref.name": "v1"}}],
    });
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

const SITE: &str = "usr/local/lib/python3.11/site-packages";

fn layout_with_a_deleted_package(env: &Env) -> PathBuf {
    let meta =
        |n: &str, v: &str| format!("Metadata-Version: 2.1\nName: {n}\nVersion: {v}\n").into_bytes();
    let (six, req) = (meta("six", "1.16.0"), meta("requests", "2.32.3"));
    let six_path = format!("{SITE}/six-1.16.0.dist-info/METADATA");
    let req_path = format!("{SITE}/requests-2.32.3.dist-info/METADATA");
    let bottom = tar_of(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        ("var/lib/dpkg/status", b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n"),
        (&six_path, &six),
        (&req_path, &req),
        ("app/package.json", br#"{"name":"app","version":"1.0.0","dependencies":{"ms":"2.1.3"}}"#),
        ("app/node_modules/ms/package.json", br#"{"name":"ms","version":"2.1.3"}"#),
    ]);
    let wh = format!("{SITE}/.wh.six-1.16.0.dist-info");
    let top = tar_of(&[(&wh, b"")]);
    let dir = env.path("layout");
    oci_layout(&dir, &[bottom, top]);
    dir
}

#[test]
fn a_package_deleted_in_a_later_layer_is_not_listed_and_documents_are_stable() {
    let env = Env::new();
    let dir = layout_with_a_deleted_package(&env);
    let image = format!("oci:{}:v1", dir.display());
    let cdx = sbom(&env, &image, "cyclonedx-json");
    let python = components(&cdx, "pkg:pypi/", "/");
    assert_eq!(python, Set::from([("requests".into(), "2.32.3".into())]));
    let all: Vec<&str> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(
        all,
        [
            "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
            "pkg:pypi/requests@2.32.3",
            "pkg:npm/app@1.0.0",
            "pkg:npm/ms@2.1.3",
        ]
    );
    assert_eq!(cdx["metadata"]["timestamp"], "2024-01-02T03:04:05Z");
    // SPDX, to a file; the same bytes every time.
    let out = env.path("sbom.spdx.json");
    env.ok(&[
        "sbom",
        &image,
        "--format",
        "spdx-json",
        "-o",
        out.to_str().unwrap(),
    ]);
    let first = fs::read(&out).unwrap();
    env.ok(&[
        "sbom",
        &image,
        "--format",
        "spdx-json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(first, fs::read(&out).unwrap());
    let spdx = json(&String::from_utf8(first).unwrap());
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["creationInfo"]["created"], "2024-01-02T03:04:05Z");
    assert_eq!(
        spdx["packages"].as_array().unwrap().len(),
        5,
        "the image and its 4 packages"
    );
    let table = env.ok(&["sbom", &image]).0;
    assert_eq!(
        table
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["NAME", "VERSION", "TYPE"]
    );
    assert!(table.contains("requests  2.32.3"), "{table}");
}

/// CycloneDX's own validator (cyclonedx-python-lib, the 1.6 JSON schema it bundles).
const CYCLONEDX_VALIDATE: &str = "import sys\nfrom cyclonedx.schema import SchemaVersion\nfrom cyclonedx.validation.json import JsonStrictValidator\nerr = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\nif err is not None:\n    sys.exit(f'invalid: {err}')\n";

#[test]
fn documents_pass_the_spdx_and_cyclonedx_validators() {
    require_tool("pyspdxtools");
    let env = Env::new();
    let dir = layout_with_a_deleted_package(&env);
    let image = format!("oci:{}:v1", dir.display());
    let spdx = env.path("sbom.spdx.json");
    let cdx = env.path("sbom.cdx.json");
    env.ok(&[
        "sbom",
        &image,
        "--format",
        "spdx-json",
        "-o",
        spdx.to_str().unwrap(),
    ]);
    env.ok(&[
        "sbom",
        &image,
        "--format",
        "cyclonedx-json",
        "-o",
        cdx.to_str().unwrap(),
    ]);
    run_ok(Command::new("pyspdxtools").arg("-i").arg(&spdx));
    run_ok(
        Command::new("python3")
            .args(["-c", CYCLONEDX_VALIDATE])
            .arg(&cdx),
    );
    // The validators do refuse a broken document.
    let mut broken = json(&fs::read_to_string(&cdx).unwrap());
    broken["components"][0]["type"] = "no-such-type".into();
    fs::write(&cdx, broken.to_string()).unwrap();
    let out = Command::new("python3")
        .args(["-c", CYCLONEDX_VALIDATE])
        .arg(&cdx)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_missing_image_is_a_clear_error_and_no_file_is_written() {
    let env = Env::new();
    let out = env.path("never.json");
    let missing = env.path("no-such-layout");
    let image = format!("oci:{}", missing.display());
    let err = env.fails(&["sbom", &image, "-o", out.to_str().unwrap()], 1);
    assert!(err.contains("no-such-layout"), "{err}");
    assert!(!out.exists());
}

// ---- Go -----------------------------------------------------------------------------

/// What `go version -m BIN` says a binary holds, with the SBOM's rules: the main module
/// (else the main package's path at `(devel)`), the dependencies (replacements applied,
/// but a local directory keeps the module's own path and version) and `stdlib`.
fn go_version_m(bin: &Path) -> Set {
    let out = run_ok(Command::new("go").arg("version").arg("-m").arg(bin));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let go = lines.next().unwrap().rsplit(' ').next().unwrap().to_owned();
    let mut mods: Vec<(String, String)> = Vec::new();
    let (mut path, mut has_mod) = (None, false);
    for line in lines {
        let f: Vec<&str> = line.trim_start().split('\t').collect();
        match f.as_slice() {
            ["path", p, ..] => path = Some(p.to_string()),
            ["mod", p, v, ..] => {
                has_mod = true;
                mods.push((p.to_string(), v.to_string()));
            }
            ["dep", p, v, ..] => mods.push((p.to_string(), v.to_string())),
            ["=>", p, v, ..] if !p.starts_with('.') && !p.starts_with('/') => {
                *mods.last_mut().unwrap() = (p.to_string(), v.to_string());
            }
            _ => {}
        }
    }
    if !has_mod {
        mods.push((path.expect("a path line"), "(devel)".into()));
    }
    mods.push(("stdlib".into(), go));
    mods.into_iter().collect()
}

/// A small Go module with a dependency (replaced by a local directory: no network).
fn build_go_program(dir: &Path) -> PathBuf {
    let w = |rel: &str, text: &str| {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    w("greet/go.mod", "module example.com/greet\n\ngo 1.19\n");
    w(
        "greet/greet.go",
        "package greet\n\nfunc Hello() string { return \"hello\" }\n",
    );
    w(
        "hello/go.mod",
        "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n\nreplace example.com/greet => ../greet\n",
    );
    w("hello/main.go", "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/greet\"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n");
    let bin = dir.join("hello-bin");
    run_ok(
        Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(dir.join("hello"))
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", dir.join("gocache"))
            .env("GOPATH", dir.join("gopath")),
    );
    bin
}

#[test]
#[ignore = "needs root"] // strata build unpacks the base with its owners
fn go_binaries_list_the_modules_go_version_m_shows() {
    strata_testkit::require_root();
    require_tool("go");
    let env = Env::with_base();
    let work = env.path("go");
    let hello = build_go_program(&work);
    // Debian's registry: built in GOPATH mode (no module lines), an older linker's layout.
    let registry = Path::new("/usr/bin/docker-registry");
    require_tool("docker-registry");
    let ctx = env.path("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::copy(&hello, ctx.join("hello")).unwrap();
    fs::copy(registry, ctx.join("registry")).unwrap();
    fs::write(ctx.join("Dockerfile"), "FROM busybox:test\nCOPY hello /usr/local/bin/hello\nCOPY registry /usr/bin/docker-registry\n").unwrap();
    env.ok(&["build", "-q", "-t", "go:test", ctx.to_str().unwrap()]);
    let cdx = sbom(&env, "go:test", "cyclonedx-json");
    let found = components(&cdx, "pkg:golang/", "/usr/local/bin/hello");
    let expected = go_version_m(&hello);
    assert!(
        expected.contains(&("example.com/greet".into(), "v1.2.3".into())),
        "{expected:?}"
    );
    assert_eq!(found, expected);
    let found = components(&cdx, "pkg:golang/", "/usr/bin/docker-registry");
    assert_eq!(found, go_version_m(registry));
}

// ---- Rust ---------------------------------------------------------------------------

/// `(name, version)` of every package of a `Cargo.lock`.
fn cargo_lock(text: &str) -> Set {
    let mut out = Set::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            // (the file's own `version = 4` comes before any package: no name yet)
            out.insert((n, v.trim_matches('"').to_owned()));
        }
    }
    out
}

#[test]
#[ignore = "needs root"] // strata build unpacks the base with its owners
fn rust_binaries_built_with_cargo_auditable_list_their_crates() {
    strata_testkit::require_root();
    require_tool("cargo-auditable");
    let env = Env::with_base();
    let krate = env.path("demo");
    fs::create_dir_all(krate.join("src")).unwrap();
    fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"sbom-demo\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n[dependencies]\nitoa = \"1\"\n\n[workspace]\n",
    )
    .unwrap();
    fs::write(
        krate.join("src/main.rs"),
        "fn main() { println!(\"{}\", itoa::Buffer::new().format(42)); }\n",
    )
    .unwrap();
    let target = workspace_root().join("target/sbom-auditable-demo");
    run_ok(
        Command::new("cargo")
            .args(["auditable", "build", "--release", "--quiet"])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", &target),
    );
    let ctx = env.path("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::copy(target.join("release/sbom-demo"), ctx.join("demo")).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:test\nCOPY demo /usr/local/bin/demo\n",
    )
    .unwrap();
    env.ok(&["build", "-q", "-t", "rust:test", ctx.to_str().unwrap()]);
    let cdx = sbom(&env, "rust:test", "cyclonedx-json");
    let found = components(&cdx, "pkg:cargo/", "/usr/local/bin/demo");
    let expected = cargo_lock(&fs::read_to_string(krate.join("Cargo.lock")).unwrap());
    assert!(expected.iter().any(|(n, _)| n == "itoa"), "{expected:?}");
    assert_eq!(found, expected);
}

// ---- the clean Debian image with Python and Node packages (root: chroot) -------------

fn chroot(rootfs: &Path, script: &str) -> String {
    let out = run_ok(
        Command::new("chroot")
            .arg(rootfs)
            .args(["/bin/sh", "-c", script]),
    );
    String::from_utf8(out.stdout).unwrap()
}

/// PEP 503's normalized name: pip and the metadata may spell a name differently.
fn pep503(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&part.to_ascii_lowercase());
    }
    out
}

/// Every (name, version) of an `npm ls --all --json` tree, the project included.
fn npm_tree(node: &Value, out: &mut Set) {
    if let Some(deps) = node["dependencies"].as_object() {
        for (name, dep) in deps {
            if let Some(v) = dep["version"].as_str() {
                out.insert((name.clone(), v.to_owned()));
            }
            npm_tree(dep, out);
        }
    }
}

#[test]
#[ignore = "needs root"]
fn the_debian_image_sbom_matches_dpkg_pip_and_npm_inside_it() {
    require_root();
    let tarball = strata_testkit::debian_python_node_rootfs();
    let env = Env::new();
    env.ok(&[
        "import",
        tarball.to_str().unwrap(),
        "debian-python-node:test",
    ]);
    let started = std::time::Instant::now();
    let cdx = sbom(&env, "debian-python-node:test", "cyclonedx-json");
    eprintln!("sbom of the debian image: {:?}", started.elapsed());
    let rootfs = env.path("rootfs");
    fs::create_dir_all(&rootfs).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&rootfs),
    );

    let dpkg: Set = chroot(
        &rootfs,
        "dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}\\n'",
    )
    .lines()
    .filter_map(|l| l.strip_prefix("installed "))
    .map(|l| {
        let (n, v) = l.split_once(' ').unwrap();
        (n.to_owned(), v.to_owned())
    })
    .collect();
    assert!(dpkg.len() > 100, "{}", dpkg.len());
    assert_eq!(components(&cdx, "pkg:deb/", "/"), dpkg);

    let pip = json(&chroot(
        &rootfs,
        "python3 -m pip list --format json 2>/dev/null",
    ));
    let pip: Set = pip
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                pep503(p["name"].as_str().unwrap()),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ours: Set = components(&cdx, "pkg:pypi/", "/")
        .into_iter()
        .map(|(n, v)| (pep503(&n), v))
        .collect();
    assert!(
        pip.contains(&("requests".into(), "2.32.3".into())),
        "{pip:?}"
    );
    assert_eq!(ours, pip);

    let tree = json(&chroot(&rootfs, "cd /app && npm ls --all --json"));
    let mut npm = Set::new();
    npm.insert((
        tree["name"].as_str().unwrap().to_owned(),
        tree["version"].as_str().unwrap().to_owned(),
    ));
    npm_tree(&tree, &mut npm);
    assert!(npm.contains(&("ms".into(), "2.1.3".into())), "{npm:?}");
    assert_eq!(components(&cdx, "pkg:npm/", "/app/"), npm);
}

// ---- build --sbom --push: referrers ---------------------------------------------------

fn push_with_sbom(env: &Env, reference: &str, format: &str) -> String {
    let ctx = env.path("app");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("package.json"),
        r#"{"name":"app","version":"1.0.0"}"#,
    )
    .unwrap();
    fs::write(ctx.join("lock.json"), "{}").unwrap();
    fs::write(ctx.join("ms.json"), r#"{"name":"ms","version":"2.1.3"}"#).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:test\nCOPY package.json /app/package.json\nCOPY lock.json /app/package-lock.json\nCOPY ms.json /app/node_modules/ms/package.json\n",
    )
    .unwrap();
    let arg = format!("--sbom={format}");
    let (_, log) = env.ok(&[
        "build",
        "--push",
        &arg,
        "-t",
        reference,
        ctx.to_str().unwrap(),
    ]);
    log
}

/// The referrer manifest `digest` of `repo` and its one layer, the document.
fn referrer_document(host: &str, repo: &str, digest: &str) -> (Value, Value) {
    let manifest =
        json(&String::from_utf8(raw_manifest(&format!("{host}/{repo}@{digest}"))).unwrap());
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let body = ureq::get(&format!("http://{host}/v2/{repo}/blobs/{layer}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    (manifest, json(&body))
}

#[test]
#[ignore = "needs root"] // strata build unpacks the base with its owners
fn build_sbom_push_is_a_referrer_on_a_registry_with_the_referrers_api() {
    strata_testkit::require_root();
    let served = Served::start();
    let env = Env::with_base();
    let host = served.host();
    let reference = format!("{host}/team/app:1");
    let log = push_with_sbom(&env, &reference, "spdx");
    assert!(log.contains("(referrers API)"), "{log}");
    let subject = Digest::of(&raw_manifest(&reference)).to_string();
    let index = json(
        &ureq::get(&format!("http://{host}/v2/team/app/referrers/{subject}"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    );
    let listed = index["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{index}");
    assert_eq!(listed[0]["artifactType"], "application/spdx+json");
    let pushed = listed[0]["digest"].as_str().unwrap();
    // The same referrer manifest is stored in the local store.
    let stored = log
        .lines()
        .find_map(|l| l.strip_prefix("writing sbom "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no 'writing sbom' line: {log}"));
    assert_eq!(stored, pushed);
    let hex = stored.strip_prefix("sha256:").unwrap();
    assert!(env.root().join("blobs/sha256").join(hex).is_file());
    let (manifest, doc) = referrer_document(&host, "team/app", pushed);
    assert_eq!(manifest["subject"]["digest"], subject.as_str());
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let names: BTreeSet<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains("ms") && names.contains("app"), "{names:?}");
}

#[test]
#[ignore = "needs root"] // strata build unpacks the base with its owners
fn build_sbom_push_falls_back_to_the_referrers_tag_schema_on_distribution() {
    strata_testkit::require_root();
    let reg = TestRegistry::start();
    let env = Env::with_base();
    let host = reg.host();
    let reference = format!("{host}/team/app:1");
    let log = push_with_sbom(&env, &reference, "spdx");
    let subject = Digest::of(&raw_manifest(&reference));
    let tag = format!("sha256-{}", subject.hex());
    assert!(log.contains(&format!("listed in tag {tag}")), "{log}");
    // `strata sbom docker://…` reads the pushed image from the registry.
    let pulled = sbom(&env, &format!("docker://{reference}"), "cyclonedx-json");
    assert_eq!(
        components(&pulled, "pkg:npm/", "/app/"),
        Set::from([
            ("app".into(), "1.0.0".into()),
            ("ms".into(), "2.1.3".into())
        ])
    );
    // The same image again with a CycloneDX SBOM: merged into the same index.
    push_with_sbom(&env, &reference, "cyclonedx");
    let index = json(&String::from_utf8(raw_manifest(&format!("{host}/team/app:{tag}"))).unwrap());
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let types: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["artifactType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["application/spdx+json", "application/vnd.cyclonedx+json"]
    );
    let cdx = index["manifests"][1]["digest"].as_str().unwrap();
    let (manifest, doc) = referrer_document(&host, "team/app", cdx);
    assert_eq!(manifest["subject"]["digest"], subject.to_string());
    assert_eq!(doc["bomFormat"], "CycloneDX");
}
