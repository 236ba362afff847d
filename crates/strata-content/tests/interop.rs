//! Export, save and load checked against real skopeo, umoci and podman.

mod common;

use std::path::Path;
use std::process::Command;

use common::{make_image, open, run};
use strata_content::{docker_archive, load::load, oci_layout, Image, Store};
use strata_oci::Reference;
use strata_testkit::require_tool;

fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

fn sample(s: &Store, gz: bool) -> Image {
    let d = make_image(
        s,
        &[("hello.txt", b"hello\n"), ("second.txt", b"two\n")],
        gz,
    );
    s.tag(&r("app:1"), &d).unwrap();
    s.image(&d).unwrap()
}

fn skopeo_inspect(target: &str) -> serde_json::Value {
    let out = run(Command::new("skopeo").args(["inspect", target]));
    serde_json::from_str(&out).unwrap()
}

fn check_inspect(v: &serde_json::Value, image: &Image) {
    assert_eq!(v["Digest"], image.manifest_digest.to_string(), "{v}");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 2, "{v}");
}

#[test]
fn oci_dir_export_is_read_by_skopeo_and_umoci() {
    require_tool("skopeo");
    require_tool("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let s = open(&tmp.path().join("store"));
    let image = sample(&s, true);
    let dest = tmp.path().join("layout");
    oci_layout::export(&s, &[(image.clone(), Some(r("app:1")))], &dest).unwrap();
    let v = skopeo_inspect(&format!("oci:{}:1", dest.display()));
    check_inspect(&v, &image);
    assert_eq!(v["Env"][0], "PATH=/usr/bin:/bin");

    // Adding a second tag to the same layout keeps the first.
    oci_layout::export(&s, &[(image.clone(), Some(r("app:2")))], &dest).unwrap();
    check_inspect(
        &skopeo_inspect(&format!("oci:{}:1", dest.display())),
        &image,
    );

    let bundle = tmp.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:2", dest.display()))
        .arg(&bundle));
    let hello = std::fs::read_to_string(bundle.join("rootfs/app/hello.txt")).unwrap();
    assert_eq!(hello, "hello\n");
    assert!(bundle.join("rootfs/app/second.txt").is_file());
}

