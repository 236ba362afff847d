//! A throwaway Docker daemon for tests (root only): Debian's `dockerd` (package `docker.io`)
//! with its own data root, exec root, pid file and unix socket under one temp dir, no
//! networking of its own (`--bridge=none`, no iptables), overlay2 when the filesystem allows
//! it and vfs otherwise, and the containerd it starts for itself (dockerd runs a managed one
//! under its exec root when none is running at `/run/containerd`; where a system containerd
//! runs, dockerd uses it, in namespaces of its own).
//!
//! Cleanup happens on drop (SIGTERM, then SIGKILL after a while; the managed containerd
//! killed if it outlived dockerd; every mount left under the temp dir detached; the dir
//! removed) and, for a test process killed outright, twice more: dockerd is started with a
//! parent-death signal (`setpriv --pdeathsig TERM`), so it shuts down cleanly when the test
//! dies, and [`Dockerd::start`] sweeps the dirs that killed tests left (their owner's pid
//! is gone).
//!
//! Docker treats registries on `127.0.0.0/8` as insecure (plain HTTP) by default, so a
//! registry on a loopback port needs no `--insecure-registry`; other hosts are passed with
//! [`Dockerd::start_with_insecure`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::mount::{unmount, UnmountFlags};

use crate::{have, is_root, stderr};

/// Debian's daemon (`apt-get install docker.io`).
pub const DOCKERD: &str = "/usr/sbin/dockerd";

/// Debian's docker client, from the same package. Called by path: another `docker` found
/// first on `PATH` may be a different client altogether.
pub const DOCKER: &str = "/usr/bin/docker";

/// The prefix of every daemon's temp dir, which [`Dockerd::start`] sweeps when stale.
const DIR_PREFIX: &str = "strata-dockerd-";

/// How long a daemon may take to answer `docker info`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a daemon may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why no daemon can run here (the tests fail with it: CI runs them as root with docker.io).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A running `dockerd`; dropping it stops the daemon and removes everything it made.
///
/// The parent-death signal fires when the *thread* that started the daemon ends, so use a
/// `Dockerd` on the thread that made it (a test runs its scenarios in sequence with one
/// daemon) rather than in a static a first test thread fills for the others.
pub struct Dockerd {
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    driver: &'static str,
}

impl Dockerd {
    /// Starts a daemon for this test, or says why it cannot (not root, `docker.io` not
    /// installed). Panics when the daemon itself fails to start, with its log.
    pub fn start() -> Result<Dockerd, Skip> {
        Dockerd::start_with_insecure(&[])
    }

    /// Like [`Dockerd::start`], with `--insecure-registry` for each of `registries`
    /// (`host:port`; loopback registries need none).
    pub fn start_with_insecure(registries: &[&str]) -> Result<Dockerd, Skip> {
        check_can_run()?;
        sweep_stale_dirs(DIR_PREFIX);
        let mut last_log = String::new();
        for driver in ["overlay2", "vfs"] {
            let mut d = Dockerd::spawn(driver, registries);
            match d.wait_ready() {
                Ok(()) => return Ok(d),
                Err(log) => {
                    eprintln!("dockerd with storage driver {driver} did not start:\n{log}");
                    last_log = log;
                }
            }
        }
        panic!("dockerd did not start with overlay2 nor vfs; last log:\n{last_log}")
    }

