//! `strata run`'s network, terminal, exec and healthchecks end to end, as root with the real
//! runc, slirp4netns and tmux: outbound access and DNS through slirp4netns, published TCP and
//! UDP ports reached from the host, `-p` refused without a private network, `-it` and
//! `exec -it` driven through tmux with their exit codes, `exec`'s semantics, HEALTHCHECK
//! statuses in `ps` and `inspect`, and no slirp4netns left behind.

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{stderr, stdout, Env};
use strata_testkit::require_tool;

/// A store with `busybox:test` whose containers are removed when the test ends, passed or
/// failed.
struct NetEnv(Env);

impl std::ops::Deref for NetEnv {
    type Target = Env;
    fn deref(&self) -> &Env {
        &self.0
    }
}

impl Drop for NetEnv {
    fn drop(&mut self) {
        let ids = stdout(&self.0.strata(&["ps", "-a", "-q", "--no-trunc"]));
        for id in ids.split_whitespace() {
            let _ = self.0.strata(&["rm", "-f", id]);
        }
    }
}

fn setup() -> NetEnv {
    common::require_root();
    require_tool("runc");
    require_tool("slirp4netns");
    NetEnv(Env::with_base())
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn inspect(env: &Env, name: &str) -> serde_json::Value {
    let text = env.ok(&["inspect", "--type", "container", name]);
    serde_json::from_str::<serde_json::Value>(&text).unwrap()[0].clone()
}

/// The host port `ps` shows for `container_port/proto` (`127.0.0.1:41234->8080/tcp`).
fn published_port(env: &Env, name: &str, container: &str) -> u16 {
    let ps = env.ok(&["ps", "--no-trunc"]);
    let line = ps
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("{name} not in ps: {ps}"));
    let suffix = format!("->{container}");
    let at = line
        .find(&suffix)
        .unwrap_or_else(|| panic!("no {suffix}: {line}"));
    let start = line[..at].rfind(':').unwrap() + 1;
    line[start..at].parse().unwrap()
}

/// slirp4netns processes working for containers of this store (their cwd is a state dir).
fn slirps_of(env: &Env) -> Vec<u32> {
    let root = env.root();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
            comm.trim() == "slirp4netns" && cwd.starts_with(&root)
        })
        .collect()
}

