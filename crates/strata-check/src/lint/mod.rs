//! `strata lint`: a Dockerfile parsed with strata-dockerfile, every rule of [`rules::RULES`]
//! run on it, findings minus the inline ignores (`# hadolint ignore=DL3008,DL3015` on the line
//! before an instruction, hadolint's syntax). [`lint_with`] applies a [`LintConfig`]
//! (hadolint's config file: ignored rules, severity overrides, rule options).

pub mod config;
mod ignore;
pub mod rules;
pub mod shell;

use std::borrow::Cow;

use serde::Serialize;
use strata_dockerfile::{parse, parse_instructions, Dockerfile, MetaArg, ParseError, Stage};

pub use config::LintConfig;
pub use rules::{Rule, RULES};

/// hadolint's severities, most severe first (the order `--failure-threshold` compares in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
    Style,
    /// Not reported (hadolint's `ignore`: the default of DL1001 and DL3057, which an
    /// `override` turns on).
    Ignore,
}

impl Severity {
    /// The lowercase name (`warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Style => "style",
            Severity::Ignore => "ignore",
        }
    }

    /// Whether `self` is at least as severe as `threshold`.
    pub fn at_least(self, threshold: Severity) -> bool {
        self <= threshold
    }
}

/// One finding: a rule broken at a line (the first line of the instruction, as hadolint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub level: Severity,
    pub line: usize,
    pub message: Cow<'static, str>,
}

/// A Dockerfile that could not be linted.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// It does not parse; the error renders as `Dockerfile:LINE:COL: …`.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// What the rules look at: the ARGs before the first FROM and the parsed stages.
pub struct Context<'a> {
    pub meta_args: &'a [MetaArg],
    pub stages: &'a [Stage],
    /// Every node as parsed, in file order, including those [`rules::order`] keeps out of
    /// `stages` (instructions before the first FROM, forbidden ONBUILD triggers).
    pub dockerfile: &'a Dockerfile,
    /// The Dockerfile text (comments are not nodes).
    pub src: &'a str,
    /// Rule options (trusted registries, label schema).
    pub config: &'a LintConfig,
}

/// Lints Dockerfile text with the default configuration; `filename` names the file in parse
/// errors. Findings are sorted by line, then rule id.
pub fn lint(src: &str, filename: &str) -> Result<Vec<Finding>, LintError> {
    lint_with(src, filename, &LintConfig::default())
}

/// Lints Dockerfile text with `config`: its rule options, `ignored` rules, severity
/// `override`s and `disable-ignore-pragma`.
pub fn lint_with(
    src: &str,
    filename: &str,
    config: &LintConfig,
) -> Result<Vec<Finding>, LintError> {
    let df = parse(src).map_err(|e| e.with_filename(filename))?;
    let typed = rules::order::buildable(&df);
    let (meta_args, stages) =
        parse_instructions(&typed).map_err(|e| LintError::Parse(e.with_filename(filename)))?;
    let ctx = Context {
        meta_args: &meta_args,
        stages: &stages,
        dockerfile: &df,
        src,
        config,
    };
    let ignores = ignore::Ignores::scan(src);
    let pragmas = !config.disable_ignore_pragma.unwrap_or(false);
    let mut findings: Vec<Finding> = rules::hits(&ctx)
        .filter_map(|hit| {
            let level = config.severity_of(hit.code, hit.severity);
            let off = level == Severity::Ignore || config.ignores(hit.code);
            let inline = pragmas && ignores.ignored(hit.line, hit.code);
            (!off && !inline).then_some(Finding {
                code: hit.code,
                level,
                line: hit.line,
                message: hit.message,
            })
        })
        .collect();
    findings.sort_by(|a, b| (a.line, a.code, &a.message).cmp(&(b.line, b.code, &b.message)));
    findings.dedup();
    Ok(findings)
}
