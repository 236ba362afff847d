//! `strata lint` end to end: the real binary on Dockerfiles in a temp context.

use std::path::Path;
use std::process::{Command, Output};

fn strata_lint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn text_findings_like_hadolint_and_exit_1_at_the_default_threshold() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\n",
    )
    .unwrap();
    let out = strata_lint(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Dockerfile:2 DL3008 warning: Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`\n"
    );
    // An error threshold lets a warning pass.
    let out = strata_lint(dir.path(), &["--failure-threshold", "error"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn json_output_and_dash_f_and_inline_ignore() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").unwrap();
    std::fs::write(
        dir.path().join("app.Dockerfile"),
        "FROM ubuntu\n# hadolint ignore=DL3003\nRUN cd /tmp\nMAINTAINER me\n",
    )
    .unwrap();
    let out = strata_lint(dir.path(), &["-f", "app.Dockerfile", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "DL3006", "warning"),
            (1, "UnpinnedBaseImage", "warning"),
            (4, "DL4000", "error"),
            (4, "MaintainerDeprecated", "warning")
        ]
    );
    assert_eq!(rows[0]["file"], "app.Dockerfile");
}

#[test]
fn unparsable_dockerfile_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM a:1\nCOPPY x y\n").unwrap();
    let out = strata_lint(dir.path(), &["--failure-threshold", "none"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("Dockerfile:2:1: unknown instruction: COPPY"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// A context with a Dockerfile breaking a hadolint rule, BuildKit checks and practice rules.
fn mixed_context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM debian:12 AS Build\nCOPY . /app\nRUN apt-get install -y curl && npm ci\nCMD node /app/main.js\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("package.json"), "{}\n").unwrap();
    dir
}

#[test]
fn text_has_buildkit_checks_and_practice_rules_with_their_messages() {
    let dir = mixed_context();
    let out = strata_lint(dir.path(), &["--failure-threshold", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "Dockerfile:1 StageNameCasing warning: Stage name 'Build' should be lowercase",
        "Dockerfile:1 DockerignoreMissing info: The build context has no .dockerignore",
        "Dockerfile:1 DockerignoreKeepsNodeModules warning: ",
        "Dockerfile:2 DependencyManifestAfterSources warning: Sources are copied (line 2) before dependencies are installed (line 3)",
        "Dockerfile:4 DL3025 warning: Use arguments JSON notation",
        "Dockerfile:4 JSONArgsRecommended warning: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // `# check=skip=` silences BuildKit, hadolint and practice ids alike.
    let df = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("# check=skip=StageNameCasing,DL3025,DockerignoreMissing\n{df}"),
    )
    .unwrap();
    let stdout = text(&strata_lint(dir.path(), &["--failure-threshold", "none"]).stdout);
    for gone in ["StageNameCasing", "DL3025", "DockerignoreMissing"] {
        assert!(!stdout.contains(gone), "{gone} not skipped:\n{stdout}");
    }
    assert!(
        stdout.contains("Dockerfile:5 JSONArgsRecommended"),
        "{stdout}"
    );
}

