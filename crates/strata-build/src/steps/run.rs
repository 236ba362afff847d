//! RUN: a command in a container over the stage's filesystem.

use std::collections::BTreeSet;

use strata_dockerfile::instructions::{Command, RunCommand};

use crate::error::Result;
use crate::progress::StepName;
use crate::stage::StageRunner;

pub fn run(
    r: &mut StageRunner<'_, '_>,
    cmd: &Command,
    _run: &RunCommand,
    _used: &BTreeSet<String>,
    _name: &StepName,
) -> Result<bool> {
    Err(r.step_error(
        cmd,
        "RUN is not supported yet: the container executor is not wired in".into(),
    ))
}
