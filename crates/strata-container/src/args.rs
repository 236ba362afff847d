//! `-p`, `-v` and `--mount` in docker's syntax.

use std::path::PathBuf;

use crate::error::{invalid, Result};
use crate::limits::parse_size;
use crate::spec::{Mount, MountType, NetworkMode, PortMapping, Proto};

/// `-p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]`; a missing or 0 host
/// port is picked free on the host now (docker picks an ephemeral one).
pub fn parse_port(s: &str) -> Result<PortMapping> {
    let bad = |why: &str| invalid("-p", format!("{s:?}: {why}"));
    let (spec, proto) = match s.rsplit_once('/') {
        Some((p, "tcp")) => (p, Proto::Tcp),
        Some((p, "udp")) => (p, Proto::Udp),
        Some((_, other)) => return Err(bad(&format!("unknown protocol {other:?}"))),
        None => (s, Proto::Tcp),
    };
    let (ip, host, container) =
        split_port_spec(spec).ok_or_else(|| bad("expected [ip:][host:]container"))?;
    if ip.contains('-') || host.contains('-') || container.contains('-') {
        return Err(bad("port ranges are not supported"));
    }
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| bad(&format!("invalid port {p:?}")))
    };
    let container_port = port(container)?;
    if container_port == 0 {
        return Err(bad("the container port must not be 0"));
    }
    let host_ip = if ip.is_empty() {
        "0.0.0.0".to_string()
    } else {
        ip.trim_matches(['[', ']']).to_string()
    };
    host_ip
        .parse::<std::net::IpAddr>()
        .map_err(|_| bad(&format!("invalid host address {host_ip:?}")))?;
    let mut host_port = if host.is_empty() { 0 } else { port(host)? };
    if host_port == 0 {
        host_port =
            free_port(&host_ip, proto).map_err(|e| bad(&format!("no free host port: {e}")))?;
    }
    Ok(PortMapping {
        host_ip,
        host_port,
        container_port,
        proto,
    })
}

fn split_port_spec(spec: &str) -> Option<(&str, &str, &str)> {
    // An IPv6 host address is bracketed: [::1]:8080:80.
    if let Some(rest) = spec.strip_prefix('[') {
        let (ip, rest) = rest.split_once("]:")?;
        let (host, container) = rest.split_once(':')?;
        return Some((ip, host, container));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [c] => Some(("", "", c)),
        [h, c] => Some(("", h, c)),
        [ip, h, c] => Some((ip, h, c)),
        _ => None,
    }
}

fn free_port(ip: &str, proto: Proto) -> std::io::Result<u16> {
    let addr = (
        ip.parse::<std::net::IpAddr>()
            .map_err(std::io::Error::other)?,
        0,
    );
    match proto {
        Proto::Tcp => std::net::TcpListener::bind(addr)?
            .local_addr()
            .map(|a| a.port()),
        Proto::Udp => std::net::UdpSocket::bind(addr)?
            .local_addr()
            .map(|a| a.port()),
    }
}

/// `-p` needs a private network (docker drops it silently with host/none).
pub fn check_ports(network: NetworkMode, ports: &[PortMapping]) -> Result<()> {
    if !ports.is_empty() && network != NetworkMode::Private {
        return Err(invalid(
            "-p",
            format!(
                "ports cannot be published with --network {}",
                network.as_str()
            ),
        ));
    }
    Ok(())
}

/// `-v SRC:DST[:ro|rw]` with an absolute host SRC (named volumes are not supported).
pub fn parse_volume(s: &str) -> Result<Mount> {
    let bad = |why: String| invalid("-v", format!("{s:?}: {why}"));
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [src, dst] => (*src, *dst, ""),
        [src, dst, mode] => (*src, *dst, *mode),
        _ => return Err(bad("expected SRC:DST[:ro|rw]".into())),
    };
    if !src.starts_with('/') {
        return Err(bad(format!(
            "{src:?} is not an absolute host path; named volumes are not supported"
        )));
    }
    let read_only = match mode {
        "" | "rw" => false,
        "ro" => true,
        other => return Err(bad(format!("unsupported mode {other:?} (ro or rw)"))),
    };
    bind(PathBuf::from(src), dst, read_only, "-v")
}

fn bind(source: PathBuf, dst: &str, read_only: bool, flag: &str) -> Result<Mount> {
    if !source.exists() {
        return Err(invalid(
            flag,
            format!("bind source path does not exist: {}", source.display()),
        ));
    }
    check_destination(dst, flag)?;
    Ok(Mount {
        kind: MountType::Bind,
        source,
        destination: dst.to_string(),
        read_only,
        tmpfs_size: None,
    })
}

