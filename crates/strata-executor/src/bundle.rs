//! The OCI bundle dir of one run: `config.json` and the `/etc` files.

use std::fs;
use std::path::{Path, PathBuf};

use tracing::debug;

use crate::config::{build_config, EtcFiles};
use crate::error::{io_err, Error, Result};
use crate::spec::RunSpec;

/// A written bundle dir (removed by the run's cleanup, not by drop).
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle dir, `<state>/bundles/<id>`.
    pub dir: PathBuf,
}

impl Bundle {
    /// Writes the bundle for `spec` into a new dir `dir`.
    pub fn write(dir: &Path, spec: &RunSpec, cgroups_path: &str) -> Result<Bundle> {
        fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let (hosts, hostname, resolv) = (
            dir.join("hosts"),
            dir.join("hostname"),
            dir.join("resolv.conf"),
        );
        write_file(&hosts, spec.hosts_file.as_bytes())?;
        write_file(&hostname, format!("{}\n", spec.hostname).as_bytes())?;
        let resolv_source = spec
            .resolv_conf
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/resolv.conf"));
        write_file(&resolv, &read_resolv(&resolv_source)?)?;
        let etc = EtcFiles {
            hosts: &hosts,
            hostname: &hostname,
            resolv_conf: &resolv,
        };
        let config = build_config(spec, etc, cgroups_path)?;
        let config_path = dir.join("config.json");
        config.save(&config_path).map_err(Error::Config)?;
        debug!(bundle = %dir.display(), "wrote oci bundle");
        Ok(Bundle {
            dir: dir.to_path_buf(),
        })
    }
}

/// The resolver config; an empty one when the host has none.
fn read_resolv(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(data) => Ok(data),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    fs::write(path, data).map_err(io_err("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_config_and_etc_files() {
        let tmp = tempfile::tempdir().unwrap();
        let resolv = tmp.path().join("my-resolv");
        fs::write(&resolv, "nameserver 192.0.2.1\n").unwrap();
        let mut spec = RunSpec::new(tmp.path(), vec!["true".into()]);
        spec.hostname = "box".into();
        spec.resolv_conf = Some(resolv);
        let dir = tmp.path().join("b");
        Bundle::write(&dir, &spec, "/strata/t").unwrap();
        assert_eq!(fs::read_to_string(dir.join("hostname")).unwrap(), "box\n");
        assert_eq!(
            fs::read_to_string(dir.join("resolv.conf")).unwrap(),
            "nameserver 192.0.2.1\n"
        );
        assert!(fs::read_to_string(dir.join("hosts"))
            .unwrap()
            .contains("localhost"));
        let cfg: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(cfg["hostname"], "box");
    }
}
