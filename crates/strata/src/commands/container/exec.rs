//! `strata exec [-it] [-e] [-u] [-w] CONTAINER CMD…`: a process in a running container
//! through `runc exec`; exits with its code.

use std::path::Path;

use anyhow::{bail, Result};
use strata_container::containers::Containers;
use strata_container::exec::{self, ExecSpec, Target};
use strata_container::image::{read_from_layers, resolve_user};

use crate::cli::ExecArgs;
use crate::commands::ExitWith;

pub fn exec(root: &Path, args: ExecArgs) -> Result<()> {
    let c = Containers::new(root).find(&args.container)?;
    if !c.is_running() {
        bail!("container {} is not running", c.config.name);
    }
    let runtime = super::runtime_of(&c)?;
    let user = match &args.user {
        Some(u) => Some(resolve_user(u, &|p| read_from_layers(&c.config.lowers, p))?),
        None => None,
    };
    let env = args
        .env
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            None => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect();
    let spec = ExecSpec {
        args: args.command,
        env,
        user,
        workdir: args.workdir,
        tty: args.tty,
        interactive: args.interactive,
    };
    let (runtime_root, scratch) = (c.paths.runc_root(), exec::scratch_dir(&c.paths.run_dir()));
    let target = Target {
        runtime: &runtime,
        runtime_root: &runtime_root,
        id: &c.config.id,
        scratch: &scratch,
    };
    let code = exec::exec(&target, &c.config, &spec)?;
    if code == 0 {
        return Ok(());
    }
    Err(ExitWith {
        code: code as u8,
        message: String::new(),
    }
    .into())
}
