//! `strata exec` and the healthcheck's probes: a process in a running container through
//! `runc exec`, with docker's semantics — the container's env (then `-e`), user and working
//! directory unless overridden, the exit code passed through, `-t` as runc's own terminal
//! relay, SIGINT/SIGTERM/SIGHUP forwarded to runc (which forwards them on).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use tracing::debug;

use crate::health::ProbeResult;
use crate::spec::ContainerConfig;
use crate::tty::TtyError;
use strata_executor::Runtime;

/// What can go wrong running a process in a container.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("could not start {command}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("environment entry {0:?} has no '='")]
    BadEnv(String),
    #[error("working directory {0:?} is not absolute")]
    BadWorkdir(String),
    #[error(transparent)]
    Tty(#[from] TtyError),
}

/// The process to run and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecSpec {
    pub args: Vec<String>,
    /// `KEY=value` added to (and overriding) the container's env.
    pub env: Vec<String>,
    /// `(uid, gid, additional gids)`; the container's user when `None`.
    pub user: Option<(u32, u32, Vec<u32>)>,
    /// The working directory; the container's when `None`.
    pub workdir: Option<String>,
    /// `-t`: a terminal.
    pub tty: bool,
    /// `-i`: our stdin relayed.
    pub interactive: bool,
}

/// Where the container is: the runtime, its `--root`, the container id.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub runtime: &'a Runtime,
    pub runtime_root: &'a Path,
    pub id: &'a str,
}

/// The `runc exec` command line for `spec` in the container of `config`.
pub fn command(
    target: &Target<'_>,
    config: &ContainerConfig,
    spec: &ExecSpec,
    console_socket: Option<&Path>,
) -> Result<Command, ExecError> {
    if let Some(bad) = spec.env.iter().find(|e| !e.contains('=')) {
        return Err(ExecError::BadEnv(bad.clone()));
    }
    let workdir = spec
        .workdir
        .clone()
        .unwrap_or_else(|| config.workdir.clone());
    if !workdir.starts_with('/') {
        return Err(ExecError::BadWorkdir(workdir));
    }
    let (uid, gid, groups) =
        spec.user
            .clone()
            .unwrap_or((config.uid, config.gid, config.additional_gids.clone()));
    let mut cmd = target.runtime.command(target.runtime_root);
    cmd.arg("exec").arg("--cwd").arg(&workdir);
    cmd.arg("--user").arg(format!("{uid}:{gid}"));
    for g in groups {
        cmd.arg("--additional-gids").arg(g.to_string());
    }
    for e in merge_env(&config.env, &spec.env) {
        cmd.arg("--env").arg(e);
    }
    if spec.tty {
        cmd.arg("--tty");
    }
    if let Some(socket) = console_socket {
        cmd.arg("--console-socket").arg(socket);
    }
    cmd.arg(target.id).args(&spec.args);
    Ok(cmd)
}

/// The container's env with `extra` entries replacing those of the same key.
fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |p| p.0).to_string();
    let mut out: Vec<String> = base.to_vec();
    for e in extra {
        match out.iter_mut().find(|b| key(b) == key(e)) {
            Some(slot) => *slot = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

/// Runs `spec` in the running container with our stdio and returns its exit code. With
/// `-t` runc itself makes the terminal, puts ours in raw mode and relays it, resizes
/// included (runc accepts `--console-socket` only for detached processes). Signals we get
/// go to runc, which forwards them to the process.
pub fn exec(
    target: &Target<'_>,
    config: &ContainerConfig,
    spec: &ExecSpec,
) -> Result<i32, ExecError> {
    let mut cmd = command(target, config, spec, None)?;
    cmd.stdin(if spec.interactive {
        Stdio::inherit()
    } else {
        Stdio::null()
    });
    let described = describe(&cmd);
    debug!(command = %described, "exec");
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        command: described,
        source,
    })?;
    let runc = rustix::process::Pid::from_child(&child);
    let forward = move |sig: i32| {
        if let Some(signal) = rustix::process::Signal::from_raw(sig) {
            let _ = rustix::process::kill_process(runc, signal);
        }
    };
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).map_err(|source| {
            ExecError::Spawn {
                command: "signal handlers".into(),
                source,
            }
        })?;
    let handle = signals.handle();
    std::thread::spawn(move || signals.forever().for_each(forward));
    let code = wait_code(&mut child);
    handle.close();
    Ok(code)
}

fn wait_code(child: &mut Child) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match child.wait() {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
        Err(_) => 126,
    }
}

