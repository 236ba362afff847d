//! What to build: the Dockerfile read and parsed, its meta ARGs resolved, each stage's base
//! decided (scratch, an earlier stage, or an image), the stages each one reads, the target
//! and the order to run what it needs in ([`graph`]). Pure planning: nothing is run here.

pub mod args;
pub mod directives;
pub mod graph;
pub mod reads;

use std::collections::{BTreeMap, BTreeSet};

use strata_dockerfile::instructions::{parse_instructions, MetaArg, Stage};
use strata_dockerfile::{Lexer, ParseError};

use crate::error::{BuildError, Location, Result, StageError};
use crate::options::context::{normalize_name, NamedContext};
use crate::options::BuildOptions;
use args::ArgSources;

/// What a stage is built on, or what a `--from` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    Stage(usize),
    Image(String),
}

/// A planned build.
pub struct Plan {
    /// The Dockerfile's name, as errors show it.
    pub file: String,
    pub lexer: Lexer,
    pub stages: Vec<Stage>,
    /// Each stage's name (`stage-N` when unnamed), for progress.
    pub names: Vec<String>,
    /// Meta ARGs with their values (plus the automatic platform ARGs).
    pub global_args: BTreeMap<String, String>,
    pub bases: Vec<Base>,
    /// For every stage, the stages it reads.
    pub deps: Vec<Vec<usize>>,
    pub target: usize,
    /// The stages the target needs, dependencies first.
    pub order: Vec<usize>,
    /// `--build-context`s by normalised name.
    pub named_contexts: BTreeMap<String, NamedContext>,
    /// `--build-arg`s consumed by the meta ARGs.
    pub used_args: BTreeSet<String>,
    /// Parser warnings, as `Dockerfile:LINE: text`.
    pub warnings: Vec<String>,
    /// `linux/ARCH` of this machine: the only platform strata builds for.
    pub platform: String,
}

impl Plan {
    /// Reads and plans `opts.dockerfile` for a host of `architecture`.
    pub fn new(opts: &BuildOptions, architecture: &str) -> Result<Plan> {
        let file = opts
            .dockerfile
            .file_name()
            .map_or("Dockerfile".into(), |n| n.to_string_lossy().into_owned());
        let text = std::fs::read_to_string(&opts.dockerfile).map_err(|source| {
            BuildError::ReadDockerfile {
                path: opts.dockerfile.clone(),
                source,
            }
        })?;
        let df = strata_dockerfile::parse(&text).map_err(|e| e.with_filename(&file))?;
        directives::check(&df).map_err(|e| e.with_filename(&file))?;
        let warnings = df.warnings.iter().map(|w| format!("{file}:{w}")).collect();
        let (meta, stages) = parse_instructions(&df).map_err(|e| e.with_filename(&file))?;
        if stages.is_empty() {
            return Err(ParseError::new(1, "file with no instructions")
                .with_filename(&file)
                .into());
        }
        let lexer = Lexer::new(df.directives.escape);
        let mut used_args = BTreeSet::new();
        let target_name = opts
            .target
            .clone()
            .or_else(|| stages.last().and_then(|s| s.name.clone()))
            .unwrap_or_default();
        let builtins = args::builtin_args(architecture, &target_name);
        let global_args = global_scope(&meta, opts, builtins, &lexer, &mut used_args, &file)?;
        let names = stages
            .iter()
            .enumerate()
            .map(|(i, s)| s.name.clone().unwrap_or_else(|| format!("stage-{i}")))
            .collect();
        let mut plan = Plan {
            file,
            lexer,
            stages,
            names,
            global_args,
            bases: Vec::new(),
            deps: Vec::new(),
            target: 0,
            order: Vec::new(),
            used_args,
            named_contexts: opts.named_contexts.clone(),
            warnings,
            platform: format!("linux/{architecture}"),
        };
        plan.bases = plan.resolve_bases()?;
        plan.target = plan.target_index(opts.target.as_deref())?;
        let reads = plan.all_reads()?;
        plan.deps = reads
            .iter()
            .map(|r| r.deps.iter().copied().collect())
            .collect();
        graph::check_cycles(&plan.deps, &plan.names)
            .map_err(|(stage, source)| plan.stage_error(stage, source))?;
        plan.order = graph::order(&plan.deps, plan.target, &plan.names)
            .map_err(|source| plan.stage_error(plan.target, source))?;
        plan.check_needed(reads)?;
        Ok(plan)
    }

    /// `Dockerfile:LINE`.
    pub fn location(&self, line: usize) -> Location {
        Location {
            file: self.file.clone(),
            line,
        }
    }

    /// A [`BuildError::Stage`] at the FROM line of `stage`.
    pub fn stage_error(&self, stage: usize, source: StageError) -> BuildError {
        BuildError::Stage {
            location: self.location(self.stages[stage].location.start_line),
            source: Box::new(source),
        }
    }

