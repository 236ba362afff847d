//! `strata rebuild --dependents-of IMAGE`: rebuild every image downstream of what IMAGE's tag
//! named before (the registry's tag history), parents before children.
//!
//! The plan ([`plan`]) comes from the registry: the tag's earlier digests, each one's
//! dependents (with their `org.strata.build` records), grouped in waves by depth (a wave
//! depends only on earlier waves, so its images build in parallel, up to `--jobs`). Each
//! image is then rebuilt ([`build_one`]): its recorded source checked out (a git repository
//! cloned at its commit into a temporary directory, a local path used as it is), built
//! in-process by the code `strata build` runs, with `--build-context <its FROM
//! name>=docker-image://<new parent>@<digest>` so its base resolves to the new parent,
//! annotated `org.strata.rebuild.of=<previous digest>`, and pushed as
//! `<original tag>-rebuild.N` (never over an existing tag).
//!
//! With `--rebase`, an image whose build record says its own layers are all linked copies
//! (`linkedLayers`) is re-based instead ([`rebase`]): no build, its manifest and config put
//! on the new parent; when that cannot be (the parent's config changed…), it is rebuilt and
//! the reason printed.

mod plan;
mod rebase;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Parser;
use strata_content::Store;
use strata_govern::lineage::BuildRecord;
use strata_oci::{Digest, Reference};

use crate::cli::{Cli, ProgressKind, RebuildArgs};
use plan::{Plan, Planned, Skip};

pub fn run(store: &Store, args: RebuildArgs) -> Result<()> {
    let plan = plan::make(&args.dependents_of)?;
    plan.print()?;
    if args.dry_run {
        return Ok(());
    }
    let outcomes = execute(store, &plan, &args)?;
    report(&plan, &outcomes)
}

/// What happened to one planned image.
#[derive(Debug, Clone)]
enum Outcome {
    Rebuilt { tag: Reference, digest: Digest },
    Rebased { tag: Reference, digest: Digest },
    Failed(String),
    Skipped(String),
}

