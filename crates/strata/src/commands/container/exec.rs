//! `strata exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD…`: a process in a running
//! container through `runc exec` (strata_container::exec), docker's semantics: the
//! container's env, user and working directory unless overridden, an error when the
//! container is not running, the process's exit code as ours.

use std::path::Path;

use anyhow::{Context, Result};
use strata_container::containers::Containers;
use strata_container::exec::{self, ExecError, ExecSpec, Target};
use strata_container::image as semantics;

use crate::cli::ExecArgs;
use crate::commands::ExitWith;

pub fn exec(root: &Path, args: ExecArgs) -> Result<()> {
    let containers = Containers::new(root);
    let c = containers.find(&args.container)?;
    if !c.is_running() {
        return Err(ExecError::NotRunning {
            id: args.container.clone(),
        }
        .into());
    }
    let runtime = super::runtime_of(&c)?;
    let user = match &args.user {
        Some(u) => Some(
            semantics::resolve_user(u, &|p| semantics::read_from_layers(&c.config.lowers, p))
                .with_context(|| format!("user {u:?}"))?,
        ),
        None => None,
    };
    // docker: `-e KEY` takes KEY from our environment, and is dropped when unset there.
    let env = args
        .env
        .iter()
        .filter_map(|e| match e.contains('=') {
            true => Some(e.clone()),
            false => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect();
    let spec = ExecSpec {
        args: args.command.clone(),
        env,
        user,
        workdir: args.workdir.clone(),
        tty: args.tty,
        interactive: args.interactive,
    };
    let runc_root = c.paths.runc_root();
    let target = Target {
        runtime: &runtime,
        runtime_root: &runc_root,
        id: &c.paths.id,
    };
    let code = exec::exec(&target, &c.config, &spec)?;
    if code == 0 {
        return Ok(());
    }
    Err(ExitWith {
        code: u8::try_from(code).unwrap_or(255),
        message: String::new(),
    }
    .into())
}
