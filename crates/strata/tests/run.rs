//! `strata run` and the container verbs end to end, as root with the real runc: exit codes,
//! clean-up, logs, stop, limits read back from cgroup v1, OOM kills, the monitor surviving
//! `kill -9` of the command, and images in use kept from removal.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, stdout, Env};

/// Removes every container of the env when dropped, even when the test fails (no process,
/// mount or cgroup outlives a test).
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let ids = self.0.strata(&["ps", "-a", "-q", "--no-trunc"]);
        for id in stdout(&ids).split_whitespace() {
            let _ = self.0.strata(&["rm", "-f", id]);
        }
    }
}

fn inspect(env: &Env, name: &str) -> serde_json::Value {
    let text = env.ok(&["inspect", "--type", "container", name]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[0].clone()
}

/// The container id a process inside prints from `/proc/self/cgroup`.
fn id_from_cgroup(text: &str) -> String {
    let at = text.find("/strata-run/").expect("a strata-run cgroup") + "/strata-run/".len();
    text[at..at + 64].to_string()
}

fn cgroup_dirs(id: &str) -> Vec<String> {
    ["memory", "cpu", "pids"]
        .iter()
        .map(|c| format!("/sys/fs/cgroup/{c}/strata-run/{id}"))
        .filter(|d| Path::new(d).exists())
        .collect()
}

fn mounts_under(root: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = root.to_string_lossy().into_owned();
    info.lines()
        .filter(|l| l.contains(&root))
        .map(str::to_string)
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn build(env: &Env, tag: &str, dockerfile: &str) {
    let ctx = env.context(
        tag.replace(':', "-").as_str(),
        &[("Dockerfile", dockerfile)],
    );
    env.ok(&["build", "-q", "-t", tag, ctx.to_str().unwrap()]);
}

#[test]
#[ignore = "needs root"]
fn exit_codes_pass_through_and_rm_leaves_nothing() {
    common::require_root();
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    let out = env.strata(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox:test",
        "sh",
        "-c",
        "cat /proc/self/cgroup; echo to-stderr >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(stderr(&out).contains("to-stderr"), "{}", stderr(&out));
    let id = id_from_cgroup(&text);
    assert!(
        !env.root().join("containers").join(&id).exists(),
        "--rm leaves no state dir"
    );
    assert!(
        cgroup_dirs(&id).is_empty(),
        "--rm leaves no cgroup: {:?}",
        cgroup_dirs(&id)
    );
    assert!(
        mounts_under(&env.root()).is_empty(),
        "{:?}",
        mounts_under(&env.root())
    );
    assert_eq!(env.ok(&["ps", "-a", "-q"]), "");
    // A command that does not exist: docker's 127, and a message.
    let out = env.strata(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox:test",
        "no-such-cmd",
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-cmd"), "{}", stderr(&out));
    assert!(mounts_under(&env.root()).is_empty());
}

#[test]
#[ignore = "needs root"]
fn image_config_and_flags_follow_docker() {
    common::require_root();
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    build(
        &env,
        "cfg:1",
        "FROM busybox:test\nENV A=image B=image\nWORKDIR /srv\nUSER app\nENTRYPOINT [\"sh\", \"-c\"]\nCMD [\"echo default\"]\n",
    );
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(args);
        env.ok(&all)
    };
    assert_eq!(run(&["cfg:1"]), "default\n");
    assert_eq!(
        run(&["-e", "B=flag", "cfg:1", "echo $A $B $(id -u) $(pwd)"]),
        "image flag 1000 /srv\n"
    );
    assert_eq!(
        run(&[
            "-u",
            "0:0",
            "-w",
            "/made/here",
            "cfg:1",
            "echo $(id -u) $(pwd)"
        ]),
        "0 /made/here\n"
    );
    let envfile = env.path("env.list");
    std::fs::write(&envfile, "# comment\nFROM_FILE=yes\n").unwrap();
    assert_eq!(
        run(&[
            "--env-file",
            envfile.to_str().unwrap(),
            "cfg:1",
            "echo $FROM_FILE"
        ]),
        "yes\n"
    );
    assert_eq!(run(&["--entrypoint", "echo", "cfg:1", "plain"]), "plain\n");
    // Bind mounts, read-only too, and a read-only root.
    let dir = env.path("shared");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.txt"), "from host\n").unwrap();
    let vol = format!("{}:/data", dir.display());
    assert_eq!(
        run(&[
            "-v",
            &vol,
            "-u",
            "0",
            "cfg:1",
            "cat /data/in.txt; echo out > /data/out.txt"
        ]),
        "from host\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).unwrap(),
        "out\n"
    );
    let out = env.strata(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "-u",
        "0",
        "--mount",
        &format!("type=bind,source={},target=/ro,readonly", dir.display()),
        "cfg:1",
        "touch /ro/x || echo ro-bind; touch /newfile || echo ro-root",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ro-bind\nro-root\n");
    // --init runs tini as PID 1.
    assert!(
        run(&["--init", "cfg:1", "cat /proc/1/cmdline | tr '\\0' ' '"]).contains("docker-init")
    );
    // Flag errors, before anything is created.
    let out = env.strata(&["run", "--memory", "100m", "--memory-swap", "50m", "cfg:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("larger than memory limit"),
        "{}",
        stderr(&out)
    );
    let out = env.strata(&["run", "--network", "host", "-p", "8080:80", "cfg:1"]);
    assert!(stderr(&out).contains("--network host"), "{}", stderr(&out));
    let out = env.strata(&["run", "--mount", "type=volume,source=v,target=/v", "cfg:1"]);
    assert!(stderr(&out).contains("named volumes"), "{}", stderr(&out));
    assert_eq!(env.ok(&["ps", "-a", "-q"]), "");
}

#[test]
#[ignore = "needs root"]
fn logs_follow_and_stop_sends_stopsignal_then_sigkill() {
    common::require_root();
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    build(
        &env,
        "trap:1",
        "FROM busybox:test\nSTOPSIGNAL SIGUSR1\nCMD [\"sh\", \"-c\", \"trap 'echo got USR1' USR1; echo ready; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done\"]\n",
    );
    let id = env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "trapper",
        "trap:1",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    wait_for("ready in logs", Duration::from_secs(10), || {
        env.ok(&["logs", "trapper"]).contains("tick 2")
    });
    let ps = env.ok(&["ps"]);
    assert!(
        ps.contains(&id[..12]) && ps.contains("trapper") && ps.contains("Up "),
        "{ps}"
    );
    // logs -f follows until the container exits.
    let follower = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args(["logs", "-f", "trapper"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let start = Instant::now();
    env.ok(&["stop", "-t", "2", "trapper"]);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "SIGKILL only after the timeout: {took:?}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    let followed = follower.wait_with_output().unwrap();
    let followed = stdout(&followed);
    assert!(
        followed.contains("ready") && followed.contains("got USR1"),
        "{followed}"
    );
    let v = inspect(&env, "trapper");
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["State"]["ExitCode"], 137);
    assert_eq!(v["State"]["OOMKilled"], false);
    assert_eq!(v["Config"]["StopSignal"], "SIGUSR1");
    // --tail and --timestamps.
    let tail = env.ok(&["logs", "--tail", "1", "-t", "trapper"]);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(tail.starts_with("20") && tail.contains("Z "), "{tail}");
    let ps = env.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (137)"), "{ps}");
    assert!(!env.ok(&["ps"]).contains("trapper"));
    // rm removes it all; a running one needs -f.
    env.ok(&["rm", "trapper"]);
    assert!(!env.root().join("containers").join(&id).exists());
    let id2 = env.ok(&["run", "-d", "--network", "none", "trap:1"]);
    let out = env.strata(&["rm", id2.trim()]);
    assert!(
        !out.status.success() && stderr(&out).contains("rm -f"),
        "{}",
        stderr(&out)
    );
    env.ok(&["rm", "-f", &id2.trim()[..8]]);
    assert_eq!(env.ok(&["ps", "-a", "-q"]), "");
    assert!(mounts_under(&env.root()).is_empty());
    assert!(cgroup_dirs(id2.trim()).is_empty());
}

#[test]
#[ignore = "needs root"]
fn memory_limit_oom_kills_with_137_and_oomkilled() {
    common::require_root();
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    // dd allocates its 200 MB block and fills it from /dev/zero: above 50 MB it is killed.
    let out = env.strata(&[
        "run",
        "--name",
        "hog",
        "--network",
        "none",
        "--memory",
        "50m",
        "--memory-swap",
        "50m",
        "busybox:test",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=200M",
        "count=1",
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    let v = inspect(&env, "hog");
    assert_eq!(v["State"]["OOMKilled"], true, "{v:#}");
    assert_eq!(v["State"]["ExitCode"], 137);
    assert_eq!(v["HostConfig"]["Memory"], 50 << 20);
    assert_eq!(v["HostConfig"]["MemorySwap"], 50 << 20);
    // The same with room to spare is not killed.
    let out = env.strata(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--memory",
        "300m",
        "busybox:test",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=200M",
        "count=1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root"]
fn cpu_and_pids_limits_reach_the_cgroup() {
    common::require_root();
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    let id = env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "64",
        "--memory",
        "64m",
        "busybox:test",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let id = id.trim();
    let read = |c: &str, f: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{c}/strata-run/{id}/{f}"))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(read("cpu", "cpu.shares"), "512");
    assert_eq!(read("pids", "pids.max"), "64");
    assert_eq!(
        read("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    let v = inspect(&env, id);
    assert_eq!(v["HostConfig"]["NanoCpus"], 500_000_000);
    assert_eq!(v["HostConfig"]["CpuShares"], 512);
    assert_eq!(v["HostConfig"]["PidsLimit"], 64);
    assert_eq!(v["Cgroup"]["CpuQuota"], 50000);
    assert_eq!(v["State"]["Running"], true);
    assert!(v["State"]["Pid"].as_i64().unwrap() > 0);
    env.ok(&["kill", id]);
    wait_for("exit after kill", Duration::from_secs(10), || {
        inspect(&env, id)["State"]["Status"] == "exited"
    });
    assert_eq!(inspect(&env, id)["State"]["ExitCode"], 137);
    assert!(cgroup_dirs(id).is_empty(), "{:?}", cgroup_dirs(id));
    env.ok(&["rm", id]);
}

#[test]
#[ignore = "needs root"]
fn the_container_survives_kill_9_of_strata_run() {
    common::require_root();
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    let mut run = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args([
            "run",
            "--name",
            "survivor",
            "--network",
            "none",
            "busybox:test",
            "sh",
            "-c",
            "trap 'exit 7' TERM; while true; do sleep 0.1; done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("running", Duration::from_secs(10), || {
        env.ok(&["ps"]).contains("survivor")
    });
    run.kill().unwrap(); // SIGKILL
    run.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let ps = env.ok(&["ps"]);
    assert!(ps.contains("survivor") && ps.contains("Up "), "{ps}");
    env.ok(&["stop", "survivor"]);
    let v = inspect(&env, "survivor");
    assert_eq!(v["State"]["ExitCode"], 7, "{v:#}");
    env.ok(&["rm", "survivor"]);
    assert!(mounts_under(&env.root()).is_empty());
}

#[test]
#[ignore = "needs root"]
fn an_image_in_use_is_kept_until_its_containers_are_pruned() {
    common::require_root();
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    build(
        &env,
        "used:1",
        "FROM busybox:test\nRUN echo used > /marker\n",
    );
    env.ok(&[
        "run",
        "--name",
        "user",
        "--network",
        "none",
        "used:1",
        "true",
    ]);
    let out = env.strata(&["rmi", "used:1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("conflict")
            && stderr(&out).contains("image is being used by container"),
        "{}",
        stderr(&out)
    );
    env.ok(&["prune"]);
    assert!(env.ok(&["images"]).contains("used"));
    // Untagged (its tag moved by a rebuild), it is still kept while the container exists.
    let digest = env.inspect("used:1")["Digest"]
        .as_str()
        .unwrap()
        .to_string();
    env.ok(&["tag", "busybox:test", "used:1"]);
    env.ok(&["prune"]);
    assert!(
        env.strata(&["inspect", "--type", "image", &digest])
            .status
            .success(),
        "kept for its container"
    );
    let pruned = env.ok(&["prune", "--containers"]);
    assert!(pruned.contains("Deleted container"), "{pruned}");
    assert_eq!(env.ok(&["ps", "-a", "-q"]), "");
    assert!(
        !env.strata(&["inspect", "--type", "image", &digest])
            .status
            .success(),
        "pruned with its container"
    );
}

#[test]
#[ignore = "needs root"]
fn a_published_port_serves_and_exec_and_health_work() {
    common::require_root();
    strata_testkit::require_tool("slirp4netns");
    strata_testkit::require_tool("curl");
    let env = Env::with_base();
    let _cleanup = Cleanup(&env);
    build(
        &env,
        "web:1",
        "FROM busybox:test\nRUN mkdir -p /www && echo hello-from-httpd > /www/index.html\n\
         HEALTHCHECK --interval=1s --timeout=2s CMD wget -q -O /dev/null http://127.0.0.1/ || exit 1\n\
         CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("127.0.0.1:{port}:80");
    env.ok(&["run", "-d", "--name", "web", "-p", &publish, "web:1"]);
    let url = format!("http://127.0.0.1:{port}/");
    let mut body = String::new();
    wait_for("the published port", Duration::from_secs(10), || {
        let out = Command::new("curl")
            .args(["-s", "-m", "2", &url])
            .output()
            .unwrap();
        body = stdout(&out);
        out.status.success()
    });
    assert_eq!(body, "hello-from-httpd\n");
    let v = inspect(&env, "web");
    assert_eq!(
        v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"],
        port.to_string()
    );
    assert!(env
        .ok(&["ps"])
        .contains(&format!("127.0.0.1:{port}->80/tcp")));
    // exec: the container's env and user, the exit code passed through.
    assert_eq!(
        env.ok(&["exec", "web", "cat", "/www/index.html"]),
        "hello-from-httpd\n"
    );
    let out = env.strata(&["exec", "web", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    // The health check turns healthy and ps shows it.
    wait_for("healthy", Duration::from_secs(15), || {
        env.ok(&["ps"]).contains("(healthy)")
    });
    assert_eq!(inspect(&env, "web")["State"]["Health"]["Status"], "healthy");
    env.ok(&["rm", "-f", "web"]);
    let out = Command::new("curl")
        .args(["-s", "-m", "2", &url])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the port is closed once the container is gone"
    );
}
