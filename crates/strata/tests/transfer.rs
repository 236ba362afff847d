//! `strata pull`, `push` and `copy` end to end: the real binary against a real
//! `docker-registry`, checked with skopeo. Every run gets its own HOME, docker config and
//! registries.conf, so the machine's own configuration is never read.

mod common;

use std::fs;
use std::process::Command;

use common::registry_env::Env;
use strata_testkit::registry::TestRegistry;
use strata_testkit::run_ok;
use strata_testkit::skopeo::raw_manifest;

#[test]
fn push_then_pull_print_what_docker_prints_and_keep_the_digest() {
    let reg = TestRegistry::start();
    let env = Env::with_base();
    let name = format!("{}/bb:1", reg.host());
    let (digest, log) = env.ok(&["push", "--progress=plain", "busybox:test", &name]);
    let digest = digest.trim().to_owned();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert!(
        log.contains(&format!(
            "The push refers to repository [{}/bb]",
            reg.host()
        )),
        "{log}"
    );
    assert!(log.contains(": Pushed"), "{log}");
    assert!(
        log.contains(&format!("1: digest: {digest} size: ")),
        "{log}"
    );
    let raw = raw_manifest(&name);
    assert_eq!(
        format!("sha256:{}", strata_oci::Digest::of(&raw).hex()),
        digest
    );

    // A no-op push (DEST defaults to the name): every blob exists (its speed is
    // bench/ship.sh's figure).
    env.ok(&["tag", "busybox:test", &name]);
    let (again, log) = env.ok(&["push", "--progress=plain", &name]);
    assert_eq!(again.trim(), digest);
    assert!(log.contains(": Layer already exists"), "{log}");
    assert!(!log.contains(": Pushed"), "{log}");

    let fresh = Env::new();
    let (out, log) = fresh.ok(&["pull", "--progress=plain", &name]);
    assert_eq!(out, format!("{name}\n"));
    assert!(
        log.contains(&format!("1: Pulling from {}/bb", reg.host())),
        "{log}"
    );
    assert!(log.contains(": Pull complete"), "{log}");
    assert!(log.contains(&format!("Digest: {digest}")), "{log}");
    assert!(
        log.contains(&format!("Status: Downloaded newer image for {name}")),
        "{log}"
    );
    let (_, log) = fresh.ok(&["pull", "--progress=plain", &name]);
    assert!(
        log.contains(&format!("Status: Image is up to date for {name}")),
        "{log}"
    );
    assert!(log.contains(": Already exists"), "{log}");
    let (quiet, log) = fresh.ok(&["pull", "-q", &name]);
    assert_eq!(
        (quiet.as_str(), log.as_str()),
        (format!("{name}\n").as_str(), "")
    );
    assert!(fresh.images().contains(&digest), "{}", fresh.images());
    // docker inspect's RepoDigests, also written by the push.
    let repo_digest = format!("{}/bb@{digest}", reg.host());
    for env in [&env, &fresh] {
        let (inspect, _) = env.ok(&["inspect", &name]);
        assert!(inspect.contains(&repo_digest), "{inspect}");
    }
    fresh.ok(&["inspect", &repo_digest]);
}

