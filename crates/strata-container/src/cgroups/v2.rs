//! cgroup v2: one unified dir per container (`memory.max`, `memory.swap.max`,
//! `cpu.max`, `cpu.weight`, `pids.max`, `memory.events`).

use std::path::PathBuf;

use super::{keyed, read_opt, Applied, Cgroup};
use crate::error::Result;

/// A container's v2 cgroup dir.
#[derive(Debug, Clone)]
pub struct V2 {
    dir: PathBuf,
}

impl V2 {
    /// The cgroup at `dir`.
    pub fn new(dir: PathBuf) -> V2 {
        V2 { dir }
    }

    fn read(&self, name: &str) -> Result<Option<String>> {
        read_opt(&self.dir.join(name))
    }
}

/// `max` → unlimited; a number otherwise.
fn max_or(v: Option<String>) -> Option<i64> {
    v.filter(|s| s != "max").and_then(|s| s.parse().ok())
}

/// runc's shares→weight conversion, inverted:
/// `weight = 1 + ((shares - 2) * 9999) / 262142`.
pub fn weight_to_shares(weight: u64) -> u64 {
    if weight == 0 {
        return 0;
    }
    2 + ((weight - 1) * 262_142).div_ceil(9999)
}

impl Cgroup for V2 {
    fn applied(&self) -> Result<Applied> {
        let memory = max_or(self.read("memory.max")?);
        // v2 keeps swap apart: docker's memory+swap is the sum.
        let swap = max_or(self.read("memory.swap.max")?);
        let (quota, period) = match self.read("cpu.max")? {
            Some(s) => {
                let mut it = s.split_whitespace();
                let q = it
                    .next()
                    .filter(|q| *q != "max")
                    .and_then(|q| q.parse().ok());
                (q, it.next().and_then(|p| p.parse().ok()).unwrap_or(100_000))
            }
            None => (None, 0),
        };
        let weight = self
            .read("cpu.weight")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok(Applied {
            memory,
            memory_swap: memory.zip(swap).map(|(m, s)| m + s),
            cpu_quota: quota,
            cpu_period: period,
            cpu_shares: weight_to_shares(weight),
            pids_max: max_or(self.read("pids.max")?),
        })
    }

    /// `oom_kill` of `memory.events`.
    fn oom_kills(&self) -> Result<u64> {
        Ok(self
            .read("memory.events")?
            .and_then(|t| keyed(&t, "oom_kill"))
            .unwrap_or(0))
    }

    fn exists(&self) -> bool {
        self.dir.is_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake v2 tree with what runc writes for `--memory 50m --memory-swap 100m
    /// --cpus 0.5 --cpu-shares 512 --pids-limit 64` and one OOM kill.
    #[test]
    fn reads_a_v2_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("strata-run/x");
        fs::create_dir_all(&dir).unwrap();
        for (f, v) in [
            ("memory.max", "52428800\n"),
            ("memory.swap.max", "52428800\n"),
            ("cpu.max", "50000 100000\n"),
            ("cpu.weight", "20\n"),
            ("pids.max", "64\n"),
            (
                "memory.events",
                "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
            ),
        ] {
            fs::write(dir.join(f), v).unwrap();
        }
        let cg = super::super::open(
            strata_executor::CgroupLayout::Unified,
            tmp.path(),
            "/strata-run/x",
        );
        let a = cg.applied().unwrap();
        assert_eq!(a.memory, Some(52428800));
        assert_eq!(a.memory_swap, Some(104857600));
        assert_eq!((a.cpu_quota, a.cpu_period), (Some(50000), 100000));
        assert!((500..=512).contains(&a.cpu_shares), "{}", a.cpu_shares);
        assert_eq!(a.pids_max, Some(64));
        assert_eq!(cg.oom_kills().unwrap(), 1);
        assert!(cg.exists());
    }

    #[test]
    fn max_means_unlimited_and_no_events_no_kills() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("memory.max"), "max\n").unwrap();
        fs::write(tmp.path().join("cpu.max"), "max 100000\n").unwrap();
        fs::write(tmp.path().join("pids.max"), "max\n").unwrap();
        let cg = V2::new(tmp.path().to_path_buf());
        let a = cg.applied().unwrap();
        assert_eq!((a.memory, a.cpu_quota, a.pids_max), (None, None, None));
        assert_eq!(a.cpu_period, 100000);
        assert_eq!(cg.oom_kills().unwrap(), 0);
        assert!(!V2::new(tmp.path().join("gone")).exists());
    }

    #[test]
    fn weight_round_trips_runc_conversion() {
        for shares in [2u64, 512, 1024, 262144] {
            let weight = 1 + ((shares - 2) * 9999) / 262_142;
            let back = weight_to_shares(weight);
            // The conversion loses precision; docker shows the shares asked for.
            assert!(
                back.abs_diff(shares) <= 27,
                "{shares} -> {weight} -> {back}"
            );
        }
    }
}
