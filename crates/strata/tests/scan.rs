//! `strata scan`: credentials of every rule kind planted in a file a later layer deletes,
//! under site-packages and node_modules, in ENV and in build args — none missed, each
//! with its layer and path, none shown in clear; and no finding on a clean Debian image
//! with Python and Node packages.

mod common;

use std::collections::BTreeSet;

use common::{stderr, Env};
use serde_json::Value;
use strata_check::secrets::RULES;

const SAMPLES: &str = include_str!("../../strata-check/tests/secrets/samples.tsv");

/// `(rule id, true positive)`; `escaped` keeps `\n` as the two characters (for one-line
/// places: ENV, build args).
fn samples(escaped: bool) -> Vec<(&'static str, String)> {
    SAMPLES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let cols: Vec<&'static str> = l.split('\t').collect();
            let positive = match escaped {
                true => cols[1].to_owned(),
                false => cols[1].replace("\\n", "\n"),
            };
            (cols[0], positive)
        })
        .collect()
}

fn all_rules() -> BTreeSet<String> {
    RULES.iter().map(|r| r.id.to_owned()).collect()
}

/// The planted image: a layer of files that the next layer deletes, files under
/// site-packages and node_modules, every sample in ENV and as a build arg of a RUN.
fn build_planted(env: &Env) -> Vec<String> {
    let text: String = samples(false)
        .iter()
        .map(|(_, s)| format!("{s}\n"))
        .collect();
    let mut dockerfile = String::from(
        "FROM busybox:test\n\
         COPY secrets/ /etc/planted/\n\
         RUN rm -rf /etc/planted\n\
         COPY site/ /usr/lib/python3/site-packages/strata_fixture/\n\
         COPY nm/ /app/node_modules/fixture/\n",
    );
    let mut build_args = Vec::new();
    for (i, (_, sample)) in samples(true).iter().enumerate() {
        dockerfile.push_str(&format!("ENV S_{i}='{sample}'\nARG A_{i}\n"));
        build_args.push("--build-arg".to_owned());
        build_args.push(format!("A_{i}={sample}"));
    }
    dockerfile.push_str("RUN true\n");
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", dockerfile.as_str()),
            ("secrets/deleted.txt", text.as_str()),
            ("site/planted.py", text.as_str()),
            ("nm/planted.js", text.as_str()),
        ],
    );
    let mut args: Vec<&str> = vec!["-t", "planted:1"];
    args.extend(build_args.iter().map(String::as_str));
    args.push(ctx.to_str().unwrap());
    env.build(&args);
    build_args
}

