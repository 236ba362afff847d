//! slirp4netns attached to a container's network namespace: user-mode networking (outbound
//! TCP/UDP, DNS at 10.0.2.3) and port forwarding through its API socket.
//!
//! The process is tied to its owner: slirp4netns gets the read end of a pipe as `--exit-fd`
//! and exits when the owner's write end closes — on [`Slirp::stop`], on drop, or when the
//! owning monitor dies, even by SIGKILL — so no slirp4netns outlives its container.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::NetError;
use super::{display_mapping, PortMapping, Proto};
use crate::tty::sockpath::SocketPath;

/// The address slirp4netns gives the container (`--configure`).
pub const GUEST_ADDR: &str = "10.0.2.100";
/// slirp4netns's DNS forwarder, for the container's `resolv.conf`.
pub const DNS_ADDR: &str = "10.0.2.3";
/// The MTU podman and rootlesskit use with slirp4netns (faster than 1500).
const MTU: u32 = 65520;
/// How long slirp4netns may take to configure the namespace.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running slirp4netns, stopped on drop.
#[derive(Debug)]
pub struct Slirp {
    child: Child,
    /// The write end of `--exit-fd`: closing it tells slirp4netns to exit.
    exit_writer: Option<OwnedFd>,
    api_socket: PathBuf,
}

impl Slirp {
    /// Starts slirp4netns on the network namespace of process `pid`, with its API socket and
    /// log in `dir`, and waits until it has configured `tap0`. `userns` is the container's
    /// user namespace (rootless containers), which slirp4netns must join to open the netns.
    pub fn start(pid: u32, userns: Option<&Path>, dir: &Path) -> Result<Slirp, NetError> {
        Slirp::spawn(&[pid.to_string()], userns, dir)
    }

    /// Like [`Slirp::start`], on the network namespace mounted at `netns`
    /// (`--netns-type=path`), made before the container.
    pub fn start_in(netns: &Path, dir: &Path) -> Result<Slirp, NetError> {
        let target = ["--netns-type=path".to_string(), netns.display().to_string()];
        Slirp::spawn(&target, None, dir)
    }