#[test]
fn oci_tar_export_is_deterministic_and_read_by_skopeo() {
    require_tool("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let s = open(&tmp.path().join("store"));
    let image = sample(&s, false);
    let a = tmp.path().join("a.tar");
    let b = tmp.path().join("b.tar");
    oci_layout::export(&s, &[(image.clone(), Some(r("app:1")))], &a).unwrap();
    oci_layout::export(&s, &[(image.clone(), Some(r("app:1")))], &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    check_inspect(
        &skopeo_inspect(&format!("oci-archive:{}", a.display())),
        &image,
    );
    check_inspect(
        &skopeo_inspect(&format!("oci-archive:{}:1", a.display())),
        &image,
    );
    let names: Vec<String> = tar::Archive::new(std::fs::File::open(&a).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.last().unwrap(), "oci-layout");
}

fn save(s: &Store, image: &Image, refs: &[&str], dest: &Path) {
    let refs = refs.iter().map(|x| r(x)).collect();
    docker_archive::save_to_file(s, &[(image.clone(), refs)], dest).unwrap();
}

#[test]
fn docker_archive_is_read_by_skopeo() {
    require_tool("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let s = open(&tmp.path().join("store"));
    for gz in [false, true] {
        let image = sample(&s, gz);
        let file = tmp.path().join(format!("save-{gz}.tar"));
        save(
            &s,
            &image,
            &["app:1", "registry.example:5000/team/app:v2"],
            &file,
        );
        let v = skopeo_inspect(&format!("docker-archive:{}", file.display()));
        assert_eq!(v["Layers"].as_array().unwrap().len(), 2, "{v}");
        let v = skopeo_inspect(&format!("docker-archive:{}:app:1", file.display()));
        assert_eq!(v["Env"][0], "PATH=/usr/bin:/bin");
        // The archive is an OCI layout too.
        check_inspect(
            &skopeo_inspect(&format!("oci-archive:{}:1", file.display())),
            &image,
        );
    }
}

#[test]
fn docker_archive_is_loaded_by_podman() {
    require_tool("podman");
    let tmp = tempfile::tempdir().unwrap();
    let s = open(&tmp.path().join("store"));
    for gz in [false, true] {
        let image = sample(&s, gz);
        let file = tmp.path().join(format!("save-{gz}.tar"));
        save(&s, &image, &["app:1"], &file);
        let root = tmp.path().join(format!("podman-{gz}"));
        let podman = |args: &[&str]| {
            run(Command::new("podman")
                .arg("--root")
                .arg(root.join("r"))
                .arg("--runroot")
                .arg(root.join("rr"))
                .args(["--storage-driver", "vfs"])
                .args(args))
        };
        let out = podman(&["load", "-i", file.to_str().unwrap()]);
        assert!(out.contains("app:1"), "{out}");
        let out = podman(&["image", "inspect", "docker.io/library/app:1"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["Id"], image.config_digest.hex(), "{v}");
        assert_eq!(v[0]["RootFS"]["Layers"].as_array().unwrap().len(), 2);
        let _ = podman(&["rmi", "-a", "-f"]);
    }
}

#[test]
fn loads_archives_written_by_skopeo() {
    require_tool("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let src = open(&tmp.path().join("src"));
    for gz in [false, true] {
        let image = sample(&src, gz);
        let layout = tmp.path().join(format!("layout-{gz}"));
        oci_layout::export(&src, &[(image.clone(), Some(r("app:1")))], &layout).unwrap();
        let oci_src = format!("oci:{}:1", layout.display());

        let docker_tar = tmp.path().join(format!("skopeo-docker-{gz}.tar"));
        let oci_tar = tmp.path().join(format!("skopeo-oci-{gz}.tar"));
        run(Command::new("skopeo").args(["copy", &oci_src]).arg(format!(
            "docker-archive:{}:example.com/team/app:7",
            docker_tar.display()
        )));
        run(Command::new("skopeo")
            .args(["copy", &oci_src])
            .arg(format!("oci-archive:{}:myapp:3", oci_tar.display())));

        let dst = open(&tmp.path().join(format!("dst-{gz}")));
        let loaded = load(&dst, &docker_tar).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].references, [r("example.com/team/app:7")]);
        let got = dst.resolve("example.com/team/app:7").unwrap();
        // skopeo re-serialises the config when it converts to Docker's format, so compare
        // what matters rather than the config digest.
        assert_eq!(got.config.rootfs.diff_ids, image.config.rootfs.diff_ids);
        assert_eq!(got.config.config.cmd, image.config.config.cmd);
        assert_eq!(got.config.history.len(), 2);
        for l in &got.manifest.layers {
            assert_eq!(l.media_type, strata_oci::media_types::OCI_LAYER); // skopeo unpacks
        }

        let loaded = load(&dst, &oci_tar).unwrap();
        assert_eq!(loaded[0].references, [r("myapp:3")]);
        let got = dst.resolve("myapp:3").unwrap();
        assert_eq!(got.config_digest, image.config_digest);
        // An OCI layout keeps its manifest bytes, so the digest survives the trip (skopeo
        // gzips uncompressed layers for oci-archive, which makes a new manifest).
        if gz {
            assert_eq!(got.manifest_digest, image.manifest_digest);
        }

        // And the layout directory itself (the tag alone names no repository).
        let loaded = load(&dst, &layout).unwrap();
        assert_eq!(loaded[0].manifest_digest, image.manifest_digest);
    }
}

#[test]
fn save_then_load_round_trips_including_gzip_compressed_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let src = open(&tmp.path().join("src"));
    let image = sample(&src, true);
    let file = tmp.path().join("save.tar");
    save(&src, &image, &["app:1", "app:latest"], &file);
    let gz = tmp.path().join("save.tar.gz");
    std::fs::write(&gz, common::gzip(&std::fs::read(&file).unwrap())).unwrap();

    for input in [&file, &gz] {
        let dst = open(
            &tmp.path()
                .join(format!("dst-{}", input.display().to_string().len())),
        );
        let loaded = load(&dst, input).unwrap();
        assert_eq!(loaded[0].references, [r("app:1"), r("app:latest")]);
        let got = dst.resolve("app").unwrap();
        assert_eq!(got.config_digest, image.config_digest);
        assert_eq!(
            got.manifest
                .layers
                .iter()
                .map(|l| &l.media_type)
                .collect::<Vec<_>>(),
            [strata_oci::media_types::OCI_LAYER_GZIP; 2]
        );
        for l in &got.manifest.layers {
            dst.verify_blob(&l.digest).unwrap();
        }
    }
}
