//! `strata registry serve` with `[auth]`, end to end with real clients: `strata login` +
//! push/pull (the token flow with stored credentials), skopeo with `--src-creds` /
//! `--dest-creds`, `podman login` + push/pull, and robot accounts made by
//! `strata registry robot create` used by skopeo, listed and deleted. Users come from an
//! `htpasswd -B` file.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::registry_env::Env;
use common::served::Served;
use strata_oci::Digest;
use strata_testkit::{require_tool, run_ok, stderr};

/// `strata registry serve --config` with `[auth]` (users from an `htpasswd -B` file beside
/// the config), stopped (SIGTERM) on drop.
struct Secured {
    served: Served,
    conf: tempfile::TempDir,
}

const CONFIG: &str = r#"
[auth]
htpasswd = "HTPASSWD"

[[auth.access]]
account = "alice"
repository = "team/**"
actions = ["pull", "push"]

[[auth.access]]
account = "bob"
repository = "team/**"
actions = ["pull"]
"#;

impl Secured {
    fn start() -> Secured {
        require_tool("htpasswd");
        let conf = tempfile::tempdir().unwrap();
        let mut users = String::new();
        for (user, password) in [("alice", "alice pw"), ("bob", "bob-pw")] {
            let out = run_ok(Command::new("htpasswd").args(["-Bbn", user, password]));
            users.push_str(String::from_utf8(out.stdout).unwrap().trim());
            users.push('\n');
        }
        let htpasswd = conf.path().join("htpasswd");
        fs::write(&htpasswd, users).unwrap();
        let config = CONFIG.replace("HTPASSWD", htpasswd.to_str().unwrap());
        let file = conf.path().join("registry.toml");
        fs::write(&file, config).unwrap();
        let served = Served::start_with(&["--config", file.to_str().unwrap()]);
        Secured { served, conf }
    }

    fn host(&self) -> String {
        self.served.host()
    }

    /// `strata registry robot ARGS --config … --data …`.
    fn robot(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["registry", "robot"])
            .args(args)
            .arg("--config")
            .arg(self.conf.path().join("registry.toml"))
            .arg("--data")
            .arg(self.served.path("data"))
            .output()
            .unwrap()
    }
}

/// `skopeo ARGS`, its output whatever the status.
fn skopeo(args: &[&str]) -> Output {
    require_tool("skopeo");
    Command::new("skopeo").args(args).output().unwrap()
}

fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what} failed:\n{}", stderr(&out));
    out
}

/// The digest of the manifest `image` names, read by skopeo with `creds`.
fn remote_digest(image: &str, creds: &str) -> String {
    let out = ok(
        skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--creds",
            creds,
            "--raw",
            &format!("docker://{image}"),
        ]),
        "skopeo inspect",
    );
    Digest::of(&out.stdout).to_string()
}

#[test]
fn strata_login_push_pull_and_skopeo_with_credentials() {
    let s = Secured::start();
    let env = Env::with_base();
    let name = format!("{}/team/bb:1", s.host());
    // Without credentials: the push is refused as unauthorized.
    let err = env.fails(&["push", "busybox:test", &name], 1);
    assert!(err.to_lowercase().contains("unauthorized"), "{err}");
    let err = env.fails(&["login", "-u", "alice", "-p", "wrong", &s.host()], 1);
    assert!(err.contains("unauthorized"), "{err}");
    let (out, _) = env.ok(&["login", "-u", "alice", "-p", "alice pw", &s.host()]);
    assert_eq!(out.trim(), "Login Succeeded");
    let (digest, _) = env.ok(&["push", "busybox:test", &name]);
    let digest = digest.trim().to_owned();
    assert_eq!(remote_digest(&name, "alice:alice pw"), digest);
    // bob may pull but not push.
    let bob = Env::new();
    bob.ok(&["login", "-u", "bob", "-p", "bob-pw", &s.host()]);
    bob.ok(&["pull", &name]);
    assert!(bob.images().contains(&digest), "{}", bob.images());
    let err = bob.fails(&["push", &name, &format!("{}/team/bob:1", s.host())], 1);
    assert!(err.to_lowercase().contains("denied"), "{err}");
    // skopeo in and out with --src-creds / --dest-creds.
    let copy = format!("{}/team/copy:1", s.host());
    ok(
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            "bob:bob-pw",
            "--dest-creds",
            "alice:alice pw",
            &format!("docker://{name}"),
            &format!("docker://{copy}"),
        ]),
        "skopeo copy",
    );
    assert_eq!(remote_digest(&copy, "bob:bob-pw"), digest);
    let out = skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-creds",
        "bob:bob-pw",
        "--dest-creds",
        "bob:bob-pw",
        &format!("docker://{name}"),
        &format!("docker://{}/team/nope:1", s.host()),
    ]);
    assert!(!out.status.success(), "bob pushed");
    let err = stderr(&out);
    assert!(err.contains("denied"), "{err}");
}

