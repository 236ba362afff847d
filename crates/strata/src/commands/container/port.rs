//! `strata port CONTAINER [PORT[/PROTO]]`: the published ports a container recorded.

use std::path::Path;

use anyhow::{Context, Result};
use strata_container::containers::Containers;

/// `strata port CONTAINER [PORT[/PROTO]]`: docker's lines, `80/tcp -> 0.0.0.0:8080`, or only
/// the host address of PORT; an error naming the port when it is not published.
pub fn port(root: &Path, container: &str, port: Option<&str>) -> Result<()> {
    let c = Containers::new(root).find(container)?;
    let wanted = match port {
        None => None,
        Some(p) => {
            let (number, proto) = p.split_once('/').unwrap_or((p, "tcp"));
            let number: u16 = number
                .parse()
                .with_context(|| format!("invalid port {p:?}"))?;
            Some((number, proto.to_string()))
        }
    };
    let mut found = false;
    for m in &c.config.ports {
        let host = format!("{}:{}", m.host_ip, m.host_port);
        match &wanted {
            None => super::super::out(format!(
                "{}/{} -> {host}",
                m.container_port,
                m.proto.as_str()
            ))?,
            Some((n, proto)) if *n == m.container_port && proto == m.proto.as_str() => {
                super::super::out(host)?
            }
            Some(_) => continue,
        }
        found = true;
    }
    if let (Some(p), false) = (port, found) {
        anyhow::bail!("no public port '{p}' published for {container}");
    }
    Ok(())
}
