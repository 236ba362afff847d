//! `strata registry serve`: the registry server on the embedded default (a data directory:
//! blobs on the filesystem, metadata in SQLite) or on shared stores (blobs in S3, metadata in
//! PostgreSQL: several replicas), configured by flags over an optional config file, stopped
//! by SIGINT/SIGTERM after the requests in flight finish.
//! `strata registry gc`: one garbage collection run on the registry's stores (online-safe).
//! `strata registry retention`: one retention run (see `retention.rs`).
//! `strata registry robot`: robot accounts (see `robot.rs`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use strata_registry::server::open;
use strata_registry::{Config, GcReport, Server};

use crate::cli::{GcArgs, RegistryCommand, ServeArgs};

pub fn run(command: RegistryCommand) -> Result<()> {
    match command {
        RegistryCommand::Serve(args) => serve(args),
        RegistryCommand::Gc(args) => gc(args),
        RegistryCommand::Retention(args) => super::retention::run(args),
        RegistryCommand::Robot(command) => super::robot::run(command),
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
    let (mut config, data) = load(args.config.as_deref(), args.data.as_ref())?;
    if args.addr.is_some() {
        config.addr = args.addr;
    }
    Ok((config, data))
}

/// The config file (or the defaults) and the data directory (flag, file, default).
pub(super) fn load(config: Option<&Path>, data: Option<&PathBuf>) -> Result<(Config, PathBuf)> {
    let config = match config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let (true, Some(data)) = (config.is_shared(), data) {
        anyhow::bail!(
            "--data {} is not used with s3 storage and postgres metadata (nothing is stored \
             locally)",
            data.display()
        );
    }
    let data = data
        .cloned()
        .or_else(|| config.data.clone())
        .unwrap_or_else(default_data_dir);
    Ok((config, data))
}

fn gc(args: GcArgs) -> Result<()> {
    let (config, data) = load(args.config.as_deref(), args.data.as_ref())?;
    if !config.is_shared() && !data.join("registry.db").is_file() {
        anyhow::bail!("{} holds no registry (no registry.db)", data.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let place = describe(&config, &data);
        let registry = open(&config, &data)
            .await
            .with_context(|| format!("opening the registry in {place}"))?;
        registry
            .collect_garbage(&config.gc_policy(), args.dry_run)
            .await
            .with_context(|| format!("collecting garbage in {place}"))
    })?;
    print_report(&report);
    Ok(())
}

/// Where the registry's content lives, for messages: the data directory, or the bucket.
pub(super) fn describe(config: &Config, data: &Path) -> String {
    match config.storage.s3_settings() {
        Some(s3) if config.is_shared() => format!("S3 bucket {} and PostgreSQL", s3.bucket),
        _ => data.display().to_string(),
    }
}

/// One line per removed item, then the totals, on stdout.
fn print_report(report: &GcReport) {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for (name, digest) in &report.manifests {
        println!("{verb} manifest {name}@{digest}");
    }
    for (name, digest) in &report.links {
        println!("{verb} link {name}@{digest}");
    }
    for digest in &report.blobs {
        println!("{verb} blob {digest}");
    }
    println!(
        "{verb} {} untagged manifests, {} unused links, {} blobs, {} bytes",
        report.manifests.len(),
        report.links.len(),
        report.blobs.len(),
        report.bytes
    );
}

fn serve(args: ServeArgs) -> Result<()> {
    let (config, data) = settings(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let place = describe(&config, &data);
        let server = Server::bind(&config, &data)
            .await
            .with_context(|| format!("starting the registry in {place}"))?;
        let scheme = if server.is_tls() { "https" } else { "http" };
        eprintln!(
            "strata registry serving {scheme}://{} (data in {place})",
            server.local_addr()
        );
        server.run(strata_registry::shutdown_signal()).await?;
        Ok(())
    })
}