fn check_destination(dst: &str, flag: &str) -> Result<()> {
    if !dst.starts_with('/') || dst.split('/').any(|c| c == "..") || dst == "/" {
        return Err(invalid(
            flag,
            format!(
                "invalid mount destination {dst:?}: an absolute path other than / without '..'"
            ),
        ));
    }
    Ok(())
}

/// `--mount type=bind|tmpfs,...` (docker's keys: `source|src`, `target|destination|dst`,
/// `readonly|ro[=true|false]`, `tmpfs-size`); `type=volume` is not supported.
pub fn parse_mount(s: &str) -> Result<Mount> {
    let bad = |why: String| invalid("--mount", format!("{s:?}: {why}"));
    let (mut kind, mut source, mut target, mut ro, mut size) = ("volume", None, None, false, None);
    for field in s.split(',') {
        let (k, v) = field
            .split_once('=')
            .map_or((field, None), |(k, v)| (k, Some(v)));
        match (k, v) {
            ("type", Some(t)) => kind = t,
            ("source" | "src", Some(v)) => source = Some(v),
            ("target" | "destination" | "dst", Some(v)) => target = Some(v),
            ("readonly" | "ro", None | Some("true" | "1")) => ro = true,
            ("readonly" | "ro", Some("false" | "0")) => ro = false,
            ("tmpfs-size", Some(v)) => size = Some(parse_size("--mount tmpfs-size", v)? as u64),
            _ => return Err(bad(format!("unsupported field {field:?}"))),
        }
    }
    let target = target.ok_or_else(|| bad("target is required".into()))?;
    match kind {
        "bind" => {
            let src = source.ok_or_else(|| bad("source is required for a bind mount".into()))?;
            if !src.starts_with('/') {
                return Err(bad(format!("source {src:?} must be an absolute path")));
            }
            bind(PathBuf::from(src), target, ro, "--mount")
        }
        "tmpfs" => {
            if source.is_some() {
                return Err(bad("a tmpfs mount takes no source".into()));
            }
            check_destination(target, "--mount")?;
            Ok(Mount {
                kind: MountType::Tmpfs,
                source: PathBuf::new(),
                destination: target.to_string(),
                read_only: ro,
                tmpfs_size: size,
            })
        }
        "volume" => Err(bad("named volumes (type=volume, the default type) are not supported: use type=bind or type=tmpfs".into())),
        other => Err(bad(format!("unknown mount type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_in_docker_syntax() {
        let p = parse_port("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.container_port, p.proto),
            ("127.0.0.1", 8080, 80, Proto::Udp)
        );
        let p = parse_port("8080:80").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.proto),
            ("0.0.0.0", 8080, Proto::Tcp)
        );
        let p = parse_port("80").unwrap();
        assert!(p.host_port > 0);
        assert_eq!(parse_port("[::1]:81:80").unwrap().host_ip, "::1");
        for bad in [
            "80/sctp",
            "1-2:80",
            "x:80",
            "1:2:3:4",
            "8080:0",
            "999999:80",
        ] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        let p = vec![parse_port("8080:80").unwrap()];
        assert!(check_ports(NetworkMode::Private, &p).is_ok());
        let e = check_ports(NetworkMode::Host, &p).unwrap_err().to_string();
        assert!(e.contains("--network host"), "{e}");
    }

    #[test]
    fn volumes_and_mounts() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().display().to_string();
        let m = parse_volume(&format!("{src}:/data:ro")).unwrap();
        assert_eq!(
            (m.kind, m.destination.as_str(), m.read_only),
            (MountType::Bind, "/data", true)
        );
        assert!(parse_volume("named:/data")
            .unwrap_err()
            .to_string()
            .contains("named volumes"));
        assert!(parse_volume("/no/such/dir:/d")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(parse_volume(&format!("{src}:rel")).is_err());
        let m = parse_mount(&format!("type=bind,source={src},target=/d,readonly")).unwrap();
        assert!(m.read_only);
        let t = parse_mount("type=tmpfs,target=/t,tmpfs-size=64m").unwrap();
        assert_eq!((t.kind, t.tmpfs_size), (MountType::Tmpfs, Some(64 << 20)));
        let e = parse_mount("type=volume,source=v,target=/v")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not supported"), "{e}");
        assert!(parse_mount("target=/v").is_err());
        assert!(parse_mount("type=bind,source=/tmp").is_err());
    }
}
