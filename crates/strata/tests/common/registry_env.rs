//! A store with a private registry configuration (HOME, DOCKER_CONFIG, registries.conf,
//! XDG dirs): the CLI tests that talk to registries never read the machine's own files.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use super::{base_tarball, stderr};

/// A store and a private configuration (HOME, DOCKER_CONFIG, registries.conf).
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(env.path("home")).unwrap();
        fs::write(env.path("registries.conf"), "").unwrap();
        env
    }

    /// With `busybox:test` imported.
    pub fn with_base() -> Env {
        let env = Env::new();
        let tarball = base_tarball();
        env.ok(&["import", tarball.to_str().unwrap(), "busybox:test"]);
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn root(&self) -> PathBuf {
        self.path("root")
    }

    pub fn strata(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--root")
            .arg(self.root())
            .args(args)
            .env("HOME", self.path("home"))
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("CONTAINERS_REGISTRIES_CONF", self.path("registries.conf"))
            .env("TMPDIR", self.dir.path())
            .env_remove("REGISTRY_AUTH_FILE")
            .output()
            .unwrap()
    }

    /// Runs strata, asserts success, returns (stdout, stderr).
    pub fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.strata(args);
        assert!(
            out.status.success(),
            "strata {args:?} failed:\n{}",
            stderr(&out)
        );
        let err = stderr(&out);
        (String::from_utf8(out.stdout).unwrap(), err)
    }

    /// Runs strata expecting exit code `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.strata(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "strata {args:?}:\n{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "no data on failure");
        stderr(&out)
    }

    pub fn images(&self) -> String {
        self.ok(&["images", "--no-trunc", "--format", "json"]).0
    }
}
