//! What to run: [`RunSpec`] and its parts, with validation.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The container's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Share the host's network namespace (Docker's `--network host`).
    #[default]
    Host,
    /// A new network namespace with only `lo` (up).
    None,
}

/// What a [`MountSpec`] mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A recursive bind mount of a host path.
    Bind { source: PathBuf, readonly: bool },
    /// A fresh tmpfs, optionally size-limited (bytes) and read-only.
    Tmpfs { size: Option<u64>, readonly: bool },
}

/// One extra mount in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// Absolute path in the container.
    pub target: String,
    /// What to mount there.
    pub kind: MountKind,
}

/// A process to run in a container over an already mounted root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// The container's root (e.g. [`strata_snapshot::ActiveMount::rootfs`]).
    pub rootfs: PathBuf,
    /// argv; `args[0]` is looked up in the container's PATH by the runtime.
    pub args: Vec<String>,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    /// Absolute working directory (created by the runtime if missing).
    pub cwd: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// Hostname (UTS namespace) and the content of `/etc/hostname`.
    pub hostname: String,
    /// The network namespace.
    pub network: Network,
    /// Extra mounts, in order.
    pub mounts: Vec<MountSpec>,
    /// The content of `/etc/hosts`.
    pub hosts_file: String,
    /// `/etc/resolv.conf` source; the host's when `None`.
    pub resolv_conf: Option<PathBuf>,
}

impl RunSpec {
    /// A spec with Docker-like defaults: root, cwd `/`, the standard PATH,
    /// hostname `strata`, host network and a localhost-only hosts file.
    pub fn new(rootfs: impl Into<PathBuf>, args: Vec<String>) -> RunSpec {
        RunSpec {
            rootfs: rootfs.into(),
            args,
            env: vec![DEFAULT_PATH.to_string()],
            cwd: "/".into(),
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            hostname: "strata".into(),
            network: Network::Host,
            mounts: Vec::new(),
            hosts_file: default_hosts("strata"),
            resolv_conf: None,
        }
    }

    /// Checks what the runtime would otherwise reject with a vaguer message.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: String| Err(Error::InvalidSpec { reason });
        if self.args.is_empty() {
            return invalid("no command given".into());
        }
        if !self.cwd.starts_with('/') {
            return invalid(format!("working directory {:?} is not absolute", self.cwd));
        }
        if !self.rootfs.is_absolute() || !self.rootfs.is_dir() {
            return invalid(format!(
                "rootfs {} is not an absolute dir",
                self.rootfs.display()
            ));
        }
        if let Some(bad) = self.env.iter().find(|e| !e.contains('=')) {
            return invalid(format!("environment entry {bad:?} has no '='"));
        }
        self.mounts.iter().try_for_each(validate_mount)
    }
}

fn validate_mount(m: &MountSpec) -> Result<()> {
    let invalid = |reason: String| Err(Error::InvalidSpec { reason });
    if !m.target.starts_with('/') || m.target.split('/').any(|c| c == "..") {
        return invalid(format!(
            "mount target {:?} must be absolute without '..'",
            m.target
        ));
    }
    match &m.kind {
        MountKind::Bind { source, .. } if !source.exists() => invalid(format!(
            "bind mount source {} does not exist",
            source.display()
        )),
        _ => Ok(()),
    }
}

/// The PATH Docker sets when an image has none.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A hosts file with the localhost entries and `hostname` mapped to loopback.
pub fn default_hosts(hostname: &str) -> String {
    format!("127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RunSpec {
        RunSpec::new("/", vec!["true".into()])
    }

    #[test]
    fn defaults_are_valid() {
        spec().validate().unwrap();
        assert!(spec().hosts_file.contains("localhost strata"));
    }

    #[test]
    fn rejects_bad_specs_with_reasons() {
        type Edit = fn(&mut RunSpec);
        let cases: Vec<(Edit, &str)> = vec![
            (|s| s.args.clear(), "no command"),
            (|s| s.cwd = "rel".into(), "not absolute"),
            (|s| s.env.push("NOEQ".into()), "has no '='"),
            (|s| s.rootfs = "relative".into(), "rootfs"),
            (
                |s| {
                    s.mounts.push(MountSpec {
                        target: "/a/../b".into(),
                        kind: MountKind::Tmpfs {
                            size: None,
                            readonly: false,
                        },
                    })
                },
                "without '..'",
            ),
            (
                |s| {
                    s.mounts.push(MountSpec {
                        target: "/m".into(),
                        kind: MountKind::Bind {
                            source: "/no/such/dir".into(),
                            readonly: true,
                        },
                    })
                },
                "does not exist",
            ),
        ];
        for (edit, want) in cases {
            let mut s = spec();
            edit(&mut s);
            let msg = s.validate().unwrap_err().to_string();
            assert!(msg.contains(want), "{msg} should contain {want}");
        }
    }
}
