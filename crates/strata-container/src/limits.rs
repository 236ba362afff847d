//! docker's resource flags: parsing, validation and the runtime config's
//! `linux.resources`.

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

use crate::error::{invalid, Result};
use crate::spec::Limits;

/// The CFS period docker uses with `--cpus` (100 ms).
pub const CPU_PERIOD_US: u64 = 100_000;

/// Docker's minimum `--memory` (6 MiB).
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// The raw flag values, as typed.
#[derive(Debug, Clone, Default)]
pub struct LimitArgs {
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub cpus: Option<String>,
    pub cpu_shares: Option<u64>,
    pub pids_limit: Option<i64>,
}

impl LimitArgs {
    /// Parses and checks the flags together, as docker does.
    pub fn parse(&self) -> Result<Limits> {
        let memory = match &self.memory {
            Some(s) => parse_size("--memory", s)?,
            None => 0,
        };
        if memory != 0 && memory < MIN_MEMORY {
            return Err(invalid("--memory", "minimum memory limit allowed is 6MB"));
        }
        let memory_swap = match self.memory_swap.as_deref() {
            None => 0,
            Some("-1") => -1,
            Some(s) => parse_size("--memory-swap", s)?,
        };
        if memory_swap > 0 && memory == 0 {
            return Err(invalid(
                "--memory-swap",
                "you should always set the memory limit when using the memory swap limit",
            ));
        }
        if memory_swap > 0 && memory_swap < memory {
            return Err(invalid(
                "--memory-swap",
                "minimum memoryswap limit should be larger than memory limit, see usage",
            ));
        }
        Ok(Limits {
            memory,
            memory_swap,
            nano_cpus: self
                .cpus
                .as_deref()
                .map(parse_cpus)
                .transpose()?
                .unwrap_or(0),
            cpu_shares: self.cpu_shares.unwrap_or(0),
            pids_limit: self.pids_limit.unwrap_or(0),
        })
    }
}