fn http_get(port: u16, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        })();
        match attempt {
            Ok(body) if body.starts_with("HTTP/1.") => return body,
            _ if Instant::now() > deadline => panic!("no answer on port {port}: {attempt:?}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
#[ignore = "needs root"]
fn private_network_reaches_the_debian_mirror_through_slirp_dns() {
    let env = setup();
    let out = env.ok(&[
        "run",
        "--rm",
        "busybox:test",
        "sh",
        "-c",
        "cat /etc/resolv.conf; ip -o addr show tap0; \
             wget -q -O - http://deb.debian.org/debian/dists/bookworm/Release | head -n 2",
    ]);
    assert!(out.contains("nameserver 10.0.2.3"), "{out}");
    assert!(out.contains("10.0.2.100/24"), "{out}");
    assert!(out.contains("Origin: Debian"), "{out}");
    assert!(slirps_of(&env).is_empty(), "slirp4netns left behind");
}

#[test]
#[ignore = "needs root"]
fn published_tcp_port_is_served_from_the_host_until_the_container_goes() {
    let env = setup();
    std::fs::create_dir_all(env.path("www")).unwrap();
    std::fs::write(env.path("www/index.html"), "published!\n").unwrap();
    let www = format!("{}:/www:ro", env.path("www").display());
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "127.0.0.1::8080",
        "--volume",
        &www,
        "busybox:test",
        "httpd",
        "-f",
        "-p",
        "8080",
        "-h",
        "/www",
    ]);
    let port = published_port(&env, "web", "8080/tcp");
    assert_eq!(
        env.ok(&["port", "web"]),
        format!("8080/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(
        env.ok(&["port", "web", "8080"]),
        format!("127.0.0.1:{port}\n")
    );
    let out = env.strata(&["port", "web", "9999/udp"]);
    assert!(
        stderr(&out).contains("no public port '9999/udp'"),
        "{}",
        stderr(&out)
    );
    let body = http_get(port, "/index.html");
    assert!(
        body.contains("200 OK") && body.ends_with("published!\n"),
        "{body}"
    );
    let ports = &inspect(&env, "web")["NetworkSettings"]["Ports"];
    assert!(ports.to_string().contains(&port.to_string()), "{ports}");
    assert_eq!(slirps_of(&env).len(), 1);
    env.ok(&["rm", "-f", "web"]);
    wait_for("slirp4netns to exit", Duration::from_secs(5), || {
        slirps_of(&env).is_empty()
    });
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
}

#[test]
#[ignore = "needs root"]
fn published_udp_port_delivers_datagrams() {
    let env = setup();
    // busybox has no UDP server: python3 from the host's /usr, read-only.
    let ctx = env.context(
        "py",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN ln -s usr/lib /lib && ln -s usr/lib64 /lib64 && mkdir -p /out\n",
        )],
    );
    env.ok(&["build", "-q", "-t", "py:test", ctx.to_str().unwrap()]);
    std::fs::create_dir_all(env.path("out")).unwrap();
    let out = format!("{}:/out", env.path("out").display());
    let server = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
                  s.bind(('0.0.0.0', 9000)); open('/out/got', 'wb').write(s.recv(100))";
    env.ok(&[
        "run",
        "-d",
        "--name",
        "udp",
        "-p",
        "127.0.0.1::9000/udp",
        "--volume",
        "/usr:/usr:ro",
        "--volume",
        &out,
        "py:test",
        "/usr/bin/python3",
        "-c",
        server,
    ]);
    let port = published_port(&env, "udp", "9000/udp");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let got = env.path("out/got");
    wait_for("the datagram", Duration::from_secs(15), || {
        sock.send_to(b"datagram", ("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        std::fs::metadata(&got).is_ok_and(|m| m.len() > 0)
    });
    assert_eq!(std::fs::read(&got).unwrap(), b"datagram");
    env.ok(&["rm", "-f", "udp"]);
}

#[test]
#[ignore = "needs root"]
fn publishing_without_a_private_network_is_an_error() {
    let env = setup();
    for network in ["none", "host"] {
        let out = env.strata(&[
            "run",
            "--rm",
            "--network",
            network,
            "-p",
            "8080:80",
            "busybox:test",
            "true",
        ]);
        assert!(!out.status.success(), "-p with --network {network} ran");
        let err = stderr(&out);
        assert!(err.contains(&format!("--network {network}")), "{err}");
    }
    assert_eq!(
        env.ok(&["ps", "-a", "-q"]).trim(),
        "",
        "a container was left"
    );
    // `none` still has its loopback, and nothing else.
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox:test",
        "ip",
        "-o",
        "link",
    ]);
    assert!(out.contains("lo:") && !out.contains("tap0"), "{out}");
}

/// A tmux session running `command` in a 120x30 terminal; its exit status lands in a file.
struct Tmux {
    name: String,
    status: std::path::PathBuf,
}

impl Tmux {
    fn start(env: &Env, command: &str) -> Tmux {
        require_tool("tmux");
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("strata-test-{}-{n}", std::process::id());
        let status = env.path(&format!("tmux-status-{n}"));
        let script = format!("{command}; echo $? > {}; read _", status.display());
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "120",
                "-y",
                "30",
                &script,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        Tmux { name, status }
    }

