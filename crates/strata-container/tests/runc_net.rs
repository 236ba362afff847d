//! The net, tty, exec and health modules against real runc and slirp4netns, on a busybox
//! rootfs: the same calls the monitor makes (`runc create`, `net::attach`, `runc start`,
//! `--console-socket`, `runc exec`), without the CLI around them.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use strata_container::exec::{self, ExecSpec, Target};
use strata_container::health::{HealthSettings, HealthStatus, HealthTest, Monitor};
use strata_container::net::{self, NetHandle, NetworkMode, PortSpec};
use strata_container::tty::ConsoleSocket;
use strata_container::ContainerConfig;
use strata_executor::bundle::Bundle;
use strata_executor::{MountKind, MountSpec, RunSpec, Runtime};
use strata_testkit::{busybox_rootfs_dir, require_root, require_tool};

struct Box_ {
    dir: tempfile::TempDir,
    id: String,
    runtime: Runtime,
    config: ContainerConfig,
    net: Option<NetHandle>,
    console: Option<OwnedFd>,
}

fn config(network: NetworkMode, ports: &[&str]) -> ContainerConfig {
    let specs: Vec<PortSpec> = ports.iter().map(|p| p.parse().unwrap()).collect();
    let mut c: ContainerConfig = serde_json::from_value(serde_json::json!({
        "Id": "x", "Name": "n", "Image": "busybox", "ImageDigest": "", "ImageId": "",
        "Argv": [], "Entrypoint": [], "Cmd": [], "Env": ["PATH=/bin"], "User": "",
        "Uid": 0, "Gid": 0, "AdditionalGids": [], "Workdir": "/", "Hostname": "box",
        "Ports": [], "Network": "private", "Tty": false, "Interactive": false,
        "Limits": {"Memory": 0, "MemorySwap": 0, "NanoCpus": 0, "CpuShares": 0, "PidsLimit": 0},
        "Healthcheck": null, "StopSignal": 15, "StopTimeout": 10, "Init": false,
        "ReadOnly": false, "Mounts": [], "AutoRemove": false, "Created": "", "Lowers": []
    }))
    .unwrap();
    c.network = network;
    c.ports = net::resolve_ports(network, &specs).unwrap();
    c
}

impl Box_ {
    /// Creates the container running `script` under `sh -c`, attaches its network, starts it.
    fn start(config: ContainerConfig, script: &str, tty: bool) -> Box_ {
        Box_::start_with(config, script, tty, false)
    }

    /// Like [`Box_::start`]; `host_usr` mounts the host's `/usr` read-only (for python3:
    /// busybox has no UDP server).
    fn start_with(config: ContainerConfig, script: &str, tty: bool, host_usr: bool) -> Box_ {
        require_root();
        require_tool("runc");
        require_tool("slirp4netns");
        let dir = tempfile::tempdir().unwrap();
        let rootfs = busybox_rootfs_dir(dir.path());
        for d in ["etc", "tmp", "www"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::write(rootfs.join("www/index.html"), "hello from the container\n").unwrap();
        let resolv = dir.path().join("resolv.conf");
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let text = net::resolv_conf(config.network, &host).unwrap_or(host);
        std::fs::write(&resolv, text).unwrap();
        let mut spec = RunSpec::new(&rootfs, vec!["sh".into(), "-c".into(), script.into()]);
        spec.network = config.network.executor_network();
        spec.resolv_conf = Some(resolv);
        if host_usr {
            spec.mounts.push(MountSpec {
                target: "/usr".into(),
                kind: MountKind::Bind {
                    source: "/usr".into(),
                    readonly: true,
                },
            });
            for link in ["lib", "lib64"] {
                std::os::unix::fs::symlink(format!("usr/{link}"), rootfs.join(link)).unwrap();
            }
        }
        let id = format!("strata-nettest-{}-{}", std::process::id(), unique());
        let bundle = Bundle::write(
            &dir.path().join("bundle"),
            &spec,
            &format!("/strata-test/{id}"),
        )
        .unwrap();
        if tty {
            let path = bundle.dir.join("config.json");
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            v["process"]["terminal"] = true.into();
            std::fs::write(&path, v.to_string()).unwrap();
        }
        let runtime = Runtime::detect(Some("runc")).unwrap();
        let mut b = Box_ {
            id,
            runtime,
            config,
            net: None,
            console: None,
            dir,
        };
        b.create(&bundle.dir, tty);
        let pid = b.pid();
        b.net = Some(net::attach(&b.config, pid, b.dir.path()).unwrap());
        b.runc(&["start", &b.id.clone()]);
        b
    }

    fn create(&mut self, bundle: &Path, tty: bool) {
        let out = std::fs::File::create(self.dir.path().join("stdout")).unwrap();
        let mut cmd = self.runtime.command(&self.runc_root());
        cmd.args(["create", "--bundle"]).arg(bundle);
        let socket =
            tty.then(|| ConsoleSocket::bind(&self.dir.path().join("console.sock")).unwrap());
        if let Some(s) = &socket {
            cmd.arg("--console-socket").arg(s.runtime_path());
        }
        cmd.arg(&self.id);
        let status = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .status()
            .unwrap();
        assert!(status.success(), "runc create: {}", self.stdout());
        self.console = socket.map(|s| s.receive(Duration::from_secs(5)).unwrap());
    }

    fn runc_root(&self) -> PathBuf {
        self.dir.path().join("runc")
    }

    fn runc(&self, args: &[&str]) -> String {
        let out = self
            .runtime
            .command(&self.runc_root())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "runc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.runc(&["state", &self.id])).unwrap()
    }

    fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().unwrap() as i32
    }

