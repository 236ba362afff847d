//! The OCI runtime `config.json` for a [`RunSpec`].
//!
//! Close to what Docker/BuildKit give a RUN step: mount, pid, ipc and uts
//! namespaces (plus network for [`Network::None`]); `/proc`, a tmpfs `/dev` with
//! the runtime's default devices, `/dev/pts`, `/dev/shm`, `/dev/mqueue` and a
//! read-only `/sys`; Docker's default capabilities; masked and read-only /proc
//! paths; `noNewPrivileges=false`; no terminal. No seccomp or AppArmor profile.

use std::path::Path;

use oci_spec::runtime::{
    get_default_maskedpaths, get_default_mounts, get_default_readonly_paths, Capabilities,
    Capability, LinuxCapabilitiesBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Mount,
    MountBuilder, PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, RootBuilder, Spec,
    SpecBuilder, UserBuilder,
};

use crate::error::Result;
use crate::spec::{MountKind, MountSpec, Network, RunSpec};

/// Docker's default capability set.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Files in the bundle dir bind-mounted read-only over `/etc/...`.
#[derive(Debug, Clone, Copy)]
pub struct EtcFiles<'a> {
    pub hosts: &'a Path,
    pub hostname: &'a Path,
    pub resolv_conf: &'a Path,
}

/// Builds the runtime config for `spec`; `cgroups_path` must be unique per run.
pub fn build_config(spec: &RunSpec, etc: EtcFiles<'_>, cgroups_path: &str) -> Result<Spec> {
    let root = RootBuilder::default()
        .path(spec.rootfs.clone())
        .readonly(false)
        .build()?;
    let config = SpecBuilder::default()
        .version("1.0.2")
        .root(root)
        .hostname(spec.hostname.clone())
        .process(build_process(spec)?)
        .mounts(build_mounts(spec, etc)?)
        .linux(build_linux(spec.network, cgroups_path)?)
        .build()?;
    Ok(config)
}

fn build_process(spec: &RunSpec) -> Result<oci_spec::runtime::Process> {
    let caps: Capabilities = DEFAULT_CAPABILITIES.into_iter().collect();
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()?;
    let user = UserBuilder::default()
        .uid(spec.uid)
        .gid(spec.gid)
        .additional_gids(spec.additional_gids.clone())
        .build()?;
    let limit = nofile_limit();
    let nofile = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(limit)
        .hard(limit)
        .build()?;
    Ok(ProcessBuilder::default()
        .terminal(false)
        .user(user)
        .args(spec.args.clone())
        .env(spec.env.clone())
        .cwd(spec.cwd.clone())
        .capabilities(capabilities)
        .rlimits(vec![nofile])
        .no_new_privileges(false)
        .build()?)
}

/// RLIMIT_NOFILE for the process: 1048576 (Docker's), capped at our own hard
/// limit, since raising it needs CAP_SYS_RESOURCE in the initial user namespace.
pub fn nofile_limit() -> u64 {
    let ours = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
    ours.unwrap_or(u64::MAX).min(1_048_576)
}

fn build_mounts(spec: &RunSpec, etc: EtcFiles<'_>) -> Result<Vec<Mount>> {
    let mut mounts: Vec<Mount> = get_default_mounts()
        .into_iter()
        .filter(|m| m.destination() != Path::new("/sys/fs/cgroup"))
        .collect();
    for (dest, source) in [
        ("/etc/hosts", etc.hosts),
        ("/etc/hostname", etc.hostname),
        ("/etc/resolv.conf", etc.resolv_conf),
    ] {
        mounts.push(bind(dest, source, true)?);
    }
    for m in &spec.mounts {
        mounts.push(user_mount(m)?);
    }
    Ok(mounts)
}

fn bind(dest: &str, source: &Path, readonly: bool) -> Result<Mount> {
    let mut options = vec!["rbind".to_string(), "nosuid".into(), "nodev".into()];
    options.push(if readonly { "ro" } else { "rw" }.into());
    Ok(MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(source)
        .options(options)
        .build()?)
}

fn user_mount(m: &MountSpec) -> Result<Mount> {
    match &m.kind {
        MountKind::Bind { source, readonly } => {
            let mut mount = bind(&m.target, source, *readonly)?;
            mount.set_options(Some(vec![
                "rbind".into(),
                if *readonly { "ro" } else { "rw" }.into(),
            ]));
            Ok(mount)
        }
        MountKind::Tmpfs { size, readonly } => {
            let mut options = vec!["nosuid".to_string(), "nodev".into(), "mode=1777".into()];
            options.extend(size.map(|s| format!("size={s}")));
            if *readonly {
                options.push("ro".into());
            }
            Ok(MountBuilder::default()
                .destination(&m.target)
                .typ("tmpfs")
                .source("tmpfs")
                .options(options)
                .build()?)
        }
    }
}

