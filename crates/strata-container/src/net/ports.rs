//! `-p/--publish` specs with docker's grammar, and the host ports they resolve to.
//!
//! `[IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`, where each port may be a range `A-B`:
//! `8080` (a random host port), `8080:80`, `127.0.0.1:8080:80/udp`, `127.0.0.1::80`,
//! `[::1]:8080:80`, `8000-8010:8000-8010`, `8000-8010:80` (the first free host port of the
//! range). docker's default host address is `0.0.0.0`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use crate::spec::Proto;

/// An inclusive range of ports, `start..=end`, none of them 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    /// How many ports the range holds.
    pub fn len(&self) -> usize {
        usize::from(self.end - self.start) + 1
    }

    /// Whether the range is a single port.
    pub fn is_single(&self) -> bool {
        self.start == self.end
    }

    /// Always false: a range holds at least one port.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The ports, in order.
    pub fn ports(&self) -> impl Iterator<Item = u16> {
        self.start..=self.end
    }
}

/// One `-p` value as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// The host address to bind; docker's default `0.0.0.0` when not given.
    pub host_ip: IpAddr,
    /// The host ports; `None`: a random free port per container port.
    pub host_ports: Option<PortRange>,
    /// The container ports.
    pub container_ports: PortRange,
    pub protocol: Proto,
}

/// Why a `-p` value is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid port spec {spec:?}: {reason}")]
pub struct PortSpecError {
    pub spec: String,
    pub reason: String,
}

impl FromStr for PortSpec {
    type Err = PortSpecError;

    fn from_str(spec: &str) -> Result<PortSpec, PortSpecError> {
        let fail = |reason: &str| PortSpecError {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (rest, protocol) = split_protocol(spec).map_err(|r| fail(&r))?;
        let (ip, host, container) = split_fields(rest)
            .ok_or_else(|| fail("expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]"))?;
        let host_ip = match ip {
            None | Some("") => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(ip) => ip
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| fail(&format!("{ip:?} is not an IP address")))?,
        };
        let container_ports = parse_range(container).map_err(|r| fail(&r))?;
        let host_ports = match host {
            None | Some("") => None,
            Some(h) => Some(parse_range(h).map_err(|r| fail(&r))?),
        };
        if let Some(h) = host_ports {
            if !container_ports.is_single() && h.len() != container_ports.len() {
                return Err(fail("host and container port ranges differ in size"));
            }
        }
        Ok(PortSpec {
            host_ip,
            host_ports,
            container_ports,
            protocol,
        })
    }
}

fn split_protocol(spec: &str) -> Result<(&str, Proto), String> {
    match spec.rsplit_once('/') {
        None => Ok((spec, Proto::Tcp)),
        Some((rest, "tcp")) => Ok((rest, Proto::Tcp)),
        Some((rest, "udp")) => Ok((rest, Proto::Udp)),
        Some((_, "sctp")) => Err("sctp is not supported (tcp and udp are)".into()),
        Some((_, other)) => Err(format!("unknown protocol {other:?} (tcp or udp)")),
    }
}

/// `(ip, host, container)`; an IPv6 address is written in brackets.
fn split_fields(spec: &str) -> Option<(Option<&str>, Option<&str>, &str)> {
    if let Some(bracketed) = spec.strip_prefix('[') {
        let (ip, rest) = bracketed.split_once(']')?;
        let (host, container) = rest.strip_prefix(':')?.split_once(':')?;
        return Some((Some(ip), Some(host), container));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [container] => Some((None, None, container)),
        [host, container] => Some((None, Some(host), container)),
        [ip, host, container] => Some((Some(ip), Some(host), container)),
        _ => None,
    }
}

fn parse_range(text: &str) -> Result<PortRange, String> {
    let port = |p: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(0) => Err("port 0 is not a port (leave the host port out for a random one)".into()),
            Ok(n) => Ok(n),
            Err(_) => Err(format!("{p:?} is not a port number (1-65535)")),
        }
    };
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(text)?, port(text)?),
    };
    if end < start {
        return Err(format!("range {text:?} ends before it starts"));
    }
    Ok(PortRange { start, end })
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = |r: &PortRange| {
            if r.is_single() {
                r.start.to_string()
            } else {
                format!("{}-{}", r.start, r.end)
            }
        };
        let ip = match self.host_ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        let host = self.host_ports.as_ref().map(range).unwrap_or_default();
        let container = range(&self.container_ports);
        write!(f, "{ip}:{host}:{container}/{}", self.protocol.as_str())
    }
}

