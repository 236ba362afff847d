//! The per-container monitor (podman's conmon, in the strata binary): started
//! by `strata run` as `strata container-monitor <id>` in its own session, so
//! that it outlives the command. It owns the container from mount to teardown:
//!
//! 1. mounts the rootfs (an overlay of the image's snapshots), writes the bundle —
//!    as root with a private network, while a thread makes the network namespace and
//!    starts slirp4netns on it (`net::prepare`);
//! 2. becomes the container's subreaper, `runc run --detach` with pipes as the
//!    container's stdout/stderr (or a console socket for `-t`) once the network is
//!    ready, records `running` (rootless with a private network: `runc create`,
//!    `net::attach` on the container's namespace, `runc start`);
//! 3. copies the output into the json-file log (and, attached, to its own
//!    stdout/stderr: the foreground `strata run`'s), runs the health checks;
//! 4. reaps the container's init, reads the OOM kill count from the cgroup,
//!    `runc delete --force`, unmounts (the netns file too), records `exited`
//!    with the exit code — and with `--rm` removes the container's dir.
//!
//! Its exit code is the container's (125 when it could not start it, 126/127
//! when the command could not be run, like docker).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;

use strata_executor::{CgroupLayout, CreateIo, Runtime};
use strata_snapshot::{ActiveMount, SnapshotStore};
use tracing::{debug, info, warn};

use crate::cgroups::{self, cgroups_path};
use crate::error::{io_err, Error, Result};
use crate::logs::{now_rfc3339, LineWriter};
use crate::paths::ContainerPaths;
use crate::spec::{ContainerConfig, NetworkMode};
use crate::state::{read_json, State, StateStore, Status};

/// Exit code when the container could not be started (docker's).
pub const EXIT_START_FAILED: i32 = 125;

/// Starts the monitor of container `id`: `exe --root ROOT container-monitor
/// [--attach] ID` in a new session, stdin from /dev/null; attached, it shares
/// our stdout/stderr, else both go to the container's `monitor.log`.
pub fn spawn(exe: &Path, root: &Path, id: &str, attach: bool) -> Result<std::process::Child> {
    let paths = ContainerPaths::new(root, id);
    let mut cmd = Command::new(exe);
    cmd.arg("--root").arg(root).arg("container-monitor");
    if attach {
        cmd.arg("--attach");
    }
    cmd.arg(id).stdin(Stdio::null());
    if !attach {
        let log = paths.monitor_log();
        let f = File::create(&log).map_err(io_err("create", &log))?;
        let f2 = f.try_clone().map_err(io_err("dup", &log))?;
        cmd.stdout(f).stderr(f2);
    }
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        });
    }
    cmd.spawn().map_err(|source| Error::Other {
        what: format!("starting the monitor {}", exe.display()),
        source: Some(Box::new(source)),
    })
}

/// The monitor's body; returns the exit code the monitor process exits with.
pub fn run(root: &Path, id: &str, attach: bool, runtime: &Runtime) -> Result<i32> {
    let paths = ContainerPaths::new(root, id);
    let config: ContainerConfig = read_json(&paths.config())?;
    let store = StateStore::new(paths.clone());
    ignore_terminal_signals();
    rustix::process::set_child_subreaper(rustix::process::Pid::from_raw(1))
        .map_err(|e| io_err("set child subreaper", &paths.dir)(e.into()))?;
    store.update(|s| s.monitor_pid = Some(std::process::id() as i32))?;
    let mut session = Session::new(&paths, &config, runtime, attach);
    let code = match session.start(root) {
        Ok(pid) => {
            kill_on_term(paths.clone(), runtime.clone());
            session.wait(pid)
        }
        Err(e) => {
            warn!(error = %e, "container did not start");
            session.failed(&e)
        }
    };
    session.teardown(code, &store)?;
    if config.auto_remove {
        remove_dir(&paths)?;
    }
    Ok(code)
}