    fn send(&self, keys: &str) {
        let s = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, keys, "Enter"])
            .status()
            .unwrap();
        assert!(s.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        stdout(&out)
    }

    fn wait_screen(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.screen().contains(text) {
            assert!(
                Instant::now() < deadline,
                "{text:?} never shown:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn exit_status(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.status) {
                if s.ends_with('\n') {
                    return s.trim().parse().unwrap();
                }
            }
            assert!(Instant::now() < deadline, "no exit:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn strata_command(env: &Env, args: &str) -> String {
    format!(
        "{} --root {} {args}",
        env!("CARGO_BIN_EXE_strata"),
        env.root().display()
    )
}

#[test]
#[ignore = "needs root"]
fn run_it_is_a_terminal_with_its_size_and_exit_code() {
    let env = setup();
    let tmux = Tmux::start(&env, &strata_command(&env, "run --rm -it busybox:test sh"));
    tmux.wait_screen("/ #");
    tmux.send("tty; stty size; echo hi-$((40+2)); exit 3");
    tmux.wait_screen("hi-42");
    assert_eq!(tmux.exit_status(), 3);
    let screen = tmux.screen();
    assert!(screen.contains("/dev/pts/0"), "{screen}");
    assert!(screen.contains("30 120"), "{screen}");
    assert_eq!(env.ok(&["ps", "-a", "-q"]).trim(), "");
}

/// The `strata run` processes (not monitors) of this store.
fn strata_run_pids(env: &Env) -> Vec<u32> {
    let root = env.root().to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter().any(|a| a == &root) && args.iter().any(|a| a == "run")
        })
        .collect()
}

#[test]
#[ignore = "needs root"]
fn run_it_forwards_sigterm_to_the_container() {
    let env = setup();
    let script = "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done";
    let tmux = Tmux::start(
        &env,
        &strata_command(
            &env,
            &format!("run --rm -it busybox:test sh -c \"{script}\""),
        ),
    );
    tmux.wait_screen("ready");
    let pids = strata_run_pids(&env);
    assert_eq!(pids.len(), 1, "{pids:?}");
    let s = Command::new("kill")
        .args(["-TERM", &pids[0].to_string()])
        .status()
        .unwrap();
    assert!(s.success());
    tmux.wait_screen("got-term");
    assert_eq!(tmux.exit_status(), 9);
}