fn execute(store: &Store, plan: &Plan, args: &RebuildArgs) -> Result<BTreeMap<Digest, Outcome>> {
    let mut outcomes: BTreeMap<Digest, Outcome> = BTreeMap::new();
    for (w, wave) in plan.waves.iter().enumerate() {
        eprintln!("wave {}: {} image(s)", w + 1, wave.len());
        let mut ready = Vec::new();
        for p in wave {
            match ready_to_build(plan, p, &outcomes) {
                Ok(parent) => ready.push((p, parent)),
                Err(reason) => {
                    outcomes.insert(p.digest.clone(), Outcome::Skipped(reason));
                }
            }
        }
        for chunk in ready.chunks(args.jobs.max(1)) {
            let results: Vec<(Digest, Outcome)> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|(p, parent)| {
                        s.spawn(move || {
                            (
                                p.digest.clone(),
                                rebase_or_build(store, plan, p, parent, args),
                            )
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a rebuild thread panicked"))
                    .collect()
            });
            for (digest, outcome) in results {
                outcomes.insert(digest, outcome);
            }
        }
    }
    Ok(outcomes)
}

/// The new parent of `p` (`ref@digest`), or why it cannot be built.
fn ready_to_build(
    plan: &Plan,
    p: &Planned,
    outcomes: &BTreeMap<Digest, Outcome>,
) -> Result<Reference, String> {
    if let Some(skip) = &p.skip {
        return Err(skip.to_string());
    }
    if plan.old_digests.contains(&p.parent) {
        return Ok(plan.new_parent.clone());
    }
    match outcomes.get(&p.parent) {
        Some(Outcome::Rebuilt { tag, digest } | Outcome::Rebased { tag, digest }) => {
            Ok(tag.with_digest(digest.clone()))
        }
        Some(Outcome::Failed(_)) => Err(format!("its parent {} failed to rebuild", p.parent)),
        Some(Outcome::Skipped(_)) => Err(format!("its parent {} was skipped", p.parent)),
        None => Err(format!("its parent {} is not in the plan", p.parent)),
    }
}

/// Re-bases `p` with `--rebase` when its record allows it and the parents agree, else
/// rebuilds it (saying why on stderr).
fn rebase_or_build(
    store: &Store,
    plan: &Plan,
    p: &Planned,
    parent: &Reference,
    args: &RebuildArgs,
) -> Outcome {
    let linked = p.build.as_ref().and_then(|b| b.linked_layers);
    let (true, Some(n)) = (args.rebase, linked) else {
        return build_one(store, p, parent, args);
    };
    let tag = p.new_tag.clone().expect("planned images have a new tag");
    match try_rebase(store, plan, p, parent, n) {
        Ok(Ok(digest)) => {
            eprintln!("rebased {} as {tag} ({digest}): no build", p.shown());
            Outcome::Rebased { tag, digest }
        }
        Ok(Err(why)) => {
            eprintln!("{}: not re-based ({why}): rebuilding it", p.shown());
            build_one(store, p, parent, args)
        }
        Err(e) => {
            eprintln!("error: re-basing {}: {e:#}", p.shown());
            Outcome::Failed(format!("{e:#}"))
        }
    }
}

/// The re-based image's digest, or why it cannot be re-based.
fn try_rebase(
    store: &Store,
    plan: &Plan,
    p: &Planned,
    parent: &Reference,
    n: usize,
) -> Result<Result<Digest, String>> {
    let tag = p.new_tag.as_ref().expect("planned images have a new tag");
    let (_client, registry) = super::registry_of(tag)?;
    let repo_of = |r: &str| -> Result<strata_distribution::names::RepositoryName> {
        r.parse()
            .with_context(|| format!("{r}: not a repository name"))
    };
    let old_repo = repo_of(&plan.repository_of(&p.parent)?)?;
    let new_repo = repo_of(parent.repository())?;
    let child_repo = repo_of(tag.repository())?;
    let new_digest = parent
        .digest()
        .with_context(|| format!("{parent}: the new parent has no digest"))?;
    let old = rebase::fetch(&registry, store, &old_repo, &p.parent)?;
    let new = rebase::fetch(&registry, store, &new_repo, new_digest)?;
    let child = rebase::fetch(&registry, store, &child_repo, &p.digest)?;
    let image = match rebase::compose(&old, &new, &child, n) {
        Ok(image) => image,
        Err(why) => return Ok(Err(why)),
    };
    let parent_layers = new
        .manifest
        .get("layers")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let digest = rebase::push(&registry, store, &image, tag, &new_repo, &parent_layers)?;
    Ok(Ok(digest))
}

fn build_one(store: &Store, p: &Planned, parent: &Reference, args: &RebuildArgs) -> Outcome {
    match try_build(store, p, parent, args) {
        Ok(digest) => {
            let tag = p.new_tag.clone().expect("planned images have a new tag");
            eprintln!("rebuilt {} as {tag} ({digest})", p.shown());
            Outcome::Rebuilt { tag, digest }
        }
        Err(e) => {
            eprintln!("error: rebuilding {}: {e:#}", p.shown());
            Outcome::Failed(format!("{e:#}"))
        }
    }
}

fn try_build(store: &Store, p: &Planned, parent: &Reference, args: &RebuildArgs) -> Result<Digest> {
    let record = p
        .build
        .as_ref()
        .expect("planned images have a build record");
    let new_tag = p.new_tag.as_ref().expect("planned images have a new tag");
    let from = p
        .from_name
        .as_deref()
        .expect("planned images have a base name");
    if p.dirty {
        eprintln!(
            "warning: {} was built from a work tree with uncommitted changes: the rebuild \
             uses commit {} without them",
            p.names
                .first()
                .map_or_else(|| p.digest.to_string(), Clone::clone),
            record.commit.as_deref().unwrap_or("(none)")
        );
    }
    let checkout = Checkout::of(record)?;
    let context = checkout.root().join(&record.context);
    let dockerfile = checkout.root().join(&record.dockerfile);
    let mut argv: Vec<String> = vec![
        "strata".into(),
        "build".into(),
        "-f".into(),
        dockerfile.display().to_string(),
        "-t".into(),
        new_tag.to_string(),
        "--push".into(),
        "--build-context".into(),
        format!("{from}=docker-image://{parent}"),
        "--annotation".into(),
        format!("{}={}", strata_govern::annotations::REBUILD_OF, p.digest),
        // The base as the Dockerfile names it, so a later rebuild finds its FROM again
        // (the build would record the context's `name@digest`).
        "--annotation".into(),
        format!("{}={from}", strata_govern::annotations::BASE_NAME),
        format!("--progress={}", progress_name(args.progress)),
    ];
    if let Some(t) = &record.target {
        argv.extend(["--target".into(), t.clone()]);
    }
    for (k, v) in &record.args {
        argv.extend(["--build-arg".into(), format!("{k}={v}")]);
    }
    argv.push(context.display().to_string());
    let cli = Cli::try_parse_from(&argv).with_context(|| format!("build arguments {argv:?}"))?;
    let crate::cli::Command::Build(build_args) = cli.command else {
        unreachable!("argv names the build verb")
    };
    crate::commands::build::run(store, *build_args)?;
    let image = store
        .resolve(&new_tag.to_string())
        .with_context(|| format!("{new_tag}: built but not in the store"))?;
    Ok(image.manifest_digest)
}

fn progress_name(p: ProgressKind) -> &'static str {
    match p {
        ProgressKind::Auto => "auto",
        ProgressKind::Plain => "plain",
        ProgressKind::Tty => "tty",
        ProgressKind::Quiet => "quiet",
    }
}

