//! Running one stage: FROM, ONBUILD triggers, then each instruction in order.

use std::sync::atomic::Ordering;
use std::time::Instant;

use strata_dockerfile::instructions::{ArgDecl, Command, Instruction};
use strata_oci::{Digest, History};

use crate::args::{self, Scope};
use crate::build::{Base, Build};
use crate::cache::{self, KeyBuilder, LayerRecord};
use crate::error::{BuildError, Result};
use crate::metadata::{self, MetaState};
use crate::progress::{Event, StepName};
use crate::solver::StageResult;
use crate::state::{ImageState, LayerRef};

/// History comment on every entry strata writes.
pub const HISTORY_COMMENT: &str = "strata.dockerfile.v0";

/// The mutable state of a stage being built.
pub struct StageRunner<'b, 'a> {
    pub b: &'b Build<'a>,
    pub idx: usize,
    pub state: ImageState,
    /// Cache key of the last layer step (or the base).
    pub key: Digest,
    pub scope: Scope,
    pub meta: MetaState,
    step: usize,
    total: usize,
    /// `created` of the newest layer so far: empty-layer history entries reuse it, so a fully
    /// cached rebuild gives the same image ID.
    pub last_created: Option<String>,
}

pub fn run_stage(b: &Build<'_>, idx: usize) -> Result<StageResult> {
    let stage = &b.stages[idx];
    let mut r = StageRunner::from_base(b, idx, stage.commands.len() + 1)?;
    let triggers = std::mem::take(&mut r.state.config.config.on_build);
    for t in &triggers {
        let cmd = parse_trigger(b, t, stage.location.start_line)?;
        r.dispatch(&cmd)?;
    }
    for cmd in &stage.commands {
        if b.board.cancelled.load(Ordering::SeqCst) {
            return Err(BuildError::Interrupted);
        }
        r.dispatch(cmd)?;
    }
    if let Some(c) = &r.last_created {
        r.state.config.created = Some(c.clone());
    }
    Ok(StageResult {
        state: r.state,
        key: r.key,
    })
}

/// Parses an inherited ONBUILD trigger as an instruction of this stage.
fn parse_trigger(b: &Build<'_>, trigger: &str, line: usize) -> Result<Command> {
    let text = format!("FROM scratch\n{trigger}\n");
    let fail = |message: String| BuildError::Stage {
        location: b.location(line),
        message: format!("ONBUILD {trigger}: {message}"),
    };
    let df = strata_dockerfile::parse(&text).map_err(|e| fail(e.to_string()))?;
    let (_, stages) = strata_dockerfile::instructions::parse_instructions(&df)
        .map_err(|e| fail(e.to_string()))?;
    let mut cmd = stages
        .into_iter()
        .next()
        .and_then(|s| s.commands.into_iter().next())
        .ok_or_else(|| fail("empty trigger".into()))?;
    if matches!(cmd.instruction, Instruction::Onbuild(_)) {
        return Err(fail(
            "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into(),
        ));
    }
    cmd.location.start_line = line;
    cmd.location.end_line = line;
    Ok(cmd)
}

impl<'b, 'a> StageRunner<'b, 'a> {
    fn from_base(b: &'b Build<'a>, idx: usize, total: usize) -> Result<Self> {
        let stage = &b.stages[idx];
        let started = Instant::now();
        let text = format!("FROM {}", stage.base_name);
        let mut r = StageRunner {
            b,
            idx,
            state: ImageState::scratch(&b.architecture),
            key: Digest::of(b"scratch"),
            scope: Scope::default(),
            meta: MetaState::default(),
            step: 0,
            total,
            last_created: None,
        };
        let name = r.begin(&text);
        let result = r.load_base();
        r.end(name, started, result.as_ref().map(|_| ()));
        result.map(|_| r)
    }

    fn load_base(&mut self) -> Result<()> {
        let b = self.b;
        let line = b.stages[self.idx].location.start_line;
        match &b.bases[self.idx] {
            Base::Scratch => {}
            Base::Stage(j) => {
                let dep = b
                    .board
                    .result(*j)
                    .expect("dependency finished before its dependents");
                self.state = dep.state.clone();
                self.key = dep.key.clone();
            }
            Base::Image(name) => {
                let image = b.store.resolve(name).map_err(|e| BuildError::Stage {
                    location: b.location(line),
                    message: format!("FROM {name}: {e} (load it with `strata load`, `strata import` or pull it first)"),
                })?;
                self.state = ImageState::from_image(&image)?;
                self.key = KeyBuilder::new("from", &Digest::of(b""))
                    .field("manifest", image.manifest_digest.to_string())
                    .finish();
            }
        }
        self.last_created = self.state.config.created.clone().map(|c| b.clock.clamp(&c));
        metadata::ensure_default_path(&mut self.state.config);
        self.scope = Scope::new(Default::default(), &self.state.config.config.env);
        Ok(())
    }

    /// Announces a step; returns its name for [`Self::end`].
    pub fn begin(&mut self, text: &str) -> StepName {
        self.step += 1;
        let name = StepName {
            id: self.b.next_step.fetch_add(1, Ordering::SeqCst),
            prefix: format!("[{} {}/{}]", self.b.names[self.idx], self.step, self.total),
            text: text.to_owned(),
        };
        self.b.progress.event(Event::Started(name.clone()));
        name
    }