/// SIGTERM/SIGQUIT to the monitor (a shutdown, a `kill`) kill the container, so that the
/// monitor's normal teardown runs (no mount, cgroup or runc state left behind).
fn kill_on_term(paths: ContainerPaths, runtime: Runtime) {
    use signal_hook::consts::{SIGQUIT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGQUIT]) else {
        return;
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            warn!(sig, "monitor signalled: killing the container");
            let _ = runtime.kill(&paths.runc_root(), &paths.id, libc::SIGKILL, true);
        }
    });
}

/// SIGHUP/SIGINT/SIGPIPE of a terminal must not end the monitor.
fn ignore_terminal_signals() {
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGPIPE,
        libc::SIGTTOU,
        libc::SIGTTIN,
    ] {
        // SAFETY: setting a signal's disposition to SIG_IGN.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
}

/// What one monitor holds while the container lives.
struct Session<'a> {
    paths: &'a ContainerPaths,
    config: &'a ContainerConfig,
    runtime: &'a Runtime,
    attach: bool,
    mount: Option<ActiveMount>,
    relays: Vec<JoinHandle<()>>,
    net: Option<crate::hooks::NetHandle>,
    health: Option<crate::hooks::HealthRunner>,
    oom_kills: u64,
    created: bool,
    error: Option<String>,
}

impl<'a> Session<'a> {
    fn new(
        paths: &'a ContainerPaths,
        config: &'a ContainerConfig,
        runtime: &'a Runtime,
        attach: bool,
    ) -> Self {
        Session {
            paths,
            config,
            runtime,
            attach,
            mount: None,
            relays: Vec::new(),
            net: None,
            health: None,
            oom_kills: 0,
            created: false,
            error: None,
        }
    }

    /// Mount, bundle, create, network, start; returns the init pid.
    fn start(&mut self, root: &Path) -> Result<i32> {
        self.paths
            .create_run_dir()
            .map_err(io_err("create", self.paths.run_dir()))?;
        // As root, a private network is made before the container (podman's order): its
        // namespace and slirp4netns start on a thread while the rootfs is mounted and the
        // bundle written; runc then joins it and creates and starts in one process.
        let early_net = (self.config.network == NetworkMode::Private
            && !strata_executor::runtime::in_user_namespace())
        .then(|| {
            let (config, netns, dir) = (
                self.config.clone(),
                self.paths.netns(),
                self.paths.dir.clone(),
            );
            std::thread::spawn(move || crate::net::prepare(&config, &netns, &dir))
        });
        let prepared = self.prepare_bundle(root, early_net.is_some());
        if let Some(thread) = early_net {
            // Joined whatever `prepare_bundle` gave, so that teardown stops what it made.
            let net = thread.join().map_err(|_| Error::Other {
                what: "preparing the network".into(),
                source: None,
            })?;
            self.net = net?;
        }
        let bundle = prepared?;
        let io = self.create_io()?;
        let runc_root = self.paths.runc_root();
        let store = StateStore::new(self.paths.clone());
        let id = &self.paths.id;
        // Only a rootless private network is attached between create and start (slirp4netns
        // joins the container's user namespace): else runc creates and starts in one process.
        let pid = if self.config.network == NetworkMode::Private && self.net.is_none() {
            let pid = self.runtime.create(&runc_root, id, &bundle, io.0)?;
            self.created = true;
            self.relays = io.1;
            store.update(|s| s.pid = Some(pid))?;
            self.net = crate::hooks::attach_network(self.config, pid, &self.paths.dir)?;
            self.runtime.start(&runc_root, id)?;
            pid
        } else {
            let pid = self.runtime.run_detached(&runc_root, id, &bundle, io.0)?;
            self.created = true;
            self.relays = io.1;
            pid
        };
        store.update(|s| {
            s.pid = Some(pid);
            s.status = Status::Running;
            s.started_at = Some(now_rfc3339());
        })?;
        if self.config.healthcheck.is_some() {
            self.health = crate::hooks::start_health(self.config, self.paths, self.runtime)?;
        }
        info!(id = %self.paths.id, pid, "container running");
        Ok(pid)
    }