    fn wait_stopped(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.state()["status"] != "stopped" {
            assert!(
                Instant::now() < deadline,
                "still running: {}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    fn target(&self) -> (Runtime, PathBuf) {
        (self.runtime.clone(), self.runc_root())
    }
}

impl Drop for Box_ {
    fn drop(&mut self) {
        let _ = self
            .runtime
            .command(&self.runc_root())
            .args(["delete", "--force", &self.id])
            .output();
        if let Some(n) = self.net.take() {
            n.stop();
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
#[ignore = "needs root"]
fn private_network_reaches_the_debian_mirror_by_name_and_slirp_goes_with_the_handle() {
    let mut b = Box_::start(
        config(NetworkMode::Private, &[]),
        "cat /etc/resolv.conf; wget -q -O - http://deb.debian.org/debian/dists/bookworm/Release | head -n 3",
        false,
    );
    b.wait_stopped(Duration::from_secs(60));
    let out = b.stdout();
    assert!(out.contains("nameserver 10.0.2.3"), "{out}");
    assert!(out.contains("Origin: Debian"), "{out}");
    let handle = b.net.take().unwrap();
    let helper = handle.helper_pid().unwrap();
    assert!(alive(helper));
    handle.stop();
    assert!(!alive(helper), "slirp4netns {helper} outlived its handle");
}

#[test]
#[ignore = "needs root"]
fn network_none_has_only_loopback_and_refuses_published_ports() {
    let b = Box_::start(
        config(NetworkMode::None, &[]),
        "ip -o link; wget -q -T 3 -O - http://deb.debian.org/debian/ && echo REACHED",
        false,
    );
    b.wait_stopped(Duration::from_secs(30));
    let out = b.stdout();
    assert!(out.contains("lo:") && !out.contains("tap0"), "{out}");
    assert!(!out.contains("REACHED"), "{out}");
    let specs = vec!["8080:80".parse::<PortSpec>().unwrap()];
    let err = net::resolve_ports(NetworkMode::None, &specs).unwrap_err();
    assert!(err.to_string().contains("--network none"), "{err}");
    let err = net::resolve_ports(NetworkMode::Host, &specs).unwrap_err();
    assert!(err.to_string().contains("--network host"), "{err}");
}

#[test]
#[ignore = "needs root"]
fn published_tcp_and_udp_ports_reach_the_container() {
    let udp_server = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
        s.bind(('0.0.0.0', 9000)); d = s.recv(100); open('/tmp/udp.txt', 'wb').write(d)";
    let b = Box_::start_with(
        config(
            NetworkMode::Private,
            &["127.0.0.1::8080", "127.0.0.1::9000/udp"],
        ),
        &format!("/usr/bin/python3 -c \"{udp_server}\" & exec httpd -f -p 8080 -h /www"),
        false,
        true,
    );
    let tcp = b.config.ports[0].clone();
    let udp = b.config.ports[1].clone();
    assert_ne!(tcp.host_port, 0);
    let body = http_get(tcp.host_port, Duration::from_secs(10));
    assert!(body.contains("hello from the container"), "{body}");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        sock.send_to(b"datagram\n", ("127.0.0.1", udp.host_port))
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let got = std::fs::read_to_string(b.rootfs().join("tmp/udp.txt")).unwrap_or_default();
        if !got.is_empty() || Instant::now() > deadline {
            break got;
        }
    };
    assert!(got.starts_with("datagram\n"), "{got:?} {}", b.stdout());
    // The forwards slirp4netns holds are the ones in the config.
    let listed = net::Slirp::list_hostfwd_at(&b.dir.path().join("slirp4netns.sock")).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&tcp) && listed.contains(&udp));
}

fn http_get(port: u16, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        })();
        match attempt {
            Ok(body) if body.contains("200") => return body,
            _ if Instant::now() > deadline => panic!("no answer on port {port}: {attempt:?}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
#[ignore = "needs root"]
fn the_console_socket_hands_over_a_working_terminal() {
    let mut b = Box_::start(config(NetworkMode::None, &[]), "exec sh", true);
    let master = std::fs::File::from(b.console.take().expect("no console"));
    let mut writer = master.try_clone().unwrap();
    writer
        .write_all(b"tty; echo done-$((40+2)); exit 3\n")
        .unwrap();
    let mut seen = String::new();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        strata_container::tty::read_pty(master, |d| {
            let _ = tx.send(d.to_vec());
        })
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains("done-42") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(d) => seen.push_str(&String::from_utf8_lossy(&d)),
            Err(_) => panic!("no output from the terminal: {seen:?}"),
        }
    }
    assert!(seen.contains("/dev/pts/0"), "{seen:?}");
    b.wait_stopped(Duration::from_secs(10));
}

#[test]
#[ignore = "needs root"]
fn exec_and_healthchecks_run_in_the_running_container() {
    let b = Box_::start(
        config(NetworkMode::None, &[]),
        "echo ok > /tmp/ready; exec sleep 60",
        false,
    );
    let (runtime, root) = b.target();
    let target = Target {
        runtime: &runtime,
        runtime_root: &root,
        id: &b.id,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.rootfs().join("tmp/ready").exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = exec::exec_captured(
        &target,
        &b.config,
        vec![
            "sh".into(),
            "-c".into(),
            "cat /tmp/ready; echo $HOSTNAME-$PATH; exit 7".into(),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(r.exit_code, 7, "{}", r.output);
    assert!(r.output.starts_with("ok\n"), "{}", r.output);
    let spec = ExecSpec {
        args: vec!["sh".into(), "-c".into(), "exit 5".into()],
        ..ExecSpec::default()
    };
    assert_eq!(exec::exec(&target, &b.config, &spec).unwrap(), 5);

    let run_health = |test: HealthTest, retries: u32| {
        let settings = HealthSettings {
            test,
            interval: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
            start_period: Duration::ZERO,
            start_interval: Duration::from_millis(100),
            retries,
        };
        let shell: Vec<String> = Vec::new();
        let monitor = Monitor::new(settings, std::time::SystemTime::now());
        let (tx, rx) = mpsc::channel();
        let mut history = Vec::new();
        monitor.run(
            &rx,
            |t, timeout| exec::exec_captured(&target, &b.config, t.argv(&shell), timeout),
            |h| {
                history.push(h.clone());
                if h.log.len() >= 3 {
                    let _ = tx.send(());
                }
            },
        );
        history.pop().unwrap()
    };
    let healthy = run_health(
        HealthTest::Shell("test -e /tmp/ready && echo fine".into()),
        3,
    );
    assert_eq!(healthy.status, HealthStatus::Healthy);
    assert_eq!(healthy.log[0].output, "fine\n");
    let unhealthy = run_health(HealthTest::Cmd(vec!["cat".into(), "/nope".into()]), 3);
    assert_eq!(unhealthy.status, HealthStatus::Unhealthy);
    assert_eq!(unhealthy.failing_streak, 3);
    assert!(
        unhealthy.log[2].output.contains("/nope"),
        "{:?}",
        unhealthy.log
    );
    assert_eq!(unhealthy.log[2].exit_code, 1);
}

#[test]
#[ignore = "needs root"]
fn a_network_namespace_made_before_the_container_gets_tap0_and_goes_with_the_handle() {
    require_root();
    require_tool("slirp4netns");
    require_tool("nsenter");
    let dir = tempfile::tempdir().unwrap();
    let netns = dir.path().join("netns");
    let handle = net::prepare(&config(NetworkMode::Private, &[]), &netns, dir.path())
        .unwrap()
        .expect("a private network is prepared");
    assert_eq!(handle.netns_path(), Some(netns.as_path()));
    let helper = handle.helper_pid().unwrap();
    // Ready means configured: tap0 is in the namespace (/proc/net/dev is per namespace).
    let out = std::process::Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args(["cat", "/proc/net/dev"])
        .output()
        .unwrap();
    let devs = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && devs.contains("tap0"), "{devs}");
    let own = std::fs::read_to_string("/proc/net/dev").unwrap();
    assert!(
        !own.contains("tap0:"),
        "the monitor's own namespace changed: {own}"
    );
    handle.stop();
    assert!(!alive(helper), "slirp4netns {helper} outlived its handle");
    assert!(!netns.exists(), "the namespace's file is left");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(netns.to_str().unwrap()), "{mounts}");
}

#[test]
fn host_and_none_networks_prepare_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let netns = dir.path().join("netns");
    for mode in [NetworkMode::Host, NetworkMode::None] {
        assert!(net::prepare(&config(mode, &[]), &netns, dir.path())
            .unwrap()
            .is_none());
        assert!(!netns.exists());
    }
}
