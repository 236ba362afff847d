//! The container verbs: `run`, `ps`, `logs`, `stop`, `kill`, `rm`, `inspect` of a
//! container and the hidden `container-monitor`.

mod exec;
mod inspect;
mod logs;
mod port;
mod ps;
pub mod run;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use strata_container::containers::{Container, Containers};
use strata_container::signals::parse_signal;
use strata_executor::Runtime;

use crate::cli::{KillArgs, RmArgs, StopArgs};

pub use exec::exec;
pub use inspect::inspect;
pub use logs::logs;
pub use port::port;
pub use ps::ps;

/// The runtime a container was started with (not probed again), else the detected one.
fn runtime_of(c: &Container) -> Result<Runtime> {
    if !c.config.runtime.as_os_str().is_empty() && c.config.runtime.is_file() {
        return Ok(Runtime::at(&c.config.runtime));
    }
    Ok(Runtime::detect(None)?)
}

/// Applies `op` to each named container, printing the name as given on success (docker's
/// habit); the first failure is reported after trying all.
fn each(
    root: &Path,
    names: &[String],
    mut op: impl FnMut(&Containers, &Container, &Runtime) -> Result<()>,
) -> Result<()> {
    let containers = Containers::new(root);
    let mut failed = None;
    for name in names {
        let result = containers
            .find(name)
            .map_err(anyhow::Error::from)
            .and_then(|c| op(&containers, &c, &runtime_of(&c)?));
        match result {
            Ok(()) => super::out(name)?,
            Err(e) => {
                eprintln!("error: {e:#}");
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e.context("some containers could not be handled")),
        None => Ok(()),
    }
}

pub fn stop(root: &Path, args: StopArgs) -> Result<()> {
    each(root, &args.containers, |cs, c, rt| {
        let secs = args.time.unwrap_or(c.config.stop_timeout);
        Ok(cs.stop(c, rt, Duration::from_secs(secs))?)
    })
}

pub fn kill(root: &Path, args: KillArgs) -> Result<()> {
    let signal = parse_signal(&args.signal)?;
    each(root, &args.containers, |cs, c, rt| {
        Ok(cs.kill(c, rt, signal)?)
    })
}

pub fn rm(root: &Path, args: RmArgs) -> Result<()> {
    each(root, &args.containers, |cs, c, rt| {
        Ok(cs.remove(c, rt, args.force)?)
    })
}

/// `strata container-monitor [--attach] ID`: exits with the container's code.
pub fn monitor(root: &Path, id: &str, attach: bool) -> Result<()> {
    let containers = Containers::new(root);
    let c = containers
        .load(id)
        .with_context(|| format!("container {id}"))?;
    let runtime = runtime_of(&c)?;
    let code = strata_container::monitor::run(root, id, attach, &runtime)?;
    std::process::exit(code);
}

/// Removes every container that is not running (`prune --containers`); their IDs.
pub fn prune_stopped(root: &Path) -> Result<Vec<String>> {
    let containers = Containers::new(root);
    let mut removed = Vec::new();
    for c in containers.list()? {
        if c.is_running() || starting(&c) {
            continue;
        }
        containers.remove(&c, &runtime_of(&c)?, false)?;
        removed.push(c.config.id);
    }
    Ok(removed)
}

/// A container `strata run` is still starting: created less than a minute ago, or its
/// monitor alive (never pruned under a starting `run`).
fn starting(c: &Container) -> bool {
    use time::format_description::well_known::Rfc3339;
    if c.state.status != strata_container::state::Status::Created {
        return false;
    }
    let young = time::OffsetDateTime::parse(&c.config.created, &Rfc3339)
        .map(|t| time::OffsetDateTime::now_utc() - t < time::Duration::minutes(1))
        .unwrap_or(false);
    young || c.monitor_alive()
}

/// The containers (any state) using the image with this manifest or config digest.
pub fn users_of(root: &Path, digests: &[String]) -> Result<Vec<Container>> {
    Ok(Containers::new(root)
        .list()?
        .into_iter()
        .filter(|c| {
            digests.contains(&c.config.image_digest) || digests.contains(&c.config.image_id)
        })
        .collect())
}
