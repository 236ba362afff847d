//! `strata lint`: a Dockerfile parsed with strata-dockerfile, every rule of [`rules::RULES`]
//! (hadolint's), [`buildkit::RULES`] (BuildKit's build checks) and [`practice::RULES`]
//! (strata's own) run on it, findings minus the inline ignores (`# hadolint ignore=DL3008` on
//! the line before an instruction, hadolint's syntax) and minus what the `# check=` directive
//! skips (BuildKit's syntax, see [`directive`]).

pub mod buildkit;
pub mod directive;
mod dyn_rule;
mod ignore;
pub mod practice;
pub mod rules;
pub mod shell;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
pub use strata_dockerfile::DockerIgnore;
use strata_dockerfile::{parse, parse_instructions, Dockerfile, MetaArg, ParseError, Stage};

pub use directive::CheckConfig;
pub use dyn_rule::DynRule;
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
    /// The rule's message (hadolint's rules) or the finding's own text (BuildKit's detail,
    /// e.g. `Stage name 'Build' should be lowercase`).
    pub message: Cow<'static, str>,
}

/// Which family a rule id belongs to, and where its documentation lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Hadolint,
    Buildkit,
    Practice,
}

/// The family of a rule id, `None` when no table has it.
pub fn family(code: &str) -> Option<Family> {
    if RULES.iter().any(|r| r.id == code) {
        Some(Family::Hadolint)
    } else if buildkit::RULES.iter().any(|r| r.id == code) {
        Some(Family::Buildkit)
    } else if practice::RULES.iter().any(|r| r.id == code) {
        Some(Family::Practice)
    } else {
        None
    }
}

/// The help address of a rule: BuildKit's docs URL, hadolint's wiki page, or strata's own
/// page (relative to the repository root) for practice rules.
pub fn help_uri(code: &str) -> String {
    match family(code) {
        Some(Family::Buildkit) => buildkit::rule(code).map_or("", |r| r.url).to_string(),
        Some(Family::Hadolint) => format!("https://github.com/hadolint/hadolint/wiki/{code}"),
        _ => format!("docs/rules/{code}.md"),
    }
}

/// The one-line description of a rule (hadolint's message, BuildKit's description).
pub fn description(code: &str) -> &'static str {
    RULES
        .iter()
        .find(|r| r.id == code)
        .map(|r| r.message)
        .or_else(|| buildkit::rule(code).map(|r| r.description))
        .or_else(|| practice::rule(code).map(|r| r.description))
        .unwrap_or("")
}

/// A Dockerfile that could not be linted.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// It does not parse; the error renders as `Dockerfile:LINE:COL: …`.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The `# check=` directive (or its override) is not BuildKit's syntax.
    #[error("{file}: invalid check directive")]
    Check {
        file: String,
        #[source]
        source: directive::DirectiveError,
    },
}

/// What the build context holds that rules look at; the caller reads it (strata-check does
/// no I/O).
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// The context's `.dockerignore`, parsed; `None` when the context has none.
    pub dockerignore: Option<DockerIgnore>,
    /// The names at the context's root (`package.json`, `.git`, …).
    pub root_entries: Vec<String>,
}

impl BuildContext {
    /// Whether the context's root has `name`.
    pub fn has(&self, name: &str) -> bool {
        self.root_entries.iter().any(|e| e == name)
    }
}

/// Which rule tables run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSets {
    pub hadolint: bool,
    pub buildkit: bool,
    pub practice: bool,
}

impl RuleSets {
    /// Every table (`strata lint`).
    pub const ALL: RuleSets = RuleSets {
        hadolint: true,
        buildkit: true,
        practice: true,
    };
    /// hadolint's rules only.
    pub const HADOLINT: RuleSets = RuleSets {
        hadolint: true,
        buildkit: false,
        practice: false,
    };
    /// BuildKit's build checks only (what `strata build` prints).
    pub const BUILDKIT: RuleSets = RuleSets {
        hadolint: false,
        buildkit: true,
        practice: false,
    };
}

