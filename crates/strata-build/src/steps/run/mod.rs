//! RUN: a command in a container over the stage's filesystem.
//!
//! The key covers the parent key, the final argv (shell form wrapped in SHELL, heredoc bodies
//! included), the environment (image ENV plus the ARGs in scope), the ARG values the
//! instruction used, USER, WORKDIR, the network mode and every mount's definition (with the
//! content digests of bound context files; secrets by id only). On a miss the stage's
//! snapshots are mounted as an overlay, the command runs in it through the OCI runtime, and
//! the upper dir's changes become the layer (none when nothing changed).
//!
//! Heredocs follow BuildKit: `RUN <<EOF` alone runs the body with the shell
//! (`/bin/sh -c <body>`); otherwise (`RUN python3 <<EOF`, several heredocs) the command line
//! and the bodies with their terminators are handed to the shell as one script, which then
//! feeds each body to its command's stdin. A lone heredoc whose body starts with `#!` is bound
//! read-only (mode 0755) at `/dev/pipes/<NAME>` and run as the command itself.

pub mod mounts;
pub mod sandbox;
pub mod ssh;

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use strata_archive::{Entry, EntryKind};
use strata_dockerfile::instructions::{NetworkMode as DfNetwork, RunCommand};
use strata_dockerfile::Heredoc;
use strata_executor::{Network, RunSpec, Stream, DEFAULT_PATH};
use strata_oci::Digest;
use strata_snapshot::ActiveMount;

use crate::error::{BuildError, Result, StepError};
use crate::options::NetworkMode;
use crate::progress::Event;
use crate::sources::rootfs::RootfsView;
use crate::sources::users::resolve_user;
use crate::state::cache::KeyBuilder;
use crate::state::metadata::{default_shell, with_shell};
use crate::state::stage::StageState;
use crate::state::{ImageState, LayerRef};
use crate::steps::{Step, StepEnv};

/// A `RUN <<EOF` body starting with `#!`: bound at `path` and run as the command.
#[derive(Debug, PartialEq, Eq)]
struct Script {
    path: String,
    content: String,
}

/// Output lines kept for the error of a failed RUN.
const TAIL_LINES: usize = 20;

/// Everything a RUN step needs besides the stage: decided before the cache lookup.
struct Plan {
    argv: Vec<String>,
    script: Option<Script>,
    env: Vec<String>,
    user: String,
    cwd: String,
    network: Network,
}

pub fn run(
    env: &StepEnv<'_>,
    stage: &mut StageState,
    step: &Step<'_>,
    run: &RunCommand,
) -> Result<bool> {
    if run.security.as_deref() == Some("insecure") {
        return Err(step.fail(StepError::InsecureSecurity));
    }
    let plan = plan(env, stage, run);
    let key = key(env, stage, step, run, &plan)?;
    for id in mounts::cache_mount_ids(&run.mounts, stage.workdir()) {
        env.usage.mount(step.stage, id);
    }
    let created_by = created_by(stage, &plan.argv);
    if let Some(rec) = env.cached(step, &key)? {
        stage.commit_layer(key, &rec, created_by, env.clock);
        return Ok(true);
    }
    let ran = execute(env, stage, step, run, &plan)?;
    let layer = take_layer(env, stage, ran)?;
    env.record_layer(stage, key, layer, created_by)?;
    Ok(false)
}

fn plan(env: &StepEnv<'_>, stage: &StageState, run: &RunCommand) -> Plan {
    let config = &stage.image.config.config;
    let (argv, script) = command_args(run, &config.shell);
    Plan {
        argv,
        script,
        env: run_env(stage.scope.env()),
        user: config.user.clone(),
        cwd: stage.workdir().to_owned(),
        network: network(run.network, env.opts.network),
    }
}

/// The argv of a RUN: SHELL-wrapped shell form (with heredocs), or the exec form as is;
/// plus the script file to bind for a `#!` heredoc.
fn command_args(run: &RunCommand, shell: &[String]) -> (Vec<String>, Option<Script>) {
    if !run.cmd.prepend_shell || run.heredocs.is_empty() {
        return (with_shell(&run.cmd, shell), None);
    }
    let line = run.cmd.args.join(" ");
    let mut argv = default_shell(shell);
    match run.heredocs.as_slice() {
        [h] if is_only_heredoc(line.trim(), h) && h.content.starts_with("#!") => {
            let path = format!("/dev/pipes/{}", h.name);
            let script = Script {
                path: path.clone(),
                content: h.content.clone(),
            };
            return (vec![path], Some(script));
        }
        [h] if is_only_heredoc(line.trim(), h) => argv.push(h.content.clone()),
        docs => argv.push(heredoc_script(&line, docs)),
    }
    (argv, None)
}

