//! Running one stage: FROM, ONBUILD triggers, then each instruction in order.

use std::sync::atomic::Ordering;
use std::time::Instant;

use strata_dockerfile::instructions::{ArgDecl, Command, Instruction};
use strata_oci::Digest;

use crate::error::{BuildError, Result, StageError, StepError};
use crate::plan::args::{self, Scope};
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
        let cmd = parse_trigger(t, stage.location.start_line)
            .map_err(|source| solver.plan.stage_error(idx, source))?;
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
    })
}

/// Parses an inherited ONBUILD trigger as an instruction of this stage.
fn parse_trigger(trigger: &str, line: usize) -> Result<Command, StageError> {
    let text = format!("FROM scratch\n{trigger}\n");
    let fail = |source| StageError::Trigger {
        trigger: trigger.to_owned(),
        source: Box::new(source),
    };
    let df = strata_dockerfile::parse(&text).map_err(fail)?;
    let (_, stages) = strata_dockerfile::instructions::parse_instructions(&df).map_err(fail)?;
    let mut cmd = stages
        .into_iter()
        .next()
        .and_then(|s| s.commands.into_iter().next())
        .ok_or_else(|| StageError::EmptyTrigger {
            trigger: trigger.to_owned(),
        })?;
    if matches!(cmd.instruction, Instruction::Onbuild(_)) {
        return Err(StageError::ChainedTrigger {
            trigger: trigger.to_owned(),
        });
    }
    cmd.location.start_line = line;
    cmd.location.end_line = line;
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
                self.stage.key = dep.key.clone();
            }
            Base::Image(name) => {
                let image = solver.store.resolve(name).map_err(|source| {
                    let name = name.clone();
                    let e = match source {
                        strata_content::Error::NoSuchImage { .. } => {
                            StageError::NoBaseImage { name }
                        }
                        source => StageError::BaseImage { name, source },
                    };
                    solver.plan.stage_error(self.idx, e)
                })?;
                self.stage.image = ImageState::from_image(&image)?;
                self.stage.key = KeyBuilder::new("from", &Digest::of(b""))
                    .field("manifest", image.manifest_digest.to_string())
                    .finish();
            }
        }
        let created = self.stage.image.config.created.clone();
        self.stage.last_created = created.map(|c| solver.clock.clamp(&c));
        metadata::ensure_default_path(&mut self.stage.image.config);
        self.stage.scope = Scope::new(Default::default(), &self.stage.image.config.config.env);
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
        let expanded = cmd
            .expand(&self.solver.plan.lexer, &self.stage.scope)
            .map_err(|e| BuildError::Step {
                location: location.clone(),
                instruction: cmd.location.original.trim().to_owned(),
                source: Box::new(StepError::Expand(e)),
            })?;
        let cmd = expanded.command;
        if let Instruction::Arg(decls) = &cmd.instruction {
            self.arg(decls);
            return Ok(false);
        }
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
                if matches!(instr, Instruction::Env(_)) {
                    stage.scope.set_image_env(&stage.image.config.config.env);
                }
                if metadata::records_history(instr) {
                    stage.history(created_by, false, None);
                }
                Ok(false)
            }
        }
    }

    fn arg(&mut self, decls: &[ArgDecl]) {
        let mut texts = Vec::new();
        for d in decls {
            let mut used = self.solver.used_args.lock().expect("arg lock poisoned");
            let value = args::declare(
                &d.key,
                d.value.clone(),
                &self.solver.opts.build_args,
                &self.solver.plan.global_args,
                &mut used,
            );
            drop(used);
            match &value {
                Some(v) => {
                    self.stage.scope.args.insert(d.key.clone(), v.clone());
                    texts.push(format!("{}={v}", d.key));
                }
                None => texts.push(d.key.clone()),
            }
        }
        self.stage
            .history(format!("ARG {}", texts.join(" ")), false, None);
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{BuildError, StageError};
    use crate::options::BuildOptions;
    use crate::progress::Silent;
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
                    matches!(&**source, StageError::NoBaseImage { name } if name == "nope:1"),
                    "{source:?}"
                );
                assert!(source.to_string().contains("strata import"), "{source}");
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
