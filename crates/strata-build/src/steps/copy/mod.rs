//! COPY and ADD as steps: sources → cache key → (on a miss) planned entries → layer.
//!
//! The key covers the parent key, the expanded instruction (destination, owner, mode,
//! `--link`, `--from` source identity) and the content of every source file — never mtimes,
//! as in BuildKit. Destination resolution needs the image's filesystem, but the parent key
//! already fixes it, so a cache hit never unpacks a layer. Where files land and who owns them
//! is decided in [`rules`]; ADD's extras (URLs, archives) are in [`add`].

pub mod add;
pub mod chmod;
pub mod describe;
pub mod rules;

use std::path::PathBuf;
use std::sync::Arc;

use strata_dockerfile::instructions::{Command, Instruction};

use crate::error::{BuildError, Result, StepError};
use crate::sources::context::Context;
use crate::sources::rootfs::RootfsView;
use crate::sources::select::{clean_source, Node, SourceError, SourceFs};
use crate::sources::users::resolve_chown;
use crate::state::cache::KeyBuilder;
use crate::state::stage::StageState;
use crate::steps::{Step, StepEnv};
use add::TempSources;
use describe::describe_node;
use rules::{absolute_dest, parse_chmod, plan, Overrides};

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

pub fn run(env: &StepEnv<'_>, stage: &mut StageState, step: &Step<'_>) -> Result<bool> {
    let cmd = step.cmd;
    let spec = Spec::of(cmd).expect("dispatched for COPY/ADD only");
    reject_unsupported(cmd).map_err(|e| step.fail(e))?;
    let origin = open_origin(env, step, &spec)?;
    let tmp = TempSources::new(env.store)?;
    let t0 = std::time::Instant::now();
    let (nodes, description) = gather(step, &spec, &origin, &tmp)?;
    tracing::debug!(
        elapsed_ms = t0.elapsed().as_millis() as u64,
        bytes = description.len(),
        "sources described"
    );
    let (dest, dir_hint) = absolute_dest(&spec.dest, stage.workdir());
    let key = KeyBuilder::new(if spec.add { "add" } else { "copy" }, &stage.key)
        .field("dest", &dest)
        .field("dir", if dir_hint { "1" } else { "0" })
        .field("chown", spec.chown.clone().unwrap_or_default())
        .field("chmod", spec.chmod.clone().unwrap_or_default())
        .field("link", if spec.link { "1" } else { "0" })
        .field("unpack", if spec.unpack { "1" } else { "0" })
        .field("content", &description)
        .finish();
    let created_by = format!("{} {} # strata", spec.name(), history_args(cmd));
    if let Some(rec) = env.cached(&key)? {
        stage.commit_layer(key, &rec, created_by, env.clock);
        return Ok(true);
    }
    let nodes = tmp.materialise(nodes, step)?;
    let from_context = spec.add && spec.unpack && matches!(origin, Origin::Context(_));
    let image = if spec.link {
        None
    } else {
        Some(stage.image.view(env.store, env.snapshots)?)
    };
    let mut ov = overrides(step, &spec, image.as_ref())?;
    ov.keep_owner = spec.from.is_some();
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
        env.clock.now_secs(),
        &extract,
    )
    .map_err(|e| step.fail(e))?;
    let layer = env.store_layer(planned.entries.into_values().collect())?;
    env.record_layer(stage, key, Some(layer), created_by)?;
    Ok(false)
}

fn reject_unsupported(cmd: &Command) -> std::result::Result<(), StepError> {
    let (parents, excludes) = match &cmd.instruction {
        Instruction::Copy(c) => (c.parents, !c.excludes.is_empty()),
        Instruction::Add(a) => (false, !a.excludes.is_empty()),
        _ => (false, false),
    };
    if parents {
        return Err(StepError::Unsupported { flag: "--parents" });
    }
    if excludes {
        return Err(StepError::Unsupported { flag: "--exclude" });
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

    /// The build context, when that is where the sources come from.
    fn context(&self) -> Option<&Context> {
        match self {
            Origin::Context(c) => Some(c),
            Origin::View { .. } => None,
        }
    }
}

fn open_origin(env: &StepEnv<'_>, step: &Step<'_>, spec: &Spec) -> Result<Origin> {
    let Some(from) = &spec.from else {
        return Ok(Origin::Context(env.context()?));
    };
    let source = env
        .stages
        .source(from, step.stage)
        .map_err(|e| step.fail(e))?;
    let (state, identity) = source.state(env.architecture)?;
    let view = state.view(env.store, env.snapshots)?;
    Ok(Origin::View { view, identity })
}

/// Resolves every source argument to nodes and describes their content for the cache key.
fn gather(
    step: &Step<'_>,
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
        if spec.add && add::is_url(src) {
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
        if spec.checksum.is_some() {
            return Err(step.fail(StepError::ChecksumWithoutUrl));
        }
        let nodes = fs.resolve(src).map_err(|e| not_found(step, spec, src, e))?;
        for node in nodes {
            describe_node(&fs, origin.context(), &node, &mut desc)?;
            pending.push(Pending::Node(node));
        }
    }
    pending.extend(add::heredoc_sources(&spec.heredocs, &mut desc));
    Ok((pending, desc))
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
