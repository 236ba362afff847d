//! `strata lint`: lint a Dockerfile with strata-check's rules (hadolint's, BuildKit's build
//! checks, strata's practice rules); findings on stdout as text (hadolint's
//! `Dockerfile:LINE CODE level: message`), JSON (hadolint's fields), SARIF 2.1.0 or JUnit XML
//! (hadolint's shapes); exit 1 when one is at or above `--failure-threshold`.

mod junit;
mod sarif;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use strata_check::lint::{check, Finding, Options, RuleSets, Severity};

use crate::cli::{FailureThreshold, LintArgs, LintFormat};

/// One finding in hadolint's JSON shape.
#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'a str,
    column: usize,
    file: &'a str,
    level: Severity,
    line: usize,
    message: &'a str,
}

pub fn run(args: LintArgs) -> Result<()> {
    let path = dockerfile_path(&args)?;
    let name = path.display().to_string();
    let src = std::fs::read_to_string(&path).with_context(|| format!("read {name}"))?;
    let options = Options {
        rules: RuleSets::ALL,
        context: Some(super::checks::read_context(&args.context, &path)?),
        ..Options::default()
    };
    let findings = check(&src, &name, &options)?.findings;
    print(&findings, &name, args.format)?;
    let failing = findings
        .iter()
        .filter(|f| breaks(f.level, args.failure_threshold))
        .count();
    if failing > 0 {
        bail!(
            "{name}: {failing} finding(s) at or above the failure threshold {}",
            format!("{:?}", args.failure_threshold).to_lowercase()
        );
    }
    Ok(())
}

/// `-f` as given, else `CONTEXT/Dockerfile` (`Dockerfile` for the default context `.`, as
/// hadolint names it); the context must be a directory.
fn dockerfile_path(args: &LintArgs) -> Result<PathBuf> {
    if !args.context.is_dir() {
        bail!(
            "build context {} is not a directory",
            args.context.display()
        );
    }
    Ok(match &args.file {
        Some(file) => file.clone(),
        None if args.context == Path::new(".") => PathBuf::from("Dockerfile"),
        None => args.context.join("Dockerfile"),
    })
}

fn breaks(level: Severity, threshold: FailureThreshold) -> bool {
    let threshold = match threshold {
        FailureThreshold::Error => Severity::Error,
        FailureThreshold::Warning => Severity::Warning,
        FailureThreshold::Info => Severity::Info,
        FailureThreshold::Style => Severity::Style,
        FailureThreshold::None => return false,
    };
    level.at_least(threshold)
}

fn print(findings: &[Finding], name: &str, format: LintFormat) -> Result<()> {
    match format {
        LintFormat::Text => {
            for f in findings {
                super::out(format_args!(
                    "{name}:{} {} {}: {}",
                    f.line,
                    f.code,
                    f.level.as_str(),
                    f.message
                ))?;
            }
        }
        LintFormat::Json => {
            let rows: Vec<JsonFinding> = findings
                .iter()
                .map(|f| JsonFinding {
                    code: f.code,
                    column: 1,
                    file: name,
                    level: f.level,
                    line: f.line,
                    message: &f.message,
                })
                .collect();
            super::out(serde_json::to_string(&rows)?)?;
        }
        LintFormat::Sarif => super::out(serde_json::to_string(&sarif::log(findings, name))?)?,
        LintFormat::Junit => super::out(junit::report(findings, name))?,
    }
    Ok(())
}
