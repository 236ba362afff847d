//! Where the monitor calls into `net`, `tty` and `health`: the network after `runc
//! create`, the console relay of a `-t` container, the HEALTHCHECK runner, and
//! [`container_exited`] at teardown (which hands the exit code to attached clients).

use std::fs::File;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use strata_executor::Runtime;
use tracing::{debug, warn};

use crate::error::{io_err, Error, Result};
use crate::exec::{self, Target};
use crate::health::{HealthSettings, Monitor};
use crate::logs::LineWriter;
use crate::paths::ContainerPaths;
use crate::spec::ContainerConfig;
use crate::state::StateStore;
use crate::tty::{self, proto::STDOUT, AttachServer, ConsoleSocket};

pub use crate::net::NetHandle;

/// After `runc create`: the network of `config` for init `pid` (slirp4netns for a private
/// network, nothing for host and none).
pub fn attach_network(config: &ContainerConfig, pid: i32, dir: &Path) -> Result<Option<NetHandle>> {
    Ok(Some(crate::net::attach(config, pid, dir)?))
}

/// The exit code of this monitor's container (one monitor runs one container), set by
/// [`container_exited`] for the console relay.
static EXIT_CODE: Mutex<Option<i32>> = Mutex::new(None);

/// What `runc create --console-socket` connects to, set by [`relay_console`].
static CONSOLE_PATH: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);

/// The path to give `runc create --console-socket` after [`relay_console`]: the socket is
/// reached through a descriptor of its directory, since a state dir's path may be longer
/// than a socket path may be.
pub fn console_socket_path(paths: &ContainerPaths) -> std::path::PathBuf {
    CONSOLE_PATH
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_else(|| paths.console_socket())
}

/// The relay of a `-t` container's console: listens on the console socket (before `runc
/// create`, which connects to it), serves the attach socket, and on a thread receives the
/// pty master and copies the terminal's output into the log and to attached clients until
/// the terminal closes; then tells the clients the exit code.
pub fn relay_console(
    config: &ContainerConfig,
    paths: &ContainerPaths,
    _attach: bool,
) -> Result<JoinHandle<()>> {
    let console = ConsoleSocket::bind(&paths.console_socket())?;
    *CONSOLE_PATH.lock().unwrap_or_else(|p| p.into_inner()) =
        Some(console.runtime_path().to_path_buf());
    let server = AttachServer::start(&paths.attach_socket(), None, None, signal_handler(paths))?;
    let log_path = paths.log();
    let log = File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io_err("open", &log_path))?;
    let interactive = config.interactive;
    Ok(std::thread::spawn(move || {
        relay_terminal(&console, &server, log, interactive)
    }))
}

fn relay_terminal(console: &ConsoleSocket, server: &AttachServer, log: File, interactive: bool) {
    let Some(master) = receive_until_exit(console) else {
        finish(server);
        return;
    };
    let master = File::from(master);
    let dup = |f: &File| f.try_clone().ok();
    if let (Some(pty), Some(input)) = (dup(&master), dup(&master)) {
        let input: Option<Box<dyn std::io::Write + Send>> =
            interactive.then(|| Box::new(input) as Box<dyn std::io::Write + Send>);
        server.set_terminal(pty.into(), input);
    }
    let mut writer = LineWriter::new(log, "stdout");
    tty::read_pty(master, |data| {
        if let Err(e) = writer.push(data) {
            warn!(error = %e, "writing the container log");
        }
        server.output(STDOUT, data);
    });
    let _ = writer.finish();
    finish(server);
}

/// The pty master, or `None` when the container exited (failed to start) before runc sent
/// one.
fn receive_until_exit(console: &ConsoleSocket) -> Option<std::os::fd::OwnedFd> {
    loop {
        match console.receive(Duration::from_millis(100)) {
            Ok(fd) => return Some(fd),
            Err(e) => {
                if lock().is_some() {
                    debug!(error = %e, "no console: the container did not start");
                    return None;
                }
            }
        }
    }
}

/// `-i` without `-t`: the container's stdin is a pipe fed by the attach server (what an
/// attached `strata run -i` reads from its own stdin; closed at that stdin's end). `None`
/// unless the config asks for it.
pub fn stdin_relay(
    config: &ContainerConfig,
    paths: &ContainerPaths,
) -> Result<Option<std::process::Stdio>> {
    if !config.interactive || config.tty {
        return Ok(None);
    }
    let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| io_err("pipe", &paths.dir)(e.into()))?;
    let input: Box<dyn std::io::Write + Send> = Box::new(File::from(writer));
    let server = AttachServer::start(
        &paths.attach_socket(),
        Some(input),
        None,
        signal_handler(paths),
    )?;
    std::thread::spawn(move || finish(&server));
    Ok(Some(std::process::Stdio::from(reader)))
}

/// Sends the exit code to the clients once the monitor knows it.
fn finish(server: &AttachServer) {
    loop {
        if let Some(code) = *lock() {
            server.exit(code);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<i32>> {
    EXIT_CODE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Signals attached clients forward (sig-proxy) go to the container's init.
fn signal_handler(paths: &ContainerPaths) -> tty::SignalHandler {
    let store = StateStore::new(paths.clone());
    Box::new(move |sig| {
        let pid = store.load().ok().and_then(|s| s.pid);
        let target = pid.and_then(rustix::process::Pid::from_raw);
        let signal = rustix::process::Signal::from_raw(sig);
        if let (Some(pid), Some(signal)) = (target, signal) {
            let _ = rustix::process::kill_process(pid, signal);
        }
    })
}

/// Called by the monitor's teardown with the container's exit code, before it joins the
/// relays: the console relay tells attached clients (after the last output).
pub fn container_exited(code: i32) {
    *lock() = Some(code);
}

/// The HEALTHCHECK runner: a thread probing on docker's schedule, writing `.State.Health`;
/// stopped (and joined) on drop.
pub struct HealthRunner {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for HealthRunner {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the health checks of `config` (none when it has no healthcheck).
pub fn start_health(
    config: &ContainerConfig,
    paths: &ContainerPaths,
    runtime: &Runtime,
) -> Result<Option<HealthRunner>> {
    let Some(check) = &config.healthcheck else {
        return Ok(None);
    };
    let settings =
        HealthSettings::from_config(check).map_err(|what| Error::Other { what, source: None })?;
    let Some(settings) = settings else {
        return Ok(None);
    };
    let (stop, stopped) = mpsc::channel();
    let (config, paths, runtime) = (config.clone(), paths.clone(), runtime.clone());
    let monitor = Monitor::new(settings, SystemTime::now());
    let thread = std::thread::spawn(move || {
        let store = StateStore::new(paths.clone());
        let root = paths.runc_root();
        let target = Target {
            runtime: &runtime,
            runtime_root: &root,
            id: &paths.id,
        };
        monitor.run(
            &stopped,
            |test, timeout| exec::exec_captured(&target, &config, test.argv(&[]), timeout),
            |h| {
                if let Err(e) = store.update(|s| s.health = Some(h.clone())) {
                    warn!(error = %e, "recording the health status");
                }
            },
        );
    });
    Ok(Some(HealthRunner {
        stop: Some(stop),
        thread: Some(thread),
    }))
}