/// A recorded source, ready to build from: a git clone at the commit in a temporary
/// directory (removed on drop), or a local path as it is.
enum Checkout {
    Git(tempfile::TempDir),
    Local(PathBuf),
}

impl Checkout {
    fn of(record: &BuildRecord) -> Result<Checkout> {
        let Some(commit) = &record.commit else {
            let path = PathBuf::from(&record.source);
            if !path.is_dir() {
                bail!("source {}: not a directory here", record.source);
            }
            eprintln!(
                "warning: {} is a local path: built as it is now, which may differ from what \
                 was built then",
                record.source
            );
            return Ok(Checkout::Local(path));
        };
        let dir = tempfile::Builder::new()
            .prefix("strata-rebuild-")
            .tempdir()
            .context("creating a checkout directory")?;
        git(
            None,
            &[
                "clone",
                "--quiet",
                &record.source,
                &dir.path().display().to_string(),
            ],
        )
        .with_context(|| format!("cloning {}", record.source))?;
        git(
            Some(dir.path()),
            &[
                "-c",
                "advice.detachedHead=false",
                "checkout",
                "--quiet",
                commit,
            ],
        )
        .with_context(|| format!("checking out {commit} of {}", record.source))?;
        Ok(Checkout::Git(dir))
    }

    fn root(&self) -> &Path {
        match self {
            Checkout::Git(dir) => dir.path(),
            Checkout::Local(p) => p,
        }
    }
}

fn git(dir: Option<&Path>, args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd.args(args).output().context("running git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// One line per image on stdout, in plan order; an error when any rebuild failed.
fn report(plan: &Plan, outcomes: &BTreeMap<Digest, Outcome>) -> Result<()> {
    let mut failed = 0;
    for p in plan.waves.iter().flatten() {
        let name = p.shown();
        let line = match outcomes.get(&p.digest) {
            Some(Outcome::Rebuilt { tag, digest }) => format!("rebuilt {name} as {tag}@{digest}"),
            Some(Outcome::Rebased { tag, digest }) => format!("rebased {name} as {tag}@{digest}"),
            Some(Outcome::Failed(e)) => {
                failed += 1;
                format!("failed {name}: {e}")
            }
            Some(Outcome::Skipped(reason)) => format!("skipped {name}: {reason}"),
            None => format!("skipped {name}: not reached"),
        };
        crate::commands::out(line)?;
    }
    if failed > 0 {
        bail!("{failed} rebuild(s) failed");
    }
    Ok(())
}

impl Planned {
    fn shown(&self) -> String {
        self.names
            .first()
            .cloned()
            .unwrap_or_else(|| self.digest.to_string())
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::BuildRecord => f.write_str("no build record (org.strata.build annotation)"),
            Skip::Tag => f.write_str("no tag to derive a -rebuild.N tag from"),
            Skip::BaseName => f.write_str(
                "no base name (org.opencontainers.image.base.name annotation) to point at the new parent",
            ),
        }
    }
}
