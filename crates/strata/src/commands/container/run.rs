//! `strata run`: resolve the image and the flags into a [`ContainerConfig`], create the
//! container and hand it to its monitor; in the foreground, wait for it (the monitor relays
//! the output to our stdout/stderr) with signals forwarded, and exit with its code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use strata_container::args::{parse_mount, parse_volume};
use strata_container::containers::{Container, Containers};
use strata_container::limits::LimitArgs;
use strata_container::net::{resolve_ports, PortSpec};
use strata_container::spec::{ContainerConfig, NetworkMode};
use strata_container::state::Status;
use strata_container::{image as semantics, monitor};
use strata_content::{Image, Store};
use strata_executor::Runtime;
use strata_snapshot::{chain_ids, LayerSource, SnapshotStore};

use crate::cli::RunArgs;
use crate::commands::ExitWith;

pub fn run(store: &Store, args: RunArgs) -> Result<()> {
    let image = store.resolve(&args.image)?;
    if let Err(e) = store.touch_image(&image.manifest_digest) {
        tracing::warn!(image = %image.manifest_digest, error = %e, "cannot record the image's use");
    }
    let runtime = find_runtime()?;
    let lowers = snapshot_dirs(store, &image)?;
    let config = resolve(&args, &image, lowers, runtime.path.clone())?;
    let containers = Containers::new(store.root());
    let container = containers.create(config, args.name.as_deref())?;
    let exe = std::env::current_exe().context("finding the strata binary for the monitor")?;
    let id = container.config.id.clone();
    if args.detach {
        let child = monitor::spawn(&exe, store.root(), &id, false)?;
        wait_started(&container, child)?;
        return super::super::out(&id);
    }
    let mut child = monitor::spawn(&exe, store.root(), &id, true)?;
    if args.tty {
        // The terminal is relayed through the monitor's attach socket (raw mode, resizes,
        // signals forwarded by the relay); the exit code is the monitor's.
        let opts = strata_container::tty::AttachOptions {
            tty: true,
            stdin: args.interactive,
        };
        let socket = container.paths.attach_socket();
        let mut alive = || matches!(child.try_wait(), Ok(None));
        if let Err(e) = strata_container::tty::attach(&socket, opts, &mut alive) {
            tracing::debug!(error = %e, "attach ended");
        }
    } else {
        if args.interactive {
            // -i: our stdin goes to the container's through the monitor's attach socket.
            let socket = container.paths.attach_socket();
            std::thread::spawn(move || {
                let opts = strata_container::tty::AttachOptions {
                    tty: false,
                    stdin: true,
                };
                let _ = strata_container::tty::attach(&socket, opts, &mut || true);
            });
        }
        forward_signals(container.clone());
    }
    let status = child
        .wait()
        .context("waiting for the container's monitor")?;
    let code = status.code().unwrap_or(monitor::EXIT_START_FAILED);
    if code == 0 {
        return Ok(());
    }
    Err(ExitWith {
        code: code as u8,
        message: String::new(),
    }
    .into())
}

/// runc from PATH (or the sbin dirs) without running `runc --version` (a Go start, ~5 ms
/// of the hot path): `runc create` reports a broken binary with its own error. Anything
/// else goes through the executor's full detection.
fn find_runtime() -> Result<Runtime> {
    let path = std::env::var("PATH").unwrap_or_default();
    match strata_executor::runtime::find_in_path("runc", &path) {
        Some(p) => Ok(Runtime::at(&p)),
        None => Ok(Runtime::detect(None)?),
    }
}

/// The image's layer snapshots (unpacked once, verified), top-most first.
pub fn snapshot_dirs(store: &Store, image: &Image) -> Result<Vec<PathBuf>> {
    let snapshots = SnapshotStore::open(store.root())?;
    let diff_ids = &image.config.rootfs.diff_ids;
    let layers = &image.manifest.layers;
    if diff_ids.len() != layers.len() {
        bail!(
            "image {}: {} layers but {} diff ids in its config",
            image.manifest_digest,
            layers.len(),
            diff_ids.len()
        );
    }
    let chains = chain_ids(diff_ids);
    let mut dirs = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let blob = store.blob_path(&layer.digest);
        let source = LayerSource {
            diff_id: diff_ids[i].clone(),
            chain_id: chains[i].clone(),
            parent: i.checked_sub(1).map(|p| chains[p].clone()),
            open: Box::new(move || {
                let f = std::fs::File::open(&blob)?;
                let (r, _) = strata_archive::open_decompressed(std::io::BufReader::with_capacity(
                    1 << 20,
                    f,
                ))
                .map_err(std::io::Error::other)?;
                Ok(r)
            }),
        };
        dirs.push(snapshots.ensure(source)?);
    }
    dirs.reverse();
    Ok(dirs)
}