/// podman with its own storage and auth file in `dir`.
fn podman(dir: &Path) -> Command {
    let mut c = Command::new("podman");
    c.arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .arg("--storage-driver")
        .arg("vfs")
        .env("REGISTRY_AUTH_FILE", dir.join("auth.json"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("HOME", dir.join("home"));
    c
}

#[test]
fn podman_logs_in_pushes_and_pulls() {
    require_tool("podman");
    let s = Secured::start();
    let env = Env::with_base();
    let name = format!("{}/team/bb:1", s.host());
    env.ok(&["login", "-u", "alice", "-p", "alice pw", &s.host()]);
    let (digest, _) = env.ok(&["push", "busybox:test", &name]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for sub in ["run", "home"] {
        fs::create_dir_all(p.join(sub)).unwrap();
    }
    let out = podman(p)
        .args([
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            "wrong",
            &s.host(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a wrong password logged in");
    let out = ok(
        podman(p)
            .args([
                "login",
                "--tls-verify=false",
                "-u",
                "alice",
                "-p",
                "alice pw",
                &s.host(),
            ])
            .output()
            .unwrap(),
        "podman login",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Login Succeeded"));
    ok(
        podman(p)
            .args(["pull", "--tls-verify=false", &name])
            .output()
            .unwrap(),
        "podman pull",
    );
    let out = ok(
        podman(p)
            .args(["image", "inspect", "--format", "{{.Digest}}", &name])
            .output()
            .unwrap(),
        "podman image inspect",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), digest.trim());
    let pushed = format!("{}/team/podman:1", s.host());
    ok(
        podman(p).args(["tag", &name, &pushed]).output().unwrap(),
        "podman tag",
    );
    ok(
        podman(p)
            .args(["push", "--tls-verify=false", &pushed])
            .output()
            .unwrap(),
        "podman push",
    );
    let tags = format!("http://{}/v2/team/podman/tags/list", s.host());
    let basic = format!("Basic {}", base64_of("alice:alice pw"));
    let r = ureq::get(&tags)
        .set("Authorization", &basic)
        .call()
        .unwrap();
    assert!(r.into_string().unwrap().contains("\"1\""));
    // bob may pull but not push: podman says so.
    ok(
        podman(p)
            .args([
                "login",
                "--tls-verify=false",
                "-u",
                "bob",
                "-p",
                "bob-pw",
                &s.host(),
            ])
            .output()
            .unwrap(),
        "podman login as bob",
    );
    let out = podman(p)
        .args(["push", "--tls-verify=false", &pushed])
        .output()
        .unwrap();
    assert!(!out.status.success(), "bob pushed");
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn robot_accounts_from_the_cli_push_with_skopeo_until_deleted() {
    let s = Secured::start();
    let env = Env::with_base();
    let name = format!("{}/team/bb:1", s.host());
    env.ok(&["login", "-u", "alice", "-p", "alice pw", &s.host()]);
    env.ok(&["push", "busybox:test", &name]);
    let out = ok(
        s.robot(&[
            "create",
            "ci",
            "--repository",
            "ci/**",
            "--actions",
            "pull,push",
            "--expires",
            "30d",
        ]),
        "robot create",
    );
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(secret.len(), 64, "{secret}");
    assert!(
        stderr(&out).contains("created robot$ci (pull,push on ci/**, expires 20"),
        "{}",
        stderr(&out)
    );
    let again = s.robot(&["create", "ci", "--repository", "x", "--actions", "pull"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("robot account robot$ci exists already"),
        "{}",
        stderr(&again)
    );
    let bad = s.robot(&["create", "x", "--repository", "x", "--actions", "fly"]);
    assert!(
        stderr(&bad).contains("unknown action \"fly\""),
        "{}",
        stderr(&bad)
    );
    let list = String::from_utf8(ok(s.robot(&["list"]), "robot list").stdout).unwrap();
    assert!(
        list.lines().nth(1).unwrap().starts_with("robot$ci"),
        "{list}"
    );
    assert!(
        list.contains("pull,push") && list.contains("ci/**"),
        "{list}"
    );
    assert!(!list.contains(&secret), "the secret is shown once");

    let creds = format!("robot$ci:{secret}");
    let dest = format!("{}/ci/bb:1", s.host());
    let copy = |dest: &str| {
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            "alice:alice pw",
            "--dest-creds",
            &creds,
            &format!("docker://{name}"),
            &format!("docker://{dest}"),
        ])
    };
    ok(copy(&dest), "skopeo copy as the robot");
    assert_eq!(
        remote_digest(&dest, &creds),
        remote_digest(&name, "alice:alice pw")
    );
    let out = copy(&format!("{}/team/robot:1", s.host()));
    // skopeo's first request is a HEAD (no body to show): 403 is the denial.
    let err = stderr(&out);
    assert!(
        !out.status.success() && (err.contains("403") || err.contains("denied")),
        "{err}"
    );

    ok(s.robot(&["delete", "robot$ci"]), "robot delete");
    let out = s.robot(&["delete", "ci"]);
    assert!(
        stderr(&out).contains("no robot account robot$ci"),
        "{}",
        stderr(&out)
    );
    let out = copy(&format!("{}/ci/bb:2", s.host()));
    assert!(!out.status.success(), "a deleted robot pushed");
    assert!(
        stderr(&out).contains("invalid username or password"),
        "{}",
        stderr(&out)
    );
}
