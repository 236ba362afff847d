//! `build()`: read the Dockerfile, plan the stage graph, run it, export the target.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use strata_content::{Image, Store};
use strata_dockerfile::instructions::{parse_instructions, Instruction, Stage};
use strata_dockerfile::{Lexer, ParseError};
use strata_snapshot::SnapshotStore;

use crate::args::{self, Scope};
use crate::context::Context;
use crate::error::{BuildError, Location, Result};
use crate::export::{commit_image, export};
use crate::options::{BuildOptions, Output};
use crate::progress::{Event, Progress};
use crate::solver::{plan, run_plan, Board};
use crate::stage::run_stage;
use crate::time::BuildClock;

/// What a stage is built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    Stage(usize),
    Image(String),
}

/// Shared, read-mostly state of one build, visible to every stage thread.
pub struct Build<'a> {
    pub store: &'a Store,
    pub snapshots: SnapshotStore,
    pub opts: &'a BuildOptions,
    pub progress: &'a dyn Progress,
    pub file: String,
    pub lexer: Lexer,
    pub stages: Vec<Stage>,
    pub names: Vec<String>,
    pub global_args: BTreeMap<String, String>,
    pub bases: Vec<Base>,
    pub board: Board,
    pub clock: BuildClock,
    pub architecture: String,
    context: Mutex<Option<Arc<Context>>>,
    pub used_args: Mutex<BTreeSet<String>>,
    pub next_step: AtomicUsize,
}

/// What a finished build produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub image: Image,
}

/// Builds the target stage of `opts.dockerfile` and runs the exporters.
pub fn build(store: &Store, opts: &BuildOptions, progress: &dyn Progress) -> Result<BuildOutcome> {
    let b = Build::prepare(store, opts, progress)?;
    let target = b.target_index()?;
    let deps = b.dependencies()?;
    let order = plan(&deps, target, &b.names).map_err(|e| b.relocate(e, target))?;
    run_plan(&order, &deps, opts.jobs, &b.board, |idx, _| {
        run_stage(&b, idx)
    })?;
    let result = b.board.result(target).expect("target stage finished");
    let mut state = result.state.clone();
    for (k, v) in &opts.labels {
        state.config.config.labels.insert(k.clone(), v.clone());
    }
    let image = commit_image(store, &state)?;
    b.finish_context()?;
    b.warn_unused_args();
    let outputs = if opts.outputs.is_empty() {
        vec![Output::Image]
    } else {
        opts.outputs.clone()
    };
    for output in &outputs {
        progress.event(Event::Message(format!(
            "exporting to {}",
            describe_output(output)
        )));
        export(store, &image, &opts.tags, output)?;
    }
    Ok(BuildOutcome { image })
}

fn describe_output(o: &Output) -> String {
    match o {
        Output::Image => "image".to_owned(),
        Output::Oci { dest } => format!("oci image layout {}", dest.display()),
        Output::Docker { dest } => format!("docker archive {}", dest.display()),
        Output::Local { dest } => format!("directory {}", dest.display()),
    }
}

