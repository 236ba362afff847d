//! A container's network: `--network private|host|none` and `-p` publishing.
//!
//! `private` (the default, docker's bridge) gives the container its own network namespace
//! (the executor's [`strata_executor::Network::None`]: a new netns with `lo`), and after
//! `runc create` [`attach`] starts slirp4netns on it ([`slirp`]): outbound TCP/UDP through the
//! host's sockets, DNS at 10.0.2.3 ([`resolv_conf`]), published ports forwarded from the host
//! by slirp4netns's API. `host` shares the host's namespace and `none` has only `lo`, as in
//! builds; publishing ports with them is an error ([`check_publish`]), where docker drops the
//! ports silently. The network stack is slirp4netns's (libslirp), none of our own.

pub mod netns;
pub mod ports;
pub mod slirp;

use std::fmt;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tracing::debug;

pub use crate::spec::{NetworkMode, PortMapping, Proto};
pub use ports::{PortRange, PortRequest, PortSpec, PortSpecError};
pub use slirp::Slirp;

use crate::spec::ContainerConfig;

impl NetworkMode {
    /// The namespace the executor's config asks runc for.
    pub fn executor_network(self) -> strata_executor::Network {
        match self {
            NetworkMode::Host => strata_executor::Network::Host,
            NetworkMode::Private | NetworkMode::None => strata_executor::Network::None,
        }
    }
}

impl FromStr for NetworkMode {
    type Err = String;

    fn from_str(s: &str) -> Result<NetworkMode, String> {
        match s {
            "private" => Ok(NetworkMode::Private),
            "host" => Ok(NetworkMode::Host),
            "none" => Ok(NetworkMode::None),
            other => Err(format!("unknown network {other:?} (private, host or none)")),
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// docker's `ps`/`port` form of a published port: `127.0.0.1:8080->80/tcp`.
pub fn display_mapping(m: &PortMapping) -> String {
    let ip = if m.host_ip.contains(':') {
        format!("[{}]", m.host_ip)
    } else {
        m.host_ip.clone()
    };
    format!(
        "{ip}:{}->{}/{}",
        m.host_port,
        m.container_port,
        m.proto.as_str()
    )
}

/// What can go wrong setting up a container's network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(
        "ports cannot be published with --network {mode} (only with --network private): {ports}"
    )]
    PublishWithoutPrivateNetwork { mode: NetworkMode, ports: String },
    #[error(
        "slirp4netns not found in PATH: --network private needs it (apt-get install slirp4netns)"
    )]
    NoSlirp,
    #[error("could not start {}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("slirp4netns failed to configure the container's network: {message} (log: {})", log.display())]
    SlirpFailed { log: PathBuf, message: String },
    #[error("cannot publish {mapping}: {reason}")]
    Publish { mapping: String, reason: String },
    #[error("no free host port for container port {container_port}/{protocol} among {candidates}")]
    NoFreePort {
        container_port: u16,
        protocol: &'static str,
        candidates: String,
    },
    #[error("a rootless private network needs /dev/net/tun readable and writable by the user (as root: chmod 0666 /dev/net/tun, as Debian's udev does); use --network none or host")]
    TunDenied {
        #[source]
        source: std::io::Error,
    },
    #[error("invalid container pid {0}")]
    BadPid(i32),
    #[error("unexpected reply from slirp4netns's API socket {}: {reply:?}", socket.display())]
    Api { socket: PathBuf, reply: String },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl NetError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> NetError {
        let path = path.to_path_buf();
        move |source| NetError::Io {
            action,
            path,
            source,
        }
    }
}

