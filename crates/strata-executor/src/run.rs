//! Running one container: bundle, `runc run`, output streaming, cleanup.

use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use strata_snapshot::cleanup::{CleanupGuard, Registry};
use tracing::{debug, info, warn};

use crate::bundle::Bundle;
use crate::error::{io_err, Error, Result};
use crate::reap::{lock_path, remove_lock_file, RunLock};
use crate::runtime::Runtime;
use crate::spec::RunSpec;
use crate::stubs::{missing_mountpoints, remove_stubs};

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The result of a run whose process started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// The process's exit code; 128 + signal number when it was killed.
    pub exit_code: i32,
    /// Mount-point stubs the runtime created in the rootfs and that strata has
    /// already removed again (absolute host paths), see [`crate::stubs`].
    pub created_mountpoints: Vec<PathBuf>,
}

impl RunOutcome {
    /// Whether the process exited with 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// Runs containers with one OCI runtime, keeping its state under a state dir:
/// `<state>/runc` (the runtime's `--root`) and `<state>/bundles/<id>`.
#[derive(Debug, Clone)]
pub struct Executor {
    runtime: Runtime,
    state_dir: PathBuf,
}

impl Executor {
    /// An executor with `runtime` keeping its state in `state_dir` (created).
    pub fn new(runtime: Runtime, state_dir: &Path) -> Result<Executor> {
        for sub in ["runc", "bundles"] {
            let d = state_dir.join(sub);
            fs::create_dir_all(&d).map_err(io_err("create", &d))?;
        }
        Ok(Executor {
            runtime,
            state_dir: state_dir.to_path_buf(),
        })
    }

    /// The runtime in use.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The runtime's state root (`--root`).
    pub fn runtime_root(&self) -> PathBuf {
        self.state_dir.join("runc")
    }

    /// The dir holding the bundles of live runs.
    pub fn bundles_dir(&self) -> PathBuf {
        self.state_dir.join("bundles")
    }

    /// Runs `spec` to completion, streaming its output to `output`. A non-zero
    /// exit is an `Ok` outcome; failing to start the process is an `Err`. On
    /// every path the container, its bundle, runtime state and cgroup are removed
    /// (also on SIGINT/SIGTERM once [`crate::install_signal_cleanup`] ran).
    pub fn run(&self, spec: &RunSpec, output: &mut dyn FnMut(Stream, &[u8])) -> Result<RunOutcome> {
        spec.validate()?;
        let id = container_id();
        let _run_lock = RunLock::take(&self.bundles_dir(), &id, &self.runtime)?;
        let stubs = missing_mountpoints(&spec.rootfs, mount_targets(spec));
        let bundle_dir = self.bundles_dir().join(&id);
        let guard = self.register_cleanup(&id, &bundle_dir);
        let result = self.run_in_bundle(&id, &bundle_dir, spec, output);
        guard.run();
        let created_mountpoints = remove_stubs(&stubs);
        let exit_code = result?;
        info!(%id, exit_code, "container exited");
        Ok(RunOutcome {
            exit_code,
            created_mountpoints,
        })
    }

    fn run_in_bundle(
        &self,
        id: &str,
        bundle_dir: &Path,
        spec: &RunSpec,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<i32> {
        let bundle = Bundle::write(bundle_dir, spec, &format!("/strata/{id}"))?;
        let log = bundle.dir.join("runtime.log");
        let mut cmd = self.runtime.command(&self.runtime_root());
        cmd.arg("--log").arg(&log).arg("--log-format").arg("json");
        cmd.arg("run").arg("--bundle").arg(&bundle.dir).arg(id);
        let command = describe(&cmd);
        debug!(%command, "starting container");
        let mut child = spawn_piped(&mut cmd, &command)?;
        pump_output(&mut child, output);
        let status = child.wait().map_err(|source| Error::Spawn {
            command: command.clone(),
            source,
        })?;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        match runtime_errors(&log) {
            Some(message) if code != 0 => Err(Error::RuntimeFailed {
                command,
                code: Some(code),
                message,
            }),
            _ => Ok(code),
        }
    }

    /// Registers the teardown of container `id` in the global cleanup registry.
    fn register_cleanup(&self, id: &str, bundle_dir: &Path) -> CleanupGuard {
        let (runtime, root) = (self.runtime.clone(), self.runtime_root());
        let (id, bundle_dir) = (id.to_string(), bundle_dir.to_path_buf());
        Registry::global().register(format!("container {id}"), move || {
            teardown(&runtime, &root, &id, &bundle_dir);
        })
    }
}

/// Kills and deletes the container if the runtime still knows it, then removes
/// the bundle, any state dir left behind and the run's lock file (beside the bundle).
pub fn teardown(runtime: &Runtime, root: &Path, id: &str, bundle_dir: &Path) {
    let state = root.join(id);
    if state.exists() {
        debug!(%id, "killing container");
        quiet(runtime.command(root).args(["kill", id, "KILL"]));
        quiet(runtime.command(root).args(["delete", "--force", id]));
    }
    for dir in [&state, &bundle_dir.to_path_buf()] {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                warn!(dir = %dir.display(), error = %e, "failed to remove container state");
            }
            _ => {}
        }
    }
    if let Some(bundles) = bundle_dir.parent() {
        remove_lock_file(&lock_path(bundles, id));
    }
}

