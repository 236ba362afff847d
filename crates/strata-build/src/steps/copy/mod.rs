//! COPY and ADD as steps: sources → cache key → (on a miss) planned entries → layer.
//!
//! The key covers the parent key, the expanded instruction (destination, owner, mode,
//! `--link`, `--from` source identity) and the content of every source file — never mtimes,
//! as in BuildKit. Destination resolution needs the image's filesystem, but the parent key
//! already fixes it, so a cache hit never unpacks a layer. Where files land and who owns them
//! is decided in [`rules`]; ADD's extras (URLs, archives, git) are in [`add`] and [`git`]; what
//! kind a source is in [`git_ref`]; `--parents` in
//! [`parents`]; `--link` (a key of the step's own inputs, no view of the stage) in [`link`];
//! `--exclude` filtering in [`crate::sources::filter`].

pub mod add;
pub mod chmod;
pub mod describe;
pub mod git;
pub mod git_ref;
pub mod link;
pub mod parents;
pub mod rules;

use std::path::PathBuf;
use std::sync::Arc;

use strata_dockerfile::instructions::{Command, Instruction};
use strata_oci::Digest;

use crate::error::{BuildError, Result, StepError};
use crate::sources::context::Context;
use crate::sources::filter::PathFilter;
use crate::sources::rootfs::RootfsView;
use crate::sources::select::{clean_source, Node, SourceError, SourceFs};
use crate::sources::users::resolve_chown;
use crate::state::cache::KeyBuilder;
use crate::state::stage::StageState;
use crate::steps::{Step, StepEnv};
use add::TempSources;
use describe::{describe_listed, describe_node};
use git_ref::{classify, SourceKind};
use parents::{plan_parents, split_pivot, Root};
use rules::{absolute_dest, parse_chmod, plan, Overrides, Planned};

/// COPY and ADD, with ADD's extras.
struct Spec {
    add: bool,
    sources: Vec<String>,
    dest: String,
    from: Option<String>,
    chown: Option<String>,
    chmod: Option<String>,
    link: bool,
    parents: bool,
    excludes: Vec<String>,
    checksum: Option<String>,
    keep_git_dir: Option<bool>,
    /// `--unpack` as given; without it context archives are unpacked by ADD, URLs never.
    unpack: Option<bool>,
    heredocs: Vec<strata_dockerfile::Heredoc>,
}

impl Spec {
    fn of(cmd: &Command) -> Option<Spec> {
        match &cmd.instruction {
            Instruction::Copy(c) => Some(Spec {
                add: false,
                sources: c.sources.clone(),
                dest: c.dest.clone(),
                from: c.from.clone(),
                chown: c.chown.clone(),
                chmod: c.chmod.clone(),
                link: c.link,
                parents: c.parents,
                excludes: c.excludes.clone(),
                checksum: None,
                keep_git_dir: None,
                unpack: None,
                heredocs: c.heredocs.clone(),
            }),
            Instruction::Add(a) => Some(Spec {
                add: true,
                sources: a.sources.clone(),
                dest: a.dest.clone(),
                from: None,
                chown: a.chown.clone(),
                chmod: a.chmod.clone(),
                link: a.link,
                parents: false,
                excludes: a.excludes.clone(),
                // BuildKit ignores an empty `--checksum=` (`cfg.checksum != ""`).
                checksum: a.checksum.clone().filter(|c| !c.is_empty()),
                keep_git_dir: a.keep_git_dir,
                unpack: a.unpack,
                heredocs: a.heredocs.clone(),
            }),
            _ => None,
        }
    }

    fn name(&self) -> &'static str {
        if self.add {
            "ADD"
        } else {
            "COPY"
        }
    }
}

/// Where sources are read from, kept alive for the step.
enum Origin {
    Context(Arc<Context>),
    View { view: RootfsView, identity: String },
}

pub fn run(env: &StepEnv<'_>, stage: &mut StageState, step: &Step<'_>) -> Result<bool> {
    let spec = Spec::of(step.cmd).expect("dispatched for COPY/ADD only");
    check_sources(&spec).map_err(|e| step.fail(e))?;
    let linked = link::is_linked(spec.link, spec.chmod.as_deref());
    let link_chown = match (&spec.chown, linked) {
        (Some(c), true) => Some(link::link_chown(c).map_err(|e| step.fail(e))?),
        _ => None,
    };
    let excludes = PathFilter::new(None, &spec.excludes).map_err(|e| step.fail(bad_exclude(e)))?;
    let tmp = TempSources::new(env.store)?;
    let origin = open_origin(env, step, &spec, &tmp)?;
    let cx = CopyCtx {
        env,
        step,
        spec: &spec,
        origin: &origin,
        tmp: &tmp,
    };
    let keyed = key_step(&cx, stage, linked, excludes.as_ref())?;
    if let Some(rec) = env.cached(step, &keyed.key)? {
        commit(
            stage,
            (keyed.linked, keyed.stage_key),
            keyed.created_by,
            &rec,
            env,
        );
        return Ok(true);
    }
    plan_and_store(&cx, stage, keyed, excludes.as_ref(), link_chown)?;
    Ok(false)
}

