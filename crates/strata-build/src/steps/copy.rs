//! COPY and ADD as steps: sources → cache key → (on a miss) planned entries → layer.
//!
//! The key covers the parent key, the expanded instruction (destination, owner, mode,
//! `--link`, `--from` source identity) and the content of every source file — never mtimes,
//! as in BuildKit. Destination resolution needs the image's filesystem, but the parent key
//! already fixes it, so a cache hit never unpacks a layer.

use std::path::PathBuf;
use std::sync::Arc;

use strata_dockerfile::instructions::{Command, Instruction};
use strata_oci::Digest;

use crate::build::Base;
use crate::cache::KeyBuilder;
use crate::context::Context;
use crate::copy::{
    absolute_dest, clean_source, parse_chmod, plan, CopyError, Node, Overrides, SourceFs,
};
use crate::error::{BuildError, Result};
use crate::layer::store_layer;
use crate::rootfs::RootfsView;
use crate::stage::StageRunner;
use crate::state::ImageState;
use crate::steps::add::{self, TempSources};
use crate::users::resolve_chown;

/// COPY and ADD, with ADD's extras.
struct Spec {
    add: bool,
    sources: Vec<String>,
    dest: String,
    from: Option<String>,
    chown: Option<String>,
    chmod: Option<String>,
    link: bool,
    checksum: Option<String>,
    unpack: bool,
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
                checksum: None,
                unpack: false,
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
                checksum: a.checksum.clone(),
                unpack: a.unpack.unwrap_or(true),
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

pub fn run(r: &mut StageRunner<'_, '_>, cmd: &Command) -> Result<bool> {
    let spec = Spec::of(cmd).expect("dispatched for COPY/ADD only");
    let err = |m: String| r.step_error(cmd, m);
    reject_unsupported(cmd).map_err(err)?;
    let origin = open_origin(r, cmd, &spec)?;
    let tmp = TempSources::new(r.b.store)?;
    let t0 = std::time::Instant::now();
    let (nodes, description) = gather(r, cmd, &spec, &origin, &tmp)?;
    tracing::debug!(
        elapsed_ms = t0.elapsed().as_millis() as u64,
        bytes = description.len(),
        "sources described"
    );
    let (dest, dir_hint) = absolute_dest(&spec.dest, r.workdir());
    let key = KeyBuilder::new(if spec.add { "add" } else { "copy" }, &r.key)
        .field("dest", &dest)
        .field("dir", if dir_hint { "1" } else { "0" })
        .field("chown", spec.chown.clone().unwrap_or_default())
        .field("chmod", spec.chmod.clone().unwrap_or_default())
        .field("link", if spec.link { "1" } else { "0" })
        .field("unpack", if spec.unpack { "1" } else { "0" })
        .field("content", &description)
        .finish();
    let created_by = format!("{} {} # strata", spec.name(), history_args(cmd));
    if let Some(rec) = r.cached(&key)? {
        r.commit_layer(key, &rec, created_by);
        return Ok(true);
    }
    let nodes = tmp.materialise(nodes, &|m| r.step_error(cmd, m))?;
    let from_context = spec.add && spec.unpack && matches!(origin, Origin::Context(_));
    let image = if spec.link {
        None
    } else {
        Some(r.state.view(r.b.store, &r.b.snapshots)?)
    };
    let ov = overrides(r, cmd, &spec, image.as_ref())?;
    let fs = origin.fs();
    let extract = |n: &Node| {
        from_context
            && n.meta.is_file()
            && !tmp.holds(&n.real)
            && strata_archive::is_archive(&n.real).unwrap_or(false)
    };
    let planned = plan(
        &fs,
        &nodes,
        (&dest, dir_hint),
        image.as_ref(),
        ov,
        r.b.clock.now_secs(),
        &extract,
    )
    .map_err(|e| r.step_error(cmd, e.to_string()))?;
    let entries = planned.entries.into_values().collect();
    let layer = store_layer(r.b.store, entries, r.b.opts.compression, r.b.clock.epoch())?;
    r.record_layer(key, Some(layer), created_by)?;
    Ok(false)
}

fn reject_unsupported(cmd: &Command) -> std::result::Result<(), String> {
    let (parents, excludes) = match &cmd.instruction {
        Instruction::Copy(c) => (c.parents, !c.excludes.is_empty()),
        Instruction::Add(a) => (false, !a.excludes.is_empty()),
        _ => (false, false),
    };
    if parents {
        return Err("--parents is not supported yet".into());
    }
    if excludes {
        return Err("--exclude is not supported yet".into());
    }
    Ok(())
}

/// The instruction's arguments as history shows them (flags first).
fn history_args(cmd: &Command) -> String {
    let text = cmd.location.original.trim();
    text.split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest.trim())
        .to_owned()
}