fn quiet(cmd: &mut Command) {
    match cmd.stdin(Stdio::null()).output() {
        Ok(out) if !out.status.success() => {
            debug!(stderr = %String::from_utf8_lossy(&out.stderr).trim(), "runtime cleanup command failed");
        }
        Err(e) => debug!(error = %e, "runtime cleanup command did not start"),
        Ok(_) => {}
    }
}

fn spawn_piped(cmd: &mut Command, command: &str) -> Result<Child> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().map_err(|source| Error::Spawn {
        command: command.to_string(),
        source,
    })
}

/// Reads stdout and stderr on two threads and hands chunks to `output` on this
/// thread, in arrival order, until both pipes close.
fn pump_output(child: &mut Child, output: &mut dyn FnMut(Stream, &[u8])) {
    let (tx, rx) = mpsc::channel::<(Stream, Vec<u8>)>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|r| (Stream::Stdout, Box::new(r) as Box<dyn Read + Send>)),
        child
            .stderr
            .take()
            .map(|r| (Stream::Stderr, Box::new(r) as Box<dyn Read + Send>)),
    ]
    .into_iter()
    .flatten()
    .map(|(stream, reader)| {
        let tx = tx.clone();
        std::thread::spawn(move || forward(stream, reader, &tx))
    })
    .collect();
    drop(tx);
    for (stream, chunk) in rx {
        output(stream, &chunk);
    }
    for r in readers {
        let _ = r.join();
    }
}

fn forward(stream: Stream, mut reader: Box<dyn Read + Send>, tx: &mpsc::Sender<(Stream, Vec<u8>)>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send((stream, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// Error messages from the runtime's JSON log (`{"level":"error","msg":...}`).
pub(crate) fn runtime_errors(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    let messages: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| matches!(v["level"].as_str(), Some("error" | "fatal")))
        .filter_map(|v| v["msg"].as_str().map(str::to_string))
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

/// Every mount destination of a run, for stub detection.
fn mount_targets(spec: &RunSpec) -> Vec<&str> {
    let fixed = [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
    ];
    let etc = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];
    let user = spec.mounts.iter().map(|m| m.target.as_str());
    fixed
        .into_iter()
        .chain(etc)
        .chain(user)
        .chain([spec.cwd.as_str()])
        .collect()
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// A container id unique on this host: `strata-<pid>-<time>-<counter>`.
fn container_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("strata-{}-{nanos:x}-{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_errors_reads_error_lines_only() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("log");
        fs::write(
            &log,
            "{\"level\":\"info\",\"msg\":\"x\"}\n{\"level\":\"error\",\"msg\":\"exec: \\\"nope\\\": not found\"}\n",
        )
        .unwrap();
        assert_eq!(
            runtime_errors(&log).as_deref(),
            Some("exec: \"nope\": not found")
        );
        assert_eq!(runtime_errors(&tmp.path().join("none")), None);
    }

    #[test]
    fn ids_are_unique_and_runtime_safe() {
        let (a, b) = (container_id(), container_id());
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn cwd_and_user_mounts_are_stub_candidates() {
        let mut spec = RunSpec::new("/r", vec!["x".into()]);
        spec.cwd = "/work".into();
        spec.mounts.push(crate::spec::MountSpec {
            target: "/cache".into(),
            kind: crate::spec::MountKind::Tmpfs {
                size: None,
                readonly: false,
            },
        });
        let t = mount_targets(&spec);
        assert!(t.contains(&"/cache") && t.contains(&"/work") && t.contains(&"/etc/hosts"));
    }

    #[test]
    fn pump_streams_both_outputs() {
        let mut child = Command::new("/bin/sh")
            .args(["-c", "echo out; echo err >&2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut got: Vec<(Stream, Vec<u8>)> = Vec::new();
        pump_output(&mut child, &mut |s, b| got.push((s, b.to_vec())));
        child.wait().unwrap();
        let text = |s: Stream| -> Vec<u8> {
            got.iter()
                .filter(|(x, _)| *x == s)
                .flat_map(|(_, b)| b.clone())
                .collect()
        };
        assert_eq!(text(Stream::Stdout), b"out\n");
        assert_eq!(text(Stream::Stderr), b"err\n");
    }
}
