//! `build()`: plan the Dockerfile, run the stages the target needs, export the target. The
//! one place that knows every room: [`crate::plan`], [`crate::solve`], [`crate::output`].

use strata_content::{Image, Store};

use crate::error::{BuildError, Result};
use crate::options::{BuildOptions, Built, Output};
use crate::output::annotate::{manifest_annotations, record_linked_layers, BaseImage};
use crate::output::export::{commit_image, export};
use crate::output::snapshots::{executor_dir, open_snapshots};
use crate::plan::Plan;
use crate::progress::{Event, Progress};
use crate::remote::usage::{keep_imported, CacheUse};
use crate::remote::{ensure_blobs, NoRemoteCache, RemoteCache};
use crate::solve::Solver;
use crate::steps::{RuncSandbox, Sandbox};

/// What a finished build produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub image: Image,
    /// What it used of the cache: the input of [`crate::export_cache`] (`--cache-to`).
    pub cache: CacheUse,
    /// The image the target is built on (`None`: `FROM scratch`).
    pub base: Option<BaseImage>,
}

/// Builds the target stage of `opts.dockerfile` and runs the exporters, with RUN steps in
/// real containers ([`RuncSandbox`]).
pub fn build(store: &Store, opts: &BuildOptions, progress: &dyn Progress) -> Result<BuildOutcome> {
    let sandbox = RuncSandbox::new(&executor_dir(store), opts.runtime.clone());
    build_in(store, opts, progress, &sandbox)
}

/// [`build`] whose steps also hit the records of an imported build cache (`--cache-from`),
/// fetching its layers only where the build needs them.
pub fn build_with_cache(
    store: &Store,
    opts: &BuildOptions,
    progress: &dyn Progress,
    remote: &dyn RemoteCache,
) -> Result<BuildOutcome> {
    let sandbox = RuncSandbox::new(&executor_dir(store), opts.runtime.clone());
    build_with(store, opts, progress, &sandbox, remote)
}

/// [`build`] with RUN steps in the given sandbox.
pub fn build_in(
    store: &Store,
    opts: &BuildOptions,
    progress: &dyn Progress,
    sandbox: &dyn Sandbox,
) -> Result<BuildOutcome> {
    build_with(store, opts, progress, sandbox, &NoRemoteCache)
}

/// [`build_in`] with an imported build cache (see [`build_with_cache`]).
pub fn build_with(
    store: &Store,
    opts: &BuildOptions,
    progress: &dyn Progress,
    sandbox: &dyn Sandbox,
    remote: &dyn RemoteCache,
) -> Result<BuildOutcome> {
    let architecture = strata_oci::config::host_architecture();
    let loaded;
    let opts = if opts
        .named_contexts
        .values()
        .any(|c| matches!(c, crate::options::context::NamedContext::Dir(_)))
    {
        loaded = BuildOptions {
            named_contexts: crate::sources::named::load_dirs(store, opts, architecture)?,
            ..opts.clone()
        };
        &loaded
    } else {
        opts
    };
    let plan = Plan::new(opts, architecture)?;
    for w in &plan.warnings {
        progress.event(Event::Warning(w.clone()));
    }
    let snapshots = open_snapshots(store, sandbox.mounter())?;
    let solver = Solver::new(
        &plan,
        store,
        &snapshots,
        sandbox,
        opts,
        progress,
        architecture,
    )
    .with_remote(remote);
    let result = solver.run()?;
    ensure_blobs(
        store,
        remote,
        result.state.layers.iter().map(|l| l.descriptor.clone()),
    )?;
    let mut state = result.state.clone();
    for (k, v) in &opts.labels {
        state.config.config.labels.insert(k.clone(), v.clone());
    }
    let base = solver.target_base();
    let mut annotations =
        manifest_annotations(opts, base.as_ref(), state.config.created.as_deref());
    if let (Some(key), Some(_), Some(n)) = (&opts.linked_layers_into, &base, state.own.linked()) {
        record_linked_layers(&mut annotations, key, n);
    }
    let image = commit_image(store, &state, annotations)?;
    solver.context.finish(store)?;
    warn_unused_args(progress, &solver.unused_args());
    let cache = solver.usage.finish(solver.final_stages());
    keep_imported(store, &cache)?;
    if let Some(gate) = &opts.gate {
        let built = Built {
            image: &image,
            base: base.as_ref(),
            tags: &opts.tags,
        };
        gate.check(store, &built)
            .map_err(|source| BuildError::Gate {
                digest: image.manifest_digest.clone(),
                source,
            })?;
    }
    let outputs = if opts.outputs.is_empty() {
        vec![Output::Image]
    } else {
        opts.outputs.clone()
    };
    // A registry output is the caller's to push (the builder does no HTTP).
    for output in outputs
        .iter()
        .filter(|o| !matches!(o, Output::Registry { .. }))
    {
        progress.event(Event::Message(format!(
            "exporting to {}",
            describe_output(output)
        )));
        export(store, &image, &opts.tags, output)?;
    }
    Ok(BuildOutcome { image, cache, base })
}

fn warn_unused_args(progress: &dyn Progress, unused: &[String]) {
    if !unused.is_empty() {
        progress.event(Event::Warning(format!(
            "one or more build-args [{}] were not consumed",
            unused.join(" ")
        )));
    }
}

fn describe_output(o: &Output) -> String {
    match o {
        Output::Image => "image".to_owned(),
        Output::Oci { dest } => format!("oci image layout {}", dest.display()),
        Output::Docker { dest } => format!("docker archive {}", dest.display()),
        Output::Local { dest } => format!("directory {}", dest.display()),
        Output::Registry { .. } => "registry".to_owned(),
    }
}