#[test]
fn copy_through_layouts_archives_and_the_store_keeps_the_digest() {
    let reg = TestRegistry::start();
    let env = Env::with_base();
    let (pushed, _) = env.ok(&[
        "push",
        "-q",
        "busybox:test",
        &format!("{}/bb:1", reg.host()),
    ]);
    let other = Env::new();
    let layout = other.path("layout");
    let archive = other.path("bb.tar");
    let steps = [
        (
            format!("docker://{}/bb:1", reg.host()),
            format!("oci:{}:v1", layout.display()),
        ),
        (
            format!("oci:{}:v1", layout.display()),
            format!("docker-archive:{}:bb:2", archive.display()),
        ),
        (
            format!("docker-archive:{}:bb:2", archive.display()),
            "store:bb:2".to_owned(),
        ),
        ("store:bb:2".to_owned(), format!("{}/copied:3", reg.host())),
    ];
    for (i, (src, dst)) in steps.iter().enumerate() {
        let (out, log) = other.ok(&["copy", "--progress=plain", src, dst]);
        assert_eq!(out, pushed, "{src} -> {dst}");
        assert!(
            log.contains("Writing manifest to image destination"),
            "{log}"
        );
        // Copies that do not touch the store never create it.
        assert_eq!(other.root().exists(), i >= 2, "{src} -> {dst}");
    }
    let raw = raw_manifest(&format!("{}/copied:3", reg.host()));
    assert_eq!(
        format!("sha256:{}\n", strata_oci::Digest::of(&raw).hex()),
        pushed
    );
    assert!(other.images().contains("bb"), "{}", other.images());

    // An archive skopeo writes (the older form, without a manifest) is loaded as
    // `docker load` would: same image ID (config), a manifest made for it.
    let legacy = other.path("legacy.tar");
    run_ok(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/bb:1", reg.host()),
        &format!("docker-archive:{}:legacy:1", legacy.display()),
    ]));
    other.ok(&[
        "copy",
        &format!("docker-archive:{}", legacy.display()),
        "store:legacy:1",
    ]);
    let id = |image: &str| {
        let (out, _) = other.ok(&["inspect", image]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["Id"].as_str().unwrap().to_owned()
    };
    assert_eq!(id("legacy:1"), id("bb:2"));
}

#[test]
fn bad_input_is_a_clear_error_that_changes_nothing() {
    let reg = TestRegistry::start();
    let env = Env::with_base();
    let before = env.images();
    let err = env.fails(&["copy", "containers-storage:app", "store:app:1"], 2);
    assert!(
        err.contains("unknown transport \"containers-storage\""),
        "{err}"
    );
    assert!(err.contains("oci:PATH[:TAG]"), "{err}");
    let err = env.fails(&["pull", "Bad/Image:x:y"], 2);
    assert!(err.contains("Bad/Image:x:y"), "{err}");
    let err = env.fails(&["pull", "--platform", "linux", "busybox"], 2);
    assert!(err.contains("os/arch"), "{err}");
    let missing = format!("{}/nothing:1", reg.host());
    let err = env.fails(&["pull", "-q", &missing], 1);
    assert!(err.contains("nothing:1 not found"), "{err}");
    let err = env.fails(
        &["copy", "--all", &format!("docker://{missing}"), "store:x:1"],
        1,
    );
    assert!(err.contains("--all copies a whole index"), "{err}");
    let err = env.fails(&["push", "-q", "no-such-image:1", &missing], 1);
    assert!(err.contains("no such image: no-such-image:1"), "{err}");
    assert_eq!(env.images(), before);
}

#[test]
fn registries_conf_mirrors_are_tried_first_and_blocked_registries_refused() {
    let reg = TestRegistry::start();
    let env = Env::with_base();
    env.ok(&[
        "push",
        "-q",
        "busybox:test",
        &format!("{}/lib/bb:1", reg.host()),
    ]);
    fs::write(
        env.path("registries.conf"),
        format!(
            "[[registry]]\nlocation = \"mirrored.invalid\"\n\
             [[registry.mirror]]\nlocation = \"{}/lib\"\n\n\
             [[registry]]\nlocation = \"{}\"\nblocked = true\n",
            reg.host(),
            "blocked.invalid"
        ),
    )
    .unwrap();
    let (out, _) = env.ok(&["pull", "-q", "mirrored.invalid/bb:1"]);
    assert_eq!(out, "mirrored.invalid/bb:1\n");
    let before = env.images();
    let err = env.fails(&["pull", "-q", "blocked.invalid/bb:1"], 1);
    assert!(err.contains("blocked"), "{err}");
    let err = env.fails(&["push", "-q", "busybox:test", "blocked.invalid/bb:1"], 1);
    assert!(err.contains("blocked"), "{err}");
    assert_eq!(env.images(), before);
}