    /// Mounts the rootfs and writes the bundle (joining the namespace at `paths.netns()`
    /// when `join_netns`); returns the bundle's dir.
    fn prepare_bundle(&mut self, root: &Path, join_netns: bool) -> Result<std::path::PathBuf> {
        let snapshots = SnapshotStore::open(root)?;
        let mount = snapshots.mount_rw(&self.config.lowers)?;
        let rootfs = mount.rootfs();
        self.mount = Some(mount);
        make_workdir(
            &rootfs,
            &self.config.workdir,
            self.config.uid,
            self.config.gid,
        )?;
        let bundle = self.paths.bundle();
        let netns = join_netns.then(|| self.paths.netns());
        crate::bundle::write(&bundle, self.config, &rootfs, netns.as_deref())?;
        Ok(bundle)
    }

    /// The container's stdio and the threads relaying its output to the log.
    fn create_io(&self) -> Result<(CreateIo, Vec<JoinHandle<()>>)> {
        if self.config.tty {
            let relay = crate::hooks::relay_console(self.config, self.paths, self.attach)?;
            let socket = crate::hooks::console_socket_path(self.paths);
            let io = CreateIo {
                stdin: Stdio::null(),
                stdout: Stdio::null(),
                stderr: Stdio::null(),
                console_socket: Some(socket),
            };
            return Ok((io, vec![relay]));
        }
        let log = self.paths.log();
        let open_log = || {
            File::options()
                .create(true)
                .append(true)
                .open(&log)
                .map_err(io_err("open", &log))
        };
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let relays = vec![
            relay(out_r, open_log()?, "stdout", self.attach.then_some(1)),
            relay(err_r, open_log()?, "stderr", self.attach.then_some(2)),
        ];
        let stdin = crate::hooks::stdin_relay(self.config, self.paths)?;
        let io = CreateIo {
            stdin: stdin.unwrap_or_else(Stdio::null),
            stdout: Stdio::from(out_w),
            stderr: Stdio::from(err_w),
            console_socket: None,
        };
        Ok((io, relays))
    }

    /// Waits for the container's init (our child once `runc create` exited: we are its
    /// subreaper) and returns its exit code. Only that pid is waited for: the health checks'
    /// and exec's `runc exec` children are waited for by their own threads.
    fn wait(&mut self, pid: i32) -> i32 {
        let Some(target) = rustix::process::Pid::from_raw(pid) else {
            return EXIT_START_FAILED;
        };
        loop {
            match rustix::process::waitpid(Some(target), rustix::process::WaitOptions::empty()) {
                Ok(Some(status)) => {
                    if let Some(code) = status.exit_status() {
                        return code as i32;
                    }
                    if let Some(sig) = status.terminating_signal() {
                        return 128 + sig as i32;
                    }
                }
                Ok(None) | Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    // Not our child (it was not reparented to us): poll its liveness.
                    debug!(error = %e, "waitpid failed; polling the container's pid");
                    while process_alive(pid) {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    return self.runtime_exit_code();
                }
            }
        }
    }

    fn runtime_exit_code(&self) -> i32 {
        // runc does not keep the exit code of a process it did not wait for.
        EXIT_START_FAILED
    }

    fn failed(&mut self, e: &Error) -> i32 {
        let text = error_chain(e);
        self.error = Some(text.clone());
        if let Ok(mut f) = File::options()
            .create(true)
            .append(true)
            .open(self.paths.log())
        {
            let mut w = LineWriter::new(&mut f, "stderr");
            let _ = w.push(format!("strata: {text}\n").as_bytes());
        }
        if self.attach {
            eprintln!("error: {text}");
        }
        if text.contains("executable file not found") || text.contains("no such file or directory")
        {
            127
        } else if text.contains("permission denied") {
            126
        } else {
            EXIT_START_FAILED
        }
    }