/// docker's semantics for the image config and the flags.
fn resolve(
    args: &RunArgs,
    image: &Image,
    lowers: Vec<PathBuf>,
    runtime: PathBuf,
) -> Result<ContainerConfig> {
    let img = &image.config.config;
    let network: NetworkMode = match args.network.as_str() {
        "private" | "bridge" | "default" => NetworkMode::Private,
        "host" => NetworkMode::Host,
        "none" => NetworkMode::None,
        other => bail!("invalid --network {other:?}: private, host or none"),
    };
    let specs = args
        .publish
        .iter()
        .map(|p| p.parse::<PortSpec>())
        .collect::<Result<Vec<_>, _>>()?;
    let ports = resolve_ports(network, &specs)?;
    let mut mounts = args
        .volume
        .iter()
        .map(|v| parse_volume(v))
        .collect::<Result<Vec<_>, _>>()?;
    for m in &args.mount {
        mounts.push(parse_mount(m)?);
    }
    let limits = LimitArgs {
        memory: args.memory.clone(),
        memory_swap: args.memory_swap.clone(),
        cpus: args.cpus.clone(),
        cpu_shares: args.cpu_shares,
        pids_limit: args.pids_limit,
    }
    .parse()?;
    strata_container::rootless::check_run(&limits, network, args.detach)?;
    let (entrypoint, cmd, argv) =
        semantics::command(args.entrypoint.as_deref(), &args.command, img)?;
    let env = semantics::environment(&img.env, &args.env_file, &args.env, &|k| {
        std::env::var(k).ok()
    })?;
    let user = args.user.clone().unwrap_or_else(|| img.user.clone());
    let (uid, gid, additional_gids) =
        semantics::resolve_user(&user, &|p| semantics::read_from_layers(&lowers, p))?;
    Ok(ContainerConfig {
        id: String::new(),
        name: String::new(),
        image: args.image.clone(),
        image_digest: image.manifest_digest.to_string(),
        image_id: image.config_digest.to_string(),
        argv,
        entrypoint,
        cmd,
        env,
        user,
        uid,
        gid,
        additional_gids,
        workdir: semantics::workdir(args.workdir.as_deref(), img)?,
        hostname: String::new(),
        ports,
        network,
        tty: args.tty,
        interactive: args.interactive,
        limits,
        healthcheck: semantics::healthcheck(img.healthcheck.as_ref()),
        stop_signal: semantics::stop_signal(img)?,
        stop_timeout: args.stop_timeout.unwrap_or(10),
        init: args.init,
        read_only: args.read_only,
        mounts,
        auto_remove: args.rm,
        labels: img.labels.clone(),
        created: strata_container::logs::now_rfc3339(),
        lowers,
        runtime,
    })
}

/// `-d`: returns once the container runs; its start error (and exit code) otherwise.
fn wait_started(container: &Container, mut child: std::process::Child) -> Result<()> {
    let store = container.store();
    loop {
        let state = store.load().ok();
        match state.as_ref().map(|s| s.status) {
            Some(Status::Running) => return Ok(()),
            Some(Status::Exited) | None => {
                let state = state.unwrap_or_default();
                if let Some(error) = state.error {
                    let code = state.exit_code.unwrap_or(monitor::EXIT_START_FAILED);
                    return Err(ExitWith {
                        code: code as u8,
                        message: error,
                    }
                    .into());
                }
                return Ok(());
            }
            Some(Status::Created) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            if store
                .load()
                .map(|s| s.status == Status::Created)
                .unwrap_or(false)
            {
                bail!(
                    "the container's monitor exited ({status}) before starting it; see {}",
                    container.paths.monitor_log().display()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// docker's sig-proxy: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 go to the container's
/// init instead of ending `strata run` (which ends when the container does).
fn forward_signals(container: Container) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let kinds = [
                (SignalKind::interrupt(), rustix::process::Signal::Int),
                (SignalKind::terminate(), rustix::process::Signal::Term),
                (SignalKind::hangup(), rustix::process::Signal::Hup),
                (SignalKind::quit(), rustix::process::Signal::Quit),
                (SignalKind::user_defined1(), rustix::process::Signal::Usr1),
                (SignalKind::user_defined2(), rustix::process::Signal::Usr2),
            ];
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for (kind, sig) in kinds {
                let Ok(mut stream) = signal(kind) else {
                    continue;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        let _ = tx.send(sig);
                    }
                });
            }
            while let Some(sig) = rx.recv().await {
                forward(&container.paths.dir, &container, sig);
            }
        });
    });
}

fn forward(_dir: &Path, container: &Container, sig: rustix::process::Signal) {
    let pid = container.store().load().ok().and_then(|s| s.pid);
    if let Some(pid) = pid.and_then(rustix::process::Pid::from_raw) {
        tracing::debug!(?sig, pid = pid.as_raw_nonzero().get(), "forwarding signal");
        let _ = rustix::process::kill_process(pid, sig);
    }
}