impl Origin {
    fn fs(&self) -> SourceFs<'_> {
        match self {
            Origin::Context(c) => SourceFs::Context(c),
            Origin::View { view, .. } => SourceFs::Rootfs(view),
        }
    }
}

fn open_origin(r: &StageRunner<'_, '_>, cmd: &Command, spec: &Spec) -> Result<Origin> {
    let Some(from) = &spec.from else {
        return Ok(Origin::Context(r.b.context()?));
    };
    let b = r.b;
    let state = match b
        .resolve_from(from, r.idx)
        .map_err(|m| r.step_error(cmd, m))?
    {
        Base::Stage(j) => {
            let dep = b
                .board
                .result(j)
                .expect("dependency finished before its dependents");
            let view = dep.state.view(b.store, &b.snapshots)?;
            return Ok(Origin::View {
                view,
                identity: format!("stage {}", dep.key),
            });
        }
        Base::Image(name) => {
            let image = b
                .store
                .resolve(&name)
                .map_err(|e| r.step_error(cmd, format!("--from={name}: {e}")))?;
            (
                ImageState::from_image(&image)?,
                image.manifest_digest.to_string(),
            )
        }
        Base::Scratch => (ImageState::scratch(&b.architecture), "scratch".to_owned()),
    };
    let view = state.0.view(b.store, &b.snapshots)?;
    Ok(Origin::View {
        view,
        identity: format!("image {}", state.1),
    })
}

/// Resolves every source argument to nodes and describes their content for the cache key.
fn gather(
    r: &StageRunner<'_, '_>,
    cmd: &Command,
    spec: &Spec,
    origin: &Origin,
    tmp: &TempSources,
) -> Result<(Vec<Pending>, Vec<u8>)> {
    let fs = origin.fs();
    let mut pending = Vec::new();
    let mut desc = Vec::new();
    if let Origin::View { identity, .. } = origin {
        desc.extend_from_slice(identity.as_bytes());
        desc.push(b'\n');
    }
    for (i, src) in spec.sources.iter().enumerate() {
        desc.extend_from_slice(format!("source {i} {src}\n").as_bytes());
        if let Some(h) = spec.heredocs.iter().find(|h| h.name == *src) {
            desc.extend_from_slice(
                format!("heredoc {}\n", Digest::of(h.content.as_bytes())).as_bytes(),
            );
            pending.push(Pending::Heredoc {
                name: h.name.clone(),
                content: h.content.clone(),
            });
            continue;
        }
        if spec.add && add::is_url(src) {
            let (line, p) = add::describe_url(src, spec.checksum.as_deref(), tmp)
                .map_err(|m| r.step_error(cmd, m))?;
            desc.extend_from_slice(line.as_bytes());
            pending.push(p);
            continue;
        }
        if spec.checksum.is_some() {
            return Err(r.step_error(
                cmd,
                "--checksum can only be used with an HTTP(S) source".into(),
            ));
        }
        let nodes = fs
            .resolve(src)
            .map_err(|e| not_found(r, cmd, spec, src, e))?;
        for node in nodes {
            describe_node(&fs, origin, &node, &mut desc)?;
            pending.push(Pending::Node(node));
        }
    }
    Ok((pending, desc))
}

