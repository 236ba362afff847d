//! `strata lint`: a Dockerfile parsed with strata-dockerfile, every rule of [`rules::RULES`]
//! (hadolint's), [`buildkit::RULES`] (BuildKit's build checks) and [`practice::RULES`]
//! (strata's own) run on it, findings minus the inline ignores (`# hadolint ignore=DL3008` on
//! the line before an instruction, hadolint's syntax) and minus what the `# check=` directive
//! skips (BuildKit's syntax, see [`directive`]). [`lint_with`] applies a [`LintConfig`]
//! (hadolint's config file: ignored rules, severity overrides, rule options).

pub mod buildkit;
pub mod config;
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

pub use config::LintConfig;
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
    if rules::ids().any(|id| id == code) {
        Some(Family::Hadolint)
    } else if buildkit::rule(code).is_some() {
        Some(Family::Buildkit)
    } else if practice::rule(code).is_some() {
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
        .or_else(|| {
            rules::LABEL_RULES
                .iter()
                .find(|r| r.id == code)
                .map(|r| r.message)
        })
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

/// How to lint: which rules, the config file, the build context, what is known of base
/// images.
#[derive(Debug, Clone)]
pub struct Options {
    pub rules: RuleSets,
    /// hadolint's config file (ignored rules and severity overrides apply to every table).
    pub config: LintConfig,
    /// The build context, when there is one (`CopyIgnoredFile`, the `.dockerignore` rules).
    pub context: Option<BuildContext>,
    /// The environment of base images, by the name FROM gives (after ARG expansion). A base
    /// not here counts as setting only `PATH` (for `UndefinedVar`).
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
            config: LintConfig::default(),
            context: None,
            base_env: BTreeMap::new(),
            build_args: BTreeMap::new(),
            check_override: None,
            build_target: None,
        }
    }
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
    /// The caller's options (build context, base images, build arguments).
    pub options: &'a Options,
}

/// The findings of a lint and the `# check=` configuration in force.
#[derive(Debug, Clone)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub config: CheckConfig,
}

/// Lints Dockerfile text with hadolint's rules and the default configuration; `filename`
/// names the file in parse errors. Findings are sorted by line, then rule id.
pub fn lint(src: &str, filename: &str) -> Result<Vec<Finding>, LintError> {
    lint_with(src, filename, &LintConfig::default())
}

/// Lints Dockerfile text with hadolint's rules and `config`: its rule options, `ignored`
/// rules, severity `override`s and `disable-ignore-pragma`.
pub fn lint_with(
    src: &str,
    filename: &str,
    config: &LintConfig,
) -> Result<Vec<Finding>, LintError> {
    let options = Options {
        config: config.clone(),
        ..Options::default()
    };
    check(src, filename, &options).map(|r| r.findings)
}

/// Lints Dockerfile text with the rule tables `options` selects. Findings are sorted by line,
/// rule id, then message; the config file, `# hadolint ignore=` and `# check=skip=` apply.
pub fn check(src: &str, filename: &str, options: &Options) -> Result<Report, LintError> {
    let df = parse(src).map_err(|e| e.with_filename(filename))?;
    let typed = rules::order::buildable(&df);
    let (meta_args, stages) =
        parse_instructions(&typed).map_err(|e| LintError::Parse(e.with_filename(filename)))?;
    let checks = directive::config(&df, options.check_override.as_deref()).map_err(|source| {
        LintError::Check {
            file: filename.to_string(),
            source,
        }
    })?;
    let config = &options.config;
    let ctx = Context {
        meta_args: &meta_args,
        stages: &stages,
        dockerfile: &df,
        src,
        config,
        options,
    };
    let ignores = ignore::Ignores::scan(src);
    let pragmas = !config.disable_ignore_pragma.unwrap_or(false);
    let mut findings: Vec<Finding> = hits(&ctx, &checks)
        .into_iter()
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
    Ok(Report {
        findings,
        config: checks,
    })
}

/// The hits of every table `ctx.options.rules` selects, minus what `# check=` leaves out.
fn hits(ctx: &Context, checks: &CheckConfig) -> Vec<rules::Hit> {
    let sets = ctx.options.rules;
    let mut out = Vec::new();
    if sets.hadolint {
        out.extend(rules::hits(ctx).filter(|h| checks.runs(h.code, false)));
    }
    let tables = [
        (sets.buildkit, buildkit::RULES),
        (sets.practice, practice::RULES),
    ];
    for (_, table) in tables.iter().filter(|(on, _)| *on) {
        for rule in table.iter().filter(|r| checks.runs(r.id, r.experimental)) {
            out.extend(rule.hits(ctx));
        }
    }
    out
}
