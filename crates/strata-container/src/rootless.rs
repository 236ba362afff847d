//! Rootless: strata run by a user without root, inside a user namespace.
//!
//! A non-root strata re-executes itself ([`reexec_command`]) under util-linux's `unshare`
//! with a user namespace mapping root to the user and uids/gids 1…N to the user's
//! subordinate range of `/etc/subuid` and `/etc/subgid` (through the setuid `newuidmap`/
//! `newgidmap`), and a mount namespace of its own. There layers unpack with their owners,
//! overlay mounts (kernel ≥ 5.11; strata passes `redirect_dir=nofollow`, the only value the
//! kernel accepts there) and runc runs with `--rootless true` and no cgroup. What cannot work
//! says so ([`RootlessError`], [`check_run`]): limits need cgroups, `--network host` a sysfs
//! mount the kernel refuses, `-d` a later command able to manage the container, and a
//! private network needs `/dev/net/tun` usable by the user (checked by `net::attach`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::spec::{Limits, NetworkMode};

pub use strata_executor::runtime::in_user_namespace;

/// Why strata cannot run rootless here.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RootlessError {
    #[error("rootless strata needs a subordinate id range for {user} in {file} (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user})")]
    NoRange { user: String, file: &'static str },
    #[error("rootless strata needs {tool} (apt-get install {package})")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error("{flags}: limits need a cgroup, which a rootless container does not get here (no cgroup delegation to the user): run as root to test limits")]
    Limits { flags: String },
    #[error("--network host is not supported rootless (sysfs cannot be mounted in a user namespace that does not own the network namespace): use --network private or none")]
    HostNetwork,
    #[error("-d is not supported rootless: a rootless container lives in the user namespace of the `strata run` that started it, and later strata commands (in their own) could not stop, exec into or remove it; run it in the foreground")]
    Detached,
}

/// A contiguous subordinate id range: `start` and `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub start: u32,
    pub count: u32,
}

/// The first range of `user` (name or uid) in a `/etc/subuid`-format text.
pub fn find_range(text: &str, user: &str, uid: u32) -> Option<IdRange> {
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        if who != user && who.parse::<u32>().ok() != Some(uid) {
            return None;
        }
        let range = IdRange {
            start: start.parse().ok()?,
            count: count.parse().ok()?,
        };
        (range.count > 0).then_some(range)
    })
}

/// The `unshare` command that runs `exe args` as root of a new user namespace (root = the
/// user, 1…count = the subordinate ranges) and mount namespace, with `STRATA_ROOT` = `root`
/// (inside, uid 0 would default to /var/lib/strata).
pub fn reexec_command(
    exe: &Path,
    args: &[OsString],
    root: &Path,
    uids: IdRange,
    gids: IdRange,
) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "--fork"])
        .arg(format!("--map-users={},1,{}", uids.start, uids.count))
        .arg(format!("--map-groups={},1,{}", gids.start, gids.count))
        .arg("--")
        .arg(exe)
        .args(args)
        .env("STRATA_ROOT", root);
    cmd
}

/// The ranges of the current user, or why rootless cannot start.
pub fn user_ranges() -> Result<(IdRange, IdRange), RootlessError> {
    for (tool, package) in [
        ("unshare", "util-linux"),
        ("newuidmap", "uidmap"),
        ("newgidmap", "uidmap"),
    ] {
        if find_tool(tool).is_none() {
            return Err(RootlessError::MissingTool { tool, package });
        }
    }
    let uid = rustix::process::getuid().as_raw();
    let user = user_name(uid).unwrap_or_else(|| uid.to_string());
    let read = |file: &'static str| {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        find_range(&text, &user, uid).ok_or(RootlessError::NoRange {
            user: user.clone(),
            file,
        })
    };
    Ok((read("/etc/subuid")?, read("/etc/subgid")?))
}

fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
    })
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/bin".into(), "/usr/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What `strata run` cannot do rootless is refused, not ignored: limits (no cgroup), the
/// host network (no sysfs), detached containers (no later command could manage them).
pub fn check_run(limits: &Limits, network: NetworkMode, detach: bool) -> Result<(), RootlessError> {
    if !in_user_namespace() {
        return Ok(());
    }
    refuse_limits(limits)?;
    if network == NetworkMode::Host {
        return Err(RootlessError::HostNetwork);
    }
    if detach {
        return Err(RootlessError::Detached);
    }
    Ok(())
}

fn refuse_limits(limits: &Limits) -> Result<(), RootlessError> {
    let mut flags = Vec::new();
    if limits.memory != 0 {
        flags.push("--memory");
    }
    if limits.memory_swap != 0 {
        flags.push("--memory-swap");
    }
    if limits.nano_cpus != 0 {
        flags.push("--cpus");
    }
    if limits.cpu_shares != 0 {
        flags.push("--cpu-shares");
    }
    if limits.pids_limit != 0 {
        flags.push("--pids-limit");
    }
    if flags.is_empty() {
        return Ok(());
    }
    Err(RootlessError::Limits {
        flags: flags.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_found_by_name_or_uid() {
        let text = "tester:100000:65536\n1002:300000:1000\nbob:200000:0\n";
        assert_eq!(
            find_range(text, "tester", 7),
            Some(IdRange {
                start: 100000,
                count: 65536
            })
        );
        assert_eq!(find_range(text, "someone", 1002).unwrap().start, 300000);
        assert_eq!(find_range(text, "bob", 9), None, "an empty range is none");
        assert_eq!(find_range(text, "nobody", 9), None);
    }

    #[test]
    fn the_reexec_maps_root_and_the_range() {
        let r = IdRange {
            start: 200000,
            count: 65536,
        };
        let cmd = reexec_command(
            Path::new("/usr/bin/strata"),
            &["run".into(), "busybox".into()],
            Path::new("/home/u/.local/share/strata"),
            r,
            r,
        );
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--user",
                "--map-root-user",
                "--mount",
                "--fork",
                "--map-users=200000,1,65536",
                "--map-groups=200000,1,65536",
                "--",
                "/usr/bin/strata",
                "run",
                "busybox"
            ]
        );
        let env: Vec<_> = cmd.get_envs().collect();
        assert_eq!(env[0].0, "STRATA_ROOT");
    }

    #[test]
    fn limits_are_refused_by_name() {
        refuse_limits(&Limits::default()).unwrap();
        let l = Limits {
            memory: 1 << 20,
            pids_limit: 10,
            ..Limits::default()
        };
        let err = refuse_limits(&l).unwrap_err().to_string();
        assert!(
            err.contains("--memory, --pids-limit: limits need a cgroup"),
            "{err}"
        );
    }
}
