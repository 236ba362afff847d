//! A container's network: `--network private|host|none` and `-p` publishing.
//!
//! `private` (the default, docker's bridge) gives the container its own network namespace
//! (the executor's [`strata_executor::Network::None`]: a new netns with `lo`), and after
//! `runc create` [`attach`] starts slirp4netns on it ([`slirp`]): outbound TCP/UDP through the
//! host's sockets, DNS at 10.0.2.3 ([`resolv_conf`]), published ports forwarded from the host
//! by slirp4netns's API. `host` shares the host's namespace and `none` has only `lo`, as in
//! builds; publishing ports with them is an error ([`check_publish`]), where docker drops the
//! ports silently. The network stack is slirp4netns's (libslirp), none of our own.

pub mod ports;
pub mod slirp;

use std::fmt;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tracing::debug;

pub use ports::{PortMapping, PortRequest, PortSpec, PortSpecError, Protocol};
pub use slirp::Slirp;

/// `--network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Its own network namespace with user-mode networking (slirp4netns): docker's bridge.
    #[default]
    Private,
    /// The host's network namespace.
    Host,
    /// Its own network namespace with only `lo`.
    None,
}

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
            other => Err(format!(
                "unknown network {other:?} (private, host or none)"
            )),
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkMode::Private => "private",
            NetworkMode::Host => "host",
            NetworkMode::None => "none",
        })
    }
}

/// What can go wrong setting up a container's network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("ports cannot be published with --network {mode} (only with --network private): {ports}")]
    PublishWithoutPrivateNetwork { mode: NetworkMode, ports: String },
    #[error("slirp4netns not found in PATH: --network private needs it (apt-get install slirp4netns)")]
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
        protocol: Protocol,
        candidates: String,
    },
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

/// A container's network while it runs: the slirp4netns process (private networks) and the
/// ports bound on the host. Dropping it (or [`NetHandle::stop`]) stops slirp4netns.
#[derive(Debug, Default)]
pub struct NetHandle {
    slirp: Option<Slirp>,
    ports: Vec<PortMapping>,
}

impl NetHandle {
    /// The published ports, as bound (random host ports resolved).
    pub fn ports(&self) -> &[PortMapping] {
        &self.ports
    }

    /// slirp4netns's process id, if one runs.
    pub fn helper_pid(&self) -> Option<u32> {
        self.slirp.as_ref().map(Slirp::pid)
    }

    /// Stops the helper process.
    pub fn stop(mut self) {
        if let Some(s) = self.slirp.take() {
            s.stop();
        }
    }
}

/// Connects the created (not yet started) container whose init is `pid` to its network:
/// for `private`, starts slirp4netns (files in `state_dir`) and publishes `ports`. `userns`
/// is the container's user namespace when it has one (rootless).
pub fn attach(
    mode: NetworkMode,
    ports: &[PortSpec],
    pid: u32,
    userns: Option<&Path>,
    state_dir: &Path,
) -> Result<NetHandle, NetError> {
    check_publish(mode, ports)?;
    if mode != NetworkMode::Private {
        return Ok(NetHandle::default());
    }
    let slirp = Slirp::start(pid, userns, state_dir)?;
    let mut published = Vec::new();
    for request in ports.iter().flat_map(PortSpec::requests) {
        published.push(publish(&slirp, &request)?);
    }
    debug!(pid, ports = published.len(), "container network attached");
    Ok(NetHandle {
        slirp: Some(slirp),
        ports: published,
    })
}

/// Forwards one container port from the first host port of the request that binds.
fn publish(slirp: &Slirp, request: &PortRequest) -> Result<PortMapping, NetError> {
    let mapping = |host_port| PortMapping {
        host_ip: request.host_ip,
        host_port,
        container_port: request.container_port,
        protocol: request.protocol,
    };
    if let [only] = request.candidates.as_slice() {
        let m = mapping(*only);
        slirp.add_hostfwd(&m)?;
        return Ok(m);
    }
    let candidates: Vec<u16> = if request.candidates.is_empty() {
        // A random port: the kernel picks one free now; another process may take it before
        // slirp4netns binds it, so a few are tried.
        (0..8)
            .filter_map(|_| free_port(request.host_ip, request.protocol))
            .collect()
    } else {
        request.candidates.clone()
    };
    for port in &candidates {
        let m = mapping(*port);
        if slirp.add_hostfwd(&m).is_ok() {
            return Ok(m);
        }
    }
    Err(NetError::NoFreePort {
        container_port: request.container_port,
        protocol: request.protocol,
        candidates: if request.candidates.is_empty() {
            "random ports".into()
        } else {
            format!("{:?}", request.candidates)
        },
    })
}

/// A port the kernel says is free on `ip` for `protocol`.
fn free_port(ip: IpAddr, protocol: Protocol) -> Option<u16> {
    match protocol {
        Protocol::Tcp => TcpListener::bind((ip, 0)).ok()?.local_addr().ok(),
        Protocol::Udp => UdpSocket::bind((ip, 0)).ok()?.local_addr().ok(),
    }
    .map(|a| a.port())
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
        assert_ne!(free_port(ip, Protocol::Tcp), Some(0));
        assert!(free_port(ip, Protocol::Udp).is_some());
    }
}