/// docker's `RAMInBytes`: a number with an optional `b`, `k`, `m`, `g`, `t`, `p`
/// suffix (binary units, optional trailing `b`, case-insensitive).
pub fn parse_size(flag: &str, s: &str) -> Result<i64> {
    let bad = || invalid(flag, format!("invalid size: {s:?}"));
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.strip_suffix('b').unwrap_or(unit) {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((value * mult) as i64)
}

/// `--cpus 1.5` → 1.5e9 NanoCpus (docker: at most 9 decimals, must be > 0).
pub fn parse_cpus(s: &str) -> Result<i64> {
    let value: f64 = s
        .parse()
        .map_err(|_| invalid("--cpus", format!("{s:?} is not a number")))?;
    if value.is_nan() || value <= 0.0 || !value.is_finite() {
        return Err(invalid(
            "--cpus",
            format!("{s:?}: must be a positive number"),
        ));
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    if value > cpus {
        return Err(invalid(
            "--cpus",
            format!(
                "range of CPUs is from 0.01 to {cpus:.2}, as there are only {cpus} CPUs available"
            ),
        ));
    }
    Ok((value * 1e9).round() as i64)
}

/// The CFS quota (µs per [`CPU_PERIOD_US`]) of `nano_cpus`.
pub fn cpu_quota(nano_cpus: i64) -> i64 {
    nano_cpus * CPU_PERIOD_US as i64 / 1_000_000_000
}

/// `linux.resources` for the runtime (runc applies it to cgroup v1 or v2):
/// `swap` is memory+swap as in docker; unset `--memory-swap` with `--memory`
/// means twice the memory (docker's default).
pub fn resources(l: &Limits) -> Result<LinuxResources> {
    let mut b = LinuxResourcesBuilder::default();
    if l.memory > 0 || l.memory_swap != 0 {
        let mut m = LinuxMemoryBuilder::default();
        if l.memory > 0 {
            m = m.limit(l.memory);
            let swap = match l.memory_swap {
                0 => l.memory * 2,
                s => s,
            };
            m = m.swap(swap);
        }
        b = b.memory(m.build().map_err(spec_err)?);
    }
    if l.nano_cpus > 0 || l.cpu_shares > 0 {
        let mut c = LinuxCpuBuilder::default();
        if l.nano_cpus > 0 {
            c = c.quota(cpu_quota(l.nano_cpus)).period(CPU_PERIOD_US);
        }
        if l.cpu_shares > 0 {
            c = c.shares(l.cpu_shares);
        }
        b = b.cpu(c.build().map_err(spec_err)?);
    }
    if l.pids_limit != 0 {
        let limit = if l.pids_limit < 0 { -1 } else { l.pids_limit };
        b = b.pids(
            LinuxPidsBuilder::default()
                .limit(limit)
                .build()
                .map_err(spec_err)?,
        );
    }
    b.build().map_err(spec_err)
}

fn spec_err(e: oci_spec::OciSpecError) -> crate::Error {
    crate::Error::Other {
        what: "building the runtime's resources".into(),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(memory: Option<&str>, swap: Option<&str>) -> LimitArgs {
        LimitArgs {
            memory: memory.map(str::to_string),
            memory_swap: swap.map(str::to_string),
            ..LimitArgs::default()
        }
    }

    #[test]
    fn sizes_use_docker_units() {
        assert_eq!(parse_size("m", "200m").unwrap(), 200 << 20);
        assert_eq!(parse_size("m", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("m", "1gb").unwrap(), 1 << 30);
        assert_eq!(parse_size("m", "512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("m", "1024").unwrap(), 1024);
        assert_eq!(parse_size("m", "1.5g").unwrap(), 3 << 29);
        for bad in ["", "m", "12x", "1mm", "-5m"] {
            assert!(parse_size("--memory", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn swap_is_checked_against_memory() {
        let l = args(Some("200m"), Some("1g")).parse().unwrap();
        assert_eq!((l.memory, l.memory_swap), (200 << 20, 1 << 30));
        assert_eq!(
            args(Some("200m"), Some("-1")).parse().unwrap().memory_swap,
            -1
        );
        let e = args(Some("200m"), Some("100m"))
            .parse()
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than memory limit"), "{e}");
        let e = args(None, Some("1g")).parse().unwrap_err().to_string();
        assert!(e.contains("always set the memory limit"), "{e}");
        let e = args(Some("1m"), None).parse().unwrap_err().to_string();
        assert!(e.contains("6MB"), "{e}");
    }

    #[test]
    fn cpus_become_a_cfs_quota() {
        assert_eq!(parse_cpus("0.5").unwrap(), 500_000_000);
        assert_eq!(cpu_quota(500_000_000), 50_000);
        assert!(parse_cpus("0").is_err());
        assert!(parse_cpus("abc").is_err());
        assert!(parse_cpus("100000")
            .unwrap_err()
            .to_string()
            .contains("CPUs available"));
    }

    #[test]
    fn resources_follow_docker_defaults() {
        let l = Limits {
            memory: 50 << 20,
            nano_cpus: 500_000_000,
            cpu_shares: 512,
            pids_limit: 64,
            ..Limits::default()
        };
        let r = serde_json::to_value(resources(&l).unwrap()).unwrap();
        assert_eq!(r["memory"]["limit"], 50 << 20);
        assert_eq!(r["memory"]["swap"], 100 << 20);
        assert_eq!(r["cpu"]["quota"], 50_000);
        assert_eq!(r["cpu"]["period"], 100_000);
        assert_eq!(r["cpu"]["shares"], 512);
        assert_eq!(r["pids"]["limit"], 64);
        let unlimited = Limits {
            memory: 50 << 20,
            memory_swap: -1,
            ..Limits::default()
        };
        let r = serde_json::to_value(resources(&unlimited).unwrap()).unwrap();
        assert_eq!(r["memory"]["swap"], -1);
    }
}