#[test]
fn sarif_is_a_2_1_0_log_with_rules_and_locations() {
    let dir = mixed_context();
    let out = strata_lint(dir.path(), &["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1), "findings still fail the run");
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "strata");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(
        rule("StageNameCasing")["helpUri"],
        "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/"
    );
    assert_eq!(
        rule("DL3025")["helpUri"],
        "https://github.com/hadolint/hadolint/wiki/DL3025"
    );
    assert_eq!(
        rule("DependencyManifestAfterSources")["helpUri"],
        "docs/rules/DependencyManifestAfterSources.md"
    );
    let results = run["results"].as_array().unwrap();
    let json_args = results
        .iter()
        .find(|r| r["ruleId"] == "JSONArgsRecommended")
        .unwrap();
    assert_eq!(json_args["level"], "warning");
    let loc = &json_args["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "Dockerfile");
    assert_eq!(loc["region"]["startLine"], 4);
    let idx = json_args["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], "JSONArgsRecommended");
    let missing = results
        .iter()
        .find(|r| r["ruleId"] == "DockerignoreMissing")
        .unwrap();
    assert_eq!(
        missing["level"], "note",
        "info is a SARIF note, as hadolint"
    );
}

/// The start and end tags of an XML document, checked to nest; (name, attributes) of each
/// start tag, attribute values unescaped.
fn xml_elements(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
    let body = xml
        .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut rest = body.trim_end();
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "unescaped > in text {text:?}");
        let end = rest[start..].find('>').unwrap() + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        let mut pairs = Vec::new();
        for part in attrs.split("\" ").filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once("=\"").expect("attribute");
            assert!(
                !v.trim_end_matches('"').contains(['<', '"']),
                "unescaped {v:?}"
            );
            let v = v
                .trim_end_matches('"')
                .replace("&lt;", "<")
                .replace("&gt;", ">");
            pairs.push((
                k.to_string(),
                v.replace("&quot;", "\"").replace("&amp;", "&"),
            ));
        }
        out.push((name.to_string(), pairs));
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    out
}

#[test]
fn junit_is_hadolints_shape_and_well_formed() {
    let dir = mixed_context();
    let out = strata_lint(dir.path(), &["--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let elements = xml_elements(text(&out.stdout).trim());
    let names: Vec<&str> = elements.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&names[..2], ["testsuites", "testsuite"]);
    let attr = |e: &(String, Vec<(String, String)>), k: &str| {
        e.1.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone())
    };
    let failures: Vec<_> = elements.iter().filter(|e| e.0 == "failure").collect();
    assert_eq!(
        attr(&elements[1], "failures"),
        Some(failures.len().to_string())
    );
    let cmd = failures
        .iter()
        .find(|f| attr(f, "id").as_deref() == Some("JSONArgsRecommended"))
        .unwrap();
    assert_eq!(attr(cmd, "type").as_deref(), Some("warning"));
    let testcases = elements.iter().filter(|e| e.0 == "testcase");
    assert!(testcases
        .clone()
        .any(|t| attr(t, "id").as_deref() == Some("strata.rule.DL3025")));
    assert_eq!(testcases.count(), failures.len());
}

/// `strata lint` in `dir` with HOME and XDG_CONFIG_HOME in `home` (no user config leaks in).
fn strata_lint_home(dir: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .unwrap()
}

/// The (line, code, level) of JSON findings of hadolint's rules (the `DL` ids: these tests
/// are about hadolint's config file; BuildKit's and the practice rules have their own).
fn json_rows(out: &Output) -> Vec<(u64, String, String)> {
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    rows.iter()
        .filter(|r| r["code"].as_str().is_some_and(|c| c.starts_with("DL")))
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(line: u64, code: &str, level: &str) -> (u64, String, String) {
    (line, code.to_string(), level.to_string())
}

/// DL3006 (warning, line 1), DL3059 (info, line 3), DL3003 (warning, line 3).
const DOCKERFILE: &str = "FROM ubuntu\nRUN echo a\nRUN cd /tmp\n";

fn project() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").unwrap();
    (dir, tempfile::tempdir().unwrap())
}

#[test]
fn hadolint_yaml_in_the_current_dir_is_found_ignored_and_override_apply() {
    let (dir, home) = project();
    let out = strata_lint_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(
        json_rows(&out),
        [
            row(1, "DL3006", "warning"),
            row(3, "DL3003", "warning"),
            row(3, "DL3059", "info")
        ]
    );
    std::fs::write(
        dir.path().join(".hadolint.yaml"),
        "ignored: [DL3003]\noverride:\n  error: [DL3059]\n  style: [DL3006]\n",
    )
    .unwrap();
    let out = strata_lint_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(
        json_rows(&out),
        [row(1, "DL3006", "style"), row(3, "DL3059", "error")]
    );
    // strata's own name wins over hadolint's when both are there.
    std::fs::write(
        dir.path().join(".strata-lint.yaml"),
        "ignored: [DL3006, DL3059]\n",
    )
    .unwrap();
    let out = strata_lint_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(json_rows(&out), [row(3, "DL3003", "warning")]);
    // `--ignore` adds to the file's list.
    let out = strata_lint_home(
        dir.path(),
        home.path(),
        &[
            "--format",
            "json",
            "--ignore",
            "DL3003",
            "--ignore",
            "UnpinnedBaseImage",
        ],
    );
    assert_eq!(json_rows(&out), []);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn user_config_under_xdg_config_home_is_found_when_the_current_dir_has_none() {
    let (dir, home) = project();
    std::fs::create_dir_all(home.path().join(".config")).unwrap();
    std::fs::write(
        home.path().join(".config/hadolint.yaml"),
        "ignored: [DL3006, DL3059]\n",
    )
    .unwrap();
    let out = strata_lint_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(json_rows(&out), [row(3, "DL3003", "warning")]);
}

#[test]
fn dash_dash_config_and_failure_threshold_and_format_from_the_file_flags_win() {
    let (dir, home) = project();
    let cfg = home.path().join("lint.yaml");
    std::fs::write(&cfg, "failure-threshold: error\nformat: json\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    // Warnings only: below the file's threshold, exit 0; output is the file's JSON.
    let out = strata_lint_home(dir.path(), home.path(), &["--config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json_rows(&out).len(), 3);
    // The flag wins over the file.
    let out = strata_lint_home(
        dir.path(),
        home.path(),
        &[
            "--config",
            cfg,
            "--failure-threshold",
            "warning",
            "--format",
            "tty",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("Dockerfile:1 DL3006 warning: "),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("at or above the failure threshold warning"),
        "{}",
        text(&out.stderr)
    );
    // `no-fail` from a file.
    std::fs::write(home.path().join("nofail.yaml"), "no-fail: true\n").unwrap();
    let nofail = home.path().join("nofail.yaml");
    let out = strata_lint_home(dir.path(), home.path(), &["-c", nofail.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn unknown_key_missing_file_and_bad_value_are_errors_naming_them() {
    let (dir, home) = project();
    std::fs::write(dir.path().join(".hadolint.yaml"), "ignore:\n  - DL3006\n").unwrap();
    let out = strata_lint_home(dir.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("./.hadolint.yaml: unknown key `ignore`"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    std::fs::write(dir.path().join(".hadolint.yaml"), "verbose: true\n").unwrap();
    let err = text(&strata_lint_home(dir.path(), home.path(), &[]).stderr);
    assert!(err.contains("key `verbose` is hadolint's"), "{err}");

    std::fs::write(
        dir.path().join(".hadolint.yaml"),
        "failure-threshold: loud\n",
    )
    .unwrap();
    let err = text(&strata_lint_home(dir.path(), home.path(), &[]).stderr);
    assert!(
        err.contains("key `failure-threshold`: unknown variant `loud`"),
        "{err}"
    );

    let out = strata_lint_home(dir.path(), home.path(), &["--config", "nope.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("config file nope.yaml not found"));
}

#[test]
fn trusted_registry_flag_and_label_schema_from_the_file() {
    let (dir, home) = project();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM quay.io/app/base:1\nLABEL version=\"v1\"\n",
    )
    .unwrap();
    let out = strata_lint_home(
        dir.path(),
        home.path(),
        &["--format", "json", "--trusted-registry", "docker.io"],
    );
    assert_eq!(json_rows(&out), [row(1, "DL3026", "error")]);
    std::fs::write(
        dir.path().join(".hadolint.yaml"),
        "trustedRegistries: [quay.io]\nlabel-schema:\n  version: semver\n  maintainer: text\n",
    )
    .unwrap();
    let out = strata_lint_home(dir.path(), home.path(), &["--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "DL3049", "Label `maintainer` is missing."),
            (
                2,
                "DL3056",
                "Label `version` does not conform to semantic versioning."
            )
        ]
    );
}
