//! `strata analyze` end to end: wasted bytes computed by hand on a built image and set beside
//! the real dive's figure (wagoodman/dive#684: dive counts kept copies, misses deleted trees), every image source, dive's CI rules and exit
//! codes, and the errors (corrupt layer, unknown image).

mod common;

use std::path::Path;
use std::process::Command;

use common::{require_root, stderr, Env};
use serde_json::Value;
use strata_testkit::registry::TestRegistry;
use strata_testkit::require_tool;

/// Pseudo-random (incompressible) bytes, the same for the same seed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const A: usize = 1_000_000;
const T1: usize = 200_000;
const T2: usize = 300_000;

/// base, COPY data (a.bin, tree/t1, tree/t2), RUN chmod a.bin (a copy-up: a.bin again),
/// RUN rm -rf tree (whiteout of a directory), RUN echo.
fn build_wasteful(env: &Env) {
    let ctx = env.path("ctx");
    std::fs::create_dir_all(ctx.join("data/tree")).unwrap();
    std::fs::write(ctx.join("data/a.bin"), noise(1, A)).unwrap();
    std::fs::write(ctx.join("data/tree/t1"), noise(2, T1)).unwrap();
    std::fs::write(ctx.join("data/tree/t2"), noise(3, T2)).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:test\nCOPY data /data\nRUN chmod 600 /data/a.bin\nRUN rm -rf /data/tree\nRUN echo x > /etc/motd\n",
    )
    .unwrap();
    env.build(&["-t", "waste:1", ctx.to_str().unwrap()]);
}

fn analyze_json(env: &Env, image: &str) -> Value {
    serde_json::from_str(&env.ok(&["analyze", "--format", "json", image])).unwrap()
}

fn figures(v: &Value) -> (u64, u64, u64, Vec<u64>) {
    let wasted_by_layer = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["wasted"].as_u64().unwrap())
        .collect();
    (
        v["total_bytes"].as_u64().unwrap(),
        v["kept_bytes"].as_u64().unwrap(),
        v["wasted_bytes"].as_u64().unwrap(),
        wasted_by_layer,
    )
}

#[test]
#[ignore = "needs root"]
fn wasted_bytes_match_the_hand_count_where_dive_counts_a_kept_copy_and_misses_a_deleted_dir() {
    require_root();
    require_tool("dive");
    let env = Env::with_base();
    build_wasteful(&env);
    let v = analyze_json(&env, "waste:1");
    let (total, kept, wasted, by_layer) = figures(&v);
    // By hand: the first a.bin (replaced by chmod's copy) and the deleted tree.
    let by_hand = (A + T1 + T2) as u64;
    assert_eq!(wasted, by_hand, "{v:#}");
    assert_eq!(total - kept, wasted);
    assert_eq!(
        by_layer[1], by_hand,
        "the COPY layer made the waste: {by_layer:?}"
    );
    assert_eq!(by_layer.iter().sum::<u64>(), wasted);
    let paths: Vec<&str> = v["wasted_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["data/a.bin", "data/tree/t2", "data/tree/t1"],
        "{v:#}"
    );
    assert_eq!(v["wasted_files"][1]["deleted"], true);
    assert_eq!(v["wasted_files"][0]["deleted"], false);
    assert!(v["layers"][2]["created_by"]
        .as_str()
        .unwrap()
        .contains("chmod 600 /data/a.bin"));
    let efficiency = v["efficiency"].as_f64().unwrap();
    assert!((efficiency - kept as f64 / total as f64).abs() < 1e-12);
    let dup = &v["duplicates"][0];
    assert_eq!(
        dup["size"], A as u64,
        "a.bin's copy-up is the same content: {v:#}"
    );

    // The same image through a docker-archive and an OCI layout: the same figures.
    let archive = env.path("waste.tar");
    env.ok(&["save", "-o", archive.to_str().unwrap(), "waste:1"]);
    let from_archive = analyze_json(&env, &format!("docker-archive:{}", archive.display()));
    assert_eq!(figures(&from_archive), figures(&v));
    let layout = env.path("waste-oci");
    env.ok(&["export", "-o", layout.to_str().unwrap(), "waste:1"]);
    let from_layout = analyze_json(&env, &format!("oci:{}", layout.display()));
    assert_eq!(figures(&from_layout), figures(&v));

    // dive (0.13) sums the whole cumulative size of each path seen twice, so a.bin's kept
    // copy counts as wasted too, and it misses the files of the deleted directory: its
    // figure is 2·A where the bytes shipped for nothing are A + T1 + T2.
    let dive = dive_json(&archive, &env.path("dive.json"));
    let dive_wasted = dive["image"]["inefficientBytes"].as_u64().unwrap();
    assert_eq!(dive_wasted, (2 * A) as u64, "{dive:#}");
    assert_ne!(dive_wasted, wasted);
    assert_eq!(dive["image"]["sizeBytes"].as_u64().unwrap(), total);
}

