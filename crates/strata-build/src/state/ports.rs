//! EXPOSE's port specs, as BuildKit v0.24 reads them
//! (`frontend/dockerfile/dockerfile2llb/convert_expose.go`, `parsePort`): `[ip:][host:]port[-end][/proto]`,
//! a range becomes one key per port, the protocol (`tcp`, `udp`, `sctp`, any case) is
//! lowercased and defaults to `tcp`. An IP or host part is accepted and dropped, as BuildKit
//! does (its linter warns).

use std::net::IpAddr;

/// Why an EXPOSE port spec is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortError {
    #[error("invalid port: {spec:?}: {reason}")]
    Invalid { spec: String, reason: String },
}

/// The `port/proto` keys one EXPOSE argument adds to the image config.
pub fn expose_keys(spec: &str) -> Result<Vec<String>, PortError> {
    let invalid = |reason: String| PortError::Invalid {
        spec: spec.to_owned(),
        reason,
    };
    let (ip, host, container) = split_parts(spec);
    let (port, proto) = container.split_once('/').unwrap_or((container, ""));
    if port.is_empty() {
        return Err(invalid("no port specified".into()));
    }
    let proto = match proto.to_ascii_lowercase().as_str() {
        "" => "tcp".to_owned(),
        p @ ("tcp" | "udp" | "sctp") => p.to_owned(),
        _ => return Err(invalid(format!("invalid proto: {proto}"))),
    };
    check_ip(ip).map_err(invalid)?;
    let (start, end) =
        port_range(port).map_err(|_| invalid(format!("invalid containerPort: {port}")))?;
    if !host.is_empty() {
        let (hs, he) =
            port_range(host).map_err(|_| invalid(format!("invalid hostPort: {host}")))?;
        if end - start != he - hs && end != start {
            return Err(invalid(format!(
                "invalid ranges specified for container and host Ports: {port} and {host}"
            )));
        }
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// `ip:host:port` split from the right, as BuildKit's `splitParts` (IPv6 keeps its colons).
fn split_parts(spec: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.len() {
        1 => ("", "", parts[0]),
        2 => ("", parts[0], parts[1]),
        n => {
            let host_at = spec.len() - parts[n - 1].len() - parts[n - 2].len() - 2;
            (&spec[..host_at], parts[n - 2], parts[n - 1])
        }
    }
}

fn check_ip(ip: &str) -> Result<(), String> {
    let bare = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip);
    if ip.is_empty() || bare.parse::<IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(format!("invalid IP address: {ip}"))
    }
}

fn port_range(ports: &str) -> Result<(u32, u32), ()> {
    let (start, end) = ports.split_once('-').unwrap_or((ports, ports));
    let (start, end) = (port_number(start)?, port_number(end)?);
    if end < start {
        return Err(());
    }
    Ok((start, end))
}

fn port_number(raw: &str) -> Result<u32, ()> {
    raw.parse::<u32>().ok().filter(|p| *p <= 65535).ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &str) -> Vec<String> {
        expose_keys(spec).unwrap()
    }

    #[test]
    fn expose_range_records_each_port() {
        // convert_expose.go parsePort: one "N/proto" per port of the range.
        assert_eq!(keys("8000-8002"), ["8000/tcp", "8001/tcp", "8002/tcp"]);
        assert_eq!(keys("53-54/udp"), ["53/udp", "54/udp"]);
        assert_eq!(keys("7-7"), ["7/tcp"]);
    }

    #[test]
    fn expose_protocol_is_lowercased() {
        // convert_expose.go: strings.ToLower(proto); tcp is the default.
        assert_eq!(keys("80/UDP"), ["80/udp"]);
        assert_eq!(keys("80/Sctp"), ["80/sctp"]);
        assert_eq!(keys("80"), ["80/tcp"]);
    }

    #[test]
    fn expose_drops_ip_and_host_parts() {
        // convert_expose.go: ip and hostPort are validated, then only the container port kept.
        assert_eq!(keys("127.0.0.1:8080:80"), ["80/tcp"]);
        assert_eq!(keys("8080:80/udp"), ["80/udp"]);
        assert_eq!(keys("[::1]:8080:80"), ["80/tcp"]);
        assert_eq!(
            keys("9000-9001:80"),
            ["80/tcp"],
            "a host range with one port"
        );
    }

    #[test]
    fn expose_rejects_bad_specs() {
        for bad in [
            "",
            "/tcp",
            "80/icmp",
            "http",
            "70000",
            "90-80",
            "1.2.3:80:80",
            "1-2:3-5",
        ] {
            assert!(expose_keys(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            expose_keys("80/icmp").unwrap_err().to_string(),
            "invalid port: \"80/icmp\": invalid proto: icmp"
        );
    }
}
