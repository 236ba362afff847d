//! SARIF 2.1.0 output, hadolint's shape (`--format sarif`): one run whose tool driver lists
//! the rules that fired (id, description, `helpUri`), one result per finding with its
//! physical location (artifact URI, region start/end line, column 1).

use serde_json::{json, Value};
use strata_check::lint::{description, help_uri, Finding, Severity};

/// hadolint's mapping: info and style are SARIF `note`s (`ignore` is never reported).
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Style => "note",
        Severity::Ignore => "none",
    }
}

/// The SARIF log of `findings` in the Dockerfile `file`.
pub fn log(findings: &[Finding], file: &str) -> Value {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.code).collect();
    ids.sort_unstable();
    ids.dedup();
    let rules: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "shortDescription": { "text": description(id) },
                "helpUri": help_uri(id),
            })
        })
        .collect();
    let results: Vec<Value> = findings.iter().map(|f| result(f, file, &ids)).collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "strata",
                "fullName": "strata lint",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/strata/strata/blob/main/docs/LINT.md",
                "rules": rules,
            }},
            "defaultSourceLanguage": "dockerfile",
            "results": results,
        }],
    })
}

fn result(f: &Finding, file: &str, ids: &[&str]) -> Value {
    json!({
        "ruleId": f.code,
        "ruleIndex": ids.iter().position(|i| *i == f.code),
        "level": level(f.level),
        "message": { "text": f.message },
        "locations": [{ "physicalLocation": {
            "artifactLocation": { "uri": file },
            "region": {
                "startLine": f.line,
                "startColumn": 1,
                "endLine": f.line,
                "endColumn": 1,
                "sourceLanguage": "dockerfile",
            },
        }}],
    })
}
