//! Running one stage: FROM, ONBUILD triggers, then each instruction in order.

use std::sync::atomic::Ordering;
use std::time::Instant;

use strata_dockerfile::instructions::{ArgDecl, Command, Instruction};
use strata_dockerfile::ExpandError;
use strata_oci::Digest;

use crate::error::{BuildError, Result, StageError, StepError};
use crate::output::annotate::BaseImage;
use crate::plan::args::ArgSources;
use crate::plan::reads::{parse_trigger, reads_of, ReadKind};
use crate::plan::Base;
use crate::progress::{Event, StepName};
use crate::solve::Solver;
use crate::state::cache::KeyBuilder;
use crate::state::metadata;
use crate::state::stage::StageState;
use crate::state::{ImageState, StageResult};
use crate::steps::{self, Step};

/// A stage being run by the solver.
struct StageRunner<'s, 'a> {
    solver: &'s Solver<'a>,
    idx: usize,
    stage: StageState,
    step: usize,
    total: usize,
}

pub fn run_stage(solver: &Solver<'_>, idx: usize) -> Result<StageResult> {
    let stage = &solver.plan.stages[idx];
    let mut r = StageRunner::from_base(solver, idx, stage.commands.len() + 1)?;
    let triggers = std::mem::take(&mut r.stage.image.config.config.on_build);
    for t in &triggers {
        let cmd = trigger(solver, idx, t)?;
        r.dispatch(&cmd)?;
    }
    for cmd in &stage.commands {
        if solver.board.cancelled.load(Ordering::SeqCst) {
            return Err(BuildError::Interrupted);
        }
        r.dispatch(cmd)?;
    }
    let mut state = r.stage;
    if let Some(c) = &state.last_created {
        state.image.config.created = Some(c.clone());
    }
    Ok(StageResult {
        state: state.image,
        key: state.key,
        scope: state.scope,
    })
}

/// An inherited ONBUILD trigger as an instruction of stage `idx`, its `--from` checked as
/// the plan checks the stage's own (the triggers of an image are only known now).
fn trigger(solver: &Solver<'_>, idx: usize, trigger: &str) -> Result<Command> {
    let plan = solver.plan;
    let at = |source| plan.stage_error(idx, source);
    let cmd = parse_trigger(trigger, plan.stages[idx].location.start_line).map_err(at)?;
    for read in reads_of(&cmd.instruction) {
        if read.kind == ReadKind::Copy {
            plan.check_literal_from(&read.from).map_err(at)?;
        }
    }
    Ok(cmd)
}

impl<'s, 'a> StageRunner<'s, 'a> {
    fn from_base(solver: &'s Solver<'a>, idx: usize, total: usize) -> Result<Self> {
        let stage = &solver.plan.stages[idx];
        let started = Instant::now();
        let mut r = StageRunner {
            solver,
            idx,
            stage: StageState::scratch(&solver.architecture),
            step: 0,
            total,
        };
        let name = r.begin(&format!("FROM {}", stage.base_name));
        let result = r.load_base();
        r.end(name, started, result.is_ok());
        result.map(|_| r)
    }

    fn load_base(&mut self) -> Result<()> {
        let solver = self.solver;
        match &solver.plan.bases[self.idx] {
            // BuildKit's empty image has WorkingDir "/" (dockerfile2llb/image.go, emptyImage).
            Base::Scratch => self.stage.image.config.config.working_dir = "/".to_owned(),
            Base::Stage(j) => {
                let dep = solver
                    .board
                    .result(*j)
                    .expect("dependency finished before its dependents");
                self.stage.image = dep.state.clone();
                self.stage.image.own = crate::state::OwnLayers::from_stage(dep.state.own);
                self.stage.key = dep.key.clone();
                self.stage.scope = dep.scope.clone();
            }
            Base::Image(name) => {
                let resolved = solver.images.resolve(name).map_err(|source| {
                    let name = name.clone();
                    let e = super::bad_name(&name, &source)
                        .unwrap_or(StageError::BaseImage { name, source });
                    solver.plan.stage_error(self.idx, e)
                })?;
                let image = resolved.image;
                solver.record_base(
                    self.idx,
                    BaseImage {
                        name: resolved
                            .reference
                            .map_or_else(|| name.clone(), |r| r.to_string()),
                        digest: image.manifest_digest.clone(),
                    },
                );
                self.stage.image = ImageState::from_image(&image)?;
                self.stage.key = KeyBuilder::new("from", &Digest::of(b""))
                    .field("manifest", image.manifest_digest.to_string())
                    .finish();
            }
        }
        let created = self.stage.image.config.created.clone();
        self.stage.last_created = created.map(|c| solver.clock.clamp(&c));
        metadata::ensure_default_path(&mut self.stage.image.config);
        // convert.go: a stage's build environment starts as its base's (a stage's includes
        // its ARGs), then every ENV of the base's config is set again.
        let env = &self.stage.image.config.config.env;
        self.stage.scope.apply_image_env(env);
        Ok(())
    }

    /// Announces a step; returns its name for [`Self::end`].
    fn begin(&mut self, text: &str) -> StepName {
        self.step += 1;
        let name = StepName {
            id: self.solver.next_step.fetch_add(1, Ordering::SeqCst),
            prefix: format!(
                "[{} {}/{}]",
                self.solver.plan.names[self.idx], self.step, self.total
            ),
            text: text.to_owned(),
        };
        self.solver.progress.event(Event::Started(name.clone()));
        name
    }

