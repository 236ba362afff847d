//! The runtime bundle of a container: the executor's Docker-like config for a
//! [`RunSpec`], plus what `run` adds: `linux.resources`, a read-only root, a
//! network namespace for `private`, a terminal, the `--init` binary.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use strata_executor::bundle::Bundle;
use strata_executor::{MountKind, MountSpec, Network, RunSpec};

use crate::cgroups::cgroups_path;
use crate::error::{Error, Result};
use crate::limits::resources;
use crate::spec::{ContainerConfig, MountType, NetworkMode};

/// Where `--init` finds its init on the host (Debian's `tini` package).
pub const INIT_CANDIDATES: [&str; 3] = [
    "/usr/bin/tini-static",
    "/usr/bin/tini",
    "/usr/bin/catatonit",
];

/// Where the init is bind-mounted in the container (docker's path).
pub const INIT_PATH: &str = "/sbin/docker-init";

/// The host's init binary for `--init`.
pub fn find_init() -> Result<PathBuf> {
    INIT_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| Error::Other {
            what: "--init needs tini (apt-get install tini) or catatonit on the host".into(),
            source: None,
        })
}

/// The executor's spec for `config` over `rootfs`.
pub fn run_spec(config: &ContainerConfig, rootfs: &Path) -> Result<RunSpec> {
    let mut argv = config.argv.clone();
    let mut mounts: Vec<MountSpec> = config.mounts.iter().map(mount_spec).collect();
    if config.init {
        let init = find_init()?;
        mounts.push(MountSpec {
            target: INIT_PATH.into(),
            kind: MountKind::Bind {
                source: init,
                readonly: true,
            },
        });
        argv = [INIT_PATH.to_string(), "--".into()]
            .into_iter()
            .chain(argv)
            .collect();
    }
    let mut spec = RunSpec::new(rootfs, argv);
    spec.env = config.env.clone();
    spec.cwd = config.workdir.clone();
    spec.uid = config.uid;
    spec.gid = config.gid;
    spec.additional_gids = config.additional_gids.clone();
    spec.hostname = config.hostname.clone();
    spec.hosts_file = strata_executor::spec::default_hosts(&config.hostname);
    spec.network = match config.network {
        NetworkMode::Host => Network::Host,
        NetworkMode::Private | NetworkMode::None => Network::None,
    };
    spec.mounts = mounts;
    Ok(spec)
}

fn mount_spec(m: &crate::spec::Mount) -> MountSpec {
    MountSpec {
        target: m.destination.clone(),
        kind: match m.kind {
            MountType::Bind => MountKind::Bind {
                source: m.source.clone(),
                readonly: m.read_only,
            },
            MountType::Tmpfs => MountKind::Tmpfs {
                size: m.tmpfs_size,
                readonly: m.read_only,
            },
        },
    }
}

/// Writes the bundle of `config` into `dir` and returns the runtime config; with `netns`,
/// the container joins that network namespace (made before it) instead of a new one.
pub fn write(
    dir: &Path,
    config: &ContainerConfig,
    rootfs: &Path,
    netns: Option<&Path>,
) -> Result<Spec> {
    let mut spec = run_spec(config, rootfs)?;
    spec.validate()?;
    // A private network resolves through slirp4netns's forwarder (10.0.2.3).
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if let Some(text) = crate::net::resolv_conf(config.network, &host_resolv) {
        let path = dir.with_extension("resolv.conf");
        std::fs::write(&path, text).map_err(crate::error::io_err("write", &path))?;
        spec.resolv_conf = Some(path);
    }
    Bundle::write(dir, &spec, &cgroups_path(&config.id))?;
    let path = dir.join("config.json");
    let mut oci = Spec::load(&path).map_err(strata_executor::Error::Config)?;
    adjust(&mut oci, config)?;
    if let Some(netns) = netns {
        join_netns(&mut oci, netns);
    }
    if strata_executor::runtime::in_user_namespace() {
        // Rootless: no cgroup of our own (runc --rootless skips cgroups it may not create
        // only when no path is set); limits were refused before (`rootless::check_limits`).
        if let Some(linux) = oci.linux_mut() {
            linux.set_cgroups_path(None);
        }
    }
    oci.save(&path).map_err(strata_executor::Error::Config)?;
    Ok(oci)
}