/// What every part of a copy step reads: the step's environment, the step, its instruction,
/// where its sources come from and the scratch dir of sources made on the way.
struct CopyCtx<'a> {
    env: &'a StepEnv<'a>,
    step: &'a Step<'a>,
    spec: &'a Spec,
    origin: &'a Origin,
    tmp: &'a TempSources,
}

/// A copy step's sources and keys, known before the cache is asked.
struct Keyed {
    sources: Sources,
    /// `--link` without `--chmod`: keyed on its own inputs, planned without the stage's view.
    linked: bool,
    dest: String,
    dir_hint: bool,
    key: Digest,
    /// The stage's key after the step (with `--link`, the key before combined with `key`).
    stage_key: Digest,
    created_by: String,
}

/// Resolves and describes the sources and computes the step's key and the stage's key after
/// it.
fn key_step(
    cx: &CopyCtx<'_>,
    stage: &StageState,
    linked: bool,
    excludes: Option<&PathFilter>,
) -> Result<Keyed> {
    let (step, spec) = (cx.step, cx.spec);
    let t0 = std::time::Instant::now();
    let sources = if spec.parents {
        Sources::Parents(gather_parents(step, spec, cx.origin)?)
    } else {
        Sources::Nodes(gather(step, spec, cx.origin, cx.tmp, excludes)?)
    };
    let description = sources.description();
    tracing::debug!(
        elapsed_ms = t0.elapsed().as_millis() as u64,
        bytes = description.len(),
        "sources described"
    );
    let (dest, dir_hint) = absolute_dest(&spec.dest, stage.workdir());
    let parent = if linked {
        link::key_base()
    } else {
        stage.key.clone()
    };
    let key = step_key(spec, &parent, (&dest, dir_hint), description);
    let stage_key = if linked {
        link::stage_key_after(&stage.key, &key)
    } else {
        key.clone()
    };
    Ok(Keyed {
        sources,
        linked,
        dest,
        dir_hint,
        key,
        stage_key,
        created_by: format!("{} # strata", history_text(spec)),
    })
}

/// On a cache miss: plans the layer's entries, stores the layer and its cache record, and
/// commits it to the stage. `link_chown` is `--chown` of a linked copy (numeric only).
fn plan_and_store(
    cx: &CopyCtx<'_>,
    stage: &mut StageState,
    keyed: Keyed,
    excludes: Option<&PathFilter>,
    link_chown: Option<(u32, u32)>,
) -> Result<()> {
    let (env, step, spec) = (cx.env, cx.step, cx.spec);
    let image = if keyed.linked {
        None
    } else {
        Some(env.view(&stage.image)?)
    };
    let mut ov = overrides(step, spec, image.as_ref())?;
    ov.keep_owner = spec.from.is_some();
    if keyed.linked {
        ov.chown = link_chown;
    }
    let dest = (keyed.dest.as_str(), keyed.dir_hint);
    let planned = match keyed.sources {
        Sources::Parents((roots, _)) => {
            plan_parents(&roots, dest.0, image.as_ref(), ov, env.clock.now_secs())
                .map_err(|e| step.fail(e))?
        }
        Sources::Nodes((nodes, _)) => {
            let nodes = cx.tmp.materialise(nodes, step)?;
            let target = Target {
                dest,
                image: image.as_ref(),
                ov,
            };
            plan_nodes(cx, &nodes, excludes, target)?
        }
    };
    let layer = env.store_layer(planned.entries.into_values().collect())?;
    let rec = env.record(&keyed.key, Some(layer))?;
    commit(
        stage,
        (keyed.linked, keyed.stage_key),
        keyed.created_by,
        &rec,
        env,
    );
    Ok(())
}

/// Commits the step's layer, as linked when it is.
fn commit(
    stage: &mut StageState,
    (linked, key): (bool, Digest),
    created_by: String,
    rec: &crate::state::cache::LayerRecord,
    env: &StepEnv<'_>,
) {
    if linked {
        stage.commit_linked_layer(key, rec, created_by, env.clock);
    } else {
        stage.commit_layer(key, rec, created_by, env.clock);
    }
}