fn dive_json(archive: &Path, out: &Path) -> Value {
    let run = Command::new("dive")
        .args(["--source", "docker-archive", "--ci", "--json"])
        .arg(out)
        .arg(archive)
        .env("CI", "true")
        .output()
        .unwrap();
    assert!(out.exists(), "dive wrote no JSON: {}", stderr(&run));
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

#[test]
#[ignore = "needs root"]
fn ci_mode_takes_dives_rules_from_flags_and_dive_ci_and_exits_1_on_failure() {
    require_root();
    let env = Env::with_base();
    build_wasteful(&env);
    // dive's defaults (efficiency 0.9, user wasted 0.1): this image fails both.
    let out = env.strata(&["analyze", "--ci", "waste:1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL: lowestEfficiency: image efficiency is too low"),
        "{text}"
    );
    assert!(
        text.contains("SKIP: highestWastedBytes: rule disabled"),
        "{text}"
    );
    assert!(text.contains("Result:FAIL [Total:3] [Passed:0] [Failed:2] [Warn:0] [Skipped:1]"));
    // Relaxed on the command line (dive's camelCase spelling too): passes.
    let out = env.strata(&[
        "analyze",
        "--ci",
        "--lowestEfficiency",
        "0.5",
        "--highest-user-wasted-percent",
        "disabled",
        "--highest-wasted-bytes",
        "2MB",
        "waste:1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("Result:PASS [Total:3] [Passed:2] [Failed:0] [Warn:0] [Skipped:1]"));
    // A .dive-ci file, flags over it.
    let rules = env.path("rules.yaml");
    std::fs::write(&rules, "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1MB\n  highestUserWastedPercent: disabled\n").unwrap();
    let out = env.strata(&[
        "analyze",
        "--ci",
        "--ci-config",
        rules.to_str().unwrap(),
        "waste:1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL: highestWastedBytes: too many bytes wasted (wasted-bytes=1500000 > threshold=1000000)"), "{text}");
    let out = env.strata(&[
        "analyze",
        "--ci",
        "--ci-config",
        rules.to_str().unwrap(),
        "--highest-wasted-bytes",
        "disabled",
        "waste:1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // JSON carries the results.
    let json: Value = serde_json::from_slice(
        &env.strata(&["analyze", "--ci", "--format", "json", "waste:1"])
            .stdout,
    )
    .unwrap();
    assert_eq!(json["ci"]["results"][2]["rule"], "lowestEfficiency");
    assert_eq!(json["ci"]["results"][2]["status"], "FAIL");
}

#[test]
fn thresholds_need_ci_and_bad_rules_files_are_named() {
    let env = Env::with_base();
    let out = env.strata(&["analyze", "--lowest-efficiency", "0.5", "busybox:test"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a threshold without --ci is a usage error"
    );
    let rules = env.path("bad.yaml");
    std::fs::write(&rules, "rules:\n  lowestEfficency: 0.5\n").unwrap();
    let out = env.strata(&[
        "analyze",
        "--ci",
        "--ci-config",
        rules.to_str().unwrap(),
        "busybox:test",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("bad.yaml") && err.contains("rules.lowestEfficency"),
        "{err}"
    );
    let out = env.strata(&[
        "analyze",
        "--ci",
        "--lowest-efficiency",
        "2",
        "busybox:test",
    ]);
    assert!(
        stderr(&out).contains("--lowest-efficiency: \"2\" is not a ratio"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn registry_images_read_like_store_images_and_corrupt_layers_are_named() {
    let reg = TestRegistry::start();
    let env = common::registry_env::Env::with_base();
    let name = format!("{}/bb:1", reg.host());
    env.ok(&["push", "busybox:test", &name]);
    let json = |image: &str| -> Value {
        serde_json::from_str(&env.ok(&["analyze", "--format", "json", image]).0).unwrap()
    };
    let local = json("busybox:test");
    let remote = json(&format!("docker://{name}"));
    assert_eq!(figures(&remote), figures(&local));
    assert_eq!(remote["manifest_digest"], local["manifest_digest"]);
    assert!(local["total_bytes"].as_u64().unwrap() > 1_000_000);
    assert_eq!(local["wasted_bytes"], 0);

    let err = env.fails(&["analyze", "no-such-image:1"], 1);
    assert!(err.contains("no-such-image"), "{err}");

    // Corrupt the only layer blob in the store: the error names the layer.
    let layer = local["layers"][0]["digest"].as_str().unwrap().to_string();
    let blob = env
        .root()
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &bytes[..bytes.len() / 2]).unwrap();
    let err = env.fails(&["analyze", "busybox:test"], 1);
    assert!(err.contains(&format!("layer 0 ({layer})")), "{err}");
}

#[test]
#[ignore = "needs root"]
fn secrets_come_with_the_analysis_from_one_read_and_fail_the_run() {
    require_root();
    let env = Env::with_base();
    let creds = "GITHUB_TOKEN=ghp_NKryvtxw66v8GMDelNz4n8uNxNw28jsvvQPz\n";
    let ctx = env.context(
        "secret-ctx",
        &[
            ("creds", creds),
            (
                "Dockerfile",
                "FROM busybox:test\nCOPY creds /tmp/creds\nRUN rm /tmp/creds\n",
            ),
        ],
    );
    env.build(&["-t", "leaky:1", ctx.to_str().unwrap()]);
    let out = env.strata(&["analyze", "--secrets", "--format", "json", "leaky:1"]);
    assert_eq!(out.status.code(), Some(1), "a secret fails the run");
    assert!(
        stderr(&out).contains("1 secret(s) found"),
        "{}",
        stderr(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["wasted_bytes"],
        creds.len() as u64,
        "the deleted file is wasted: {v:#}"
    );
    let findings = v["secrets"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{v:#}");
    assert_eq!(findings[0]["rule"], "github-pat");
    assert_eq!(findings[0]["path"], "tmp/creds");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("ghp_NKryvtxw66v8"), "shown redacted");
    // The same finding as `strata scan`.
    let scan = env.strata(&["scan", "--format", "json", "leaky:1"]);
    let scanned: Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(scanned["findings"], v["secrets"]["findings"]);
    // Without --secrets, no scan and no failure.
    let out = env.strata(&["analyze", "leaky:1"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root"]
fn verify_hashes_the_layers_of_a_layout_read_in_place() {
    require_root();
    let env = Env::with_base();
    let ctx = env.path("plain-ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("data.bin"), noise(7, 300_000)).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:test\nCOPY data.bin /data.bin\n",
    )
    .unwrap();
    env.build(&[
        "--compression",
        "uncompressed",
        "-t",
        "plain:1",
        ctx.to_str().unwrap(),
    ]);
    let layout = env.path("plain-oci");
    env.ok(&["export", "-o", layout.to_str().unwrap(), "plain:1"]);
    let v = analyze_json(&env, "plain:1");
    let layer = v["layers"][1]["digest"].as_str().unwrap().to_string();
    let blob = layout
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    // One byte of data.bin's content flipped: the tar still reads.
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let at = format!("oci:{}", layout.display());
    let read = analyze_json(&env, &at);
    assert_eq!(figures(&read), figures(&v), "read as it is, like dive");
    let out = env.strata(&["analyze", "--verify", &at]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("layer 1 ({layer}) is corrupt")),
        "{err}"
    );
}