fn scan_json(env: &Env, image: &str) -> Value {
    let out = env.strata(&["scan", "--format", "json", image]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "findings exit 1: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The rule ids of the findings that `pick` selects.
fn rules_where(report: &Value, pick: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| pick(f))
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[ignore = "needs root"]
fn every_rule_is_found_in_deleted_files_packages_env_and_build_args() {
    common::require_root(); // RUN steps
    let env = Env::with_base();
    build_planted(&env);
    let report = scan_json(&env, "planted:1");
    let history = env.inspect("planted:1")["Config"]["history"].clone();
    let run_with_args = history
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h["created_by"].as_str().unwrap_or("").starts_with("RUN |"))
        .expect("the RUN with build args in the history");

    let in_file = |path: &'static str| move |f: &Value| f["source"] == "layer" && f["path"] == path;
    let deleted = "etc/planted/deleted.txt";
    assert_eq!(
        rules_where(&report, in_file(deleted)),
        all_rules(),
        "{deleted}"
    );
    for f in report["findings"].as_array().unwrap() {
        if f["path"] == deleted {
            assert_eq!(f["layer"], 1, "{f}");
            assert_eq!(f["removed"], "deleted", "{f}");
            assert_eq!(f["removed_in"], 2, "{f}");
            assert!(f["created_by"].as_str().unwrap().contains("COPY"), "{f}");
        }
    }
    for (path, layer) in [
        ("usr/lib/python3/site-packages/strata_fixture/planted.py", 3),
        ("app/node_modules/fixture/planted.js", 4),
    ] {
        assert_eq!(rules_where(&report, in_file(path)), all_rules(), "{path}");
        let layers = report["findings"].as_array().unwrap().iter();
        let mut layers = layers.filter(|f| f["path"] == path).map(|f| &f["layer"]);
        assert!(layers.all(|l| l == layer), "{path} in layer {layer}");
    }
    let env_rules = rules_where(&report, |f| f["source"] == "config" && f["field"] == "Env");
    assert_eq!(env_rules, all_rules(), "config Env");
    let arg_rules = rules_where(&report, |f| {
        f["source"] == "history" && f["history"] == run_with_args
    });
    assert_eq!(arg_rules, all_rules(), "build args in the history");
}

#[test]
#[ignore = "needs root"]
fn secrets_are_shown_redacted_grouped_by_layer_with_exit_codes() {
    common::require_root(); // RUN steps
    let env = Env::with_base();
    build_planted(&env);
    let text = env.strata(&["scan", "planted:1"]);
    let shown = String::from_utf8(text.stdout.clone()).unwrap();
    assert_eq!(text.status.code(), Some(1));
    assert!(
        stderr(&text).contains("secret(s) found"),
        "{}",
        stderr(&text)
    );
    assert!(shown.contains("layer 1 sha256:"), "{shown}");
    assert!(
        shown.contains("(deleted in layer 2, still shipped)"),
        "{shown}"
    );
    assert!(shown.contains("config: Env #"), "{shown}");
    assert!(shown.contains("ghp_*****"), "{shown}");
    let json = env
        .strata(&["scan", "--format", "json", "planted:1"])
        .stdout;
    let json = String::from_utf8(json).unwrap();
    for (id, sample) in samples(true) {
        let longest = sample
            .split(|c: char| !c.is_ascii_alphanumeric())
            .max_by_key(|w| w.len())
            .unwrap();
        assert!(longest.len() >= 12, "{id}: {sample}");
        for (name, output) in [("text", &shown), ("json", &json)] {
            assert!(!output.contains(longest), "{id} shown in clear in {name}");
        }
    }
    for (code, expect) in [("3", Some(3)), ("0", Some(0))] {
        let out = env.strata(&["scan", "--exit-code", code, "planted:1"]);
        assert_eq!(out.status.code(), expect, "--exit-code {code}");
    }
}

#[test]
#[ignore = "needs root"]
fn a_docker_archive_and_an_oci_layout_scan_like_the_store_image() {
    common::require_root(); // RUN steps
    let env = Env::with_base();
    build_planted(&env);
    let count = |v: &Value| v["findings"].as_array().unwrap().len();
    let stored = count(&scan_json(&env, "planted:1"));
    let archive = env.path("planted.tar");
    env.ok(&["save", "-o", archive.to_str().unwrap(), "planted:1"]);
    let layout = env.path("layout");
    env.ok(&[
        "copy",
        "store:planted:1",
        &format!("oci:{}:v1", layout.display()),
    ]);
    for location in [
        format!("docker-archive:{}", archive.display()),
        format!("oci:{}:v1", layout.display()),
    ] {
        assert_eq!(count(&scan_json(&env, &location)), stored, "{location}");
    }
}

#[test]
fn a_clean_image_exits_0_and_a_missing_one_names_it() {
    let env = Env::with_base();
    let out = env.strata(&["scan", "busybox:test"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.starts_with("no secrets found (1 layer(s)"), "{shown}");
    let out = env.strata(&["scan", "--platform", "linux/arm64", "busybox:test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--platform linux/arm64 picks"),
        "{}",
        stderr(&out)
    );
    let missing = env.path("missing.tar");
    let arg = format!("docker-archive:{}", missing.display());
    let out = env.strata(&["scan", &arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.tar"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root"]
fn no_false_positive_on_a_clean_debian_image_with_python_and_node() {
    common::require_root(); // debootstrap makes the fixture
    let rootfs = strata_testkit::debian_python_node_rootfs();
    let env = Env::empty();
    env.ok(&[
        "import",
        rootfs.to_str().unwrap(),
        "debian-python-node:clean",
    ]);
    let out = env.strata(&["scan", "--format", "json", "debian-python-node:clean"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    eprintln!(
        "clean Debian + Python + Node: {} finding(s) in {} text files ({} bytes), {} binary files skipped",
        findings.len(),
        report["files"],
        report["bytes"],
        report["binary_files"]
    );
    for f in findings {
        eprintln!("  {f}");
    }
    assert!(
        report["files"].as_u64().unwrap() > 1000,
        "the image was scanned"
    );
    assert_eq!(findings.len(), 0, "false positives");
    assert_eq!(out.status.code(), Some(0));
}
