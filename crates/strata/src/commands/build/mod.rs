//! `strata build`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use strata_build::{BuildOptions, Output, SecretArg, SecretSource, SshArg};
use strata_content::Store;

use crate::cli::{BuildArgs, KeyValue};
use crate::progress::{self, Mode};

mod cache;
mod checks;
pub(crate) mod metadata;
mod policy;
mod registry;
mod sbom;

pub fn run(store: &Store, args: BuildArgs) -> Result<()> {
    let opts = options(&args)?;
    let report = checks::run(store, &opts, args.check)?;
    if args.check {
        return check_only(report.as_ref(), &opts);
    }
    if let Some((report, _)) = &report {
        checks::fail_on_error(report)?;
    }
    let pushes = registry::push_targets(&opts)?;
    let mode = Mode::of(args.progress, args.quiet);
    let _ = strata_build::install_signal_cleanup();
    let display = progress::Display::new(mode);
    let outcome = build_and_share(store, &opts, &args, &display);
    display.finish();
    // As buildx: the summary is left out of quiet output.
    if let Some((report, _)) = report.as_ref().filter(|_| mode != Mode::Quiet) {
        checks::print_summary(&report.findings);
    }
    let outcome = outcome?;
    registry::push_all(store, &outcome.image, &pushes, mode)?;
    if let Some(kind) = args.sbom {
        let name = opts
            .tags
            .first()
            .map_or_else(|| outcome.image.id().to_string(), |t| t.to_string());
        sbom::attach(
            store,
            &outcome.image,
            kind,
            &name,
            &pushes,
            args.source_date_epoch,
        )?;
    }
    let id = outcome.image.id().to_string();
    if let Some(path) = &args.iidfile {
        std::fs::write(path, &id).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.quiet {
        super::out(&id)?;
    } else {
        eprintln!("writing image {id} done");
        // Tags name the image in the store: only the image exporter applies them (as buildx).
        if opts.outputs.is_empty() || opts.outputs.contains(&strata_build::Output::Image) {
            for t in &opts.tags {
                eprintln!("naming to {t} done");
            }
        }
    }
    Ok(())
}

/// `--check`: the checks alone, buildx's expanded output, exit 1 when any (or when
/// `# check=error=true` makes them errors); nothing is built.
fn check_only(
    report: Option<&(strata_check::lint::Report, Vec<String>)>,
    opts: &BuildOptions,
) -> Result<()> {
    let Some((report, lines)) = report else {
        // It cannot be read or does not parse: say why, as a build would.
        let src = std::fs::read_to_string(&opts.dockerfile)
            .with_context(|| format!("read {}", opts.dockerfile.display()))?;
        let name = opts.dockerfile.display().to_string();
        super::checks::read_context(&opts.context, &opts.dockerfile)?;
        strata_check::lint::check(&src, &name, &Default::default())?;
        return Ok(());
    };
    checks::print_expanded(&report.findings, &opts.dockerfile, lines);
    checks::fail_on_error(report)?;
    if !report.findings.is_empty() {
        bail!("{} build check warning(s)", report.findings.len());
    }
    Ok(())
}

/// Imports `--cache-from`, builds, then exports `--cache-to`.
fn build_and_share(
    store: &Store,
    opts: &BuildOptions,
    args: &BuildArgs,
    display: &progress::Display,
) -> Result<strata_build::BuildOutcome> {
    let imported = cache::import(store, &args.cache_from, display)?;
    let outcome = strata_build::build_with_cache(store, opts, display, &imported);
    if outcome.is_err() {
        // A failure caused by Ctrl-C is not reported: the teardown exits with 130/143.
        strata_build::yield_to_signal_cleanup();
    }
    let outcome = outcome?;
    cache::export(store, &args.cache_to, &outcome, opts, &imported, display)?;
    Ok(outcome)
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
    let source = match args.no_git_metadata {
        true => metadata::Source::default(),
        false => metadata::Source::detect(&o.context, &o.dockerfile)?,
    };
    o.tags = tags(args, &source)?;
    o.target = args.target.clone();
    o.build_args = build_args(&args.build_args);
    o.secrets = secrets(&args.secret)?;
    o.ssh = ssh_agents(&args.ssh)?;
    o.no_cache = args.no_cache;
    o.network = args.network.into();
    o.outputs = args.outputs.clone();
    if args.push {
        // As `docker build --push`: the image is named in the store too (unless -o says
        // where else it goes), then pushed under every tag.
        if o.outputs.is_empty() {
            o.outputs.push(Output::Image);
        }
        o.outputs.push(Output::Registry { name: None });
    }
    o.pull = args.pull;
    o.puller = Some(Arc::new(registry::Puller::default()));
    o.source_date_epoch = args.source_date_epoch;
    o.compression = args.compression;
    if let Some(j) = args.jobs {
        o.jobs = j.max(1);
    }
    o.runtime = args.runtime.clone();
    o.named_contexts = named_contexts(&args.build_contexts)?;
    o.labels = args
        .labels
        .iter()
        .map(|l| (l.key.clone(), l.value.clone().unwrap_or_default()))
        .collect();
    o.auto_annotations = true;
    if let Some(path) = &args.policy {
        o.gate = Some(Arc::new(policy::PolicyGate::load(path)?));
    }
    o.annotations = metadata::annotations(&metadata::Inputs {
        context: &o.context,
        dockerfile: &o.dockerfile,
        target: o.target.as_deref(),
        build_args: &o.build_args,
        tags: &named(&o),
        source: &source,
        explicit: &args.annotations,
        reproducible: o.source_date_epoch.is_some(),
    })?;
    // The build record learns at the end whether the image can be re-based.
    o.linked_layers_into = Some(strata_govern::annotations::BUILD.to_owned());
    Ok(o)
}

/// `--build-context`s by name; a directory must exist (buildx checks it before building).
fn named_contexts(
    list: &[strata_build::BuildContextArg],
) -> Result<BTreeMap<String, strata_build::NamedContext>> {
    let mut out = BTreeMap::new();
    for c in list {
        if let strata_build::NamedContext::Dir(dir) = &c.context {
            if !dir.is_dir() {
                bail!(
                    "build context {}: {} is not a directory",
                    c.name,
                    dir.display()
                );
            }
        }
        if out.insert(c.name.clone(), c.context.clone()).is_some() {
            bail!("build context {} given twice", c.name);
        }
    }
    Ok(out)
}

/// The names the image is given: the `-t` tags, else `-o type=registry,name=REF`.
fn named(o: &BuildOptions) -> Vec<strata_oci::Reference> {
    if !o.tags.is_empty() {
        return o.tags.clone();
    }
    o.outputs
        .iter()
        .filter_map(|out| match out {
            Output::Registry { name } => name.clone(),
            _ => None,
        })
        .collect()
}

/// The `-t` tags: a NAME without a tag is `NAME:latest`, as docker takes it, or with
/// `--tag-from-git` gets the tags git gives.
fn tags(args: &BuildArgs, source: &metadata::Source) -> Result<Vec<strata_oci::Reference>> {
    use metadata::tags::{apply, derived, Derive};
    if let Some(kind) = args.tag_from_git {
        let derive = match kind {
            crate::cli::TagFromGit::Exact => Derive::Exact,
            crate::cli::TagFromGit::Full => Derive::Full,
        };
        let tags = apply(&args.tags, &derived(source, derive)?)?;
        if source.dirty {
            tracing::warn!("--tag-from-git: the work tree has changes that are not committed");
        }
        return Ok(tags);
    }
    Ok(args
        .tags
        .iter()
        .map(|r| match (r.tag(), r.digest()) {
            (None, None) => r.with_tag("latest"),
            _ => r.clone(),
        })
        .collect())
}

/// `K=V`, or `K` alone to take the value from the environment (skipped when unset), as
/// docker does.
fn build_args(list: &[KeyValue]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|a| {
            let value = match &a.value {
                Some(v) => v.clone(),
                None => std::env::var(&a.key).ok()?,
            };
            Some((a.key.clone(), value))
        })
        .collect()
}

/// Each secret's source (buildx's default for `id=ID` alone); a file must exist.
fn secrets(list: &[SecretArg]) -> Result<BTreeMap<String, SecretSource>> {
    let mut out = BTreeMap::new();
    for s in list {
        let source = s.resolve();
        if let SecretSource::File(p) = &source {
            if !p.is_file() {
                bail!("secret {:?}: {} is not a readable file", s.id, p.display());
            }
        }
        out.insert(s.id.clone(), source);
    }
    Ok(out)
}

/// Each `--ssh` agent socket; a missing socket is `$SSH_AUTH_SOCK`. Only agent sockets are
/// forwarded: a key file is refused with what to do instead.
fn ssh_agents(list: &[SshArg]) -> Result<BTreeMap<String, PathBuf>> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = BTreeMap::new();
    for SshArg { id, socket } in list {
        let path = match socket {
            Some(p) => p.clone(),
            None => match std::env::var_os("SSH_AUTH_SOCK") {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ => {
                    bail!("--ssh {id}: SSH_AUTH_SOCK is not set; start ssh-agent or give ID=SOCKET")
                }
            },
        };
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
        out.insert(id.clone(), path);
    }
    Ok(out)
}