#[test]
#[ignore = "needs root"]
fn run_i_pipes_stdin_and_closes_it_at_its_end() {
    let env = setup();
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args([
            "run",
            "--rm",
            "-i",
            "busybox:test",
            "sh",
            "-c",
            "tr a-z A-Z; exit 5",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped\nlines\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout(&out), "PIPED\nLINES\n");
    assert_eq!(out.status.code(), Some(5));
}

#[test]
#[ignore = "needs root"]
fn exec_runs_in_the_running_container_with_dockers_semantics() {
    let env = setup();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "-e",
        "FROM_RUN=1",
        "busybox:test",
        "sleep",
        "120",
    ]);
    let out = env.strata(&[
        "exec",
        "box",
        "sh",
        "-c",
        "echo $FROM_RUN-$(hostname); exit 6",
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let box_id = inspect(&env, "box")["Id"].as_str().unwrap().to_string();
    assert_eq!(stdout(&out), format!("1-{}\n", &box_id[..12]));
    let out = env.ok(&[
        "exec",
        "-u",
        "1000",
        "-w",
        "/tmp",
        "-e",
        "X=y",
        "box",
        "sh",
        "-c",
        "id -u; pwd; echo $X",
    ]);
    assert_eq!(out, "1000\n/tmp\ny\n");
    // -i: our stdin reaches the process.
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args(["exec", "-i", "box", "tr", "a-z", "A-Z"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout(&out), "PIPED\n");
    // -it under a terminal.
    let tmux = Tmux::start(&env, &strata_command(&env, "exec -it box sh"));
    tmux.wait_screen("/ #");
    tmux.send("tty; exit 4");
    assert_eq!(tmux.exit_status(), 4);
    assert!(tmux.screen().contains("/dev/pts/"), "{}", tmux.screen());
    drop(tmux);
    env.ok(&["stop", "-t", "1", "box"]);
    let out = env.strata(&["exec", "box", "true"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
    let out = env.strata(&["exec", "nosuch", "true"]);
    assert!(
        stderr(&out).contains("no such container"),
        "{}",
        stderr(&out)
    );
}

fn health_status(env: &Env, name: &str) -> String {
    inspect(env, name)["State"]["Health"]["Status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
#[ignore = "needs root"]
fn healthchecks_turn_healthy_or_unhealthy_and_show_in_ps_and_inspect() {
    let env = setup();
    let ctx = env.context(
        "hc",
        &[(
            "Dockerfile",
            "FROM busybox:test\n\
             HEALTHCHECK --interval=1s --timeout=5s CMD test -e /tmp/ok && echo fine\n",
        )],
    );
    env.ok(&["build", "-q", "-t", "hc:test", ctx.to_str().unwrap()]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "good",
        "hc:test",
        "sh",
        "-c",
        "touch /tmp/ok; exec sleep 120",
    ]);
    env.ok(&["run", "-d", "--name", "bad", "hc:test", "sleep", "120"]);
    assert_eq!(health_status(&env, "bad"), "starting");
    wait_for("good to be healthy", Duration::from_secs(20), || {
        health_status(&env, "good") == "healthy"
    });
    wait_for("bad to be unhealthy", Duration::from_secs(20), || {
        health_status(&env, "bad") == "unhealthy"
    });
    let ps = env.ok(&["ps"]);
    let line = |name: &str| ps.lines().find(|l| l.ends_with(name)).unwrap().to_string();
    assert!(line("good").contains("(healthy)"), "{ps}");
    assert!(line("bad").contains("(unhealthy)"), "{ps}");
    let bad = &inspect(&env, "bad")["State"]["Health"];
    assert!(bad["FailingStreak"].as_u64().unwrap() >= 3, "{bad}");
    let log = bad["Log"].as_array().unwrap();
    assert!(!log.is_empty() && log.len() <= 5, "{bad}");
    assert_eq!(log.last().unwrap()["ExitCode"], 1);
    let good = &inspect(&env, "good")["State"]["Health"];
    assert_eq!(good["Log"][0]["Output"], "fine\n");
    env.ok(&["rm", "-f", "good", "bad"]);
}

#[test]
#[ignore = "needs root"]
fn a_killed_monitor_takes_its_slirp4netns_with_it() {
    let env = setup();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "killed",
        "busybox:test",
        "sleep",
        "120",
    ]);
    let slirps = slirps_of(&env);
    assert_eq!(slirps.len(), 1);
    let monitor = inspect(&env, "killed")["State"]["MonitorPid"]
        .as_i64()
        .or_else(|| {
            let state = std::fs::read_to_string(
                env.root()
                    .join("containers")
                    .join(inspect(&env, "killed")["Id"].as_str().unwrap())
                    .join("state.json"),
            )
            .ok()?;
            serde_json::from_str::<serde_json::Value>(&state).ok()?["MonitorPid"].as_i64()
        })
        .expect("the monitor's pid");
    Command::new("kill")
        .args(["-9", &monitor.to_string()])
        .status()
        .unwrap();
    wait_for("slirp4netns to exit", Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{}", slirps[0])).exists()
    });
    let _ = env.strata(&["rm", "-f", "killed"]);
}

const ROOTLESS_USER: &str = "strata-rootless-test";

/// The test user with a subordinate id range (created once, as root).
fn rootless_user() -> u32 {
    for tool in [
        "useradd",
        "usermod",
        "runuser",
        "unshare",
        "newuidmap",
        "newgidmap",
    ] {
        require_tool(tool);
    }
    let id = |flag: &str| {
        Command::new("id")
            .args([flag, ROOTLESS_USER])
            .output()
            .unwrap()
    };
    if !id("-u").status.success() {
        let s = Command::new("useradd")
            .args(["-m", ROOTLESS_USER])
            .status()
            .unwrap();
        assert!(s.success(), "useradd failed");
    }
    let has_range = |file: &str| {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with(&format!("{ROOTLESS_USER}:")))
    };
    if !has_range("/etc/subuid") || !has_range("/etc/subgid") {
        let s = Command::new("usermod")
            .args([
                "--add-subuids",
                "300000-365535",
                "--add-subgids",
                "300000-365535",
            ])
            .arg(ROOTLESS_USER)
            .status()
            .unwrap();
        assert!(s.success(), "usermod failed");
    }
    stdout(&id("-u")).trim().parse().unwrap()
}

#[test]
#[ignore = "needs root"]
fn rootless_run_works_in_a_user_namespace_and_refuses_what_it_cannot_do() {
    common::require_root();
    require_tool("runc");
    let uid = rootless_user();
    // Everything the user needs, in a dir the user can reach and own.
    let dir = tempfile::tempdir().unwrap();
    let chown = |p: &Path| {
        std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
    };
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("strata");
    std::fs::copy(env!("CARGO_BIN_EXE_strata"), &exe).unwrap();
    let base = dir.path().join("busybox.tar.gz");
    std::fs::copy(strata_testkit::busybox_rootfs_tarball(), &base).unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    chown(&store);
    let strata = |args: &[&str]| -> Output {
        Command::new("runuser")
            .args(["-u", ROOTLESS_USER, "--"])
            .arg(&exe)
            .args(args)
            .env("STRATA_ROOT", &store)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let ok_as_user = |args: &[&str]| -> String {
        let out = strata(args);
        assert!(out.status.success(), "strata {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok_as_user(&["import", base.to_str().unwrap(), "busybox:test"]);
    // Root in the container is the user; other ids come from the subordinate range.
    let out = ok_as_user(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "1000",
        "busybox:test",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; echo written > /tmp/f; cat /tmp/f",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    let uid_text = uid.to_string();
    assert!(
        out.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f == ["0", uid_text.as_str(), "1"]
        }),
        "the user namespace does not map root to the user: {out}"
    );
    assert!(out.ends_with("written\n"), "{out}");
    let out = strata(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox:test",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    // What cannot work without root is refused with the reason.
    for (args, why) in [
        (vec!["-m", "50m"], "limits need a cgroup"),
        (vec!["-d"], "-d is not supported rootless"),
        (
            vec!["--network", "host"],
            "--network host is not supported rootless",
        ),
    ] {
        let mut full = vec!["run", "--rm"];
        full.extend(args.iter().copied());
        full.extend(["busybox:test", "true"]);
        let out = strata(&full);
        assert!(!out.status.success(), "{full:?} ran");
        assert!(stderr(&out).contains(why), "{full:?}: {}", stderr(&out));
    }
    // A private network works where /dev/net/tun is usable by the user, else says why.
    let tun_mode = std::fs::metadata("/dev/net/tun")
        .unwrap()
        .permissions()
        .mode();
    let out = strata(&[
        "run",
        "--rm",
        "busybox:test",
        "sh",
        "-c",
        "wget -q -O - http://deb.debian.org/debian/dists/bookworm/Release | head -n 1",
    ]);
    if tun_mode & 0o006 == 0o006 {
        assert!(stdout(&out).contains("Origin: Debian"), "{}", stderr(&out));
    } else {
        assert!(!out.status.success());
        assert!(stderr(&out).contains("/dev/net/tun"), "{}", stderr(&out));
    }
    assert_eq!(
        ok_as_user(&["ps", "-a", "-q"]).trim(),
        "",
        "containers left"
    );
    // A user without subordinate ids is told what is missing.
    let nosub = "strata-nosubid-test";
    if !Command::new("id")
        .arg(nosub)
        .output()
        .unwrap()
        .status
        .success()
    {
        let s = Command::new("useradd")
            .args(["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", nosub])
            .status()
            .unwrap();
        assert!(s.success(), "useradd {nosub} failed");
    }
    let out = Command::new("runuser")
        .args(["-u", nosub, "--"])
        .arg(&exe)
        .args(["run", "--rm", "busybox:test", "true"])
        .env("STRATA_ROOT", dir.path().join("nosub-store"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("subordinate id range for {nosub} in /etc/subuid")),
        "{}",
        stderr(&out)
    );
    wait_for(
        "no process of the user left",
        Duration::from_secs(5),
        || {
            let procs = Command::new("pgrep")
                .args(["-u", ROOTLESS_USER])
                .output()
                .unwrap();
            stdout(&procs).trim().is_empty()
        },
    );
}
