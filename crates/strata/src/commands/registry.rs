//! `strata registry serve`: the registry server on the embedded default (a data directory:
//! blobs on the filesystem, metadata in SQLite), configured by flags over an optional
//! config file, stopped by SIGINT/SIGTERM after the requests in flight finish.

use std::path::PathBuf;

use anyhow::{Context, Result};
use strata_registry::{Config, Server};

use crate::cli::{RegistryCommand, ServeArgs};

pub fn run(command: RegistryCommand) -> Result<()> {
    match command {
        RegistryCommand::Serve(args) => serve(args),
    }
}

/// `/var/lib/strata-registry` as root, else `$XDG_DATA_HOME/strata/registry`.
fn default_data_dir() -> PathBuf {
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/lib/strata-registry");
    }
    super::user_data_dir().join("strata/registry")
}

/// The config file's settings with the flags over them.
fn settings(args: &ServeArgs) -> Result<(Config, PathBuf)> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if args.addr.is_some() {
        config.addr = args.addr;
    }
    let data = args
        .data
        .clone()
        .or_else(|| config.data.clone())
        .unwrap_or_else(default_data_dir);
    Ok((config, data))
}

fn serve(args: ServeArgs) -> Result<()> {
    let (config, data) = settings(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let server = Server::bind(&config, &data)
            .await
            .with_context(|| format!("starting the registry in {}", data.display()))?;
        eprintln!(
            "strata registry serving http://{} (data in {})",
            server.local_addr(),
            data.display()
        );
        server.run(strata_registry::shutdown_signal()).await?;
        Ok(())
    })
}
