//! What a stage reads besides its base: `COPY --from` and `RUN --mount from=`, its own and
//! those of the ONBUILD triggers of the stage it is built on, resolved as BuildKit resolves
//! them (frontend/dockerfile/dockerfile2llb/convert.go `toCommand`, `initOnBuildTriggers`,
//! `dispatch`; convert_runmount.go `detectRunMount`, `dispatchRunMounts`):
//!
//! - `--from` is never expanded: a value that expansion would change is an error;
//! - a name is a stage's, compared without case, the last stage of that name in the file;
//!   `COPY --from` also takes a stage index; anything else is an image (`scratch` is empty);
//! - a stage read before it is defined is an error, but only for a stage the target needs.

use std::collections::BTreeSet;

use strata_dockerfile::instructions::{Command, Instruction};
use strata_dockerfile::Env;

use super::{Base, Plan};
use crate::error::{BuildError, StageError};

/// How an instruction reads another stage or image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadKind {
    /// `COPY --from`: a stage by name or index, or an image.
    Copy,
    /// `RUN --mount from=`: a stage by name, or an image; `target` is the mount's.
    Mount { target: String },
}

/// One `--from` / `from=` of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub from: String,
    pub kind: ReadKind,
}

/// The reads of an instruction, in order.
pub fn reads_of(instr: &Instruction) -> Vec<Read> {
    match instr {
        Instruction::Copy(c) => c
            .from
            .iter()
            .map(|from| Read {
                from: from.clone(),
                kind: ReadKind::Copy,
            })
            .collect(),
        Instruction::Run(r) => r
            .mounts
            .iter()
            .filter_map(|m| {
                let from = m.from.clone()?;
                Some(Read {
                    from,
                    kind: ReadKind::Mount {
                        target: m.target.clone(),
                    },
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Parses an ONBUILD trigger as an instruction run at `line` (the FROM line of the stage
/// that runs it, as BuildKit's `initOnBuildTriggers` relocates it).
pub fn parse_trigger(trigger: &str, line: usize) -> Result<Command, StageError> {
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

/// The stages one stage reads, and the first error that counts only if the target needs it.
#[derive(Debug, Default)]
pub(super) struct StageReads {
    pub deps: BTreeSet<usize>,
    pub deferred: Option<BuildError>,
}

/// No variables at all: expansion with an empty environment.
struct NoVars;

impl Env for NoVars {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
}

impl Plan {
    /// `toCommand`: a `COPY --from` value expansion would change is refused.
    pub fn check_literal_from(&self, from: &str) -> Result<(), StageError> {
        match self.lexer.process_word(from, &NoVars) {
            Ok(word) if word == from => Ok(()),
            _ => Err(StageError::FromExpansion),
        }
    }

    /// What `from` names: a stage (by name, the last of that name; or, for COPY, by index),
    /// scratch, or an image. Whether the stage may be read from `current` is checked apart.
    fn lookup(&self, from: &str, kind: &ReadKind) -> Result<Base, StageError> {
        let lower = from.to_ascii_lowercase();
        let named =
            |s: &strata_dockerfile::instructions::Stage| s.name.as_deref() == Some(lower.as_str());
        if let Some(j) = self.stages.iter().rposition(named) {
            return Ok(Base::Stage(j));
        }
        if *kind == ReadKind::Copy {
            // Go's strconv.Atoi: an optional sign, then decimal digits.
            if let Ok(index) = from.parse::<i64>() {
                return match usize::try_from(index) {
                    Ok(j) if j < self.stages.len() => Ok(Base::Stage(j)),
                    _ => Err(StageError::InvalidStageIndex { index }),
                };
            }
        }
        if let Some(base) = self.named_context(from)? {
            return Ok(base);
        }
        Ok(if from == "scratch" {
            Base::Scratch
        } else {
            Base::Image(from.to_owned())
        })
    }

    /// The error for reading stage `j` from `current`, when `j` is not an earlier stage.
    fn not_earlier(&self, read: &Read, j: usize, current: usize) -> Option<StageError> {
        if j == current {
            return Some(StageError::Circular {
                stage: self.names[current].clone(),
            });
        }
        (j > current).then(|| match &read.kind {
            ReadKind::Copy => StageError::LaterStage {
                from: read.from.clone(),
                current: self.names[current].clone(),
            },
            ReadKind::Mount { target } => StageError::LaterMount {
                from: read.from.clone(),
                target: target.clone(),
            },
        })
    }

    /// Resolves a `COPY --from` / `--mount from=` value while stage `current` runs.
    pub fn resolve_from(&self, from: &str, current: usize) -> Result<Base, StageError> {
        let read = Read {
            from: from.to_owned(),
            kind: ReadKind::Copy,
        };
        match self.lookup(from, &read.kind)? {
            Base::Stage(j) => match self.not_earlier(&read, j, current) {
                Some(e) => Err(e),
                None => Ok(Base::Stage(j)),
            },
            other => Ok(other),
        }
    }

    /// Whether stage `dep` is finished before stage `stage` starts: one of the stages it
    /// depends on, directly or not.
    pub fn depends_on(&self, stage: usize, dep: usize) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![stage];
        while let Some(s) = todo.pop() {
            for &d in &self.deps[s] {
                if d == dep {
                    return true;
                }
                if seen.insert(d) {
                    todo.push(d);
                }
            }
        }
        false
    }

    /// Every stage's reads: its base, its `--from`s, and those of its base stage's triggers.
    pub(super) fn all_reads(&self) -> Result<Vec<StageReads>, BuildError> {
        (0..self.stages.len())
            .map(|i| self.stage_reads(i))
            .collect()
    }

    fn stage_reads(&self, i: usize) -> Result<StageReads, BuildError> {
        let mut out = StageReads::default();
        if let Base::Stage(j) = self.bases[i] {
            out.deps.insert(j);
            self.trigger_reads(i, j, &mut out);
        }
        for cmd in &self.stages[i].commands {
            for read in reads_of(&cmd.instruction) {
                let at = |source| self.step_error(cmd, source);
                if read.kind == ReadKind::Copy {
                    self.check_literal_from(&read.from).map_err(at)?;
                }
                if let Base::Stage(j) = self.lookup(&read.from, &read.kind).map_err(at)? {
                    self.add_dep(&mut out, &read, j, i, |e| self.step_error(cmd, e));
                }
            }
        }
        Ok(out)
    }

    /// `initOnBuildTriggers`: the ONBUILD triggers of base stage `base` run in stage `i`, so
    /// what they read is read by `i`. Errors count only if the target needs `i`.
    fn trigger_reads(&self, i: usize, base: usize, out: &mut StageReads) {
        let line = self.stages[i].location.start_line;
        for cmd in &self.stages[base].commands {
            let Instruction::Onbuild(trigger) = &cmd.instruction else {
                continue;
            };
            let result = parse_trigger(trigger, line).and_then(|t| {
                let reads = reads_of(&t.instruction);
                reads
                    .into_iter()
                    .map(|r| {
                        if r.kind == ReadKind::Copy {
                            self.check_literal_from(&r.from)?;
                        }
                        Ok((self.lookup(&r.from, &r.kind)?, r))
                    })
                    .collect::<Result<Vec<_>, StageError>>()
            });
            match result {
                Ok(reads) => {
                    for (base, read) in reads {
                        if let Base::Stage(j) = base {
                            self.add_dep(out, &read, j, i, |e| self.stage_error(i, e));
                        }
                    }
                }
                Err(e) => defer(out, self.stage_error(i, e)),
            }
        }
    }

    /// Adds the edge `i` → `j` (a cycle is found over all edges later); a stage not defined
    /// before `i` is an error kept for when `i` is needed.
    fn add_dep(
        &self,
        out: &mut StageReads,
        read: &Read,
        j: usize,
        i: usize,
        at: impl FnOnce(StageError) -> BuildError,
    ) {
        out.deps.insert(j);
        if j > i {
            if let Some(e) = self.not_earlier(read, j, i) {
                defer(out, at(e));
            }
        }
    }

    /// A [`BuildError::Stage`] at the line of `cmd`.
    fn step_error(&self, cmd: &Command, source: StageError) -> BuildError {
        BuildError::Stage {
            location: self.location(cmd.location.start_line),
            source: Box::new(source),
        }
    }
}

fn defer(out: &mut StageReads, e: BuildError) {
    if out.deferred.is_none() {
        out.deferred = Some(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::BuildOptions;

    fn plan_for(dockerfile: &str, target: Option<&str>) -> Result<Plan, BuildError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
        let mut opts = BuildOptions::new(dir.path());
        opts.target = target.map(str::to_owned);
        Plan::new(&opts, "amd64")
    }

    fn plan(dockerfile: &str) -> Plan {
        plan_for(dockerfile, None).unwrap()
    }

    /// The error's `Dockerfile:LINE` and its cause's message.
    fn error(dockerfile: &str, target: Option<&str>) -> (String, String) {
        match plan_for(dockerfile, target) {
            Err(BuildError::Stage { location, source }) => {
                (location.to_string(), source.to_string())
            }
            Err(other) => panic!("expected a stage error, got {other:?}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    /// convert.go `addState`: FROM takes the last earlier stage of that exact name.
    #[test]
    fn from_takes_the_last_earlier_stage_of_that_exact_name() {
        let p = plan("FROM scratch AS dup\nFROM scratch AS dup\nFROM dup\n");
        assert_eq!(p.bases[2], Base::Stage(1));
        let p = plan("FROM scratch AS builder\nFROM Builder\nFROM SCRATCH\nFROM later\nFROM scratch AS later\n");
        assert_eq!(p.bases[1], Base::Image("Builder".into()));
        assert_eq!(p.bases[2], Base::Image("SCRATCH".into()));
        assert_eq!(
            p.bases[3],
            Base::Image("later".into()),
            "a later stage is an image"
        );
    }

    /// convert.go `findStateByName` (lower-cased, the last stage of the name in the file)
    /// and `findStateByIndex`; an unknown name is an image, `scratch` is empty.
    #[test]
    fn copy_from_resolves_as_buildkit() {
        let p = plan("FROM scratch AS dup\nFROM scratch AS dup\nFROM scratch\n");
        assert_eq!(p.resolve_from("DUP", 2).unwrap(), Base::Stage(1));
        assert_eq!(p.resolve_from("0", 2).unwrap(), Base::Stage(0));
        assert_eq!(p.resolve_from("scratch", 2).unwrap(), Base::Scratch);
        assert_eq!(
            p.resolve_from("img:1", 2).unwrap(),
            Base::Image("img:1".into())
        );
        let e = p.resolve_from("3", 2).unwrap_err();
        assert_eq!(e.to_string(), "invalid stage index 3");
        let e = p.resolve_from("-1", 2).unwrap_err();
        assert_eq!(e.to_string(), "invalid stage index -1");
        let e = p.resolve_from("2", 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "circular dependency detected on stage: stage-2"
        );
        let e = p.resolve_from("dup", 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot copy from stage \"dup\", it needs to be defined before current stage \"dup\""
        );
    }

    /// convert.go `toCommand`.
    #[test]
    fn copy_from_with_a_variable_is_refused_at_its_line() {
        let df = "ARG S=one\nFROM scratch AS one\nFROM scratch\nARG S\nCOPY --from=$S /one /one\n";
        let (at, msg) = error(df, None);
        assert_eq!(at, "Dockerfile:5");
        assert_eq!(msg, "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround");
        let (at, _) = error(
            "FROM scratch AS one\nCOPY --from=${S} / /\nFROM scratch\n",
            None,
        );
        assert_eq!(at, "Dockerfile:2", "refused in an unneeded stage too");
    }

    /// convert.go `dispatch` (COPY) and convert_runmount.go `dispatchRunMounts`: a stage
    /// defined later is an error only when the stage reading it is needed.
    #[test]
    fn reading_a_later_stage_fails_only_when_needed() {
        let df = "FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\n";
        let (at, msg) = error(df, Some("a"));
        assert_eq!(at, "Dockerfile:2");
        assert_eq!(
            msg,
            "cannot copy from stage \"b\", it needs to be defined before current stage \"a\""
        );
        assert_eq!(plan(df).order, [1], "b alone does not need a");
        let (_, msg) = error(
            "FROM scratch AS a\nCOPY --from=1 /x /x\nFROM scratch AS b\n",
            Some("a"),
        );
        assert_eq!(
            msg,
            "cannot copy from stage \"1\", it needs to be defined before current stage \"a\""
        );
        let df = "FROM scratch AS a\nRUN --mount=from=b,target=/b true\nFROM scratch AS b\n";
        let (_, msg) = error(df, Some("a"));
        assert_eq!(msg, "cannot mount from stage \"b\" to \"/b\", stage needs to be defined before current command");
        let df = "FROM scratch AS dup\nFROM scratch AS mid\nCOPY --from=dup / /\nFROM scratch AS dup\nFROM scratch\nCOPY --from=mid / /\n";
        let (at, msg) = error(df, None);
        assert_eq!(at, "Dockerfile:3", "the last `dup` is the one read");
        assert!(msg.contains("\"dup\""), "{msg}");
    }

    /// convert.go `validateCircularDependency` runs over every stage.
    #[test]
    fn a_stage_reading_itself_is_circular_even_when_unneeded() {
        let (_, msg) = error("FROM scratch AS a\nCOPY --from=a / /\nFROM scratch\n", None);
        assert_eq!(msg, "circular dependency detected on stage: a");
    }

    /// convert.go `initOnBuildTriggers`: a base stage's triggers make the stage that runs
    /// them depend on what they read.
    #[test]
    fn onbuild_from_of_a_base_stage_is_a_dependency() {
        let df = "FROM scratch AS helper\nFROM scratch AS base\nONBUILD COPY --from=helper / /\nFROM base\n";
        let p = plan(df);
        assert_eq!(p.deps[2], [0, 1]);
        assert_eq!(p.order, [0, 1, 2]);
        assert!(p.depends_on(2, 0) && !p.depends_on(1, 0));
        let df = "FROM scratch AS base\nONBUILD COPY --from=helper / /\nFROM base AS c\nFROM scratch AS helper\n";
        let (at, msg) = error(df, Some("c"));
        assert_eq!(
            at, "Dockerfile:3",
            "at the FROM line of the stage running the trigger"
        );
        assert!(
            msg.starts_with("cannot copy from stage \"helper\""),
            "{msg}"
        );
        let df = "FROM scratch AS base\nONBUILD COPY --from=$X / /\nFROM base AS c\nFROM scratch\n";
        assert!(
            plan_for(df, None).is_ok(),
            "a trigger of an unneeded stage is not checked"
        );
        let (at, msg) = error(df, Some("c"));
        assert_eq!(
            (at.as_str(), msg.as_str()),
            (
                "Dockerfile:3",
                StageError::FromExpansion.to_string().as_str()
            )
        );
    }

    /// platform.go `defaultArgs`: TARGETSTAGE is the target as given, else the last stage's
    /// name, else `default`.
    #[test]
    fn targetstage_names_the_target() {
        assert_eq!(plan("FROM scratch\n").global_args["TARGETSTAGE"], "default");
        assert_eq!(
            plan("FROM scratch AS last\n").global_args["TARGETSTAGE"],
            "last"
        );
        let p = plan_for("FROM scratch AS a\nFROM scratch\n", Some("a")).unwrap();
        assert_eq!(p.global_args["TARGETSTAGE"], "a");
    }
}