    /// Everything back, then the final state.
    fn teardown(&mut self, code: i32, store: &StateStore) -> Result<()> {
        crate::hooks::container_exited(code);
        drop(self.health.take());
        let cgroup = cgroups::open(
            CgroupLayout::detect(),
            &cgroups::host_mount(),
            &cgroups_path(&self.paths.id),
        );
        self.oom_kills = cgroup.oom_kills().unwrap_or(0);
        // slirp4netns stops on its own thread meanwhile: the container's init is gone.
        let net = self
            .net
            .take()
            .map(|net| std::thread::spawn(move || net.stop()));
        if self.created {
            if let Err(e) = self
                .runtime
                .delete(&self.paths.runc_root(), &self.paths.id, true)
            {
                warn!(error = %e, "runc delete failed");
            }
        }
        // An init that `runc delete` killed before `wait` ran (a start that failed after
        // create) is our zombie: reap it, or it outlives us as init's.
        // (ECHILD at once when `wait` reaped it already.)
        if let Some(init) = store.load().ok().and_then(|s| s.pid) {
            let init = rustix::process::Pid::from_raw(init);
            let _ = rustix::process::waitpid(init, rustix::process::WaitOptions::empty());
        }
        for r in self.relays.drain(..) {
            let _ = r.join();
        }
        if let Some(m) = self.mount.take() {
            m.release();
        }
        if let Some(net) = net {
            let _ = net.join();
        }
        self.paths.remove_run_dir();
        let (oom, error) = (self.oom_kills > 0, self.error.clone());
        store.update(|s| {
            s.status = Status::Exited;
            s.pid = None;
            s.exit_code = Some(code);
            s.oom_killed = oom;
            s.finished_at = Some(now_rfc3339());
            s.error = error;
            if s.started_at.is_none() {
                s.started_at = s.finished_at.clone();
            }
        })?;
        info!(id = %self.paths.id, code, oom, "container exited");
        Ok(())
    }
}

/// Creates the working directory in the rootfs (owned by the user) when missing.
fn make_workdir(rootfs: &Path, workdir: &str, uid: u32, gid: u32) -> Result<()> {
    let dir = rootfs.join(workdir.trim_start_matches('/'));
    if dir.symlink_metadata().is_ok() {
        return Ok(());
    }
    fs::create_dir_all(&dir).map_err(io_err("create working directory", &dir))?;
    std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(io_err("chown", &dir))
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| io_err("pipe", "")(e.into()))
}

/// Copies `from` into the log as records of `stream`, and to fd `echo` when attached.
fn relay(from: OwnedFd, log: File, stream: &'static str, echo: Option<i32>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = File::from(from);
        let mut writer = LineWriter::new(log, stream);
        let mut echo_to = echo.map(|fd| {
            // SAFETY: fd 1/2 stay open for the process's life; ManuallyDrop never closes them.
            std::mem::ManuallyDrop::new(unsafe {
                <File as std::os::fd::FromRawFd>::from_raw_fd(fd)
            })
        });
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(out) = echo_to.as_mut() {
                        if out.write_all(&buf[..n]).is_err() {
                            echo_to = None;
                        }
                    }
                    if let Err(e) = writer.push(&buf[..n]) {
                        warn!(error = %e, "writing the container log");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = writer.finish();
    })
}

/// Whether `pid` exists.
pub fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// Removes the container's dir (its state, log and bundle) and its socket dir.
pub fn remove_dir(paths: &ContainerPaths) -> Result<()> {
    paths.remove_run_dir();
    match fs::remove_dir_all(&paths.dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", &paths.dir)(e)),
        _ => Ok(()),
    }
}

/// The initial state written by `strata run` before the monitor starts.
pub fn initial_state() -> State {
    State::default()
}
