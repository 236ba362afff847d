//! `RUN --mount=`: what each mount adds to the cache key, and its host side for the run.
//!
//! - `bind`: a path of the build context or of another stage / image, read-only unless `rw`.
//!   Writes through `rw` are discarded: a context source is copied to a temp dir first, a
//!   stage source is bound out of a throwaway overlay of that stage. The key covers the
//!   content digests of the bound context files (or the stage's key / image digest).
//!   Limitation: a context bind exposes the directory as it is on disk, `.dockerignore`d
//!   files included (they are not part of the key).
//! - `cache`: a persistent dir `<store>/cache-mounts/<sha256(id)>/`, created with
//!   `mode`/`uid`/`gid` on first use and seeded from `from`+`source` then. Its content is
//!   never part of the key. `sharing=locked` holds an exclusive flock on `<dir>.lock` for the
//!   step; `private` takes the same lock without waiting and, when another step holds it,
//!   uses a fresh empty dir that is thrown away afterwards; `shared` takes no lock.
//! - `tmpfs`: a fresh tmpfs (`size` honoured).
//! - `secret`: the value (from `--secret`) goes to a temp file under `<store>/tmp/`, bound
//!   read-only at the target, and/or to the env var named by `env=`. Only the id enters the
//!   key; the value never enters a key, a layer, the history or a log line strata writes.
//! - `ssh`: the agent given with `--ssh ID=SOCKET`, through a proxy socket owned by the
//!   mount's uid/gid with its mode (see [`super::ssh`]); not forwarded and not `required`,
//!   the mount is skipped. The first one's target is `SSH_AUTH_SOCK`.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use strata_dockerfile::mount::{Mount, MountKind as Kind, Sharing};
use strata_executor::{MountKind, MountSpec};
use strata_fs::FileLock;
use strata_oci::Digest;
use strata_snapshot::ActiveMount;

use crate::error::{BuildError, Result, StepError};
use crate::options::SecretSource;
use crate::sources::select::{clean_source, SourceFs};
use crate::state::stage::StageState;
use crate::state::ImageState;
use crate::steps::copy::describe::{context_digests, describe_items};
use crate::steps::run::ssh::AgentProxy;
use crate::steps::{Step, StepEnv};

/// The host side of a step's mounts, alive until the container exited.
pub struct Prepared {
    pub specs: Vec<MountSpec>,
    /// `NAME=value` for secrets exposed as env vars: never keyed, logged or recorded.
    pub secret_env: Vec<String>,
    /// The target of the first ssh mount: `SSH_AUTH_SOCK` unless the step sets it.
    pub ssh_auth_sock: Option<String>,
    holds: Vec<Hold>,
}

