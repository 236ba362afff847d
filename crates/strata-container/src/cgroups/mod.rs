//! Reading a container's cgroup back: the limits runc applied (for `inspect`
//! and tests) and whether the OOM killer struck.
//!
//! [`Cgroup`] is implemented for cgroup v1 ([`v1::V1`]: one dir per controller)
//! and v2 ([`v2::V2`]: one unified dir), both over a root path so that the v2
//! code is tested against a fake tree (this host is hybrid: runc uses v1).

pub mod v1;
pub mod v2;

use std::fs;
use std::path::{Path, PathBuf};

use strata_executor::CgroupLayout;

use crate::error::{io_err, Result};

/// What a container's cgroup says, in docker's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Memory limit in bytes (`None` = unlimited).
    pub memory: Option<i64>,
    /// Memory+swap limit in bytes (`None` = unlimited or not accounted).
    pub memory_swap: Option<i64>,
    /// CFS quota and period in µs (`None` quota = unlimited).
    pub cpu_quota: Option<i64>,
    /// CFS period in µs.
    pub cpu_period: u64,
    /// CPU shares (v1) or the weight converted back to shares (v2).
    pub cpu_shares: u64,
    /// Max pids (`None` = unlimited).
    pub pids_max: Option<i64>,
}

/// One container's cgroup, whatever the version.
pub trait Cgroup {
    /// The limits in force.
    fn applied(&self) -> Result<Applied>;
    /// How many processes the OOM killer killed in it.
    fn oom_kills(&self) -> Result<u64>;
    /// Whether its directories exist.
    fn exists(&self) -> bool;
}

/// The cgroup of `cgroups_path` (the runtime config's `linux.cgroupsPath`)
/// under the host's mount (`/sys/fs/cgroup`), for its layout.
pub fn open(layout: CgroupLayout, mount: &Path, cgroups_path: &str) -> Box<dyn Cgroup> {
    let rel = cgroups_path.trim_start_matches('/');
    match layout {
        CgroupLayout::Unified => Box::new(v2::V2::new(mount.join(rel))),
        CgroupLayout::Hybrid | CgroupLayout::Legacy => Box::new(v1::V1::new(mount, rel)),
    }
}

/// The `cgroupsPath` strata gives container `id`.
pub fn cgroups_path(id: &str) -> String {
    format!("/strata-run/{id}")
}

/// Reads a one-value cgroup file, trimmed; `None` when it does not exist.
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// The value of `key` in a flat-keyed file (`key value` lines).
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// The host's cgroup mount.
pub fn host_mount() -> PathBuf {
    PathBuf::from("/sys/fs/cgroup")
}