/// The sources of a step, resolved, with their cache-key description.
enum Sources {
    Nodes((Vec<Pending>, Vec<u8>)),
    Parents((Vec<Root>, Vec<u8>)),
}

impl Sources {
    fn description(&self) -> &[u8] {
        match self {
            Sources::Nodes((_, d)) | Sources::Parents((_, d)) => d,
        }
    }
}

/// Where a planned copy goes.
struct Target<'a> {
    dest: (&'a str, bool),
    image: Option<&'a RootfsView>,
    ov: Overrides,
}

/// The step's cache key: `parent` (the stage's key, or with `--link` a fixed one), the
/// expanded instruction and the content description of its sources.
fn step_key(spec: &Spec, parent: &Digest, (dest, dir_hint): (&str, bool), desc: &[u8]) -> Digest {
    let mut k = KeyBuilder::new(if spec.add { "add" } else { "copy" }, parent);
    k.field("dest", dest)
        .field("dir", if dir_hint { "1" } else { "0" })
        .field("chown", spec.chown.clone().unwrap_or_default())
        .field("chmod", spec.chmod.clone().unwrap_or_default())
        .field("link", if spec.link { "1" } else { "0" })
        .field("unpack", unpack_key(spec));
    if spec.parents {
        k.field("parents", "1");
    }
    if !spec.excludes.is_empty() {
        k.field("exclude", spec.excludes.join("\0"));
    }
    k.field("content", desc).finish()
}

/// The `--unpack` part of the key: as before for the defaults (ADD `1`, COPY `0`), `true`
/// when asked for, since it changes what a URL source becomes.
fn unpack_key(spec: &Spec) -> &'static str {
    match spec.unpack {
        None if spec.add => "1",
        None | Some(false) => "0",
        Some(true) => "true",
    }
}

/// BuildKit's checks of the sources before anything runs (convert.go `dispatchCopy`):
/// `--checksum` takes one HTTP(S) or git source; COPY takes neither URLs nor git refs; a
/// malformed git ref is an error; `--keep-git-dir` needs a git source.
fn check_sources(spec: &Spec) -> Result<(), StepError> {
    let mut kinds = Vec::with_capacity(spec.sources.len());
    for src in &spec.sources {
        let kind = classify(src).map_err(|source| StepError::GitRef {
            src: src.clone(),
            source,
        })?;
        kinds.push(kind);
    }
    if spec.checksum.is_some() {
        if spec.sources.len() != 1 {
            return Err(StepError::ChecksumMultipleSources);
        }
        if kinds[0] == SourceKind::Local {
            return Err(StepError::ChecksumWithoutRemote);
        }
    }
    for kind in &kinds {
        match kind {
            SourceKind::Git(_) if !spec.add => return Err(StepError::GitForCopy),
            SourceKind::Url if !spec.add => return Err(StepError::UrlForCopy),
            _ => {}
        }
    }
    // BuildKit ignores `--keep-git-dir` without a git source; strata accepts no flag it
    // would ignore.
    let any_git = kinds.iter().any(|k| matches!(k, SourceKind::Git(_)));
    if spec.keep_git_dir.is_some() && !any_git {
        return Err(StepError::KeepGitDirWithoutGit);
    }
    Ok(())
}

/// Plans the entries of an ordinary (not `--parents`) copy.
fn plan_nodes(
    cx: &CopyCtx<'_>,
    nodes: &[Node],
    excludes: Option<&PathFilter>,
    target: Target<'_>,
) -> Result<Planned> {
    let (spec, origin, tmp) = (cx.spec, cx.origin, cx.tmp);
    let fs = origin.fs();
    let extract = |n: &Node| {
        n.meta.is_file()
            && attempts_unpack(spec, origin, tmp, n)
            && strata_archive::is_archive(&n.real).unwrap_or(false)
    };
    let walk = |n: &Node| match tmp.holds_git(&n.real) {
        true => Ok(kept(add::walk_checkout(n)?, excludes)),
        false => Ok(walk_kept(&fs, n, excludes)),
    };
    plan(
        &walk,
        nodes,
        target.dest,
        target.image,
        target.ov,
        cx.env.clock.now_secs(),
        &extract,
    )
    .map_err(|e| cx.step.fail(e))
}

