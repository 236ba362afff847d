//! `strata lint`: lint a Dockerfile with strata-check's rules (hadolint's, BuildKit's build
//! checks, strata's practice rules); findings on stdout as text (hadolint's
//! `Dockerfile:LINE CODE level: message`), JSON (hadolint's fields), SARIF 2.1.0 or JUnit XML
//! (hadolint's shapes); exit 1 when one is at or above `--failure-threshold`. The config file
//! (hadolint's schema) is found as hadolint finds it, `.strata-lint.yaml` first; flags win
//! over it, lists add up.

mod junit;
mod sarif;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use strata_check::lint::config::Threshold;
use strata_check::lint::{check, Finding, LintConfig, Options, RuleSets, Severity};

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
    let config = merged_config(&args)?;
    let src = std::fs::read_to_string(&path).with_context(|| format!("read {name}"))?;
    let options = Options {
        rules: RuleSets::ALL,
        config: config.clone(),
        context: Some(super::checks::read_context(&args.context, &path)?),
        ..Options::default()
    };
    let findings = check(&src, &name, &options)?.findings;
    print(&findings, &name, format(&args, &config))?;
    if args.no_fail || config.no_fail.unwrap_or(false) {
        return Ok(());
    }
    let threshold = threshold(&args, &config);
    let failing = findings
        .iter()
        .filter(|f| threshold.is_some_and(|t| f.level.at_least(t)))
        .count();
    if failing > 0 {
        bail!(
            "{name}: {failing} finding(s) at or above the failure threshold {}",
            threshold.map_or("none", Severity::as_str)
        );
    }
    Ok(())
}

/// The config file (if any), then the flags: scalars from flags win, lists add up.
fn merged_config(args: &LintArgs) -> Result<LintConfig> {
    let mut config = match config_path(args)? {
        Some(path) => {
            tracing::debug!(config = %path.display(), "lint config file");
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path).with_context(|| format!("read {name}"))?;
            LintConfig::from_yaml(&text, &name)?
        }
        None => LintConfig::default(),
    };
    config.ignored.extend(args.ignore.iter().cloned());
    config
        .trusted_registries
        .extend(args.trusted_registry.iter().cloned());
    if args.strict_labels {
        config.strict_labels = Some(true);
    }
    if args.disable_ignore_pragma {
        config.disable_ignore_pragma = Some(true);
    }
    Ok(config)
}

/// `--config` as given (it must exist), else the first file found as hadolint looks:
/// `./.strata-lint.y[a]ml`, `./.hadolint.y[a]ml`, `$XDG_CONFIG_HOME` (`~/.config`)
/// `/strata-lint.y[a]ml` and `/hadolint.y[a]ml`, `~/.hadolint/{hadolint,config}.y[a]ml`,
/// `~/.hadolint.y[a]ml`.
fn config_path(args: &LintArgs) -> Result<Option<PathBuf>> {
    if let Some(path) = &args.config {
        if !path.is_file() {
            bail!("config file {} not found", path.display());
        }
        return Ok(Some(path.clone()));
    }
    Ok(config_candidates().into_iter().find(|p| p.is_file()))
}

fn config_candidates() -> Vec<PathBuf> {
    let both =
        |dir: &Path, stem: &str| ["yaml", "yml"].map(|ext| dir.join(format!("{stem}.{ext}")));
    let mut out = Vec::new();
    out.extend(both(Path::new("."), ".strata-lint"));
    out.extend(both(Path::new("."), ".hadolint"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    if let Some(xdg) = xdg {
        out.extend(both(&xdg, "strata-lint"));
        out.extend(both(&xdg, "hadolint"));
    }
    if let Some(home) = home {
        let app = home.join(".hadolint");
        out.extend(both(&app, "hadolint"));
        out.extend(both(&app, "config"));
        out.extend(both(&home, ".hadolint"));
    }
    out
}

/// `--format`, else the config's `format`, else text.
fn format(args: &LintArgs, config: &LintConfig) -> LintFormat {
    args.format.unwrap_or(match config.format.as_deref() {
        Some("json") => LintFormat::Json,
        Some("sarif") => LintFormat::Sarif,
        Some("junit") => LintFormat::Junit,
        _ => LintFormat::Text,
    })
}

/// The least severe level that fails: `--failure-threshold`, else the config's, else info.
fn threshold(args: &LintArgs, config: &LintConfig) -> Option<Severity> {
    let from_flag = args.failure_threshold.map(|t| match t {
        FailureThreshold::Error => Threshold::Error,
        FailureThreshold::Warning => Threshold::Warning,
        FailureThreshold::Info => Threshold::Info,
        FailureThreshold::Style => Threshold::Style,
        FailureThreshold::None => Threshold::None,
    });
    from_flag
        .or(config.failure_threshold)
        .unwrap_or(Threshold::Info)
        .severity()
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
