//! `RUN --mount=type=ssh` end to end: a real `ssh-agent` on the host holding a fresh key, and
//! the host's real `ssh-add` (with its libraries) inside a busybox image, listing the key
//! through strata's forwarded socket. Needs root (RUN) and openssh-client: `#[ignore = "needs root"]`,
//! run by CI as root with `--include-ignored`; panics without openssh-client.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, Env};

/// Panics unless the test can run: root and openssh-client's tools.
fn require_usable() {
    common::require_root();
    for tool in ["ssh-agent", "ssh-add", "ssh-keygen", "ldd"] {
        strata_testkit::require_tool(tool);
    }
}

/// A running `ssh-agent -D` on a socket of its own, killed on drop.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent(dir: &Path) -> Agent {
    let socket = dir.join("agent.sock");
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Agent { child, socket }
}

fn check(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Makes a key, loads it into the agent and returns its SHA256 fingerprint.
fn load_key(agent: &Agent, dir: &Path) -> String {
    let key = dir.join("id_ed25519");
    check(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "strata-test", "-f"])
            .arg(&key)
            .output()
            .unwrap(),
        "ssh-keygen",
    );
    check(
        Command::new("ssh-add")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .output()
            .unwrap(),
        "ssh-add",
    );
    let listed = check(
        Command::new("ssh-keygen")
            .arg("-lf")
            .arg(key.with_extension("pub"))
            .output()
            .unwrap(),
        "ssh-keygen -l",
    );
    listed.split_whitespace().nth(1).unwrap().to_owned()
}

/// Copies the host's `ssh-add` and the libraries `ldd` names into `root`, at their paths.
fn client_tree(root: &Path) {
    let ldd = check(
        Command::new("ldd")
            .arg("/usr/bin/ssh-add")
            .output()
            .unwrap(),
        "ldd",
    );
    let libs = ldd.lines().filter_map(|l| {
        let path = match l.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next()?,
            None => l.split_whitespace().next()?,
        };
        path.starts_with('/').then(|| path.to_owned())
    });
    for file in libs.chain(["/usr/bin/ssh-add".to_owned()]) {
        let dest = root.join(file.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, &dest).unwrap();
    }
}

fn build(env: &Env, agent: &Agent, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args(["build", "--progress=plain"])
        .args(args)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap()
}

const DOCKERFILE: &str = r#"FROM busybox:test
COPY sshroot/ /
RUN mkdir -m 777 /out
RUN --mount=type=ssh ssh-add -l > /out/keys && echo "$SSH_AUTH_SOCK" > /out/sock && stat -c '%u:%g %a' "$SSH_AUTH_SOCK" > /out/root-sock
RUN --mount=type=ssh,id=deploy,target=/agent,uid=1000,gid=1000,mode=0660 stat -c '%u:%g %a' /agent > /out/user-sock
USER 1000
RUN --mount=type=ssh,id=deploy,uid=1000 ssh-add -l > /out/user-keys
RUN --mount=type=ssh,id=absent test ! -e "$SSH_AUTH_SOCK" && echo skipped > /out/optional
"#;

#[test]
#[ignore = "needs root"]
fn the_agent_is_forwarded_through_a_socket_owned_as_the_mount_says() {
    require_usable();
    let env = Env::with_base();
    let agent = start_agent(env.dir.path());
    let fingerprint = load_key(&agent, env.dir.path());
    let ctx = env.context("ctx", &[("Dockerfile", DOCKERFILE)]);
    client_tree(&ctx.join("sshroot"));
    let out_dir = env.path("out");
    let deploy = format!("deploy={}", agent.socket.display());
    let dest = format!("type=local,dest={}", out_dir.display());
    let ctx_arg = ctx.to_str().unwrap();
    let out = build(
        &env,
        &agent,
        &["--ssh", "default", "--ssh", &deploy, "-o", &dest, ctx_arg],
    );
    assert!(out.status.success(), "build failed:\n{}", stderr(&out));

    let read = |name: &str| std::fs::read_to_string(out_dir.join("out").join(name)).unwrap();
    assert!(read("keys").contains(&fingerprint), "{}", read("keys"));
    assert_eq!(read("sock"), "/run/buildkit/ssh_agent.0\n");
    assert_eq!(read("root-sock"), "0:0 600\n", "BuildKit's defaults");
    assert_eq!(read("user-sock"), "1000:1000 660\n");
    assert!(
        read("user-keys").contains(&fingerprint),
        "USER 1000 uses it"
    );
    assert_eq!(read("optional"), "skipped\n", "not forwarded, not required");
    // Neither the sockets nor their mount points are left in the image.
    assert!(!out_dir.join("agent").exists());
    assert!(!out_dir.join("run/buildkit").exists());
    let tmp = std::fs::read_dir(env.root().join("tmp")).unwrap().count();
    assert_eq!(tmp, 0, "proxy sockets and their dirs are removed");
}

#[test]
#[ignore = "needs root"]
fn a_required_agent_that_is_not_forwarded_fails_with_a_hint() {
    require_usable();
    let env = Env::with_base();
    let agent = start_agent(env.dir.path());
    let ctx = env.context(
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN --mount=type=ssh,id=gh,required=true true\n",
        )],
    );
    let before = env.snapshot_of_store();
    let out = build(&env, &agent, &[ctx.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "a failed build exits 1: {err}");
    assert!(err.contains("Dockerfile:2"), "names the RUN's line: {err}");
    assert!(err.contains("no SSH agent forwarded for id gh"), "{err}");
    assert!(err.contains("--ssh gh=SOCKET"), "{err}");

    // A key file is not an agent: refused before anything runs, with what to do instead.
    let key = env.path("key");
    std::fs::write(&key, "not an agent").unwrap();
    let arg = format!("gh={}", key.display());
    let out = build(&env, &agent, &["--ssh", &arg, ctx.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is not an SSH agent socket"), "{err}");
    assert!(
        err.contains(&key.display().to_string()),
        "names the file: {err}"
    );
    assert!(err.contains("ssh-add"), "{err}");
    assert_eq!(env.snapshot_of_store(), before, "no image, no blob left");
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        "not an agent",
        "the key file is untouched"
    );
}