/// How to lint: which rules, the build context, what is known of base images.
#[derive(Debug, Clone)]
pub struct Options {
    pub rules: RuleSets,
    /// The build context, when there is one (`CopyIgnoredFile`, the `.dockerignore` rules).
    pub context: Option<BuildContext>,
    /// The environment of base images, by the name FROM gives (after ARG expansion). A stage
    /// whose base is not here is not checked for `UndefinedVar` (its variables are unknown).
    pub base_env: BTreeMap<String, Vec<(String, String)>>,
    /// `--build-arg` values (they define variables for `UndefinedArgInFrom`).
    pub build_args: BTreeMap<String, String>,
    /// The `BUILDKIT_DOCKERFILE_CHECK` build argument: replaces the `# check=` directive.
    pub check_override: Option<String>,
    /// `Some(target)` for a build: BuildKit's dispatch-time checks only look at the stages
    /// the target (`None`: the last stage) needs; `None` (lint): every stage.
    pub build_target: Option<Option<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rules: RuleSets::HADOLINT,
            context: None,
            base_env: BTreeMap::new(),
            build_args: BTreeMap::new(),
            check_override: None,
            build_target: None,
        }
    }
}

/// What the rules look at: the parsed file, the ARGs before the first FROM, the stages, and
/// the caller's options (build context, base images).
pub struct Context<'a> {
    pub meta_args: &'a [MetaArg],
    pub stages: &'a [Stage],
    pub dockerfile: &'a Dockerfile,
    pub options: &'a Options,
}

/// The findings of a lint and the `# check=` configuration in force.
#[derive(Debug, Clone)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub config: CheckConfig,
}

/// Lints Dockerfile text with hadolint's rules; `filename` names the file in parse errors.
/// Findings are sorted by line, then rule id.
pub fn lint(src: &str, filename: &str) -> Result<Vec<Finding>, LintError> {
    check(src, filename, &Options::default()).map(|r| r.findings)
}

/// Lints Dockerfile text with the rule tables `options` selects. Findings are sorted by line,
/// rule id, then message; `# hadolint ignore=` and `# check=skip=` are applied.
pub fn check(src: &str, filename: &str, options: &Options) -> Result<Report, LintError> {
    let df = parse(src).map_err(|e| e.with_filename(filename))?;
    let (meta_args, stages) =
        parse_instructions(&df).map_err(|e| LintError::Parse(e.with_filename(filename)))?;
    let config = directive::config(&df, options.check_override.as_deref()).map_err(|source| {
        LintError::Check {
            file: filename.to_string(),
            source,
        }
    })?;
    let ctx = Context {
        meta_args: &meta_args,
        stages: &stages,
        dockerfile: &df,
        options,
    };
    let ignores = ignore::Ignores::scan(src);
    let mut findings = run_tables(&ctx, &config);
    findings.retain(|f| !ignores.ignored(f.line, f.code));
    findings.sort_by(|a, b| (a.line, a.code, &a.message).cmp(&(b.line, b.code, &b.message)));
    findings.dedup();
    Ok(Report { findings, config })
}

fn run_tables(ctx: &Context, config: &CheckConfig) -> Vec<Finding> {
    let sets = ctx.options.rules;
    let mut out = Vec::new();
    if sets.hadolint {
        for rule in RULES.iter().filter(|r| config.runs(r.id, false)) {
            out.extend((rule.check)(ctx).into_iter().map(|line| Finding {
                code: rule.id,
                level: rule.severity,
                line,
                message: Cow::Borrowed(rule.message),
            }));
        }
    }
    let tables = [
        (sets.buildkit, buildkit::RULES),
        (sets.practice, practice::RULES),
    ];
    for (_, table) in tables.iter().filter(|(on, _)| *on) {
        for rule in table.iter().filter(|r| config.runs(r.id, r.experimental)) {
            out.extend(rule.findings(ctx));
        }
    }
    out
}
