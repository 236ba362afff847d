//! podman and buildah (root) on a throwaway containers-storage: `--root`/`--runroot` in a
//! temp dir, the vfs driver (no mounts, works on any filesystem), and a private
//! `registries.conf`, `containers.conf`, `storage.conf` and auth file, so the tests never
//! read nor touch the machine's own images and configuration. Both tools share the storage, as they do on a
//! host: what podman pulls, buildah can build from. The dirs a killed test leaves are
//! removed by the next [`Containers::new`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::dockerd::{claim, sweep_stale_dirs, unmount_all_under, Skip};
use crate::{have, is_root, stderr};

/// The prefix of every storage's temp dir; those of killed tests are swept.
const DIR_PREFIX: &str = "strata-containers-";

/// A containers-storage for podman and buildah; removed (mounts detached first) on drop.
pub struct Containers {
    dir: Option<tempfile::TempDir>,
}

impl Containers {
    /// A fresh storage, or why podman and buildah cannot run here (not root, not installed).
    pub fn new() -> Result<Containers, Skip> {
        if !is_root() {
            return Err(Skip(
                "podman/buildah with a private --root need root".into(),
            ));
        }
        for tool in ["podman", "buildah"] {
            if !have(tool) {
                return Err(Skip(format!(
                    "{tool} is missing: apt-get install {tool} (CI installs it in .ci/run)"
                )));
            }
        }
        sweep_stale_dirs(DIR_PREFIX);
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .expect("a temp dir for containers-storage");
        claim(dir.path());
        fs::write(dir.path().join("registries.conf"), "").unwrap();
        fs::write(dir.path().join("containers.conf"), "").unwrap();
        let storage = format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = {:?}\nrunroot = {:?}\n",
            dir.path().join("root").display().to_string(),
            dir.path().join("run").display().to_string()
        );
        fs::write(dir.path().join("storage.conf"), storage).unwrap();
        // podman refuses a REGISTRY_AUTH_FILE that does not exist.
        fs::write(dir.path().join("auth.json"), "{\"auths\": {}}\n").unwrap();
        fs::create_dir(dir.path().join("tmp")).unwrap();
        Ok(Containers { dir: Some(dir) })
    }

    fn dir(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    /// Marks `host` (`host:port`) insecure in the private `registries.conf`
    /// (`[[registry]] location = host, insecure = true`): plain HTTP without
    /// `--tls-verify=false`, as a user would configure it.
    pub fn mark_insecure(&self, host: &str) {
        let entry = format!("[[registry]]\nlocation = {host:?}\ninsecure = true\n");
        let path = self.dir().join("registries.conf");
        let mut file = fs::OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(entry.as_bytes()).unwrap();
    }

    /// The auth file both tools read and `podman login` writes (`REGISTRY_AUTH_FILE`).
    pub fn auth_file(&self) -> PathBuf {
        self.dir().join("auth.json")
    }

    fn command(&self, tool: &str) -> Command {
        let dir = self.dir();
        let mut cmd = Command::new(tool);
        cmd.env("CONTAINERS_REGISTRIES_CONF", dir.join("registries.conf"))
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"))
            .env("REGISTRY_AUTH_FILE", self.auth_file())
            .env("TMPDIR", dir.join("tmp"))
            .arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .args(["--storage-driver", "vfs"]);
        cmd
    }

    /// `podman` on this storage (file events, cgroupfs: no journald or systemd needed).
    pub fn podman(&self) -> Command {
        let mut cmd = self.command("podman");
        cmd.arg("--tmpdir").arg(self.dir().join("libpod")).args([
            "--events-backend",
            "file",
            "--cgroup-manager",
            "cgroupfs",
        ]);
        cmd
    }

    /// `buildah` on this storage.
    pub fn buildah(&self) -> Command {
        self.command("buildah")
    }

    /// Runs `podman ARGS…` and asserts success; its stdout as text.
    pub fn podman_ok(&self, args: &[&str]) -> String {
        ok(self.podman().args(args))
    }

    /// Runs `buildah ARGS…` and asserts success; its stdout as text.
    pub fn buildah_ok(&self, args: &[&str]) -> String {
        ok(self.buildah().args(args))
    }

    /// `podman login --password-stdin` to `registry`; its output, successful or not.
    pub fn podman_login(&self, registry: &str, user: &str, password: &str) -> Output {
        let mut login = self.podman();
        login
            .args(["login", "--tls-verify=false", "--username", user])
            .args(["--password-stdin", registry]);
        crate::output_with_stdin(&mut login, password.as_bytes())
    }
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Drop for Containers {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            unmount_all_under(dir.path());
            if let Err(e) = dir.close() {
                eprintln!("removing the containers-storage temp dir: {e}");
            }
        }
    }
}
