//! End-to-end tests of the store commands and interop with real tools: images, tag, rmi,
//! prune, save (skopeo, podman), export (skopeo, umoci), load, import (incl. corrupt input).

mod common;

use common::{stderr, Env};

fn build_app(env: &Env) {
    let ctx = env.context(
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox:test\nCOPY f /f\nCMD [\"cat\", \"/f\"]\n",
            ),
            ("f", "content\n"),
        ],
    );
    env.build(&["-t", "app:1", ctx.to_str().unwrap()]);
}

#[test]
#[ignore = "needs root"]
fn images_tag_rmi_and_prune() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    build_app(&env);
    env.ok(&["tag", "app:1", "registry.local:5000/team/app:v2"]);
    let table = env.ok(&["images"]);
    assert!(table.starts_with("REPOSITORY"));
    assert!(table.contains("registry.local:5000/team/app") && table.contains("v2"));
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(env.ok(&["rmi", "app:1"]).trim(), "Untagged: app:1");
    let out = env.ok(&["rmi", "registry.local:5000/team/app:v2"]);
    assert!(out.contains("Deleted: sha256:"), "{out}");
    let pruned = env.ok(&["prune", "--all"]);
    assert!(pruned.contains("Total reclaimed space"), "{pruned}");
    let out = env.strata(&["inspect", "app:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such image"));
    env.ok(&["inspect", "busybox:test"]);
}

#[test]
#[ignore = "needs root"]
fn save_is_read_by_skopeo_and_podman_and_loads_back() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    build_app(&env);
    let tar = env.path("app.tar");
    env.ok(&["save", "-o", tar.to_str().unwrap(), "app:1"]);
    strata_testkit::require_tool("skopeo");
    let out = std::process::Command::new("skopeo")
        .args(["inspect", &format!("docker-archive:{}", tar.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    strata_testkit::require_tool("podman");
    let p = env.path("podman");
    let out = std::process::Command::new("podman")
        .args([
            "--root",
            p.join("r").to_str().unwrap(),
            "--runroot",
            p.join("rr").to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ])
        .args(["load", "-i", tar.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "podman load: {}", stderr(&out));
    let other = Env::empty();
    let out = other.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert_eq!(out.trim(), "Loaded image: app:1");
    assert_eq!(other.inspect("app:1")["Id"], env.inspect("app:1")["Id"]);
}

#[test]
#[ignore = "needs root"]
fn oci_export_is_read_by_skopeo_and_umoci() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    build_app(&env);
    let dir = env.path("layout");
    env.ok(&[
        "export",
        "--format",
        "oci",
        "-o",
        dir.to_str().unwrap(),
        "app:1",
    ]);
    strata_testkit::require_tool("skopeo");
    let out = std::process::Command::new("skopeo")
        .args(["inspect", &format!("oci:{}:1", dir.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    strata_testkit::require_tool("umoci");
    let bundle = env.path("bundle");
    let out = std::process::Command::new("umoci")
        .args([
            "unpack",
            "--image",
            &format!("{}:1", dir.display()),
            bundle.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(bundle.join("rootfs/f")).unwrap(),
        "content\n"
    );
    assert!(bundle.join("rootfs/bin/busybox").exists());
    let tar = env.path("app-oci.tar");
    env.ok(&[
        "build",
        "-q",
        "--output",
        &format!("type=oci,dest={}", tar.display()),
        env.path("ctx").to_str().unwrap(),
    ]);
    let other = Env::empty();
    other.ok(&["load", "-i", tar.to_str().unwrap()]);
}

#[test]
#[ignore = "needs root"]
fn corrupt_or_truncated_imports_and_loads_change_nothing() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::with_base();
    let before = env.snapshot_of_store();
    let good = std::fs::read(common::base_tarball()).unwrap();
    let truncated = env.path("truncated.tar.gz");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let garbage = env.path("garbage.tar");
    std::fs::write(
        &garbage,
        b"this is not a tar archive at all, just text\n".repeat(40),
    )
    .unwrap();
    for bad in [&truncated, &garbage] {
        let out = env.strata(&["import", bad.to_str().unwrap(), "broken:1"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains(bad.file_name().unwrap().to_str().unwrap()),
            "{}",
            stderr(&out)
        );
        let out = env.strata(&["load", "-i", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains(bad.file_name().unwrap().to_str().unwrap()),
            "{}",
            stderr(&out)
        );
    }
    let after = env.snapshot_of_store();
    assert_eq!(before.0, after.0, "image list unchanged");
    assert_eq!(before.1, after.1, "no blob added");
    let leftovers: Vec<_> = std::fs::read_dir(env.root().join("tmp")).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn import_applies_changes() {
    common::require_root(); // importing the base unpacks it with its owners
    let env = Env::empty();
    let tar = common::base_tarball();
    env.ok(&[
        "import",
        "--change",
        "ENV A=1",
        "--change",
        "CMD [\"/bin/sh\"]",
        "--change",
        "WORKDIR /srv",
        tar.to_str().unwrap(),
        "base:1",
    ]);
    let c = &env.inspect("base:1")["Config"]["config"];
    assert_eq!(c["Env"], serde_json::json!(["A=1"]));
    assert_eq!(c["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(c["WorkingDir"], "/srv");
    let before = env.snapshot_of_store();
    let out = env.strata(&[
        "import",
        "--change",
        "RUN true",
        tar.to_str().unwrap(),
        "base:2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not supported by import"));
    assert!(
        stderr(&out).contains("RUN"),
        "names the change: {}",
        stderr(&out)
    );
    assert_eq!(env.snapshot_of_store(), before, "no base:2, no blob");
}

/// `strata images | head`: a reader that goes away ends the output quietly (exit 0), never a
/// panic, as with docker.
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let env = Env::empty();
    let (read, write) = std::io::pipe().unwrap();
    drop(read);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args(["images"])
        .stdout(write)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Like buildx, `-t` names the image only for the image exporter: with `-o type=local` alone
/// nothing is tagged, and strata does not claim otherwise.
#[test]
fn tags_are_applied_and_announced_only_with_the_image_exporter() {
    let env = Env::empty();
    let ctx = env.context(
        "ctx",
        &[("Dockerfile", "FROM scratch\nCOPY f /f\n"), ("f", "x")],
    );
    let dest = env.path("out");
    let local = format!("type=local,dest={}", dest.display());
    let (_, err) = env.build(&["-t", "only-local:1", "-o", &local, ctx.to_str().unwrap()]);
    assert!(!err.contains("naming to"), "{err}");
    assert!(!env.ok(&["images"]).contains("only-local"));
    let (_, err) = env.build(&[
        "-t",
        "both:1",
        "-o",
        &local,
        "-o",
        "type=image",
        ctx.to_str().unwrap(),
    ]);
    assert!(
        err.contains("naming to docker.io/library/both:1 done"),
        "{err}"
    );
    assert!(env.ok(&["images"]).contains("both"));
}