fn not_found(
    r: &StageRunner<'_, '_>,
    cmd: &Command,
    spec: &Spec,
    src: &str,
    err: CopyError,
) -> BuildError {
    let where_ = if spec.from.is_some() {
        "the source stage or image"
    } else {
        "the build context"
    };
    let message = match err {
        CopyError::NotFound { .. } => format!(
            "failed to compute cache key: \"/{}\" not found in {where_}",
            clean_source(src)
        ),
        other => format!("failed to compute cache key: {other}"),
    };
    r.step_error(cmd, message)
}

/// One line per file, directory and link under `node`: path, kind, mode, and for context
/// files the content digest (from the stat cache when it still matches).
fn describe_node(
    fs: &SourceFs<'_>,
    origin: &Origin,
    node: &Node,
    desc: &mut Vec<u8>,
) -> Result<()> {
    let mut items = vec![(String::new(), node.clone())];
    if node.meta.is_dir() {
        items.extend(fs.walk(node));
    }
    let digests = match origin {
        Origin::Context(ctx) => context_digests(ctx, &items)?,
        Origin::View { .. } => Vec::new(),
    };
    let lines = describe_items(&items, &digests);
    desc.extend_from_slice(&lines);
    Ok(())
}

/// Content digests of the regular files among `items` (aligned with `items`; `None` for
/// everything else), from the context's stat cache where it still matches.
pub(crate) fn context_digests(
    ctx: &Context,
    items: &[(String, Node)],
) -> Result<Vec<Option<Digest>>> {
    let entries: Vec<Option<&crate::context::ContextEntry>> = items
        .iter()
        .map(|(_, n)| {
            if n.meta.is_file() {
                context_entry(ctx, n)
            } else {
                None
            }
        })
        .collect();
    let files: Vec<&crate::context::ContextEntry> = entries.iter().flatten().copied().collect();
    let mut digests = ctx.digests(&files)?.into_iter();
    Ok(entries
        .iter()
        .map(|e| e.and_then(|_| digests.next()))
        .collect())
}

/// The context entry behind a node: by its own path, or (a followed symlink) by its target.
fn context_entry<'c>(ctx: &'c Context, n: &Node) -> Option<&'c crate::context::ContextEntry> {
    use std::os::unix::fs::MetadataExt;
    match ctx.get(&n.path) {
        Some(e) if e.meta.ino() == n.meta.ino() => Some(e),
        _ => ctx.get(&n.real.strip_prefix(ctx.root()).ok()?.to_string_lossy()),
    }
}

/// One key line per item: path, kind (with content digest or link target) and mode.
pub(crate) fn describe_items(items: &[(String, Node)], digests: &[Option<Digest>]) -> Vec<u8> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::with_capacity(items.len() * 96);
    for ((sub, n), digest) in items
        .iter()
        .zip(digests.iter().chain(std::iter::repeat(&None)))
    {
        let ft = n.meta.file_type();
        let mode = n.meta.permissions().mode() & 0o7777;
        let _ = if ft.is_dir() {
            write!(out, "{sub}\0d")
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&n.real)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            write!(out, "{sub}\0l {target}")
        } else {
            match digest {
                Some(d) => write!(out, "{sub}\0f {d}"),
                None => write!(out, "{sub}\0f {} {}", n.path, n.meta.len()),
            }
        };
        let _ = writeln!(out, "\0{mode:o}");
    }
    out
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
}

fn overrides(
    r: &StageRunner<'_, '_>,
    cmd: &Command,
    spec: &Spec,
    image: Option<&RootfsView>,
) -> Result<Overrides> {
    let chown = match &spec.chown {
        Some(c) => Some(resolve_chown(c, image).map_err(|e| r.step_error(cmd, e.to_string()))?),
        None => None,
    };
    let chmod = match &spec.chmod {
        Some(m) => Some(parse_chmod(m).map_err(|e| r.step_error(cmd, e.to_string()))?),
        None => None,
    };
    Ok(Overrides { chown, chmod })
}
