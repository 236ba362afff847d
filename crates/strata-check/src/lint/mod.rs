//! `strata lint`: a Dockerfile parsed with strata-dockerfile, every rule of [`rules::RULES`]
//! run on it, findings minus the inline ignores (`# hadolint ignore=DL3008,DL3015` on the line
//! before an instruction, hadolint's syntax).

mod ignore;
pub mod rules;
pub mod shell;

use serde::Serialize;
use strata_dockerfile::{parse, parse_instructions, MetaArg, ParseError, Stage};

pub use rules::{Rule, RULES};

/// hadolint's severities, most severe first (the order `--failure-threshold` compares in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
    Style,
}

impl Severity {
    /// The lowercase name (`warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Style => "style",
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
    pub message: &'static str,
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
}

/// Lints Dockerfile text; `filename` names the file in parse errors. Findings are sorted by
/// line, then rule id.
pub fn lint(src: &str, filename: &str) -> Result<Vec<Finding>, LintError> {
    let df = parse(src).map_err(|e| e.with_filename(filename))?;
    let (meta_args, stages) =
        parse_instructions(&df).map_err(|e| LintError::Parse(e.with_filename(filename)))?;
    let ctx = Context {
        meta_args: &meta_args,
        stages: &stages,
    };
    let ignores = ignore::Ignores::scan(src);
    let mut findings: Vec<Finding> = RULES
        .iter()
        .flat_map(|rule| {
            (rule.check)(&ctx).into_iter().map(move |line| Finding {
                code: rule.id,
                level: rule.severity,
                line,
                message: rule.message,
            })
        })
        .filter(|f| !ignores.ignored(f.line, f.code))
        .collect();
    findings.sort_by(|a, b| (a.line, a.code).cmp(&(b.line, b.code)));
    findings.dedup();
    Ok(findings)
}