    fn spawn(driver: &'static str, registries: &[&str]) -> Dockerd {
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir_in(std::env::temp_dir())
            .expect("a temp dir for dockerd");
        let root = dir.path();
        claim(root);
        // Its own config file: /etc/docker/daemon.json must not change the test, and the
        // trust key dockerd 20.10 makes stays out of /etc/docker.
        let config = serde_json::json!({"deprecated-key-path": root.join("key.json")});
        fs::write(root.join("daemon.json"), config.to_string()).unwrap();
        fs::create_dir(root.join("client")).unwrap();
        let log = fs::File::create(root.join("dockerd.log")).unwrap();
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "TERM", "--", DOCKERD])
            .arg("--config-file")
            .arg(root.join("daemon.json"))
            .arg("--data-root")
            .arg(root.join("data"))
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", root.join("docker.sock").display()))
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
                // Apart from a system docker's "moby" should a running system containerd be
                // used instead of a managed one.
                "--containerd-namespace=strata-test",
                "--containerd-plugins-namespace=strata-test-plugins",
                "--storage-driver",
                driver,
            ]);
        for registry in registries {
            cmd.args(["--insecure-registry", registry]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {DOCKERD}: {e}"));
        Dockerd {
            child: Some(child),
            dir: Some(dir),
            driver,
        }
    }

    /// Polls `docker info` until it answers; the daemon's log if it exits or never answers.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let info = self
                .docker()
                .args(["info", "--format", "{{.Driver}}"])
                .output();
            if info.is_ok_and(|o| o.status.success()) {
                return Ok(());
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let log = self.log();
                self.stop();
                return Err(log);
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// The temp dir holding the daemon's roots, socket, log and client config.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    /// The storage driver the daemon runs with (`overlay2`, or `vfs` where overlay fails).
    pub fn driver(&self) -> &str {
        self.driver
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("dockerd.log")).unwrap_or_default()
    }

    /// A [`DOCKER`] client command talking to this daemon, with a config dir of its own
    /// (`DOCKER_CONFIG`: the credentials `docker login` stores stay in the test).
    pub fn docker(&self) -> Command {
        let mut cmd = Command::new(DOCKER);
        cmd.env("DOCKER_CONFIG", self.dir().join("client"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .arg("-H")
            .arg(format!(
                "unix://{}",
                self.dir().join("docker.sock").display()
            ));
        cmd
    }

    /// Runs `docker ARGS…`; its output, successful or not.
    pub fn run(&self, args: &[&str]) -> Output {
        self.docker()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs `docker ARGS…`, panicking with its output and the daemon's log when it fails;
    /// its stdout as text.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed:\n{}\n{}\n--- dockerd log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out),
            self.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `docker login --password-stdin` to `registry`; its output, successful or not.
    pub fn login(&self, registry: &str, user: &str, password: &str) -> Output {
        let mut login = self.docker();
        login.args(["login", "--username", user, "--password-stdin", registry]);
        crate::output_with_stdin(&mut login, password.as_bytes())
    }

    /// SIGTERM, a wait, SIGKILL if it does not stop; then the managed containerd.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = rustix::process::Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::Term);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                eprintln!("dockerd ignored SIGTERM for {STOP_TIMEOUT:?}: killing it");
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            sleep(Duration::from_millis(50));
        }
        kill_managed_containerd(self.dir());
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = self.dir.take() {
            unmount_all_under(dir.path());
            if let Err(e) = dir.close() {
                eprintln!("removing dockerd's temp dir: {e}");
            }
        }
    }
}

fn check_can_run() -> Result<(), Skip> {
    if !is_root() {
        return Err(Skip("dockerd needs root".into()));
    }
    for binary in [DOCKERD, DOCKER] {
        if !Path::new(binary).exists() {
            return Err(Skip(format!(
                "{binary} is missing: apt-get install docker.io (CI installs it in .ci/run)"
            )));
        }
    }
    if !have("setpriv") {
        return Err(Skip(
            "setpriv is missing: apt-get install util-linux".into(),
        ));
    }
    Ok(())
}

/// Kills the containerd dockerd started under `<dir>/exec/containerd` if it is still there
/// (dockerd stops it on a clean shutdown; a killed dockerd leaves it running).
fn kill_managed_containerd(dir: &Path) {
    let pidfile = dir.join("exec/containerd/containerd.pid");
    if let Some(pid) = read_live_pid(&pidfile) {
        eprintln!("containerd (pid {pid:?}) outlived dockerd: killing it");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::Kill);
    }
}

/// The pid in `path` when that process is alive.
fn read_live_pid(path: &Path) -> Option<rustix::process::Pid> {
    let text = fs::read_to_string(path).ok()?;
    let pid = rustix::process::Pid::from_raw(text.trim().parse().ok()?)?;
    rustix::process::test_kill_process(pid).ok()?;
    Some(pid)
}

/// Detaches every mount at or below `dir`, deepest first.
pub fn unmount_all_under(dir: &Path) {
    let Ok(dir) = dir.canonicalize() else {
        return;
    };
    let mut points = mount_points()
        .into_iter()
        .filter(|p| p.starts_with(&dir))
        .collect::<Vec<_>>();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        if let Err(e) = unmount(&point, UnmountFlags::DETACH) {
            eprintln!("unmounting {}: {e}", point.display());
        }
    }
}

/// The mount points of this mount namespace (`/proc/self/mountinfo`, field 5, octal
/// escapes decoded).
fn mount_points() -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .collect()
}

fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes the test process's pid into `dir` (`owner.pid`), so that a later run can tell the
/// dir is stale once that process is gone (see [`sweep_stale_dirs`]).
pub(crate) fn claim(dir: &Path) {
    fs::write(dir.join("owner.pid"), std::process::id().to_string()).unwrap();
}

/// Removes the temp dirs named `prefix*` whose test process is gone (killed before its
/// drops ran): the managed containerd killed if it outlived everything, every mount under
/// them detached, then the dirs removed. Dirs of running tests, and of daemons still
/// shutting down, are left alone.
pub(crate) fn sweep_stale_dirs(prefix: &str) {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(prefix));
        let owner = path.join("owner.pid");
        if !ours
            || !owner.exists()
            || read_live_pid(&owner).is_some()
            || read_live_pid(&path.join("dockerd.pid")).is_some()
        {
            continue;
        }
        eprintln!("removing {}, left by a killed test", path.display());
        kill_managed_containerd(&path);
        unmount_all_under(&path);
        let _ = fs::remove_dir_all(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape_mountinfo(r"/x\134y"), r"/x\y");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }

    #[test]
    #[ignore = "needs root"]
    fn a_daemon_starts_answers_and_leaves_nothing_behind() {
        crate::require_root();
        let d = Dockerd::start_with_insecure(&["registry.test:5000"])
            .unwrap_or_else(|why| panic!("dockerd cannot run: {why}"));
        let driver = d.ok(&["info", "--format", "{{.Driver}}"]);
        assert_eq!(driver.trim(), d.driver());
        let insecure = d.ok(&[
            "info",
            "--format",
            "{{json .RegistryConfig.InsecureRegistryCIDRs}}",
        ]);
        assert!(insecure.contains("127.0.0.0/8"), "{insecure}");
        let indexes = d.ok(&[
            "info",
            "--format",
            "{{json (index .RegistryConfig.IndexConfigs \"registry.test:5000\")}}",
        ]);
        assert!(indexes.contains(r#""Secure":false"#), "{indexes}");
        let dir = d.dir().canonicalize().unwrap();
        drop(d);
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(
            !mount_points().iter().any(|p| p.starts_with(&dir)),
            "mounts left under {}",
            dir.display()
        );
    }
}