    /// Reports how a step ended.
    pub fn end<T>(
        &self,
        name: StepName,
        started: Instant,
        result: std::result::Result<T, &BuildError>,
    ) {
        let elapsed = started.elapsed();
        let event = match result {
            Ok(_) => Event::Done {
                step: name,
                elapsed,
            },
            Err(_) => Event::Failed {
                step: name,
                elapsed,
            },
        };
        self.b.progress.event(event);
    }

    fn dispatch(&mut self, cmd: &Command) -> Result<()> {
        let started = Instant::now();
        let name = self.begin(cmd.location.original.trim());
        let result = self.dispatch_inner(cmd, &name);
        match &result {
            Ok(true) => self.b.progress.event(Event::Cached(name)),
            Ok(false) => self.b.progress.event(Event::Done {
                step: name,
                elapsed: started.elapsed(),
            }),
            Err(_) => self.b.progress.event(Event::Failed {
                step: name,
                elapsed: started.elapsed(),
            }),
        }
        result.map(|_| ())
    }

    /// Runs one instruction; `Ok(true)` when its result came from the cache.
    fn dispatch_inner(&mut self, cmd: &Command, name: &StepName) -> Result<bool> {
        let line = cmd.location.start_line;
        let expanded = cmd
            .expand(&self.b.lexer, &self.scope)
            .map_err(|e| self.step_error(cmd, e.to_string()))?;
        let used = expanded.used;
        let cmd = expanded.command;
        match &cmd.instruction {
            Instruction::Arg(decls) => {
                self.arg(decls, line);
                Ok(false)
            }
            Instruction::Workdir(path) => crate::steps::workdir::run(self, &cmd, path),
            Instruction::Copy(_) | Instruction::Add(_) => crate::steps::copy::run(self, &cmd),
            Instruction::Run(run) => crate::steps::run::run(self, &cmd, run, &used, name),
            instr => {
                let created_by = metadata::apply(&mut self.state.config, instr, &mut self.meta)
                    .ok_or_else(|| self.step_error(&cmd, "unsupported instruction".into()))?;
                if matches!(instr, Instruction::Env(_)) {
                    self.scope.set_image_env(&self.state.config.config.env);
                }
                self.history(created_by, false, None);
                Ok(false)
            }
        }
    }

    fn arg(&mut self, decls: &[ArgDecl], _line: usize) {
        let mut texts = Vec::new();
        for d in decls {
            let meta = self.b.global_args.clone();
            let mut used = self.b.used_args.lock().expect("arg lock poisoned");
            let value = args::declare(
                &d.key,
                d.value.clone(),
                &self.b.opts.build_args,
                &meta,
                &mut used,
            );
            drop(used);
            match &value {
                Some(v) => {
                    self.scope.args.insert(d.key.clone(), v.clone());
                    texts.push(format!("{}={v}", d.key));
                }
                None => texts.push(d.key.clone()),
            }
        }
        self.history(format!("ARG {}", texts.join(" ")), false, None);
    }

    /// Appends a history entry. A layer entry passes its creation time.
    pub fn history(&mut self, created_by: String, layer: bool, created: Option<String>) {
        if let Some(c) = &created {
            self.last_created = Some(c.clone());
        }
        self.state.config.history.push(History {
            created: created.or_else(|| self.last_created.clone()),
            created_by: Some(created_by),
            author: None,
            comment: Some(HISTORY_COMMENT.to_owned()),
            empty_layer: !layer,
        });
    }

    /// Looks up a layer step's key unless `--no-cache`.
    pub fn cached(&self, key: &Digest) -> Result<Option<LayerRecord>> {
        if self.b.opts.no_cache {
            return Ok(None);
        }
        cache::lookup(self.b.store, key)
    }

    /// Applies a layer step's outcome: the new key, the layer and its history entry.
    pub fn commit_layer(&mut self, key: Digest, rec: &LayerRecord, created_by: String) {
        self.key = key;
        if let Some(layer) = &rec.layer {
            self.state.push_layer(layer.clone());
        }
        let created = self.b.clock.clamp(&rec.created);
        self.history(created_by, rec.layer.is_some(), Some(created));
    }

    /// Records a freshly made layer in the cache, then commits it.
    pub fn record_layer(
        &mut self,
        key: Digest,
        layer: Option<LayerRef>,
        created_by: String,
    ) -> Result<()> {
        let rec = LayerRecord {
            layer,
            created: self.b.clock.now_rfc3339(),
        };
        cache::record(self.b.store, &key, &rec)?;
        self.commit_layer(key, &rec, created_by);
        Ok(())
    }

    pub fn step_error(&self, cmd: &Command, message: String) -> BuildError {
        BuildError::Step {
            location: self.b.location(cmd.location.start_line),
            instruction: cmd.location.original.trim().to_owned(),
            message,
        }
    }

    pub fn workdir(&self) -> &str {
        let wd = &self.state.config.config.working_dir;
        if wd.is_empty() {
            "/"
        } else {
            wd
        }
    }
}