fn build_linux(network: Network, cgroups_path: &str) -> Result<oci_spec::runtime::Linux> {
    let mut kinds = vec![
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
    ];
    if network == Network::None {
        kinds.push(LinuxNamespaceType::Network);
    }
    let namespaces = kinds
        .into_iter()
        .map(|typ| LinuxNamespaceBuilder::default().typ(typ).build())
        .collect::<Result<Vec<_>, _>>()?;
    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_namespaces(Some(namespaces));
    linux.set_cgroups_path(Some(cgroups_path.into()));
    linux.set_masked_paths(Some(get_default_maskedpaths()));
    linux.set_readonly_paths(Some(get_default_readonly_paths()));
    Ok(linux)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn etc() -> EtcFiles<'static> {
        EtcFiles {
            hosts: Path::new("/b/hosts"),
            hostname: Path::new("/b/hostname"),
            resolv_conf: Path::new("/b/resolv.conf"),
        }
    }

    fn json(spec: &RunSpec) -> serde_json::Value {
        serde_json::to_value(build_config(spec, etc(), "/strata/x").unwrap()).unwrap()
    }

    fn spec() -> RunSpec {
        let mut s = RunSpec::new("/r", vec!["sh".into(), "-c".into(), "true".into()]);
        s.uid = 1000;
        s.gid = 1001;
        s.additional_gids = vec![5];
        s.env = vec!["A=1".into()];
        s.cwd = "/w".into();
        s
    }

    #[test]
    fn process_fields_come_from_the_spec() {
        let v = json(&spec());
        let p = &v["process"];
        assert_eq!(p["args"], serde_json::json!(["sh", "-c", "true"]));
        assert_eq!(p["env"], serde_json::json!(["A=1"]));
        assert_eq!(p["cwd"], "/w");
        assert_eq!(p["user"]["uid"], 1000);
        assert_eq!(p["user"]["gid"], 1001);
        assert_eq!(p["user"]["additionalGids"], serde_json::json!([5]));
        assert_eq!(p["terminal"], false);
        assert_eq!(p["noNewPrivileges"], false);
        assert_eq!(p["capabilities"]["bounding"].as_array().unwrap().len(), 14);
        assert_eq!(v["root"]["path"], "/r");
        assert_eq!(v["root"]["readonly"], false);
        assert_eq!(v["hostname"], "strata");
    }

    #[test]
    fn network_namespace_only_for_network_none() {
        let ns = |v: &serde_json::Value| -> Vec<String> {
            v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["type"].as_str().unwrap().to_string())
                .collect()
        };
        let mut s = spec();
        assert_eq!(ns(&json(&s)), ["mount", "pid", "ipc", "uts"]);
        s.network = Network::None;
        assert!(ns(&json(&s)).contains(&"network".to_string()));
    }

    #[test]
    fn etc_files_and_user_mounts_are_mounted_after_the_defaults() {
        let mut s = spec();
        s.mounts.push(MountSpec {
            target: "/cache".into(),
            kind: MountKind::Bind {
                source: PathBuf::from("/host/c"),
                readonly: true,
            },
        });
        s.mounts.push(MountSpec {
            target: "/tmp".into(),
            kind: MountKind::Tmpfs {
                size: Some(1 << 20),
                readonly: true,
            },
        });
        let v = json(&s);
        let mounts = v["mounts"].as_array().unwrap();
        let dests: Vec<&str> = mounts
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/etc/hosts",
                "/etc/hostname",
                "/etc/resolv.conf",
                "/cache",
                "/tmp"
            ]
        );
        assert_eq!(mounts[6]["source"], "/b/hosts");
        assert!(mounts[6]["options"]
            .as_array()
            .unwrap()
            .contains(&"ro".into()));
        assert_eq!(mounts[9]["options"], serde_json::json!(["rbind", "ro"]));
        let tmpfs = mounts[10]["options"].as_array().unwrap();
        assert!(tmpfs.contains(&"size=1048576".into()) && tmpfs.contains(&"ro".into()));
        assert_eq!(v["linux"]["cgroupsPath"], "/strata/x");
    }
}
