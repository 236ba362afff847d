//! cgroup v1: `memory/`, `cpu/`, `pids/` controllers, each with the container's dir.

use std::path::{Path, PathBuf};

use super::{keyed, read_opt, Applied, Cgroup};
use crate::error::Result;

/// v1 values at or above this mean "unlimited" (the page-rounded `LONG_MAX`).
const UNLIMITED: i64 = 0x7FFF_FFFF_FFFF_F000;

/// A container's v1 cgroup: `<mount>/<controller>/<rel>`.
#[derive(Debug, Clone)]
pub struct V1 {
    mount: PathBuf,
    rel: String,
}

impl V1 {
    /// The cgroup `rel` under the v1 mount `mount`.
    pub fn new(mount: &Path, rel: &str) -> V1 {
        V1 {
            mount: mount.to_path_buf(),
            rel: rel.to_string(),
        }
    }

    fn file(&self, controller: &str, name: &str) -> PathBuf {
        self.mount.join(controller).join(&self.rel).join(name)
    }

    fn number(&self, controller: &str, name: &str) -> Result<Option<i64>> {
        Ok(read_opt(&self.file(controller, name))?.and_then(|s| s.parse().ok()))
    }
}

fn limit(v: Option<i64>) -> Option<i64> {
    v.filter(|n| (0..UNLIMITED).contains(n))
}

impl Cgroup for V1 {
    fn applied(&self) -> Result<Applied> {
        let pids = read_opt(&self.file("pids", "pids.max"))?;
        Ok(Applied {
            memory: limit(self.number("memory", "memory.limit_in_bytes")?),
            memory_swap: limit(self.number("memory", "memory.memsw.limit_in_bytes")?),
            cpu_quota: self.number("cpu", "cpu.cfs_quota_us")?.filter(|&q| q > 0),
            cpu_period: self.number("cpu", "cpu.cfs_period_us")?.unwrap_or(0) as u64,
            cpu_shares: self.number("cpu", "cpu.shares")?.unwrap_or(0) as u64,
            pids_max: pids.and_then(|s| s.parse().ok()),
        })
    }

    /// `oom_kill` of `memory.oom_control` (kernels ≥ 4.13); else `under_oom`
    /// with a non-zero `memory.failcnt` counts as one.
    fn oom_kills(&self) -> Result<u64> {
        let Some(text) = read_opt(&self.file("memory", "memory.oom_control"))? else {
            return Ok(0);
        };
        if let Some(n) = keyed(&text, "oom_kill") {
            return Ok(n);
        }
        let failcnt = self.number("memory", "memory.failcnt")?.unwrap_or(0);
        Ok(u64::from(
            keyed(&text, "under_oom") == Some(1) && failcnt > 0,
        ))
    }

    fn exists(&self) -> bool {
        ["memory", "cpu", "pids"]
            .iter()
            .any(|c| self.mount.join(c).join(&self.rel).is_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn reads_a_v1_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let put = |c: &str, f: &str, v: &str| {
            let d = tmp.path().join(c).join("strata-run/x");
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(f), v).unwrap();
        };
        put("memory", "memory.limit_in_bytes", "52428800\n");
        put(
            "memory",
            "memory.memsw.limit_in_bytes",
            "9223372036854771712\n",
        );
        put(
            "memory",
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        );
        put("cpu", "cpu.cfs_quota_us", "50000\n");
        put("cpu", "cpu.cfs_period_us", "100000\n");
        put("cpu", "cpu.shares", "512\n");
        put("pids", "pids.max", "max\n");
        let cg = V1::new(tmp.path(), "strata-run/x");
        let a = cg.applied().unwrap();
        assert_eq!(a.memory, Some(52428800));
        assert_eq!(a.memory_swap, None);
        assert_eq!(
            (a.cpu_quota, a.cpu_period, a.cpu_shares),
            (Some(50000), 100000, 512)
        );
        assert_eq!(a.pids_max, None);
        assert_eq!(cg.oom_kills().unwrap(), 2);
        assert!(cg.exists());
        assert!(!V1::new(tmp.path(), "other").exists());
    }
}