/// Points the config's network namespace at `path` (runc joins it: `setns`).
fn join_netns(oci: &mut Spec, path: &Path) {
    use oci_spec::runtime::LinuxNamespaceType;
    let Some(linux) = oci.linux_mut() else {
        return;
    };
    let Some(namespaces) = linux.namespaces_mut() else {
        return;
    };
    for ns in namespaces.iter_mut() {
        if ns.typ() == LinuxNamespaceType::Network {
            ns.set_path(Some(path.to_path_buf()));
        }
    }
}

/// What `run` changes in the executor's config.
pub fn adjust(oci: &mut Spec, config: &ContainerConfig) -> Result<()> {
    if let Some(root) = oci.root().clone() {
        let mut root = root;
        root.set_readonly(Some(config.read_only));
        oci.set_root(Some(root));
    }
    if let Some(mut process) = oci.process().clone() {
        process.set_terminal(Some(config.tty));
        oci.set_process(Some(process));
    }
    if let Some(mut linux) = oci.linux().clone() {
        linux.set_resources(Some(resources(&config.limits)?));
        oci.set_linux(Some(linux));
    }
    Ok(())
}

/// A plain config for unit tests.
#[cfg(test)]
pub(crate) fn tests_config() -> ContainerConfig {
    tests::config()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Limits, Mount};

    pub(crate) fn config() -> ContainerConfig {
        ContainerConfig {
            id: "a".repeat(64),
            name: "n".into(),
            image: "busybox".into(),
            image_digest: "sha256:x".into(),
            image_id: "sha256:y".into(),
            argv: vec!["sh".into()],
            entrypoint: vec![],
            cmd: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            user: String::new(),
            uid: 0,
            gid: 0,
            additional_gids: vec![],
            workdir: "/".into(),
            hostname: "aaaaaaaaaaaa".into(),
            ports: vec![],
            network: NetworkMode::Private,
            tty: false,
            interactive: false,
            limits: Limits::default(),
            healthcheck: None,
            stop_signal: 15,
            stop_timeout: 10,
            init: false,
            read_only: false,
            mounts: vec![],
            auto_remove: false,
            labels: Default::default(),
            created: String::new(),
            lowers: vec![],
            runtime: PathBuf::new(),
        }
    }

    #[test]
    fn bundle_has_limits_readonly_root_and_netns() {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        let mut c = config();
        c.read_only = true;
        c.tty = true;
        c.limits.memory = 50 << 20;
        c.mounts.push(Mount {
            kind: MountType::Tmpfs,
            source: PathBuf::new(),
            destination: "/scratch".into(),
            read_only: false,
            tmpfs_size: Some(1 << 20),
        });
        let spec = write(&tmp.path().join("b"), &c, &rootfs, None).unwrap();
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(v["root"]["readonly"], true);
        assert_eq!(v["process"]["terminal"], true);
        assert_eq!(v["linux"]["resources"]["memory"]["limit"], 50 << 20);
        assert_eq!(v["linux"]["cgroupsPath"], format!("/strata-run/{}", c.id));
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert!(ns.contains(&"network"), "{ns:?}");
        let net = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["type"] == "network")
            .unwrap();
        assert!(net.get("path").is_none(), "{net}");
        assert!(v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["destination"] == "/scratch"));
    }

    #[test]
    fn a_network_namespace_made_before_is_joined_by_path() {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        let netns = Path::new("/run/strata/0123456789abcdef/netns");
        let spec = write(&tmp.path().join("b"), &config(), &rootfs, Some(netns)).unwrap();
        let v = serde_json::to_value(&spec).unwrap();
        let namespaces = v["linux"]["namespaces"].as_array().unwrap();
        let net: Vec<_> = namespaces
            .iter()
            .filter(|n| n["type"] == "network")
            .collect();
        assert_eq!(net.len(), 1, "{namespaces:?}");
        assert_eq!(net[0]["path"], netns.to_str().unwrap());
        // The saved config is what runc reads.
        let saved: serde_json::Value = serde_json::from_slice(
            &std::fs::read(tmp.path().join("b").join("config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(saved["linux"]["namespaces"], v["linux"]["namespaces"]);
    }

    #[test]
    fn host_network_has_no_netns_and_init_wraps_argv() {
        let mut c = config();
        c.network = NetworkMode::Host;
        let spec = run_spec(&c, Path::new("/r")).unwrap();
        assert_eq!(spec.network, Network::Host);
        if find_init().is_ok() {
            c.init = true;
            let spec = run_spec(&c, Path::new("/r")).unwrap();
            assert_eq!(spec.args[..2], [INIT_PATH.to_string(), "--".into()]);
        }
    }
}
