//! `strata build`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use strata_archive::Compression;
use strata_build::{BuildOptions, NetworkMode, Output, SecretSource};
use strata_content::Store;
use strata_oci::Reference;

use crate::cli::BuildArgs;
use crate::progress::{self, Mode};

pub fn run(store: &Store, args: BuildArgs) -> Result<()> {
    if args.push {
        bail!("--push needs the registry client, which strata does not have yet; use --output type=oci or `strata save`");
    }
    let opts = options(&args)?;
    let mode = progress_mode(&args)?;
    let _ = strata_build::install_signal_cleanup();
    let display = progress::Display::new(mode);
    let outcome = strata_build::build(store, &opts, &display);
    if outcome.is_err() {
        // A failure caused by Ctrl-C is not reported: the teardown exits with 130/143.
        strata_build::yield_to_signal_cleanup();
    }
    display.finish();
    let outcome = outcome?;
    let id = outcome.image.id().to_string();
    if let Some(path) = &args.iidfile {
        std::fs::write(path, &id).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.quiet {
        println!("{id}");
    } else {
        eprintln!("writing image {id} done");
        for t in &opts.tags {
            eprintln!("naming to {t} done");
        }
    }
    Ok(())
}

fn progress_mode(args: &BuildArgs) -> Result<Mode> {
    if args.quiet {
        return Ok(Mode::Quiet);
    }
    Ok(match args.progress.as_str() {
        "auto" if std::io::stderr().is_terminal() => Mode::Tty,
        "auto" | "plain" => Mode::Plain,
        "tty" => Mode::Tty,
        "quiet" => Mode::Quiet,
        other => bail!("invalid --progress {other:?}: expected auto, plain, tty or quiet"),
    })
}

fn options(args: &BuildArgs) -> Result<BuildOptions> {
    if !args.context.is_dir() {
        bail!(
            "build context {} is not a directory",
            args.context.display()
        );
    }
    let mut o = BuildOptions::new(&args.context);
    if let Some(f) = &args.file {
        o.dockerfile = f.clone();
    }
    for t in &args.tags {
        o.tags
            .push(Reference::parse(t).with_context(|| format!("invalid tag {t:?}"))?);
    }
    o.target = args.target.clone();
    o.build_args = build_args(&args.build_args);
    o.secrets = secrets(&args.secret)?;
    o.ssh = ssh_agents(&args.ssh)?;
    o.no_cache = args.no_cache;
    o.network = match args.network.as_str() {
        "host" | "default" => NetworkMode::Host,
        "none" => NetworkMode::None,
        other => bail!("invalid --network {other:?}: expected host or none"),
    };
    o.outputs = args
        .outputs
        .iter()
        .map(|s| output(s))
        .collect::<Result<_>>()?;
    o.source_date_epoch = args.source_date_epoch;
    o.compression = compression(&args.compression)?;
    if let Some(j) = args.jobs {
        o.jobs = j.max(1);
    }
    o.runtime = args.runtime.clone();
    o.labels = args.labels.iter().map(|l| split_kv(l)).collect();
    Ok(o)
}

fn split_kv(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.to_owned(), v.to_owned()),
        None => (s.to_owned(), String::new()),
    }
}

/// `K=V`, or `K` alone to take the value from the environment (skipped when unset), as
/// docker does.
fn build_args(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|a| match a.split_once('=') {
            Some((k, v)) => Some((k.to_owned(), v.to_owned())),
            None => std::env::var(a).ok().map(|v| (a.clone(), v)),
        })
        .collect()
}

fn csv(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(split_kv)
        .collect()
}

fn secrets(list: &[String]) -> Result<BTreeMap<String, SecretSource>> {
    let mut out = BTreeMap::new();
    for s in list {
        let kv = csv(s);
        let id = kv
            .get("id")
            .cloned()
            .with_context(|| format!("invalid --secret {s:?}: id= is required"))?;
        let source = match (kv.get("src").or_else(|| kv.get("source")), kv.get("env")) {
            (Some(p), _) => {
                let p = PathBuf::from(p);
                if !p.is_file() {
                    bail!("secret {id:?}: {} is not a readable file", p.display());
                }
                SecretSource::File(p)
            }
            (None, Some(e)) => SecretSource::Env(e.clone()),
            (None, None) => SecretSource::Env(id.clone()),
        };
        out.insert(id, source);
    }
    Ok(out)
}

/// `--ssh default|ID[=SOCKET]` as buildx takes it; a missing socket is `$SSH_AUTH_SOCK`.
/// Only agent sockets are forwarded: a key file is refused with what to do instead.
fn ssh_agents(list: &[String]) -> Result<BTreeMap<String, PathBuf>> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = BTreeMap::new();
    for s in list {
        let (id, path) = match s.split_once('=') {
            Some((id, p)) => (id, PathBuf::from(p)),
            None => match std::env::var_os("SSH_AUTH_SOCK") {
                Some(p) => (s.as_str(), PathBuf::from(p)),
                None => {
                    bail!("--ssh {s}: SSH_AUTH_SOCK is not set; start ssh-agent or give ID=SOCKET")
                }
            },
        };
        if id.is_empty() || path.as_os_str().is_empty() {
            bail!("invalid --ssh {s:?}: expected default or ID[=SOCKET]");
        }
        let meta = std::fs::metadata(&path)
            .with_context(|| format!("--ssh {id}: cannot use {}", path.display()))?;
        if !meta.file_type().is_socket() {
            bail!(
                "--ssh {id}: {} is not an SSH agent socket (key files are not supported: \
                 add the key to an agent with `ssh-add {}` and pass --ssh {id})",
                path.display(),
                path.display()
            );
        }
        out.insert(id.to_owned(), path);
    }
    Ok(out)
}

fn output(s: &str) -> Result<Output> {
    let kv = csv(s);
    let dest = || {
        kv.get("dest")
            .map(PathBuf::from)
            .with_context(|| format!("--output {s:?}: dest= is required"))
    };
    Ok(match kv.get("type").map(String::as_str) {
        Some("image") => Output::Image,
        Some("oci") => Output::Oci { dest: dest()? },
        Some("docker") => Output::Docker { dest: dest()? },
        Some("local") => Output::Local { dest: dest()? },
        Some("registry") => bail!(
            "--output type=registry needs the registry client, which strata does not have yet"
        ),
        Some(other) => {
            bail!("unknown --output type {other:?}: expected image, oci, docker or local")
        }
        None if kv.len() == 1 && !s.contains('=') => Output::Local {
            dest: PathBuf::from(s),
        },
        None => bail!("--output {s:?}: type= is required"),
    })
}

fn compression(s: &str) -> Result<Compression> {
    Ok(match s {
        "gzip" => Compression::Gzip {
            level: strata_archive::DEFAULT_GZIP_LEVEL,
        },
        "zstd" => Compression::Zstd {
            level: strata_archive::DEFAULT_ZSTD_LEVEL,
        },
        "uncompressed" | "none" => Compression::None,
        other => bail!("unknown --compression {other:?}: expected gzip, zstd or uncompressed"),
    })
}