/// Whether a command line is nothing but the heredoc marker (`<<EOF`, `<<-"EOF"`).
fn is_only_heredoc(line: &str, h: &Heredoc) -> bool {
    let Some(rest) = line.strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let unquoted = rest.trim_matches(|c| c == '"' || c == '\'');
    unquoted == h.name
}

/// The command line followed by each heredoc body and its terminator: a script the shell
/// runs with the bodies as here-documents.
fn heredoc_script(line: &str, docs: &[Heredoc]) -> String {
    let mut script = line.to_owned();
    for h in docs {
        script.push('\n');
        script.push_str(&h.content);
        if !h.content.is_empty() && !h.content.ends_with('\n') {
            script.push('\n');
        }
        script.push_str(&h.name);
    }
    script
}

/// BuildKit's proxy build args (`dockerfile2llb/convert.go` proxyEnvFromBuildArgs, exec op
/// `proxyEnvList`): a `--build-arg` named `http_proxy`, `https_proxy`, `ftp_proxy`,
/// `no_proxy` or `all_proxy` (any case) reaches every RUN as both `NAME` and `name`, without
/// an ARG, and stays out of the cache key, the image and its history. A variable the step
/// already has (an ARG or ENV) is left as it is.
fn proxy_env(
    build_args: &std::collections::BTreeMap<String, String>,
    have: &[String],
) -> Vec<String> {
    const PROXIES: &[&str] = &[
        "http_proxy",
        "https_proxy",
        "ftp_proxy",
        "no_proxy",
        "all_proxy",
    ];
    let set = |name: &str| {
        have.iter()
            .any(|e| e.split_once('=').is_some_and(|(k, _)| k == name))
    };
    let mut out = Vec::new();
    for proxy in PROXIES {
        // proxyEnvList passes only values that are set.
        let Some(value) = build_args
            .iter()
            .find_map(|(k, v)| k.eq_ignore_ascii_case(proxy).then_some(v))
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        for name in [proxy.to_ascii_uppercase(), proxy.to_string()] {
            if !set(&name) {
                out.push(format!("{name}={value}"));
            }
        }
    }
    out
}

/// Image ENV, then the ARGs in scope that ENV does not shadow; PATH defaulted.
/// The stage's build environment (image ENV, ARGs and ENVs in order, the later winning), with
/// the default PATH when none is set.
fn run_env(mut env: Vec<String>) -> Vec<String> {
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(DEFAULT_PATH.to_owned());
    }
    env
}

fn network(flag: Option<DfNetwork>, default: NetworkMode) -> Network {
    match (flag, default) {
        (Some(DfNetwork::None), _) => Network::None,
        (Some(DfNetwork::Host), _) => Network::Host,
        (_, NetworkMode::None) => Network::None,
        (_, NetworkMode::Host) => Network::Host,
    }
}