/// Whether BuildKit sets `AttemptUnpack` for the copy of `n` (convert.go `dispatchCopy`): a
/// context file with ADD unless `--unpack=false`; a downloaded URL only with `--unpack=true`;
/// never a heredoc body nor a COPY source.
fn attempts_unpack(spec: &Spec, origin: &Origin, tmp: &TempSources, n: &Node) -> bool {
    if !spec.add || !matches!(origin, Origin::Context(_)) || tmp.holds_heredoc(&n.real) {
        return false;
    }
    if tmp.holds_download(&n.real) {
        return spec.unpack == Some(true);
    }
    spec.unpack.unwrap_or(true)
}

/// What is copied below a directory source: everything, or what the filter keeps.
fn walk_kept(fs: &SourceFs<'_>, dir: &Node, filter: Option<&PathFilter>) -> Vec<(String, Node)> {
    kept(fs.walk(dir), filter)
}

/// The entries of a walk that `filter` keeps (all without one).
fn kept(all: Vec<(String, Node)>, filter: Option<&PathFilter>) -> Vec<(String, Node)> {
    let Some(filter) = filter else {
        return all;
    };
    let kept = filter.select(all.iter().map(|(sub, _)| sub.as_str()));
    all.into_iter()
        .filter(|(sub, _)| kept.contains(sub))
        .collect()
}

fn bad_exclude(source: strata_dockerfile::IgnoreError) -> StepError {
    StepError::Pattern {
        flag: "--exclude",
        source,
    }
}

/// The history text BuildKit writes (`convert.go` dispatchCopy, `commitMessage`): the
/// instruction, `--parents`, `--chown=`, `--chmod=` (expanded; other flags left out), the
/// sources, `<<NAME` for each heredoc, the destination.
fn history_text(spec: &Spec) -> String {
    let mut parts = vec![spec.name().to_owned()];
    if spec.parents {
        parts.push("--parents".to_owned());
    }
    if let Some(c) = spec.chown.as_ref().filter(|c| !c.is_empty()) {
        parts.push(format!("--chown={c}"));
    }
    if let Some(m) = spec.chmod.as_ref().filter(|m| !m.is_empty()) {
        parts.push(format!("--chmod={m}"));
    }
    parts.extend(spec.sources.iter().cloned());
    parts.extend(spec.heredocs.iter().map(|h| format!("<<{}", h.name)));
    parts.push(spec.dest.clone());
    parts.join(" ")
}

impl Origin {
    fn fs(&self) -> SourceFs<'_> {
        match self {
            Origin::Context(c) => SourceFs::Context(c),
            Origin::View { view, .. } => SourceFs::Rootfs(view),
        }
    }

    /// The build context, when that is where the sources come from.
    fn context(&self) -> Option<&Context> {
        match self {
            Origin::Context(c) => Some(c),
            Origin::View { .. } => None,
        }
    }
}

/// The build context, or the stage or image `--from` names; one without layers reads as an
/// empty root directory.
fn open_origin(
    env: &StepEnv<'_>,
    step: &Step<'_>,
    spec: &Spec,
    tmp: &TempSources,
) -> Result<Origin> {
    let Some(from) = &spec.from else {
        return Ok(Origin::Context(env.context()?));
    };
    let source = env
        .stages
        .source(from, step.stage)
        .map_err(|e| step.fail(e))?;
    let (state, identity) = source.state(env.architecture)?;
    let view = if state.layers.is_empty() {
        RootfsView::new(vec![tmp.empty_root()?])
    } else {
        env.view(&state)?
    };
    Ok(Origin::View { view, identity })
}

/// Resolves every source argument to nodes and describes their content for the cache key.
fn gather(
    step: &Step<'_>,
    spec: &Spec,
    origin: &Origin,
    tmp: &TempSources,
    excludes: Option<&PathFilter>,
) -> Result<(Vec<Pending>, Vec<u8>)> {
    let fs = origin.fs();
    let mut pending = Vec::new();
    let mut desc = origin_line(origin);
    for (i, src) in spec.sources.iter().enumerate() {
        desc.extend_from_slice(format!("source {i} {src}\n").as_bytes());
        let kind = classify(src).map_err(|source| {
            step.fail(StepError::GitRef {
                src: src.clone(),
                source,
            })
        })?;
        if let SourceKind::Git(r) = kind {
            let (line, p) = add::describe_git(&r, spec.checksum.as_deref(), spec.keep_git_dir)
                .map_err(|source| {
                    step.fail(StepError::Git {
                        src: src.clone(),
                        source,
                    })
                })?;
            desc.extend_from_slice(line.as_bytes());
            pending.push(p);
            continue;
        }
        if spec.add && kind == SourceKind::Url {
            let (line, p) =
                add::describe_url(src, spec.checksum.as_deref(), tmp).map_err(|source| {
                    step.fail(StepError::Fetch {
                        url: src.clone(),
                        source,
                    })
                })?;
            desc.extend_from_slice(line.as_bytes());
            pending.push(p);
            continue;
        }
        let nodes = resolve_allowing_empty(&fs, src).map_err(|e| not_found(step, spec, src, e))?;
        for node in nodes {
            match excludes.filter(|_| node.meta.is_dir()) {
                Some(f) => {
                    let mut items = vec![(String::new(), node.clone())];
                    items.extend(walk_kept(&fs, &node, Some(f)));
                    describe_listed(origin.context(), &items, &mut desc)?;
                }
                None => describe_node(&fs, origin.context(), &node, &mut desc)?,
            }
            pending.push(Pending::Node(node));
        }
    }
    pending.extend(add::heredoc_sources(&spec.heredocs, &mut desc));
    Ok((pending, desc))
}

