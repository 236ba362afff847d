//! The build checks of `strata build` (BuildKit's, as `docker build` runs them): printed after
//! every build as buildx's summary (` - RULE: message (line N)`), or alone with `--check`
//! (buildx's expanded form, exit 1 when any); `# check=error=true` fails the build before
//! anything runs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use strata_build::BuildOptions;
use strata_check::lint::{check, help_uri, Finding, LintError, Options, Report, RuleSets};
use strata_content::Store;
use strata_oci::Reference;

/// The checks of the build's Dockerfile; `None` when it cannot be read or does not parse
/// (the build reports that itself, with its usual message).
/// `all_stages` (`--check`, BuildKit's lint request) checks every stage; a build checks the
/// stages its target needs.
pub fn run(
    store: &Store,
    opts: &BuildOptions,
    all_stages: bool,
) -> Result<Option<(Report, Vec<String>)>> {
    let path = &opts.dockerfile;
    let name = path.display().to_string();
    // A Dockerfile or .dockerignore that cannot be read is the build's to report, as usual.
    let Ok(src) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let Ok(context) = super::super::checks::read_context(&opts.context, path) else {
        return Ok(None);
    };
    let options = Options {
        rules: RuleSets::BUILDKIT,
        context: Some(context),
        base_env: base_envs(store, &src),
        build_args: opts.build_args.clone(),
        check_override: opts.build_args.get("BUILDKIT_DOCKERFILE_CHECK").cloned(),
        build_target: (!all_stages).then(|| opts.target.clone()),
        ..Options::default()
    };
    match check(&src, &name, &options) {
        Ok(report) => Ok(Some((report, src.lines().map(str::to_string).collect()))),
        Err(LintError::Parse(e)) => {
            tracing::debug!(error = %e, "build checks skipped: the Dockerfile does not parse");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The environment of every FROM image already in the store (for `UndefinedVar`); images
/// not there count as setting only PATH.
fn base_envs(store: &Store, src: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for line in src.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        if !first.eq_ignore_ascii_case("from") {
            continue;
        }
        let Some(base) = words[1..].iter().find(|w| !w.starts_with("--")) else {
            continue;
        };
        if Reference::parse(base).is_err() {
            continue;
        }
        if let Ok(image) = store.resolve(base) {
            let env = image
                .config
                .config
                .env
                .iter()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            out.insert(base.to_string(), env);
        }
    }
    out
}

/// BuildKit's `LintFormatShort`.
fn short(f: &Finding) -> String {
    format!("{}: {} (line {})", f.code, f.message, f.line)
}

/// buildx's summary after a build, on stderr.
pub fn print_summary(findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let n = findings.len();
    let s = if n == 1 { "" } else { "s" };
    eprintln!("\n{n} warning{s} found (use strata build --check to expand):");
    for f in findings {
        eprintln!(" - {}", short(f));
    }
}

/// buildx's `--check` output: each warning with its rule, URL, detail and the source lines
/// around it, then the count.
pub fn print_expanded(findings: &[Finding], file: &Path, lines: &[String]) {
    for f in findings {
        eprintln!("\nWARNING: {} - {}", f.code, help_uri(f.code));
        eprintln!("{}", f.message);
        eprintln!("{}:{}", file.display(), f.line);
        eprintln!("--------------------");
        let from = f.line.saturating_sub(2).max(1);
        let to = (f.line + 2).min(lines.len());
        for n in from..=to {
            let mark = if n == f.line { ">>>" } else { "   " };
            eprintln!(" {mark} {n:>3} | {}", lines[n - 1]);
        }
        eprintln!("--------------------");
    }
    match findings.len() {
        0 => println!("Check complete, no warnings found."),
        1 => eprintln!("Check complete, 1 warning has been found!"),
        n => eprintln!("Check complete, {n} warnings have been found!"),
    }
}

/// `# check=error=true` with findings: BuildKit's error, before the build runs.
pub fn fail_on_error(report: &Report) -> Result<()> {
    if !report.config.error || report.findings.is_empty() {
        return Ok(());
    }
    let mut rules: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    rules.sort_unstable();
    rules.dedup();
    bail!("lint violation found for rules: {}", rules.join(", "))
}
