//! `strata prune --keep-last N` end to end: last use recorded by builds (`FROM`), tags and
//! `strata run`; the N most recently used tagged images kept (checked by image ID), the images
//! of containers kept, `--dry-run` changing nothing, and refused flag combinations.

mod common;

use common::{stderr, stdout, Env};

/// Builds `app:<n>` FROM scratch with one distinct file; returns its image ID.
fn build_scratch(env: &Env, n: usize) -> String {
    let ctx = env.context(
        &format!("ctx{n}"),
        &[
            ("Dockerfile", "FROM scratch\nCOPY f /f\n"),
            ("f", &format!("image {n}\n")),
        ],
    );
    env.build(&["-t", &format!("app:{n}"), ctx.to_str().unwrap()]);
    id(env, &format!("app:{n}"))
}

fn id(env: &Env, image: &str) -> String {
    env.inspect(image)["Id"].as_str().unwrap().to_owned()
}

/// Uses `image` as a base: a build `FROM image` whose result goes to a directory (the
/// build's own image record is left dangling, which every prune removes).
fn use_as_base(env: &Env, image: &str, n: usize) {
    let ctx = env.context(
        &format!("use{n}"),
        &[
            ("Dockerfile", &format!("FROM {image}\nCOPY g /g\n")),
            ("g", &format!("use {n}\n")),
        ],
    );
    let dest = format!("type=local,dest={}", env.path(&format!("out{n}")).display());
    env.build(&["-o", &dest, ctx.to_str().unwrap()]);
}

/// The IDs `strata images` lists, sorted.
fn listed_ids(env: &Env) -> Vec<String> {
    let out = env.ok(&["images", "-q", "--no-trunc"]);
    sorted(out.split_whitespace().map(str::to_owned).collect())
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn keep_last_keeps_the_most_recently_used_images() {
    let env = Env::empty();
    let ids: Vec<String> = (1..=5).map(|n| build_scratch(&env, n)).collect();
    use_as_base(&env, "app:2", 1);
    use_as_base(&env, "app:4", 2);
    env.ok(&["tag", "app:1", "app:one"]); // tagging is a use too
                                          // Order of last use: app:1, app:4, app:2, then by build time app:5, app:3.

    let before = env.snapshot_of_store();
    let dry = env.ok(&["prune", "--keep-last", "2", "--dry-run"]);
    for gone in [&ids[1], &ids[2], &ids[4]] {
        assert!(dry.contains(&format!("Would delete: {gone}")), "{dry}");
    }
    for kept in [&ids[0], &ids[3]] {
        assert!(!dry.contains(kept.as_str()), "{dry}");
    }
    assert!(dry.contains("Would untag: app:2"), "{dry}");
    assert!(dry.contains("Total reclaimable space: "), "{dry}");
    let dangling_left = env.snapshot_of_store();
    assert_eq!(dangling_left, before, "a dry run changes nothing");

    // (Its layer stays: the build cache holds it until `prune --all`.)
    let manifest_of_3 = env.inspect("app:3")["Digest"].as_str().unwrap().to_owned();
    let out = env.ok(&["prune", "--keep-last", "2"]);
    for gone in [&ids[1], &ids[2], &ids[4]] {
        assert!(out.contains(&format!("Deleted: {gone}")), "{out}");
    }
    assert!(out.contains("Untagged: app:3"), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(
        listed_ids(&env),
        sorted(vec![ids[0].clone(), ids[3].clone()])
    );
    let hex = manifest_of_3.strip_prefix("sha256:").unwrap();
    assert!(
        !env.root().join("blobs/sha256").join(hex).exists(),
        "the GC frees the blobs of removed images"
    );
    env.ok(&["inspect", "app:one"]);
    env.ok(&["inspect", "app:4"]);

    // A second run with the same N has nothing left to remove.
    let again = env.ok(&["prune", "--keep-last", "2"]);
    assert!(!again.contains("Deleted:"), "{again}");
    assert_eq!(
        listed_ids(&env),
        sorted(vec![ids[0].clone(), ids[3].clone()])
    );
}

#[test]
fn dry_run_refuses_flags_that_remove_containers() {
    let env = Env::empty();
    for flag in ["--all", "--containers"] {
        let out = env.strata(&["prune", "--keep-last", "1", "--dry-run", flag]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
    let out = env.strata(&["prune", "--keep-last", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("many"), "{}", stderr(&out));
}

/// Removes every container of the env when dropped, even when the test fails.
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let ids = self.0.strata(&["ps", "-a", "-q", "--no-trunc"]);
        for id in stdout(&ids).split_whitespace() {
            let _ = self.0.strata(&["rm", "-f", id]);
        }
    }
}

#[test]
#[ignore = "needs root"]
fn keep_last_keeps_the_images_of_containers_and_counts_runs() {
    common::require_root(); // runc, and unpacking the base keeps its owners
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    let mut ids = Vec::new();
    for n in 1..=3 {
        let ctx = env.context(
            &format!("ctx{n}"),
            &[
                ("Dockerfile", "FROM busybox:test\nCOPY f /f\n"),
                ("f", &format!("image {n}\n")),
            ],
        );
        env.build(&["-t", &format!("app:{n}"), ctx.to_str().unwrap()]);
        ids.push(id(&env, &format!("app:{n}")));
    }
    let base = id(&env, "busybox:test");
    // Runs app:1 (its container stays, stopped), then uses app:3 after it: order of last
    // use is app:3, app:1, app:2, busybox:test.
    env.ok(&[
        "run",
        "--name",
        "stopped",
        "--network",
        "none",
        "app:1",
        "true",
    ]);
    env.ok(&["run", "--rm", "--network", "none", "app:3", "true"]);

    let out = env.ok(&["prune", "--keep-last", "1"]);
    assert!(out.contains(&format!("Deleted: {}", ids[1])), "{out}");
    assert!(out.contains(&format!("Deleted: {base}")), "{out}");
    assert_eq!(
        listed_ids(&env),
        sorted(vec![ids[0].clone(), ids[2].clone()]),
        "app:3 is the most recently used, app:1 has a container"
    );
    // Removing the stopped container first lets its image go.
    let out = env.ok(&["prune", "--containers", "--keep-last", "1"]);
    assert!(out.contains("Deleted container"), "{out}");
    assert!(out.contains(&format!("Deleted: {}", ids[0])), "{out}");
    assert_eq!(listed_ids(&env), vec![ids[2].clone()]);
    env.ok(&["run", "--rm", "--network", "none", "app:3", "cat", "/f"]);
}