fn key(
    env: &StepEnv<'_>,
    stage: &StageState,
    step: &Step<'_>,
    run: &RunCommand,
    plan: &Plan,
) -> Result<Digest> {
    let mut vars = plan.env.clone();
    vars.sort();
    let args = stage.scope.run_args();
    let used_args: Vec<String> = step
        .used_args
        .iter()
        .filter_map(|k| args.iter().find(|(a, _)| a == k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mounts = mounts::describe(env, stage, step, &run.mounts)?;
    Ok(KeyBuilder::new("run", &stage.key)
        .field("args", plan.argv.join("\0"))
        .field(
            "script",
            plan.script.as_ref().map_or("", |s| s.content.as_str()),
        )
        .field("env", vars.join("\0"))
        .field("used-args", used_args.join("\0"))
        .field("user", &plan.user)
        .field("cwd", &plan.cwd)
        .field("network", format!("{:?}", plan.network))
        .field("mounts", mounts)
        .finish())
}

/// History as BuildKit writes it: `RUN |2 A=1 B=2 /bin/sh -c make # strata`.
fn created_by(stage: &StageState, argv: &[String]) -> String {
    let args = stage.scope.run_args();
    let prefix = if args.is_empty() {
        String::new()
    } else {
        let kv: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("|{} {} ", args.len(), kv.join(" "))
    };
    format!("RUN {prefix}{} # strata", argv.join(" "))
}

/// A command that ran successfully: its overlay (released by [`take_layer`]), the image's
/// view below it and the mount-point stubs the executor removed.
struct Ran {
    active: ActiveMount,
    view: RootfsView,
    stubs: Vec<PathBuf>,
}

/// Mounts the stage and runs the command; returns the overlay it ran in, for
/// [`take_layer`]. On failure the overlay is released and nothing is recorded.
fn execute(
    env: &StepEnv<'_>,
    stage: &StageState,
    step: &Step<'_>,
    run: &RunCommand,
    plan: &Plan,
) -> Result<Ran> {
    let (lowers, view) = lowers_and_view(env, &stage.image)?;
    let user = resolve_user(&plan.user, Some(&view)).map_err(|e| step.fail(e))?;
    let active = env.snapshots.mount_rw(&lowers)?;
    let rootfs = active.rootfs();
    create_workdir(&rootfs, &view, &plan.cwd)
        .map_err(BuildError::io("creating the working directory in", &rootfs))?;
    let mut prepared = mounts::prepare(env, stage, step, &run.mounts)?;
    if let Some(s) = &plan.script {
        prepared.add_file(env, &s.path, s.content.as_bytes(), 0o755)?;
    }
    let mut spec = RunSpec::new(&rootfs, plan.argv.clone());
    spec.env = plan.env.clone();
    spec.env.extend(proxy_env(&env.opts.build_args, &spec.env));
    spec.env.extend(prepared.secret_env.iter().cloned());
    if let Some(sock) = &prepared.ssh_auth_sock {
        if !spec.env.iter().any(|e| e.starts_with("SSH_AUTH_SOCK=")) {
            spec.env.push(format!("SSH_AUTH_SOCK={sock}"));
        }
    }
    spec.cwd = plan.cwd.clone();
    (spec.uid, spec.gid) = (user.uid, user.gid);
    spec.additional_gids = user.additional_gids;
    spec.network = plan.network;
    spec.mounts = prepared.specs.clone();
    let outcome =
        run_container(env, &active, &spec, step).map_err(|e| step.fail(StepError::Start(e)));
    prepared.release();
    let (exit_code, tail, stubs) = outcome?;
    if exit_code != 0 {
        active.release();
        return Err(BuildError::RunFailed {
            location: step.location.clone(),
            command: plan.argv.join(" "),
            exit_code,
            tail,
        });
    }
    Ok(Ran {
        active,
        view,
        stubs,
    })
}

/// The snapshot dirs of `image`'s layers as overlay lowers (top first), and the read-only
/// view of the same layers.
fn lowers_and_view(env: &StepEnv<'_>, image: &ImageState) -> Result<(Vec<PathBuf>, RootfsView)> {
    let dirs = env.snapshot_dirs(image)?;
    let view = RootfsView::new(dirs.clone());
    Ok((dirs.into_iter().rev().collect(), view))
}

/// Runs `spec` in the sandbox, streaming lines to progress; returns the exit code, the
/// output tail and the mount-point stubs the executor created and removed again.
fn run_container(
    env: &StepEnv<'_>,
    root: &ActiveMount,
    spec: &RunSpec,
    step: &Step<'_>,
) -> std::result::Result<(i32, String, Vec<PathBuf>), strata_executor::Error> {
    let id = step.name.id;
    tracing::info!(step = id, argv = ?spec.args, "running");
    let mut lines = LineSink::new(|line: String| {
        env.progress.event(Event::Log { id, line });
    });
    let outcome = env
        .sandbox
        .run(root, spec, &mut |stream, chunk| lines.push(stream, chunk))?;
    lines.flush();
    Ok((outcome.exit_code, lines.tail(), outcome.created_mountpoints))
}

/// Stores the changes of the overlay a command ran in as a layer (`None` when there are
/// none), then releases the overlay (the entries read their content from its upper dir).
///
/// Without `SOURCE_DATE_EPOCH` the upper dir is exactly the layer, so it becomes the layer's
/// snapshot instead of being deleted (a later step then never unpacks it). With an epoch
/// the layer's mtimes are clamped and differ from the upper dir, so the layer is unpacked
/// when needed, and later steps see exactly what a cached build would.
fn take_layer(env: &StepEnv<'_>, stage: &StageState, ran: Ran) -> Result<Option<LayerRef>> {
    let (layer, dropped) = match store_changes(env, &ran) {
        Ok(v) => v,
        Err(e) => {
            ran.active.release();
            return Err(e);
        }
    };
    match &layer {
        Some(l) if env.clock.epoch().is_none() => {
            let parent =
                strata_snapshot::chain_ids(stage.image.layers.iter().map(|l| &l.diff_id)).pop();
            let chain = strata_snapshot::chain_id(parent.as_ref(), &l.diff_id);
            if let Err(e) = ran.active.commit(env.snapshots, &chain, &dropped) {
                tracing::debug!(error = %e, "upper dir not kept as a snapshot; it is unpacked when needed");
            }
        }
        _ => ran.active.release(),
    }
    Ok(layer)
}

/// The layer of the overlay's changes (`None` when there are none) and the dirs left out
/// of it because they were copied up only for mount points.
fn store_changes(env: &StepEnv<'_>, ran: &Ran) -> Result<(Option<LayerRef>, Vec<String>)> {
    let entries = ran.active.diff()?;
    let (entries, dropped) =
        prune_stub_parents(entries, &ran.active.rootfs(), &ran.stubs, &ran.view);
    tracing::debug!(entries = entries.len(), "RUN changes");
    if entries.is_empty() {
        return Ok((None, dropped));
    }
    let layer = env.store_layer(entries)?;
    Ok((Some(layer), dropped))
}

/// Drops the dirs that are in the upper dir only because a mount-point stub was created
/// (and removed again) in them: nothing changed below them and their mode, owner and xattrs
/// are those of the image's dir. BuildKit's overlay differ ignores such dirs too.
fn prune_stub_parents(
    mut entries: Vec<Entry>,
    rootfs: &Path,
    stubs: &[PathBuf],
    view: &RootfsView,
) -> (Vec<Entry>, Vec<String>) {
    let mut dropped = Vec::new();
    let parents: BTreeSet<String> = stubs
        .iter()
        .filter_map(|s| s.strip_prefix(rootfs).ok())
        .flat_map(|rel| rel.ancestors().skip(1))
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty())
        .collect();
    // Children sort after their parents: reversed, a dir is judged after everything below it.
    for dir in parents.iter().rev() {
        let Some(i) = entries
            .iter()
            .position(|e| e.path.trim_end_matches('/') == dir)
        else {
            continue;
        };
        let prefix = format!("{dir}/");
        let below = entries
            .iter()
            .any(|e| e.path.starts_with(&prefix) && e.path.len() > prefix.len());
        if !below && unchanged_dir(&entries[i], view, dir) {
            tracing::debug!(%dir, "dropping dir copied up only for a mount point");
            entries.remove(i);
            dropped.push(dir.clone());
        }
    }
    dropped.reverse();
    (entries, dropped)
}

fn unchanged_dir(e: &Entry, view: &RootfsView, dir: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(found) = view.lstat(&format!("/{dir}")) else {
        return false;
    };
    let m = &found.meta;
    matches!(e.kind, EntryKind::Dir)
        && m.is_dir()
        && e.xattrs.is_empty()
        && e.mode & 0o7777 == m.mode() & 0o7777
        && (e.uid, e.gid) == (m.uid(), m.gid())
}

/// Creates the working directory (root-owned, 0755) inside the rootfs when the image lacks
/// it, as BuildKit does. Never follows a link on the host side: the path is resolved inside
/// the image first, and a link met on the way leaves the rest to the runtime.
fn create_workdir(rootfs: &Path, view: &RootfsView, cwd: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let resolved = view.resolve(cwd, true).unwrap_or_else(|| cwd.to_owned());
    let mut path = rootfs.to_path_buf();
    for comp in resolved.split('/').filter(|c| !c.is_empty() && *c != ".") {
        path.push(comp);
        match path.symlink_metadata() {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&path)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Splits output chunks into lines per stream, hands each to `emit`, keeps the last few.
struct LineSink<F: FnMut(String)> {
    emit: F,
    partial: [Vec<u8>; 2],
    tail: VecDeque<String>,
}

impl<F: FnMut(String)> LineSink<F> {
    fn new(emit: F) -> Self {
        LineSink {
            emit,
            partial: [Vec::new(), Vec::new()],
            tail: VecDeque::new(),
        }
    }

    fn push(&mut self, stream: Stream, chunk: &[u8]) {
        let i = usize::from(stream == Stream::Stderr);
        self.partial[i].extend_from_slice(chunk);
        while let Some(pos) = self.partial[i].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial[i].drain(..=pos).collect();
            self.line(&line[..line.len() - 1]);
        }
    }

    fn flush(&mut self) {
        for i in 0..2 {
            let rest = std::mem::take(&mut self.partial[i]);
            if !rest.is_empty() {
                self.line(&rest);
            }
        }
    }

    fn line(&mut self, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes)
            .trim_end_matches('\r')
            .to_owned();
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        (self.emit)(line);
    }

    fn tail(&self) -> String {
        self.tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}
