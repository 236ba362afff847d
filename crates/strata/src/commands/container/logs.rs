//! `strata logs [-f] [--tail N] [-t]`: the container's json-file log.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Result};
use strata_container::containers::Containers;
use strata_container::logs::{follow, read, Record};
use strata_container::state::Status;

use crate::cli::LogsArgs;

pub fn logs(root: &Path, args: LogsArgs) -> Result<()> {
    let containers = Containers::new(root);
    let c = containers.find(&args.container)?;
    let tail = match args.tail.as_str() {
        "all" | "-1" => None,
        n => match n.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => bail!("invalid --tail {n:?}: a number or \"all\""),
        },
    };
    let log = c.paths.log();
    let (records, offset) = read(&log, tail)?;
    let timestamps = args.timestamps;
    let mut emit = move |r: &Record| -> std::io::Result<()> {
        let text = if timestamps {
            format!("{} {}", r.time, r.log)
        } else {
            r.log.clone()
        };
        if r.stream == "stderr" {
            let mut e = std::io::stderr().lock();
            e.write_all(text.as_bytes())?;
            e.flush()
        } else {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes())?;
            o.flush()
        }
    };
    for r in &records {
        emit(r)?;
    }
    if !args.follow {
        return Ok(());
    }
    let store = c.store();
    let mut done = || {
        store
            .load()
            .map(|s| s.status == Status::Exited || !c.monitor_alive())
            .unwrap_or(true)
    };
    follow(&log, offset, &mut done, &mut emit)?;
    Ok(())
}
