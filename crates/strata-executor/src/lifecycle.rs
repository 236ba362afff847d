//! The runtime's lifecycle verbs for long-lived containers (`strata run`):
//! `create`, `start`, `kill`, `delete`, `state`, each one `runc --root R <verb>`.
//!
//! [`crate::Executor::run`] stays the one-shot `runc run` of build steps; these
//! are for a monitor that must learn the container's pid between `create` and
//! `start` (to attach its network) and manage it afterwards.

use std::path::Path;
use std::process::{Command, Stdio};

use tracing::debug;

use crate::error::{io_err, Error, Result};
use crate::runtime::Runtime;

/// How the container's stdio is wired at `create` (runc's pass-through mode:
/// the container's process inherits these; or a console socket for a tty).
#[derive(Debug)]
pub struct CreateIo {
    /// stdin of the container (a file, a pipe end or `/dev/null`).
    pub stdin: Stdio,
    /// stdout of the container.
    pub stdout: Stdio,
    /// stderr of the container.
    pub stderr: Stdio,
    /// `--console-socket`: the runtime sends the pty master there (config `terminal: true`).
    pub console_socket: Option<std::path::PathBuf>,
}

/// What `state` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeState {
    /// `created`, `running`, `paused` or `stopped`.
    pub status: String,
    /// The init process's pid (0 once stopped).
    pub pid: i32,
}

impl Runtime {
    /// `create --bundle B --pid-file P [--console-socket S] ID`; returns the init pid.
    pub fn create(&self, root: &Path, id: &str, bundle: &Path, io: CreateIo) -> Result<i32> {
        self.create_verb(&["create"], root, id, bundle, io)
    }

    /// `run --detach --bundle B --pid-file P [--console-socket S] ID`: `create` and `start`
    /// in one runtime process (one Go start less) when nothing has to happen in between;
    /// returns the init pid.
    pub fn run_detached(&self, root: &Path, id: &str, bundle: &Path, io: CreateIo) -> Result<i32> {
        self.create_verb(&["run", "--detach"], root, id, bundle, io)
    }

    fn create_verb(
        &self,
        verb: &[&str],
        root: &Path,
        id: &str,
        bundle: &Path,
        io: CreateIo,
    ) -> Result<i32> {
        let pid_file = bundle.join("init.pid");
        let log = bundle.join("runtime.log");
        let mut cmd = self.command(root);
        cmd.arg("--log").arg(&log).arg("--log-format").arg("json");
        cmd.args(verb).arg("--bundle").arg(bundle);
        cmd.arg("--pid-file").arg(&pid_file);
        if let Some(socket) = &io.console_socket {
            cmd.arg("--console-socket").arg(socket);
        }
        cmd.arg(id)
            .stdin(io.stdin)
            .stdout(io.stdout)
            .stderr(io.stderr);
        let status = spawn_wait(&mut cmd)?;
        if !status.success() {
            return Err(Error::RuntimeFailed {
                command: describe(&cmd),
                code: status.code(),
                message: crate::run::runtime_errors(&log).unwrap_or_default(),
            });
        }
        let text = std::fs::read_to_string(&pid_file).map_err(io_err("read", &pid_file))?;
        text.trim().parse().map_err(|_| Error::RuntimeFailed {
            command: describe(&cmd),
            code: None,
            message: format!("pid file {} holds {text:?}", pid_file.display()),
        })
    }

    /// `start ID`: runs the process `create` prepared.
    pub fn start(&self, root: &Path, id: &str) -> Result<()> {
        self.checked(root, &["start", id])
    }

    /// `kill [--all] ID SIGNAL` (signal by number).
    pub fn kill(&self, root: &Path, id: &str, signal: i32, all: bool) -> Result<()> {
        let sig = signal.to_string();
        let mut args = vec!["kill"];
        if all {
            args.push("--all");
        }
        args.extend([id, sig.as_str()]);
        self.checked(root, &args)
    }

    /// `delete [--force] ID`: removes the runtime's state and the cgroup.
    pub fn delete(&self, root: &Path, id: &str, force: bool) -> Result<()> {
        let mut args = vec!["delete"];
        if force {
            args.push("--force");
        }
        args.push(id);
        self.checked(root, &args)
    }

    /// `state ID`.
    pub fn state(&self, root: &Path, id: &str) -> Result<RuntimeState> {
        let mut cmd = self.command(root);
        cmd.args(["state", id]);
        let out = output(&mut cmd)?;
        let value: serde_json::Value =
            serde_json::from_slice(&out).map_err(|e| Error::RuntimeFailed {
                command: describe(&cmd),
                code: None,
                message: format!("unreadable state: {e}"),
            })?;
        Ok(RuntimeState {
            status: value["status"].as_str().unwrap_or_default().to_string(),
            pid: value["pid"].as_i64().unwrap_or(0) as i32,
        })
    }

    fn checked(&self, root: &Path, args: &[&str]) -> Result<()> {
        let mut cmd = self.command(root);
        cmd.args(args);
        output(&mut cmd).map(|_| ())
    }
}

/// Runs `cmd` to completion with stdin closed; stdout on success, else an error with stderr.
fn output(cmd: &mut Command) -> Result<Vec<u8>> {
    let command = describe(cmd);
    debug!(%command, "runtime");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            command: command.clone(),
            source,
        })?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    Err(Error::RuntimeFailed {
        command,
        code: out.status.code(),
        message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

fn spawn_wait(cmd: &mut Command) -> Result<std::process::ExitStatus> {
    let command = describe(cmd);
    debug!(%command, "runtime");
    cmd.status()
        .map_err(|source| Error::Spawn { command, source })
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}