/// `-p` is only meaningful with a private network: docker drops it silently with `host` and
/// `none`, strata says so.
pub fn check_publish(mode: NetworkMode, ports: &[PortSpec]) -> Result<(), NetError> {
    if mode == NetworkMode::Private || ports.is_empty() {
        return Ok(());
    }
    Err(NetError::PublishWithoutPrivateNetwork {
        mode,
        ports: ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The container's `/etc/resolv.conf` for `mode`, from the host's: a private network asks
/// slirp4netns's forwarder (the host's loopback resolvers are unreachable from the netns)
/// and keeps the host's `search` and `options` lines; `None` for the host's file as it is.
pub fn resolv_conf(mode: NetworkMode, host: &str) -> Option<String> {
    if mode != NetworkMode::Private {
        return None;
    }
    let mut out = format!("nameserver {}\n", slirp::DNS_ADDR);
    for line in host.lines() {
        let word = line.split_whitespace().next().unwrap_or("");
        if matches!(word, "search" | "domain" | "options") {
            out.push_str(line.trim());
            out.push('\n');
        }
    }
    Some(out)
}

/// Resolves `-p` values to the mappings recorded in the container's config: a random host
/// port is chosen now (one the kernel says is free), a host range offers its first free
/// port; a single host port is taken as given (slirp4netns reports it if it is in use).
pub fn resolve_ports(mode: NetworkMode, specs: &[PortSpec]) -> Result<Vec<PortMapping>, NetError> {
    check_publish(mode, specs)?;
    let mut out: Vec<PortMapping> = Vec::new();
    for request in specs.iter().flat_map(PortSpec::requests) {
        let mapping = resolve_request(&request, &out)?;
        out.push(mapping);
    }
    Ok(out)
}

fn resolve_request(request: &PortRequest, taken: &[PortMapping]) -> Result<PortMapping, NetError> {
    let mapping = |host_port| PortMapping {
        host_ip: request.host_ip.to_string(),
        host_port,
        container_port: request.container_port,
        proto: request.protocol,
    };
    let used = |port: u16| {
        taken
            .iter()
            .any(|m| m.host_port == port && m.proto == request.protocol)
    };
    let found = match request.candidates.as_slice() {
        [only] => Some(*only),
        [] => (0..8)
            .filter_map(|_| free_port(request.host_ip, request.protocol))
            .find(|p| !used(*p)),
        many => many
            .iter()
            .copied()
            .find(|p| !used(*p) && port_is_free(request.host_ip, request.protocol, *p)),
    };
    found.map(mapping).ok_or_else(|| NetError::NoFreePort {
        container_port: request.container_port,
        protocol: request.protocol.as_str(),
        candidates: match request.candidates.as_slice() {
            [] => "random ports".into(),
            c => format!("{}-{}", c[0], c[c.len() - 1]),
        },
    })
}

/// A port the kernel says is free on `ip` for `protocol`.
fn free_port(ip: IpAddr, protocol: Proto) -> Option<u16> {
    match protocol {
        Proto::Tcp => TcpListener::bind((ip, 0)).ok()?.local_addr().ok(),
        Proto::Udp => UdpSocket::bind((ip, 0)).ok()?.local_addr().ok(),
    }
    .map(|a| a.port())
}

fn port_is_free(ip: IpAddr, protocol: Proto, port: u16) -> bool {
    match protocol {
        Proto::Tcp => TcpListener::bind((ip, port)).is_ok(),
        Proto::Udp => UdpSocket::bind((ip, port)).is_ok(),
    }
}

/// A container's network while it runs: the slirp4netns process (private networks) and the
/// ports bound on the host. Dropping it (or [`NetHandle::stop`]) stops slirp4netns.
#[derive(Debug, Default)]
pub struct NetHandle {
    slirp: Option<Slirp>,
    ports: Vec<PortMapping>,
    /// The namespace made before the container ([`prepare`]), removed after slirp4netns.
    netns: Option<netns::NetNs>,
}

impl NetHandle {
    /// The published ports, as bound.
    pub fn ports(&self) -> &[PortMapping] {
        &self.ports
    }

    /// slirp4netns's process id, if one runs.
    pub fn helper_pid(&self) -> Option<u32> {
        self.slirp.as_ref().map(Slirp::pid)
    }

    /// The network namespace the container must join, when [`prepare`] made it.
    pub fn netns_path(&self) -> Option<&Path> {
        self.netns.as_ref().map(netns::NetNs::path)
    }

    /// Stops the helper process, then removes the namespace made for the container.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.slirp.take() {
            s.stop();
        }
        if let Some(ns) = self.netns.take() {
            ns.remove();
        }
    }
}

impl Drop for NetHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Before the container (root only, podman's order): makes its network namespace at
/// `netns_path`, starts slirp4netns on it (socket and log in `state_dir`) and publishes
/// `config.ports`. The container then joins [`NetHandle::netns_path`]. `None` for host and
/// none networks (whose `-p` [`attach`] refuses).
pub fn prepare(
    config: &ContainerConfig,
    netns_path: &Path,
    state_dir: &Path,
) -> Result<Option<NetHandle>, NetError> {
    if config.network != NetworkMode::Private {
        return Ok(None);
    }
    let ns = netns::NetNs::create(netns_path)?;
    let mut handle = NetHandle {
        slirp: None,
        ports: config.ports.clone(),
        netns: Some(ns),
    };
    let slirp = Slirp::start_in(netns_path, state_dir)?;
    for mapping in &config.ports {
        slirp.add_hostfwd(mapping)?;
    }
    handle.slirp = Some(slirp);
    debug!(ports = config.ports.len(), "container network prepared");
    Ok(Some(handle))
}

/// Connects the created (not yet started) container whose init is `pid` to its network:
/// for `private`, starts slirp4netns (its socket and log in `state_dir`) and publishes
/// `config.ports`. A container in its own user namespace (rootless) has slirp4netns join it.
pub fn attach(config: &ContainerConfig, pid: i32, state_dir: &Path) -> Result<NetHandle, NetError> {
    if config.network != NetworkMode::Private {
        if !config.ports.is_empty() {
            return Err(NetError::PublishWithoutPrivateNetwork {
                mode: config.network,
                ports: config
                    .ports
                    .iter()
                    .map(display_mapping)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        return Ok(NetHandle::default());
    }
    let pid = u32::try_from(pid).map_err(|_| NetError::BadPid(pid))?;
    check_tun()?;
    let userns = own_user_namespace(pid);
    let slirp = Slirp::start(pid, userns.as_deref(), state_dir)?;
    for mapping in &config.ports {
        slirp.add_hostfwd(mapping)?;
    }
    debug!(
        pid,
        ports = config.ports.len(),
        "container network attached"
    );
    Ok(NetHandle {
        slirp: Some(slirp),
        ports: config.ports.clone(),
        netns: None,
    })
}

/// slirp4netns opens `/dev/net/tun`: root may, a rootless user only where the device is
/// world-readable and writable (Debian's udev rules make it 0666; a minimal host may not).
fn check_tun() -> Result<(), NetError> {
    use rustix::fs::{access, Access};
    if !strata_executor::runtime::in_user_namespace() {
        return Ok(());
    }
    let tun = Path::new("/dev/net/tun");
    access(tun, Access::READ_OK | Access::WRITE_OK)
        .map_err(|e| NetError::TunDenied { source: e.into() })
}

/// `/proc/<pid>/ns/user` when process `pid` is in another user namespace than ours.
fn own_user_namespace(pid: u32) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let theirs = PathBuf::from(format!("/proc/{pid}/ns/user"));
    let ino = |p: &Path| std::fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
    let other = ino(&theirs)? != ino(Path::new("/proc/self/ns/user"))?;
    other.then_some(theirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_modes_parse_and_map_to_the_executor() {
        assert_eq!("private".parse(), Ok(NetworkMode::Private));
        assert_eq!("host".parse(), Ok(NetworkMode::Host));
        assert_eq!("none".parse(), Ok(NetworkMode::None));
        let err = "bridge".parse::<NetworkMode>().unwrap_err();
        assert!(err.contains("private, host or none"), "{err}");
        assert_eq!(NetworkMode::default(), NetworkMode::Private);
        assert_eq!(
            NetworkMode::Private.executor_network(),
            strata_executor::Network::None
        );
        assert_eq!(
            NetworkMode::Host.executor_network(),
            strata_executor::Network::Host
        );
    }

    #[test]
    fn publishing_needs_a_private_network() {
        let ports = vec!["8080:80".parse::<PortSpec>().unwrap()];
        check_publish(NetworkMode::Private, &ports).unwrap();
        check_publish(NetworkMode::None, &[]).unwrap();
        for mode in [NetworkMode::Host, NetworkMode::None] {
            let err = check_publish(mode, &ports).unwrap_err().to_string();
            assert!(err.contains(&format!("--network {mode}")), "{err}");
            assert!(err.contains("0.0.0.0:8080:80/tcp"), "{err}");
        }
    }

    #[test]
    fn private_resolv_conf_points_at_slirp_and_keeps_search_and_options() {
        let host = "# comment\nnameserver 127.0.0.53\nsearch example.org\noptions edns0 trust-ad\n";
        let got = resolv_conf(NetworkMode::Private, host).unwrap();
        assert_eq!(
            got,
            "nameserver 10.0.2.3\nsearch example.org\noptions edns0 trust-ad\n"
        );
        assert_eq!(resolv_conf(NetworkMode::Host, host), None);
        assert_eq!(resolv_conf(NetworkMode::None, host), None);
    }

    #[test]
    fn free_ports_are_nonzero() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_ne!(free_port(ip, Proto::Tcp), Some(0));
        assert!(free_port(ip, Proto::Udp).is_some());
    }
}