    /// Reports how a step ended.
    fn end(&self, step: StepName, started: Instant, ok: bool) {
        let elapsed = started.elapsed();
        let event = if ok {
            Event::Done { step, elapsed }
        } else {
            Event::Failed { step, elapsed }
        };
        self.solver.progress.event(event);
    }

    fn dispatch(&mut self, cmd: &Command) -> Result<()> {
        let started = Instant::now();
        let name = self.begin(cmd.location.original.trim());
        let result = self.dispatch_inner(cmd, &name);
        match &result {
            Ok(true) => self.solver.progress.event(Event::Cached(name)),
            Ok(false) => self.end(name, started, true),
            Err(_) => self.end(name, started, false),
        }
        result.map(|_| ())
    }

    /// Runs one instruction; `Ok(true)` when its result came from the cache.
    fn dispatch_inner(&mut self, cmd: &Command, name: &StepName) -> Result<bool> {
        let location = self.solver.plan.location(cmd.location.start_line);
        let fail = |e: ExpandError| BuildError::Step {
            location: location.clone(),
            instruction: cmd.location.original.trim().to_owned(),
            source: Box::new(StepError::Expand(e)),
        };
        if let Instruction::Arg(decls) = &cmd.instruction {
            self.arg(decls).map_err(fail)?;
            return Ok(false);
        }
        let expanded = cmd
            .expand(&self.solver.plan.lexer, &self.stage.scope)
            .map_err(fail)?;
        let cmd = expanded.command;
        let step = Step {
            cmd: &cmd,
            location,
            name,
            stage: self.idx,
            used_args: &expanded.used,
        };
        let env = self.solver.env();
        let stage = &mut self.stage;
        match &cmd.instruction {
            Instruction::Workdir(path) => steps::workdir::run(&env, stage, &step, path),
            Instruction::Copy(_) | Instruction::Add(_) => steps::copy::run(&env, stage, &step),
            Instruction::Run(run) => steps::run::run(&env, stage, &step, run),
            instr => {
                let created_by = metadata::apply(&mut stage.image.config, instr, &mut stage.meta)
                    .map_err(|e| step.fail(StepError::Config(e)))?
                    .ok_or_else(|| step.fail(StepError::UnsupportedInstruction))?;
                if let Instruction::Env(kvs) = instr {
                    for kv in kvs {
                        stage.scope.set(&kv.key, &kv.value);
                    }
                }
                if metadata::records_history(instr) {
                    stage.history(created_by, false, None);
                }
                Ok(false)
            }
        }
    }

    /// BuildKit's `dispatchArg`: ARG is not expanded as a whole; each default is expanded in
    /// turn against the build environment, which holds the ARGs before it on the same line.
    fn arg(&mut self, decls: &[ArgDecl]) -> Result<(), ExpandError> {
        let solver = self.solver;
        let sources = ArgSources {
            build_args: &solver.opts.build_args,
            meta: &solver.plan.global_args,
        };
        let mut texts = Vec::new();
        for d in decls {
            let scope = &self.stage.scope;
            let expand = |v: &str| solver.plan.lexer.process_word(v, scope);
            let mut used = solver.used_args.lock().expect("arg lock poisoned");
            let value = sources.value(&d.key, d.value.as_deref(), expand, &mut used)?;
            drop(used);
            self.stage.scope.declare(&d.key, value.as_deref());
            texts.push(match value {
                Some(v) => format!("{}={v}", d.key),
                None => d.key.clone(),
            });
        }
        self.stage
            .history(format!("ARG {}", texts.join(" ")), false, None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{BuildError, StageError};
    use crate::options::BuildOptions;
    use crate::progress::Silent;
    use crate::sources::images::ImageError;
    use crate::steps::run::fake::FakeSandbox;

    fn build(dockerfile: &str) -> Result<strata_content::Image, BuildError> {
        let dir = tempfile::tempdir().unwrap();
        let store = strata_content::Store::open(&dir.path().join("root")).unwrap();
        std::fs::create_dir(dir.path().join("ctx")).unwrap();
        std::fs::write(dir.path().join("ctx/Dockerfile"), dockerfile).unwrap();
        let opts = BuildOptions::new(dir.path().join("ctx"));
        let sandbox = FakeSandbox::new(|_, _, _| Ok(0));
        crate::build_in(&store, &opts, &Silent, &sandbox).map(|o| o.image)
    }

    #[test]
    fn a_missing_base_image_names_the_line_and_says_how_to_get_it() {
        let err = build("FROM scratch\nRUN true\nFROM nope:1\n").unwrap_err();
        match &err {
            BuildError::Stage { location, source } => {
                assert_eq!(location.to_string(), "Dockerfile:3");
                assert!(
                    matches!(&**source, StageError::BaseImage { name, source: ImageError::Missing }
                        if name == "nope:1"),
                    "{source:?}"
                );
                let cause = std::error::Error::source(&**source).unwrap().to_string();
                assert!(cause.contains("strata import"), "{cause}");
            }
            other => panic!("expected a stage error, got {other:?}"),
        }
    }

    #[test]
    fn a_chained_onbuild_trigger_is_refused_at_the_from_line() {
        let err = build("FROM scratch AS base\nONBUILD ONBUILD RUN true\nFROM base\n");
        // BuildKit refuses `ONBUILD ONBUILD` when parsing; so does strata.
        assert!(matches!(err, Err(BuildError::Dockerfile(_))), "{err:?}");
    }
}