impl<'a> Build<'a> {
    fn prepare(
        store: &'a Store,
        opts: &'a BuildOptions,
        progress: &'a dyn Progress,
    ) -> Result<Build<'a>> {
        let file = opts
            .dockerfile
            .file_name()
            .map_or("Dockerfile".into(), |n| n.to_string_lossy().into_owned());
        let text = std::fs::read_to_string(&opts.dockerfile).map_err(|e| BuildError::Input {
            path: opts.dockerfile.clone(),
            message: format!("cannot read Dockerfile: {e}"),
        })?;
        let df = strata_dockerfile::parse(&text).map_err(|e| e.with_filename(&file))?;
        for w in &df.warnings {
            progress.event(Event::Warning(format!("{file}:{w}")));
        }
        let (meta, stages) = parse_instructions(&df).map_err(|e| e.with_filename(&file))?;
        if stages.is_empty() {
            return Err(ParseError::new(1, "file with no instructions")
                .with_filename(&file)
                .into());
        }
        let architecture = strata_oci::config::host_architecture().to_owned();
        let lexer = Lexer::new(df.directives.escape);
        let mut used = BTreeSet::new();
        let global_args = global_scope(&meta, opts, &architecture, &lexer, &mut used, &file)?;
        let names = stages
            .iter()
            .enumerate()
            .map(|(i, s)| s.name.clone().unwrap_or_else(|| format!("stage-{i}")))
            .collect();
        let mut b = Build {
            store,
            snapshots: crate::snapshots::open_snapshots(store)?,
            opts,
            progress,
            file,
            lexer,
            board: Board::new(stages.len()),
            stages,
            names,
            global_args,
            bases: Vec::new(),
            clock: BuildClock::new(opts.source_date_epoch),
            architecture,
            context: Mutex::new(None),
            used_args: Mutex::new(used),
            next_step: AtomicUsize::new(1),
        };
        b.bases = b.resolve_bases()?;
        Ok(b)
    }

    pub fn location(&self, line: usize) -> Location {
        Location {
            file: self.file.clone(),
            line,
        }
    }

    fn relocate(&self, e: BuildError, stage: usize) -> BuildError {
        match e {
            BuildError::Stage { message, .. } => BuildError::Stage {
                location: self.location(self.stages[stage].location.start_line),
                message,
            },
            other => other,
        }
    }

    /// Expands each FROM with the meta ARGs and decides scratch / stage / image.
    fn resolve_bases(&self) -> Result<Vec<Base>> {
        let scope = Scope::new(self.global_args.clone(), &[]);
        let mut bases = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            let name = self
                .lexer
                .process_word(&stage.base_name, &scope)
                .map_err(|e| BuildError::Stage {
                    location: self.location(stage.location.start_line),
                    message: e.to_string(),
                })?;
            let lower = name.to_ascii_lowercase();
            let base = if lower == "scratch" {
                Base::Scratch
            } else if let Some(j) = self.stages[..i]
                .iter()
                .position(|s| s.name.as_deref() == Some(lower.as_str()))
            {
                Base::Stage(j)
            } else if self.stages[i..]
                .iter()
                .any(|s| s.name.as_deref() == Some(lower.as_str()))
            {
                return Err(BuildError::Stage {
                    location: self.location(stage.location.start_line),
                    message: format!("circular dependency detected on stage: {lower}"),
                });
            } else if name.is_empty() {
                return Err(BuildError::Stage {
                    location: self.location(stage.location.start_line),
                    message: format!("base name ({}) should not be blank", stage.base_name),
                });
            } else {
                Base::Image(name)
            };
            bases.push(base);
        }
        Ok(bases)
    }

    fn target_index(&self) -> Result<usize> {
        match &self.opts.target {
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

    /// Resolves a `--from` / `from=` value: a stage by name or index, else an image.
    pub fn resolve_from(&self, from: &str, current: usize) -> Result<Base, String> {
        let lower = from.to_ascii_lowercase();
        if let Some(j) = self
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return if j == current {
                Err(format!("circular dependency detected on stage: {lower}"))
            } else {
                Ok(Base::Stage(j))
            };
        }
        if let Ok(n) = from.parse::<usize>() {
            return if n < current {
                Ok(Base::Stage(n))
            } else {
                Err(format!(
                    "invalid stage index {n}: it must refer to an earlier stage"
                ))
            };
        }
        Ok(Base::Image(from.to_owned()))
    }

    /// For every stage, the stages it reads.
    fn dependencies(&self) -> Result<Vec<Vec<usize>>> {
        let scope = Scope::new(self.global_args.clone(), &[]);
        let mut all = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            let mut deps = BTreeSet::new();
            if let Base::Stage(j) = self.bases[i] {
                deps.insert(j);
            }
            for cmd in &stage.commands {
                for from in froms(&cmd.instruction) {
                    let from = self.lexer.process_word(&from, &scope).unwrap_or(from);
                    match self.resolve_from(&from, i) {
                        Ok(Base::Stage(j)) => {
                            deps.insert(j);
                        }
                        Ok(_) => {}
                        Err(message) => {
                            return Err(BuildError::Stage {
                                location: self.location(cmd.location.start_line),
                                message,
                            })
                        }
                    }
                }
            }
            all.push(deps.into_iter().collect());
        }
        Ok(all)
    }

    /// The build context, walked on first use.
    pub fn context(&self) -> Result<Arc<Context>> {
        let mut slot = self.context.lock().expect("context lock poisoned");
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let ctx = Arc::new(Context::load(self.store, &self.opts.context)?);
        *slot = Some(ctx.clone());
        Ok(ctx)
    }

    fn finish_context(&self) -> Result<()> {
        if let Some(ctx) = self.context.lock().expect("context lock poisoned").as_ref() {
            ctx.save_stamps(self.store)?;
        }
        Ok(())
    }

    fn warn_unused_args(&self) {
        let used = self.used_args.lock().expect("arg lock poisoned");
        let unused: Vec<&String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !used.contains(*k) && !args::BUILTIN_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() {
            let list = unused
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            self.progress.event(Event::Warning(format!(
                "one or more build-args [{list}] were not consumed"
            )));
        }
    }
}

/// The stage names and images an instruction reads (`COPY --from`, `RUN --mount=from=`).
fn froms(instr: &Instruction) -> Vec<String> {
    match instr {
        Instruction::Copy(c) => c.from.iter().cloned().collect(),
        Instruction::Run(r) => r.mounts.iter().filter_map(|m| m.from.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Meta ARGs (before the first FROM) with defaults expanded in order, overridden by
/// `--build-arg`, plus the automatic platform ARGs.
fn global_scope(
    meta: &[strata_dockerfile::instructions::MetaArg],
    opts: &BuildOptions,
    architecture: &str,
    lexer: &Lexer,
    used: &mut BTreeSet<String>,
    file: &str,
) -> Result<BTreeMap<String, String>> {
    let mut scope = Scope::new(args::platform_args(architecture), &[]);
    for m in meta {
        for decl in &m.args {
            let default = match &decl.value {
                Some(v) => Some(lexer.process_word(v, &scope).map_err(|e| {
                    BuildError::Dockerfile(
                        ParseError::new(m.location.start_line, e.to_string()).with_filename(file),
                    )
                })?),
                None => None,
            };
            if let Some(v) =
                args::declare(&decl.key, default, &opts.build_args, &BTreeMap::new(), used)
            {
                scope.args.insert(decl.key.clone(), v);
            }
        }
    }
    Ok(scope.args)
}