    /// Expands each FROM with the meta ARGs and decides scratch / stage / image.
    fn resolve_bases(&self) -> Result<Vec<Base>> {
        let scope = &self.global_args;
        let mut bases = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            let base = self
                .base_of(i, stage, scope)
                .map_err(|source| self.stage_error(i, source))?;
            bases.push(base);
        }
        Ok(bases)
    }

    /// BuildKit's `addState`: the base is the last earlier stage whose name is the expanded
    /// base name exactly (names are stored lower-cased, so `FROM Builder` is an image), else
    /// `scratch` (exactly), else an image; a later stage's name is an image name too.
    fn base_of(&self, i: usize, stage: &Stage, scope: &Globals) -> Result<Base, StageError> {
        if let Some(platform) = &stage.platform {
            self.check_platform(platform, scope)?;
        }
        if let Some(own) = stage.name.as_deref() {
            if let Some(key) = normalize_name(own).filter(|k| self.named_contexts.contains_key(k)) {
                return Err(StageError::ContextOverridesStage {
                    name: key,
                    stage: own.to_owned(),
                });
            }
        }
        let name = self
            .lexer
            .process_word(&stage.base_name, scope)
            .map_err(|source| StageError::Expand {
                text: stage.base_name.clone(),
                source,
            })?;
        let named = |s: &Stage| s.name.as_deref() == Some(name.as_str());
        if name.is_empty() {
            Err(StageError::BlankBase {
                name: stage.base_name.clone(),
            })
        } else if let Some(j) = self.stages[..i].iter().rposition(named) {
            Ok(Base::Stage(j))
        } else if let Some(base) = self.named_context(&name)? {
            Ok(base)
        } else if name == "scratch" {
            Ok(Base::Scratch)
        } else {
            Ok(Base::Image(name))
        }
    }

    /// The `--build-context` a base or `--from` name selects (BuildKit matches the name as
    /// written, after ARG expansion, normalised). Directory contexts are images by then
    /// ([`crate::sources::named::load_dirs`], run by the build before planning).
    pub fn named_context(&self, name: &str) -> Result<Option<Base>, StageError> {
        let Some(key) = normalize_name(name) else {
            return Ok(None);
        };
        match self.named_contexts.get(&key) {
            None => Ok(None),
            Some(NamedContext::Image(reference)) => Ok(Some(Base::Image(reference.clone()))),
            Some(NamedContext::Dir(dir)) => Err(StageError::UnloadedContext {
                name: key,
                dir: dir.clone(),
            }),
        }
    }

    /// `FROM --platform=P`, expanded with the meta and platform ARGs as BuildKit does: strata
    /// runs steps natively, so P must be this machine's platform (`$BUILDPLATFORM`,
    /// `$TARGETPLATFORM` and their spellings such as `linux/x86_64` are).
    fn check_platform(&self, raw: &str, scope: &Globals) -> Result<(), StageError> {
        let expanded =
            self.lexer
                .process_word(raw, scope)
                .map_err(|source| StageError::Expand {
                    text: format!("--platform={raw}"),
                    source,
                })?;
        if normalize_platform(&expanded) == self.platform {
            return Ok(());
        }
        Err(StageError::ForeignPlatform {
            platform: expanded,
            host: self.platform.clone(),
        })
    }

    fn target_index(&self, target: Option<&str>) -> Result<usize> {
        match target {
            None => Ok(self.stages.len() - 1),
            Some(t) => {
                let t = t.to_ascii_lowercase();
                self.stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(t.as_str()))
                    .ok_or(BuildError::UnknownTarget { target: t })
            }
        }
    }

    /// BuildKit reports a read of a stage not yet defined only when it dispatches the stage
    /// that reads it: only for stages the target needs (the first in file order).
    fn check_needed(&self, reads: Vec<reads::StageReads>) -> Result<()> {
        for (i, r) in reads.into_iter().enumerate() {
            if let (true, Some(e)) = (self.order.contains(&i), r.deferred) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// containerd's `platforms.Normalize` for the spellings that matter on Linux:
/// `linux/x86_64` → `linux/amd64`, `linux/aarch64` and `linux/arm64/v8` → `linux/arm64`.
fn normalize_platform(p: &str) -> String {
    let lower = p.to_ascii_lowercase();
    let mut parts = lower.split('/');
    let os = parts.next().unwrap_or_default();
    let arch = match parts.next().unwrap_or_default() {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" => "386",
        other => other,
    };
    let variant = parts.next().filter(|v| !(arch == "arm64" && *v == "v8"));
    match variant {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

/// The meta ARGs and builtin ARGs, by name.
type Globals = BTreeMap<String, String>;

/// Meta ARGs (before the first FROM) with defaults expanded in order, overridden by
/// `--build-arg`, over the builtin ARGs (BuildKit's `buildMetaArgs` over `defaultArgs`).
fn global_scope(
    meta: &[MetaArg],
    opts: &BuildOptions,
    builtins: Globals,
    lexer: &Lexer,
    used: &mut BTreeSet<String>,
    file: &str,
) -> Result<Globals> {
    let mut scope = builtins;
    let sources = ArgSources {
        build_args: &opts.build_args,
        meta: &BTreeMap::new(),
    };
    for m in meta {
        for decl in &m.args {
            let expand = |v: &str| lexer.process_word(v, &scope);
            let value = sources
                .value(&decl.key, decl.value.as_deref(), expand, used)
                .map_err(|e| {
                    BuildError::Dockerfile(
                        ParseError::new(m.location.start_line, e.to_string()).with_filename(file),
                    )
                })?;
            if let Some(v) = value {
                scope.insert(decl.key.clone(), v);
            }
        }
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::normalize_platform as n;

    #[test]
    fn platform_spellings_normalise_like_containerd() {
        assert_eq!(n("linux/x86_64"), "linux/amd64");
        assert_eq!(n("Linux/AMD64"), "linux/amd64");
        assert_eq!(n("linux/arm64/v8"), "linux/arm64");
        assert_eq!(n("linux/arm/v7"), "linux/arm/v7");
        assert_eq!(n("windows/amd64"), "windows/amd64");
    }
}