/// Runs a probe (no terminal, no stdin) with stdout and stderr captured together, as
/// docker's healthcheck does; past `timeout` runc is signalled (it forwards to the probe)
/// and the result is docker's timeout result.
pub fn exec_captured(
    target: &Target<'_>,
    config: &ContainerConfig,
    args: Vec<String>,
    timeout: Duration,
) -> ProbeResult {
    let start = SystemTime::now();
    let spec = ExecSpec {
        args,
        ..ExecSpec::default()
    };
    let failed = |output: String| ProbeResult {
        start,
        end: SystemTime::now(),
        exit_code: -1,
        output,
    };
    let mut cmd = match command(target, config, &spec, None) {
        Ok(c) => c,
        Err(e) => return failed(e.to_string()),
    };
    let (reader, writer) = match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
        Ok(p) => p,
        Err(e) => return failed(format!("pipe: {e}")),
    };
    let writer = File::from(writer);
    let Ok(writer2) = writer.try_clone() else {
        return failed("pipe: dup failed".into());
    };
    cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("could not start {}: {e}", describe(&cmd))),
    };
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = File::from(reader)
            .take(crate::health::MAX_OUTPUT_LEN as u64 * 4)
            .read_to_end(&mut out);
        out
    });
    match wait_timeout(&mut child, timeout) {
        Some(code) => ProbeResult {
            start,
            end: SystemTime::now(),
            exit_code: code,
            output: String::from_utf8_lossy(&collector.join().unwrap_or_default()).into_owned(),
        },
        None => {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_child(&child),
                rustix::process::Signal::Kill,
            );
            let _ = child.wait();
            ProbeResult::timed_out(start, timeout)
        }
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return Some(wait_code(child));
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ContainerConfig {
        let mut c = crate::bundle::tests_config();
        c.env = vec!["PATH=/bin".into(), "A=1".into()];
        c.uid = 1000;
        c.gid = 1000;
        c.additional_gids = vec![10];
        c.workdir = "/home/app".into();
        c.id = "abc".into();
        c
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn exec_uses_the_containers_user_env_and_workdir_with_overrides() {
        let rt = Runtime::at(Path::new("/usr/sbin/runc"));
        let t = Target {
            runtime: &rt,
            runtime_root: Path::new("/r"),
            id: "abc",
        };
        let spec = ExecSpec {
            args: vec!["ls".into(), "-l".into()],
            env: vec!["A=2".into(), "B=3".into()],
            ..ExecSpec::default()
        };
        let a = args(&command(&t, &config(), &spec, None).unwrap());
        assert_eq!(
            a,
            [
                "--root",
                "/r",
                "exec",
                "--cwd",
                "/home/app",
                "--user",
                "1000:1000",
                "--additional-gids",
                "10",
                "--env",
                "PATH=/bin",
                "--env",
                "A=2",
                "--env",
                "B=3",
                "abc",
                "ls",
                "-l"
            ]
        );
        let spec = ExecSpec {
            args: vec!["id".into()],
            user: Some((0, 0, vec![])),
            workdir: Some("/tmp".into()),
            tty: true,
            ..ExecSpec::default()
        };
        let a = args(&command(&t, &config(), &spec, Some(Path::new("/s/c.sock"))).unwrap());
        let at = a.iter().position(|x| x == "--console-socket").unwrap();
        assert_eq!(a[at + 1], "/s/c.sock");
        assert!(at < a.iter().position(|x| x == "abc").unwrap());
        assert!(a.contains(&"0:0".to_string()) && a.contains(&"--tty".to_string()));
        assert_eq!(&a[a.len() - 2..], ["abc", "id"]);
    }

    #[test]
    fn bad_env_and_workdir_are_errors() {
        let rt = Runtime::at(Path::new("/usr/sbin/runc"));
        let t = Target {
            runtime: &rt,
            runtime_root: Path::new("/r"),
            id: "abc",
        };
        let spec = ExecSpec {
            args: vec!["x".into()],
            env: vec!["NOEQ".into()],
            ..ExecSpec::default()
        };
        assert!(
            matches!(command(&t, &config(), &spec, None), Err(ExecError::BadEnv(e)) if e == "NOEQ")
        );
        let spec = ExecSpec {
            args: vec!["x".into()],
            workdir: Some("rel".into()),
            ..ExecSpec::default()
        };
        assert!(matches!(
            command(&t, &config(), &spec, None),
            Err(ExecError::BadWorkdir(_))
        ));
    }

    #[test]
    fn a_probe_past_its_timeout_is_killed_and_reported_like_docker() {
        // A "runtime" that ignores its arguments and sleeps stands in for a hanging probe.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("slow");
        std::fs::write(&fake, "#!/bin/sh\necho started\nexec sleep 5\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = Runtime::at(&fake);
        let t = Target {
            runtime: &rt,
            runtime_root: dir.path(),
            id: "abc",
        };
        let begun = Instant::now();
        let r = exec_captured(&t, &config(), vec!["x".into()], Duration::from_millis(200));
        assert!(begun.elapsed() < Duration::from_secs(3));
        assert_eq!(r.exit_code, -1);
        assert!(r.output.contains("exceeded timeout"), "{}", r.output);
        std::fs::write(&fake, "#!/bin/sh\necho out; echo err >&2; exit 4\n").unwrap();
        let r = exec_captured(&t, &config(), vec!["x".into()], Duration::from_secs(5));
        assert_eq!((r.exit_code, r.output.as_str()), (4, "out\nerr\n"));
    }
}
