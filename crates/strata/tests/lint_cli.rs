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
    assert_eq!(got, [(1, "DL3006", "warning"), (4, "DL4000", "error")]);
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

/// The (line, code, level) of JSON findings.
fn json_rows(out: &Output) -> Vec<(u64, String, String)> {
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    rows.iter()
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
        &["--format", "json", "--ignore", "DL3003"],
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
