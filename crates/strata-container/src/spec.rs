//! What a container was asked to be: [`ContainerConfig`], written as
//! `<root>/containers/<id>/config.json` by `strata run` and read by the
//! monitor, `exec`, `inspect` and `ps`.
//!
//! This is the seam between the lifecycle (state, monitor, limits) and the
//! modules plugged into it (`net`, `tty`, `health`, `exec`): they read this
//! record and nothing else of the command line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything `strata run` resolved: image config merged with the flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// The 64-hex container id.
    pub id: String,
    /// The unique name (`--name`, else a generated `adjective_name`).
    pub name: String,
    /// The image as the user named it (`busybox:latest`).
    pub image: String,
    /// The image's manifest digest (`sha256:…`): what keeps it from pruning.
    pub image_digest: String,
    /// The image's config digest (`sha256:…`).
    pub image_id: String,
    /// The final argv: ENTRYPOINT + CMD after docker's rules.
    pub argv: Vec<String>,
    /// The image's ENTRYPOINT as used (for `inspect` Config.Entrypoint).
    pub entrypoint: Vec<String>,
    /// The image's CMD as used (for `inspect` Config.Cmd).
    pub cmd: Vec<String>,
    /// `KEY=value` pairs: image Env, then `--env-file`, then `-e`.
    pub env: Vec<String>,
    /// The user as given (`-u` or the image's USER), e.g. `www-data` or `1000:1000`.
    pub user: String,
    /// The numeric ids `user` resolved to in the image's /etc/passwd and /etc/group.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups (from /etc/group).
    pub additional_gids: Vec<u32>,
    /// Absolute working directory (created in the rootfs when missing).
    pub workdir: String,
    /// The container's hostname (the short id, like docker).
    pub hostname: String,
    /// Published ports (`-p`).
    pub ports: Vec<PortMapping>,
    /// `--network`.
    pub network: NetworkMode,
    /// `-t`: a pseudo-terminal is the container's stdio.
    pub tty: bool,
    /// `-i`: stdin kept open and relayed.
    pub interactive: bool,
    /// cgroup limits.
    pub limits: Limits,
    /// The image's HEALTHCHECK (or none / disabled).
    pub healthcheck: Option<HealthCheck>,
    /// Signal number `stop` sends first (STOPSIGNAL, default SIGTERM = 15).
    pub stop_signal: i32,
    /// Seconds `stop` waits before SIGKILL (default 10).
    pub stop_timeout: u64,
    /// `--init`: a tiny init (tini) is pid 1 and runs `argv`.
    pub init: bool,
    /// `--read-only`: the rootfs is mounted read-only.
    pub read_only: bool,
    /// `-v` and `--mount`.
    pub mounts: Vec<Mount>,
    /// `--rm`: the monitor removes everything at exit.
    pub auto_remove: bool,
    /// Labels of the image (shown by `inspect`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// When `strata run` created it (RFC 3339).
    pub created: String,
    /// The image's unpacked layer snapshots, top-most first: the overlay's lower dirs.
    pub lowers: Vec<PathBuf>,
    /// The OCI runtime binary (runc) found by `strata run`, used by the monitor.
    #[serde(default)]
    pub runtime: PathBuf,
}

/// One `-p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortMapping {
    /// Address to bind on the host (`0.0.0.0` when not given).
    pub host_ip: String,
    /// Host port (never 0 once the config is written: a free one is picked).
    pub host_port: u16,
    /// Port in the container.
    pub container_port: u16,
    /// Protocol.
    pub proto: Proto,
}

/// A port's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// `tcp` / `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// `--network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Own network namespace with outbound access and `-p` (docker's bridge),
    /// provided by `net::attach`.
    #[default]
    Private,
    /// The host's network namespace.
    Host,
    /// Own network namespace with only `lo`.
    None,
}

impl NetworkMode {
    /// `private` / `host` / `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Private => "private",
            NetworkMode::Host => "host",
            NetworkMode::None => "none",
        }
    }
}

/// cgroup limits, in docker's units after parsing (see `limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Limits {
    /// `--memory` in bytes (0 = unlimited).
    pub memory: i64,
    /// `--memory-swap` in bytes: memory + swap (0 = unset, -1 = unlimited).
    pub memory_swap: i64,
    /// `--cpus` × 1e9 (docker's NanoCpus; 0 = unlimited).
    pub nano_cpus: i64,
    /// `--cpu-shares` (0 = default).
    pub cpu_shares: u64,
    /// `--pids-limit` (0 = unset, -1 = unlimited).
    pub pids_limit: i64,
}

/// The image's HEALTHCHECK (times in nanoseconds like the image config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthCheck {
    /// `["CMD", args…]` or `["CMD-SHELL", "cmd"]` (`NONE` never gets here).
    pub test: Vec<String>,
    /// Between checks (default 30 s).
    pub interval: u64,
    /// One check's limit (default 30 s).
    pub timeout: u64,
    /// Failures during it do not count (default 0).
    pub start_period: u64,
    /// Consecutive failures before `unhealthy` (default 3).
    pub retries: u32,
    /// Between checks while `starting` within the start period (default 5 s).
    #[serde(default)]
    pub start_interval: u64,
}

/// One `-v` / `--mount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    /// `bind` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: MountType,
    /// Host path for binds (absolute); empty for tmpfs.
    pub source: PathBuf,
    /// Absolute path in the container.
    pub destination: String,
    /// Read-only.
    pub read_only: bool,
    /// tmpfs size in bytes.
    #[serde(default)]
    pub tmpfs_size: Option<u64>,
}

/// What a [`Mount`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// A host path.
    Bind,
    /// A fresh tmpfs.
    Tmpfs,
}
