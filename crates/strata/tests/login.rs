//! `strata login` / `strata logout` against a real `docker-registry` with htpasswd basic
//! auth. Every run gets its own HOME, `DOCKER_CONFIG`, `XDG_RUNTIME_DIR` and `PATH` entry
//! for helpers, so the real user's credentials are never read or written.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use common::stderr;
use serde_json::{json, Value};
use strata_testkit::registry::TestRegistry;

const USER: &str = "alice";
const PASSWORD: &str = "s3cret pass";

/// A private home for one test: docker's config directory, a helper directory on PATH.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(home.bin()).unwrap();
        home
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn bin(&self) -> PathBuf {
        self.path("bin")
    }

    fn config(&self) -> PathBuf {
        self.path("docker/config.json")
    }

    fn read_config(&self) -> Value {
        serde_json::from_slice(&fs::read(self.config()).unwrap()).unwrap()
    }

    /// Runs `strata ARGS` with `stdin` fed to it.
    fn strata(&self, args: &[&str], stdin: &str) -> Output {
        let path = format!(
            "{}:{}",
            self.bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .env("HOME", self.path("home"))
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("PATH", path)
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("CONTAINERS_REGISTRIES_CONF")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // strata may exit without reading stdin (a usage error): a closed pipe is no failure.
        let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
        child.wait_with_output().unwrap()
    }

    fn login(&self, host: &str, password: &str) -> Output {
        self.strata(
            &["login", "-u", USER, "--password-stdin", host],
            &format!("{password}\n"),
        )
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn password_stdin_login_stores_the_checked_credential_in_docker_config() {
    let server = TestRegistry::start_htpasswd(USER, PASSWORD);
    let host = server.host();
    let home = Home::new();
    let out = home.login(&host, PASSWORD);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Login Succeeded\n");
    let doc = home.read_config();
    assert_eq!(
        doc["auths"][&host]["auth"],
        json!(b64(&format!("{USER}:{PASSWORD}")))
    );
    assert_eq!(mode(&home.config()), 0o600);
    // A URL with a scheme names the same registry (docker's ConvertToHostname).
    let url = format!("http://{host}/v2/");
    let again = home.login(&url, PASSWORD);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(home.read_config()["auths"].as_object().unwrap().len(), 1);
}

#[test]
fn a_wrong_password_fails_and_stores_nothing() {
    let server = TestRegistry::start_htpasswd(USER, PASSWORD);
    let host = server.host();
    let home = Home::new();
    let out = home.login(&host, "wrong");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("error: login to {host} failed: unauthorized")),
        "{err}"
    );
    assert!(!err.contains("wrong"), "the password leaked: {err}");
    assert_eq!(stdout(&out), "");
    assert!(!home.config().exists());

    // With a stored credential, a failed login leaves the file as it was.
    assert!(home.login(&host, PASSWORD).status.success());
    let before = fs::read(home.config()).unwrap();
    let out = home.login(&host, "wrong");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read(home.config()).unwrap(), before);
}

#[test]
fn logout_removes_the_credential_and_a_second_logout_is_not_logged_in() {
    let server = TestRegistry::start_htpasswd(USER, PASSWORD);
    let host = server.host();
    let home = Home::new();
    assert!(home.login(&host, PASSWORD).status.success());
    let out = home.strata(&["logout", &host], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("Removing login credentials for {host}\n")
    );
    assert_eq!(home.read_config()["auths"], json!({}));
    let out = home.strata(&["logout", &host], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("Not logged in to {host}\n"));
}

#[test]
fn password_flag_warns_and_conflicts_with_password_stdin() {
    let server = TestRegistry::start_htpasswd(USER, PASSWORD);
    let host = server.host();
    let home = Home::new();
    let out = home.strata(&["login", "-u", USER, "-p", PASSWORD, &host], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("WARNING! Using --password via the CLI is insecure"));
    assert_eq!(stdout(&out), "Login Succeeded\n");

    let out = home.strata(
        &["login", "-u", USER, "-p", "x", "--password-stdin", &host],
        "x\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_a_terminal_the_missing_username_or_password_is_an_error() {
    let home = Home::new();
    // Nothing is contacted: the error comes before the network.
    let out = home.strata(&["login", "127.0.0.1:9"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot prompt for a username without a terminal"),
        "{}",
        stderr(&out)
    );
    let out = home.strata(&["login", "-u", USER, "127.0.0.1:9"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot prompt for a password without a terminal"));
    let out = home.strata(&["login", "--password-stdin", "127.0.0.1:9"], "pw\n");
    assert_eq!(
        out.status.code(),
        Some(2),
        "--password-stdin needs --username"
    );
    assert!(!home.config().exists());
}

#[test]
fn login_and_logout_go_through_cred_helpers_and_creds_store() {
    let server = TestRegistry::start_htpasswd(USER, PASSWORD);
    let host = server.host();
    let key = host.replace(':', "_");
    for config in [
        json!({"credHelpers": {&host: "test"}}),
        json!({"credsStore": "test"}),
    ] {
        let home = Home::new();
        strata_testkit::install_credential_helper(&home.bin());
        fs::create_dir_all(home.path("docker")).unwrap();
        fs::write(home.config(), config.to_string()).unwrap();

        let out = home.login(&host, PASSWORD);
        assert!(out.status.success(), "{config}: {}", stderr(&out));
        let secret = fs::read_to_string(home.bin().join("store").join(&key)).unwrap();
        let stored: Value = serde_json::from_str(&secret).unwrap();
        assert_eq!(
            stored,
            json!({"ServerURL": host, "Username": USER, "Secret": PASSWORD})
        );
        // The file keeps docker's empty marker, never the secret.
        let doc = home.read_config();
        assert_eq!(doc["auths"][&host], json!({}), "{config}");
        assert!(!fs::read_to_string(home.config())
            .unwrap()
            .contains(PASSWORD));

        let out = home.strata(&["logout", &host], "");
        assert_eq!(
            stdout(&out),
            format!("Removing login credentials for {host}\n")
        );
        assert!(!home.bin().join("store").join(&key).exists());
        let out = home.strata(&["logout", &host], "");
        assert_eq!(stdout(&out), format!("Not logged in to {host}\n"));
    }
}
