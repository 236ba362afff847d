//! `strata registry robot create|list|delete`: robot accounts (`robot$NAME`) in a registry's
//! metadata store, as Harbor's: their own repository globs and actions, an expiry, a secret
//! printed once on stdout (only its hash is stored). Safe while `serve` runs on the same
//! data directory: the server reads robot accounts from the store at each login.

use std::sync::Arc;

use anyhow::{Context, Result};
use strata_registry::auth::robots::{self, CreatedRobot};
use strata_registry::auth::{rfc3339, ROBOT_PREFIX};
use strata_registry::meta::{Meta, RobotRecord};
use strata_registry::server::open_stores;

use crate::cli::{RobotCommand, RobotCreateArgs, StoreArgs};

pub fn run(command: RobotCommand) -> Result<()> {
    match command {
        RobotCommand::Create(args) => create(args),
        RobotCommand::List(store) => list(&store),
        RobotCommand::Delete { name, store } => delete(&name, &store),
    }
}

/// The metadata store of the data directory `store` names, and a runtime to drive it.
fn open_meta(
    store: &StoreArgs,
    must_exist: bool,
) -> Result<(tokio::runtime::Runtime, Arc<dyn Meta>)> {
    let (config, data) = super::registry::load(store.config.as_deref(), store.data.as_ref())?;
    if must_exist && !config.is_shared() && !data.join("registry.db").is_file() {
        anyhow::bail!("{} holds no registry (no registry.db)", data.display());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (_, meta) = runtime
        .block_on(open_stores(&data, &config))
        .with_context(|| format!("opening the registry in {}", data.display()))?;
    Ok((runtime, meta))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn expiry_text(record: &RobotRecord, now: i64) -> String {
    match record.expires {
        None => "never".to_owned(),
        Some(at) if at <= now => format!("{} (expired)", rfc3339(at)),
        Some(at) => rfc3339(at),
    }
}

fn create(args: RobotCreateArgs) -> Result<()> {
    let name = args
        .name
        .strip_prefix(ROBOT_PREFIX)
        .unwrap_or(&args.name)
        .to_owned();
    let expires_in = robots::parse_expiry(&args.expires)?;
    let now = now();
    let (runtime, meta) = open_meta(&args.store, false)?;
    let CreatedRobot { record, secret } = runtime.block_on(robots::create(
        meta.as_ref(),
        &name,
        &args.repositories,
        &args.actions,
        expires_in,
        now,
    ))?;
    eprintln!(
        "created {ROBOT_PREFIX}{} ({} on {}, expires {}); its secret follows, shown only now",
        record.name,
        record.actions.join(","),
        record.repositories.join(" "),
        expiry_text(&record, now)
    );
    super::out(secret)
}

fn list(store: &StoreArgs) -> Result<()> {
    let (runtime, meta) = open_meta(store, true)?;
    let robots = runtime.block_on(meta.robots())?;
    let now = now();
    super::out(format_args!(
        "{:<24} {:<16} {:<28} EXPIRES",
        "NAME", "ACTIONS", "REPOSITORIES"
    ))?;
    for r in &robots {
        super::out(format_args!(
            "{:<24} {:<16} {:<28} {}",
            format!("{ROBOT_PREFIX}{}", r.name),
            r.actions.join(","),
            r.repositories.join(" "),
            expiry_text(r, now)
        ))?;
    }
    Ok(())
}

fn delete(name: &str, store: &StoreArgs) -> Result<()> {
    let name = name.strip_prefix(ROBOT_PREFIX).unwrap_or(name).to_owned();
    let (runtime, meta) = open_meta(store, true)?;
    runtime.block_on(robots::delete(meta.as_ref(), &name))?;
    super::out(format_args!("deleted {ROBOT_PREFIX}{name}"))
}