/// The key line naming where sources come from (nothing for the build context).
fn origin_line(origin: &Origin) -> Vec<u8> {
    match origin {
        Origin::View { identity, .. } => format!("{identity}\n").into_bytes(),
        Origin::Context(_) => Vec::new(),
    }
}

/// Resolves `--parents` sources: each to its roots (the part before `/./`, or the source
/// root) and what its include pattern and `--exclude` keep below them.
fn gather_parents(step: &Step<'_>, spec: &Spec, origin: &Origin) -> Result<(Vec<Root>, Vec<u8>)> {
    if !spec.heredocs.is_empty() {
        return Err(step.fail(StepError::HeredocWith { flag: "--parents" }));
    }
    let fs = origin.fs();
    let mut roots = Vec::new();
    let mut desc = origin_line(origin);
    for (i, src) in spec.sources.iter().enumerate() {
        desc.extend_from_slice(format!("source {i} {src}\n").as_bytes());
        let (root, pattern) = split_pivot(src);
        let filter = PathFilter::new(Some(&pattern), &spec.excludes)
            .map_err(|source| {
                step.fail(StepError::Pattern {
                    flag: "--parents",
                    source,
                })
            })?
            .expect("an include pattern makes a filter");
        let nodes =
            resolve_allowing_empty(&fs, &root).map_err(|e| not_found(step, spec, &root, e))?;
        for node in nodes {
            let mut items = vec![(String::new(), node.clone())];
            if node.meta.is_dir() {
                items.extend(walk_kept(&fs, &node, Some(&filter)));
            }
            describe_listed(origin.context(), &items, &mut desc)?;
            items.remove(0);
            roots.push(Root { node, items });
        }
    }
    Ok((roots, desc))
}

/// The nodes a source names. A wildcard that matches nothing names none: BuildKit copies
/// with `AllowEmptyWildcard` (convert.go `dispatchCopy`) and the file backend returns before
/// copying anything (solver/llbsolver/file/backend.go `docopy`), so the step makes an empty
/// layer. A literal path that does not exist is still an error.
fn resolve_allowing_empty(fs: &SourceFs<'_>, src: &str) -> Result<Vec<Node>, SourceError> {
    match fs.resolve(src) {
        Err(SourceError::NoMatch { .. }) => Ok(Vec::new()),
        other => other,
    }
}

fn not_found(step: &Step<'_>, spec: &Spec, src: &str, err: SourceError) -> BuildError {
    let origin = if spec.from.is_some() {
        "the source stage or image"
    } else {
        "the build context"
    };
    step.fail(match err {
        SourceError::NotFound { .. } => StepError::SourceNotFound {
            path: clean_source(src),
            origin,
        },
        other => StepError::Source(other),
    })
}

/// A source not yet on disk (heredoc body, URL) or already resolved.
pub enum Pending {
    Node(Node),
    Heredoc {
        name: String,
        content: String,
    },
    Url {
        url: String,
        checksum: Option<String>,
        path: Option<PathBuf>,
    },
    Git {
        source: git_ref::GitRef,
        resolved: git::Resolved,
        options: git::CheckoutOptions,
    },
}

fn overrides(step: &Step<'_>, spec: &Spec, image: Option<&RootfsView>) -> Result<Overrides> {
    let chown = match spec.chown.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(resolve_chown(c, image).map_err(|e| step.fail(e))?),
        None => None,
    };
    // BuildKit ignores an empty `--chmod=` (convert.go `dispatchCopy`: `cfg.chmod != ""`).
    let chmod = match spec.chmod.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => Some(parse_chmod(m).map_err(|e| step.fail(e))?),
        None => None,
    };
    Ok(Overrides {
        chown,
        chmod,
        keep_owner: false,
    })
}