/// Something that must outlive the run: released (unlocked, removed, unmounted) on drop.
enum Hold {
    Lock(#[allow(dead_code)] FileLock),
    Temp(#[allow(dead_code)] tempfile::TempDir),
    Overlay(#[allow(dead_code)] ActiveMount),
    Agent(#[allow(dead_code)] AgentProxy),
}

impl Prepared {
    /// Binds `content` read-only at `target` as a file with `mode` (a heredoc script).
    pub fn add_file(
        &mut self,
        env: &StepEnv<'_>,
        target: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<()> {
        let file = self.temp_file(env, content, mode, (0, 0))?;
        self.specs.push(bind_spec(target, file, true));
        Ok(())
    }

    /// Writes `content` to a new temp file (removed with this value) owned by `owner`.
    fn temp_file(
        &mut self,
        env: &StepEnv<'_>,
        content: &[u8],
        mode: u32,
        owner: (u32, u32),
    ) -> Result<PathBuf> {
        let tmp = temp_dir(env, "file-")?;
        let file = tmp.path().join("file");
        fs::write(&file, content).map_err(BuildError::io("writing", &file))?;
        set_owner_and_mode(&file, owner, mode)?;
        self.holds.push(Hold::Temp(tmp));
        Ok(file)
    }

    /// Releases every lock, temp dir and overlay now.
    pub fn release(self) {
        for hold in self.holds.into_iter().rev() {
            if let Hold::Overlay(m) = hold {
                m.release();
            }
        }
    }
}

/// Gives `path` the owner and then the mode a mount asks for (chown first: it would clear
/// setuid bits).
pub(crate) fn set_owner_and_mode(path: &Path, owner: (u32, u32), mode: u32) -> Result<()> {
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1))
        .map_err(BuildError::io("changing the owner of", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(BuildError::io("setting the mode of", path))
}

/// Where a bind or cache mount's `from` points.
enum Origin {
    Context,
    State {
        state: Box<ImageState>,
        identity: String,
    },
}

/// The mounts' definitions (and bound context content) as key material.
pub fn describe(
    env: &StepEnv<'_>,
    stage: &StageState,
    step: &Step<'_>,
    mounts: &[Mount],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        out.extend_from_slice(definition(i, m, stage.workdir()).as_bytes());
        match m.kind {
            Kind::Bind | Kind::Cache => match origin(env, step, m)? {
                Origin::State { identity, .. } => {
                    out.extend_from_slice(format!("from {identity}\n").as_bytes());
                }
                Origin::Context if m.kind == Kind::Bind => {
                    out.extend_from_slice(&context_content(env, step, m)?);
                }
                Origin::Context => {}
            },
            Kind::Tmpfs | Kind::Secret | Kind::Ssh => {}
        }
    }
    Ok(out)
}

/// One line naming everything that defines a mount (for secrets: the id, never the value).
fn definition(i: usize, m: &Mount, workdir: &str) -> String {
    format!(
        "mount {i} type={} target={:?} id={:?} sharing={:?} source={:?} from={:?} ro={} \
         mode={:?} uid={:?} gid={:?} required={} env={:?} size={:?}\n",
        m.kind,
        absolute_target(&m.target, workdir),
        m.id,
        m.sharing,
        m.source,
        m.from,
        m.read_only,
        m.mode,
        m.uid,
        m.gid,
        m.required,
        m.env,
        m.size
    )
}

/// A mount target made absolute against WORKDIR, as BuildKit does.
fn absolute_target(target: &str, workdir: &str) -> String {
    if target.starts_with('/') || target.is_empty() {
        target.to_owned()
    } else {
        format!("{}/{target}", workdir.trim_end_matches('/'))
    }
}

fn origin(env: &StepEnv<'_>, step: &Step<'_>, m: &Mount) -> Result<Origin> {
    let Some(from) = &m.from else {
        return Ok(Origin::Context);
    };
    let source = env
        .stages
        .source(from, step.stage)
        .map_err(|e| step.fail(e))?;
    let (state, identity) = source.state(env.architecture)?;
    Ok(Origin::State {
        state: Box::new(state),
        identity,
    })
}

/// Path, kind, mode and content digest of every context file a bind mount exposes.
fn context_content(env: &StepEnv<'_>, step: &Step<'_>, m: &Mount) -> Result<Vec<u8>> {
    let ctx = env.context()?;
    let fs = SourceFs::Context(&ctx);
    let source = clean_source(m.source.as_deref().unwrap_or(""));
    let nodes = fs.resolve(&source).map_err(|e| {
        step.fail(StepError::MountSource {
            source_path: source.clone(),
            source: e,
        })
    })?;
    let mut out = Vec::new();
    for node in nodes {
        let mut items = vec![(String::new(), node.clone())];
        if node.meta.is_dir() {
            items.extend(fs.walk(&node));
        }
        let digests = context_digests(&ctx, &items)?;
        out.extend_from_slice(&describe_items(&items, &digests));
    }
    Ok(out)
}

/// Makes the host side of every mount.
pub fn prepare(
    env: &StepEnv<'_>,
    stage: &StageState,
    step: &Step<'_>,
    mounts: &[Mount],
) -> Result<Prepared> {
    let mut p = Prepared {
        specs: Vec::new(),
        secret_env: Vec::new(),
        ssh_auth_sock: None,
        holds: Vec::new(),
    };
    for m in mounts {
        let target = absolute_target(&m.target, stage.workdir());
        match m.kind {
            Kind::Bind => bind(env, step, m, &target, &mut p)?,
            Kind::Cache => cache(env, step, m, &target, &mut p)?,
            Kind::Tmpfs => p.specs.push(MountSpec {
                target,
                kind: MountKind::Tmpfs {
                    size: m.size,
                    readonly: m.read_only,
                },
            }),
            Kind::Secret => secret(env, step, m, &target, &mut p)?,
            Kind::Ssh => ssh(env, step, m, &target, &mut p)?,
        }
    }
    Ok(p)
}

fn bind_spec(target: &str, source: PathBuf, readonly: bool) -> MountSpec {
    MountSpec {
        target: target.to_owned(),
        kind: MountKind::Bind { source, readonly },
    }
}

fn bind(
    env: &StepEnv<'_>,
    step: &Step<'_>,
    m: &Mount,
    target: &str,
    p: &mut Prepared,
) -> Result<()> {
    let source = m.source.as_deref().unwrap_or("");
    let host = match origin(env, step, m)? {
        Origin::Context => {
            let real = context_path(env, step, source)?;
            if m.read_only {
                real
            } else {
                let tmp = temp_dir(env, "bind-")?;
                let copy = tmp.path().join("src");
                copy_tree(&real, &copy).map_err(BuildError::io("copying", &real))?;
                p.holds.push(Hold::Temp(tmp));
                copy
            }
        }
        Origin::State { state, .. } => {
            let (active, host) = state_path(env, step, &state, source)?;
            p.holds.push(Hold::Overlay(active));
            host
        }
    };
    p.specs.push(bind_spec(target, host, m.read_only));
    Ok(())
}

/// The real path of a context source (symlinks followed inside the context).
fn context_path(env: &StepEnv<'_>, step: &Step<'_>, source: &str) -> Result<PathBuf> {
    let ctx = env.context()?;
    let clean = clean_source(source);
    let nodes = SourceFs::Context(&ctx).resolve(&clean).map_err(|e| {
        step.fail(StepError::MountSource {
            source_path: source.to_owned(),
            source: e,
        })
    })?;
    nodes.into_iter().next().map(|n| n.real).ok_or_else(|| {
        step.fail(StepError::MountSourceMissing {
            source_path: source.to_owned(),
        })
    })
}

/// Mounts a throwaway overlay of `state` and returns it with the host path of `source`
/// inside it (symlinks resolved inside the image). Writes land in the overlay's upper dir
/// and vanish with it.
fn state_path(
    env: &StepEnv<'_>,
    step: &Step<'_>,
    state: &ImageState,
    source: &str,
) -> Result<(ActiveMount, PathBuf)> {
    let (lowers, view) = super::lowers_and_view(env, state)?;
    let abs = format!("/{}", clean_source(source));
    let resolved = view.resolve(&abs, true).unwrap_or(abs.clone());
    let active = env.snapshots.mount_rw(&lowers)?;
    let host = active.rootfs().join(resolved.trim_start_matches('/'));
    if host.symlink_metadata().is_err() {
        return Err(step.fail(StepError::MountSourceMissing { source_path: abs }));
    }
    Ok((active, host))
}

fn cache(
    env: &StepEnv<'_>,
    step: &Step<'_>,
    m: &Mount,
    target: &str,
    p: &mut Prepared,
) -> Result<()> {
    let id = m.id.clone().unwrap_or_else(|| target.to_owned());
    let dir = cache_mount_dir(env.store, &id);
    let base = dir.parent().expect("below cache-mounts/");
    fs::create_dir_all(base).map_err(BuildError::io("creating", base))?;
    let lock_path = dir.with_extension("lock");
    let locking = BuildError::io("locking", &lock_path);
    let dir = match m.sharing {
        Sharing::Shared => dir,
        Sharing::Locked => {
            let held = FileLock::exclusive(&lock_path).map_err(locking)?;
            p.holds.push(Hold::Lock(held));
            dir
        }
        Sharing::Private => match FileLock::try_exclusive(&lock_path).map_err(locking)? {
            Some(f) => {
                p.holds.push(Hold::Lock(f));
                dir
            }
            None => {
                tracing::debug!(%id, "private cache mount busy: using a fresh dir");
                let tmp = temp_dir(env, "cache-")?;
                let fresh = tmp.path().join("cache");
                p.holds.push(Hold::Temp(tmp));
                fresh
            }
        },
    };
    // An empty dir (a run that put nothing in it) starts from imported contents too.
    if !dir.exists() || (env.remote.mount(&id).is_some() && is_empty_dir(&dir)) {
        create_cache_dir(env, step, m, &id, &dir)?;
    }
    p.specs.push(bind_spec(target, dir, m.read_only));
    Ok(())
}

/// The id of each cache mount of a RUN (`id=`, else the absolute target, as BuildKit).
pub fn cache_mount_ids(mounts: &[Mount], workdir: &str) -> Vec<String> {
    let cache = mounts.iter().filter(|m| m.kind == Kind::Cache);
    cache
        .map(|m| {
            m.id.clone()
                .unwrap_or_else(|| absolute_target(&m.target, workdir))
        })
        .collect()
}

/// Where cache mount `id` lives: `<store>/cache-mounts/<sha256(id)>`.
pub fn cache_mount_dir(store: &strata_content::Store, id: &str) -> PathBuf {
    let base = store.root().join("cache-mounts");
    base.join(Digest::of(id.as_bytes()).hex())
}

fn is_empty_dir(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// Creates a cache dir (via a temp name, so a half-seeded dir is never used): from the
/// imported cache's contents of mount `id` when it has them, else seeded from
/// `from`+`source` when given. An existing empty dir is replaced the same way.
fn create_cache_dir(
    env: &StepEnv<'_>,
    step: &Step<'_>,
    m: &Mount,
    id: &str,
    dir: &Path,
) -> Result<()> {
    let partial = dir.with_extension(format!("new-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir(&partial).map_err(BuildError::io("creating", &partial))?;
    let restored = crate::remote::mounts::restore(env.store, env.remote, id, &partial)?;
    if restored {
        // Its contents, with the mount's own mode and owner below.
    } else if let Origin::State { state, .. } = origin(env, step, m)? {
        fs::remove_dir(&partial).map_err(BuildError::io("creating", &partial))?;
        let (active, host) = state_path(env, step, &state, m.source.as_deref().unwrap_or(""))?;
        let copied = copy_tree(&host, &partial);
        active.release();
        copied.map_err(BuildError::io("seeding cache mount from", &host))?;
    }
    let mode = m.mode.unwrap_or(0o755);
    fs::set_permissions(&partial, fs::Permissions::from_mode(mode))
        .map_err(BuildError::io("setting the mode of", &partial))?;
    std::os::unix::fs::chown(&partial, Some(m.uid.unwrap_or(0)), Some(m.gid.unwrap_or(0)))
        .map_err(BuildError::io("changing the owner of", &partial))?;
    // An empty dir left by an earlier build gives way (not one that got contents meanwhile).
    let _ = fs::remove_dir(dir);
    match fs::rename(&partial, dir) {
        Ok(()) => Ok(()),
        // Another build created it meanwhile: use theirs.
        Err(_) if dir.is_dir() => {
            let _ = fs::remove_dir_all(&partial);
            Ok(())
        }
        Err(e) => Err(BuildError::io("creating", dir)(e)),
    }
}

fn secret(
    env: &StepEnv<'_>,
    step: &Step<'_>,
    m: &Mount,
    target: &str,
    p: &mut Prepared,
) -> Result<()> {
    let id = m.id.clone().unwrap_or_default();
    let Some(value) = secret_value(env, step, &id)? else {
        if m.required {
            return Err(step.fail(StepError::SecretNotFound { id }));
        }
        tracing::debug!(%id, "optional secret not given: skipping its mount");
        return Ok(());
    };
    if let Some(name) = &m.env {
        let text = String::from_utf8(value.clone())
            .map_err(|_| step.fail(StepError::SecretNotUtf8 { id: id.clone() }))?;
        p.secret_env.push(format!("{name}={text}"));
    }
    if target.is_empty() {
        return Ok(());
    }
    let owner = (m.uid.unwrap_or(0), m.gid.unwrap_or(0));
    let file = p.temp_file(env, &value, m.mode.unwrap_or(0o400), owner)?;
    p.specs.push(bind_spec(target, file, true));
    Ok(())
}

fn ssh(
    env: &StepEnv<'_>,
    step: &Step<'_>,
    m: &Mount,
    target: &str,
    p: &mut Prepared,
) -> Result<()> {
    p.ssh_auth_sock.get_or_insert_with(|| target.to_owned());
    let id = m.id.as_deref().unwrap_or("default");
    let Some(agent) = env.opts.ssh.get(id) else {
        if m.required {
            return Err(step.fail(StepError::NoSshAgent { id: id.to_owned() }));
        }
        tracing::debug!(%id, "optional ssh agent not forwarded: skipping its mount");
        return Ok(());
    };
    let owner = (m.uid.unwrap_or(0), m.gid.unwrap_or(0));
    let proxy = AgentProxy::start(
        temp_dir(env, "ssh-")?,
        agent,
        owner,
        m.mode.unwrap_or(0o600),
    )?;
    p.specs
        .push(bind_spec(target, proxy.socket().to_path_buf(), false));
    p.holds.push(Hold::Agent(proxy));
    Ok(())
}

/// A secret's value, `None` when the build was not given it.
fn secret_value(env: &StepEnv<'_>, step: &Step<'_>, id: &str) -> Result<Option<Vec<u8>>> {
    match env.opts.secrets.get(id) {
        None => Ok(None),
        Some(SecretSource::File(path)) => fs::read(path)
            .map(Some)
            .map_err(BuildError::io("reading secret file", path)),
        Some(SecretSource::Env(var)) => std::env::var_os(var)
            .map(|v| Some(std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec()))
            .ok_or_else(|| {
                step.fail(StepError::SecretEnvUnset {
                    id: id.to_owned(),
                    var: var.clone(),
                })
            }),
    }
}

fn temp_dir(env: &StepEnv<'_>, prefix: &str) -> Result<tempfile::TempDir> {
    let base = env.store.root().join("tmp");
    fs::create_dir_all(&base).map_err(BuildError::io("creating", &base))?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .map_err(BuildError::io("creating a temp dir in", &base))
}

/// Copies a file or a directory tree (links kept as links, modes kept).
fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    if !meta.is_dir() {
        fs::copy(src, dst)?;
        return Ok(());
    }
    fs::create_dir(dst)?;
    fs::set_permissions(dst, meta.permissions())?;
    for entry in walkdir::WalkDir::new(src).min_depth(1) {
        let entry = entry?;
        let rel = entry.path().strip_prefix(src).map_err(io::Error::other)?;
        let to = dst.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            fs::create_dir(&to)?;
            fs::set_permissions(&to, entry.metadata()?.permissions())?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &to)?;
        } else if ft.is_file() {
            fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_made_absolute() {
        assert_eq!(absolute_target("/a", "/w"), "/a");
        assert_eq!(absolute_target("a/b", "/w/"), "/w/a/b");
        assert_eq!(absolute_target("a", "/"), "/a");
    }

    #[test]
    fn copy_tree_keeps_links_and_files() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("s");
        fs::create_dir_all(src.join("d")).unwrap();
        fs::write(src.join("d/f"), b"x").unwrap();
        std::os::unix::fs::symlink("d/f", src.join("l")).unwrap();
        let dst = t.path().join("o");
        copy_tree(&src, &dst).unwrap();
        assert_eq!(fs::read(dst.join("d/f")).unwrap(), b"x");
        assert_eq!(fs::read_link(dst.join("l")).unwrap(), PathBuf::from("d/f"));
    }
}
