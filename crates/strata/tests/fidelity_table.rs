//! `docs/FIDELITY.md` covers everything the parser accepts: each instruction, each flag, each
//! `RUN --mount` type and option has a row, and every row names tests that exist. The lists
//! come from the parser's own tables, so a flag added to the parser without a row fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use strata_dockerfile::{instruction_table, MOUNT_OPTIONS, MOUNT_TYPES};

/// One table row of FIDELITY.md.
struct Row {
    line: usize,
    key: String,
    strata: String,
    tests: Vec<String>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text between the first pair of backticks.
fn first_code(cell: &str) -> Option<String> {
    let rest = cell.split_once('`')?.1;
    Some(rest.split_once('`')?.0.to_owned())
}

fn all_code(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(workspace().join("docs/FIDELITY.md")).unwrap();
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if !line.starts_with('|') || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        assert_eq!(
            cells.len(),
            5,
            "docs/FIDELITY.md:{}: a row has 5 cells (a `|` inside a cell must be avoided)",
            i + 1
        );
        if cells[0].trim() == "Key" {
            continue;
        }
        rows.push(Row {
            line: i + 1,
            key: first_code(cells[0]).unwrap_or_default(),
            strata: cells[3].trim().to_owned(),
            tests: all_code(cells[4]),
        });
    }
    rows
}

/// Every `#[test]` function name in the workspace's Rust sources.
fn test_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in walkdir::WalkDir::new(workspace().join("crates")) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let mut after_test = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[test]") {
                after_test = true;
            } else if after_test && line.starts_with("fn ") {
                let name = line[3..].split(['(', '<']).next().unwrap();
                names.insert(name.to_owned());
                after_test = false;
            } else if after_test && !line.starts_with("#[") && !line.starts_with("//") {
                after_test = false;
            }
        }
    }
    names
}

/// What must have a row: `COPY`, `COPY --chown`, `RUN --mount type=cache`, `RUN --mount uid`.
fn required_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for (name, flags) in instruction_table() {
        let name = name.to_uppercase();
        keys.push(name.clone());
        keys.extend(flags.iter().map(|f| format!("{name} --{f}")));
    }
    keys.extend(MOUNT_TYPES.iter().map(|t| format!("RUN --mount type={t}")));
    keys.extend(MOUNT_OPTIONS.iter().map(|o| format!("RUN --mount {o}")));
    keys
}

#[test]
fn every_instruction_flag_and_mount_option_has_a_fidelity_row() {
    let rows = rows();
    let have: BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let missing: Vec<String> = required_keys()
        .into_iter()
        .filter(|k| !have.contains(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/FIDELITY.md has no row for: {}",
        missing.join(", ")
    );
}

#[test]
fn every_fidelity_row_names_existing_tests() {
    let names = test_names();
    let mut bad = Vec::new();
    for row in rows() {
        if row.key.is_empty() || row.strata.is_empty() || row.tests.is_empty() {
            bad.push(format!(
                "line {}: a row needs a `key`, a strata column and a `test`",
                row.line
            ));
        }
        for t in &row.tests {
            if !names.contains(t) {
                bad.push(format!("line {}: no #[test] fn {t}", row.line));
            }
        }
    }
    assert!(bad.is_empty(), "docs/FIDELITY.md:\n{}", bad.join("\n"));
}