/// What one container port asks of the host: bind `ip` at one of `candidates` (any free port
/// when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub host_ip: IpAddr,
    pub candidates: Vec<u16>,
    pub container_port: u16,
    pub protocol: Proto,
}

impl PortSpec {
    /// The container ports of this spec with the host ports each may take: a host range of
    /// the container range's size maps port by port; a host range beside one container port
    /// offers every port of the range; no host port means any free port.
    pub fn requests(&self) -> Vec<PortRequest> {
        let request = |container_port: u16, candidates: Vec<u16>| PortRequest {
            host_ip: self.host_ip,
            candidates,
            container_port,
            protocol: self.protocol,
        };
        match self.host_ports {
            None => self
                .container_ports
                .ports()
                .map(|c| request(c, Vec::new()))
                .collect(),
            Some(h) if self.container_ports.is_single() && !h.is_single() => {
                vec![request(self.container_ports.start, h.ports().collect())]
            }
            Some(h) => self
                .container_ports
                .ports()
                .zip(h.ports())
                .map(|(c, h)| request(c, vec![h]))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> PortSpec {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn range(start: u16, end: u16) -> PortRange {
        PortRange { start, end }
    }

    #[test]
    fn container_port_alone_gets_a_random_host_port_on_all_addresses() {
        let p = parse("8080");
        assert_eq!(p.host_ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(p.host_ports, None);
        assert_eq!(p.container_ports, range(8080, 8080));
        assert_eq!(p.protocol, Proto::Tcp);
        assert_eq!(p.requests()[0].candidates, Vec::<u16>::new());
    }

    #[test]
    fn host_and_container_ports() {
        let p = parse("8080:80");
        assert_eq!(p.host_ports, Some(range(8080, 8080)));
        assert_eq!(p.container_ports, range(80, 80));
        assert_eq!(
            p.requests(),
            vec![PortRequest {
                host_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                candidates: vec![8080],
                container_port: 80,
                protocol: Proto::Tcp
            }]
        );
    }

    #[test]
    fn ip_host_container_and_protocol() {
        let p = parse("127.0.0.1:8080:80/udp");
        assert_eq!(p.host_ip, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(p.protocol, Proto::Udp);
        assert_eq!(p.to_string(), "127.0.0.1:8080:80/udp");
        let p = parse("127.0.0.1::80");
        assert_eq!(p.host_ports, None);
        let p = parse("[::1]:8080:80/tcp");
        assert_eq!(p.host_ip, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(p.to_string(), "[::1]:8080:80/tcp");
    }

    #[test]
    fn ranges_map_port_by_port() {
        let p = parse("8000-8010:8000-8010");
        let r = p.requests();
        assert_eq!(r.len(), 11);
        assert_eq!(
            (r[3].candidates.clone(), r[3].container_port),
            (vec![8003], 8003)
        );
        let p = parse("9000-9002:80-82");
        assert_eq!(p.requests()[2].candidates, vec![9002]);
        assert_eq!(p.requests()[2].container_port, 82);
        // A container range without host ports: one random port each.
        assert_eq!(parse("7000-7001").requests().len(), 2);
    }

    #[test]
    fn host_range_for_one_container_port_offers_the_range() {
        let r = parse("8000-8002:80").requests();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].candidates, vec![8000, 8001, 8002]);
    }

    #[test]
    fn bad_specs_are_errors_that_say_why() {
        for (spec, why) in [
            ("", "not a port number"),
            ("0", "port 0"),
            ("70000", "not a port number"),
            ("8080:80/sctp", "sctp is not supported"),
            ("8080:80/xyz", "unknown protocol"),
            ("a:b:c:d", "expected"),
            ("300.0.0.1:80:80", "not an IP address"),
            ("8010-8000:80", "ends before it starts"),
            ("8000-8001:80-82", "differ in size"),
            ("[::1:80:80", "expected"),
        ] {
            let err = spec.parse::<PortSpec>().unwrap_err();
            assert_eq!(err.spec, spec);
            assert!(err.to_string().contains(why), "{spec}: {err}");
        }
    }
}