    fn spawn(target: &[String], userns: Option<&Path>, dir: &Path) -> Result<Slirp, NetError> {
        let binary = find_slirp()?;
        let api_socket = dir.join("slirp4netns.sock");
        let log_path = dir.join("slirp4netns.log");
        let _ = std::fs::remove_file(&api_socket);
        let log = File::create(&log_path).map_err(NetError::io("create", &log_path))?;
        let (ready_reader, ready_writer) = pipe()?;
        let (exit_reader, exit_writer) = pipe()?;
        let mut cmd = Command::new(&binary);
        cmd.arg("--configure")
            .arg(format!("--mtu={MTU}"))
            .arg("--disable-host-loopback")
            .arg("--api-socket")
            // Relative to its working directory: the state dir's path may be longer than a
            // socket path may be.
            .arg(api_socket.file_name().unwrap_or_default())
            .current_dir(dir)
            .arg(format!("--ready-fd={}", ready_writer.as_raw_fd()))
            .arg(format!("--exit-fd={}", exit_reader.as_raw_fd()));
        if let Some(userns) = userns {
            cmd.arg(format!("--userns-path={}", userns.display()));
        }
        cmd.args(target).arg("tap0");
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().map_err(NetError::io("dup", &log_path))?)
            .stderr(log);
        // The two child ends must survive exec: clear CLOEXEC just for the spawn.
        inheritable(&ready_writer)?;
        inheritable(&exit_reader)?;
        let child = cmd.spawn().map_err(|source| NetError::Spawn {
            program: binary.clone(),
            source,
        })?;
        drop((ready_writer, exit_reader));
        let mut slirp = Slirp {
            child,
            exit_writer: Some(exit_writer),
            api_socket,
        };
        debug!(?target, slirp = slirp.child.id(), "slirp4netns started");
        slirp.wait_ready(ready_reader, &log_path)?;
        Ok(slirp)
    }

    fn wait_ready(&mut self, reader: OwnedFd, log: &Path) -> Result<(), NetError> {
        let mut reader = File::from(reader);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut byte = [0u8; 1];
        // The write end is closed when slirp4netns exits, so this read never hangs for ever;
        // the deadline covers a slirp4netns that stalls.
        let ready = poll_readable(&reader, deadline)? && matches!(reader.read(&mut byte), Ok(1));
        if ready {
            return Ok(());
        }
        self.kill();
        let text = std::fs::read_to_string(log).unwrap_or_default();
        Err(NetError::SlirpFailed {
            log: log.to_path_buf(),
            message: text
                .trim()
                .lines()
                .last()
                .unwrap_or("no output")
                .to_string(),
        })
    }

    /// Forwards `mapping`'s host address and port to the container (`add_hostfwd`).
    pub fn add_hostfwd(&self, mapping: &PortMapping) -> Result<(), NetError> {
        let request = serde_json::json!({
            "execute": "add_hostfwd",
            "arguments": {
                "proto": mapping.proto.as_str(),
                "host_addr": mapping.host_ip,
                "host_port": mapping.host_port,
                "guest_addr": GUEST_ADDR,
                "guest_port": mapping.container_port,
            }
        });
        let reply = api_call(&self.api_socket, &request)?;
        match reply.get("error") {
            None => Ok(()),
            Some(e) => Err(NetError::Publish {
                mapping: display_mapping(mapping),
                reason: e["desc"].as_str().unwrap_or("unknown error").to_string(),
            }),
        }
    }

    /// The forwards slirp4netns has (`list_hostfwd`), as mappings.
    pub fn list_hostfwd(&self) -> Result<Vec<PortMapping>, NetError> {
        Slirp::list_hostfwd_at(&self.api_socket)
    }

    /// The forwards of the slirp4netns whose API socket is `socket` (the monitor's, from
    /// another process).
    pub fn list_hostfwd_at(socket: &Path) -> Result<Vec<PortMapping>, NetError> {
        let reply = api_call(socket, &serde_json::json!({"execute": "list_hostfwd"}))?;
        let entries = reply["entries"].as_array().cloned().unwrap_or_default();
        Ok(entries
            .iter()
            .filter_map(|e| {
                Some(PortMapping {
                    host_ip: e["host_addr"].as_str()?.to_string(),
                    host_port: u16::try_from(e["host_port"].as_u64()?).ok()?,
                    container_port: u16::try_from(e["guest_port"].as_u64()?).ok()?,
                    proto: match e["proto"].as_str()? {
                        "udp" => Proto::Udp,
                        _ => Proto::Tcp,
                    },
                })
            })
            .collect())
    }

    /// The process id of slirp4netns.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops slirp4netns (closing its exit fd, then SIGKILL after a second) and reaps it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.exit_writer.take().is_none() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(&self.api_socket);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        warn!(
            pid = self.child.id(),
            "slirp4netns did not exit; killing it"
        );
        self.kill();
    }

    fn kill(&mut self) {
        self.exit_writer = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.api_socket);
    }
}

impl Drop for Slirp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One request on the API socket (one connection each, as slirp4netns expects).
fn api_call(sock: &Path, request: &serde_json::Value) -> Result<serde_json::Value, NetError> {
    let short = SocketPath::new(sock).map_err(NetError::io("open the directory of", sock))?;
    let mut stream = UnixStream::connect(short.here()).map_err(NetError::io("connect to", sock))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(NetError::io("configure", sock))?;
    stream
        .write_all(request.to_string().as_bytes())
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .map_err(NetError::io("write to", sock))?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(NetError::io("read from", sock))?;
    serde_json::from_str(&reply).map_err(|_| NetError::Api {
        socket: sock.to_path_buf(),
        reply,
    })
}

fn find_slirp() -> Result<PathBuf, NetError> {
    let path_var = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain(["/usr/bin".into(), "/usr/local/bin".into()])
        .map(|d| d.join("slirp4netns"))
        .find(|p| p.is_file())
        .ok_or(NetError::NoSlirp)
}

fn pipe() -> Result<(OwnedFd, OwnedFd), NetError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| NetError::io("create", Path::new("pipe"))(e.into()))
}

fn inheritable(fd: &OwnedFd) -> Result<(), NetError> {
    rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())
        .map_err(|e| NetError::io("configure", Path::new("pipe"))(e.into()))
}

/// Whether `file` became readable (data or EOF) before `deadline`.
fn poll_readable(file: &File, deadline: Instant) -> Result<bool, NetError> {
    use rustix::event::{poll, PollFd, PollFlags};
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut fds = [PollFd::new(file, PollFlags::IN)];
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1);
        match poll(&mut fds, ms) {
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(NetError::io("poll", Path::new("pipe"))(e.into())),
        }
    }
}
