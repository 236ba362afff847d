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
