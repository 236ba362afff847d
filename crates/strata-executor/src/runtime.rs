//! Finding and checking the OCI runtime binary (runc, crun).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tracing::{debug, warn};

use crate::error::{Error, Result};

/// Runtimes tried in order when none is named: runc first (crun fails on hybrid
/// cgroup v1/v2 hosts).
pub const CANDIDATES: [&str; 2] = ["runc", "crun"];

/// Directories searched after `$PATH` (root's sbin dirs are often missing from it).
const EXTRA_DIRS: [&str; 4] = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin"];

/// How the host mounts cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// cgroup v2 only at `/sys/fs/cgroup`.
    Unified,
    /// cgroup v1 controllers plus a v2 hierarchy at `/sys/fs/cgroup/unified`.
    Hybrid,
    /// cgroup v1 only.
    Legacy,
}

impl CgroupLayout {
    /// Reads the layout of this host from the filesystem magic numbers.
    pub fn detect() -> CgroupLayout {
        const CGROUP2_MAGIC: i64 = 0x6367_7270;
        // f_type's integer type differs between architectures.
        #[allow(clippy::unnecessary_cast)]
        let is_v2 = |p: &str| {
            rustix::fs::statfs(p)
                .map(|s| s.f_type as i64 == CGROUP2_MAGIC)
                .unwrap_or(false)
        };
        if is_v2("/sys/fs/cgroup") {
            CgroupLayout::Unified
        } else if is_v2("/sys/fs/cgroup/unified") {
            CgroupLayout::Hybrid
        } else {
            CgroupLayout::Legacy
        }
    }
}

/// An OCI runtime binary that answered `--version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// Short name (file name of the binary), e.g. `runc`.
    pub name: String,
    /// Absolute path of the binary.
    pub path: PathBuf,
    /// First line of `--version`.
    pub version: String,
}

impl Runtime {
    /// Finds a runtime: `preferred` (a name looked up in PATH, or a path) if
    /// given, else the first usable of [`CANDIDATES`].
    pub fn detect(preferred: Option<&str>) -> Result<Runtime> {
        let path_var = std::env::var("PATH").unwrap_or_default();
        match preferred {
            Some(p) => Self::detect_preferred(p, &path_var),
            None => Self::detect_auto(&path_var, CgroupLayout::detect()),
        }
    }

    fn detect_preferred(preferred: &str, path_var: &str) -> Result<Runtime> {
        let path = if preferred.contains('/') {
            PathBuf::from(preferred)
        } else {
            find_in_path(preferred, path_var).ok_or_else(|| Error::NoRuntime {
                tried: format!("{preferred} is not in PATH"),
            })?
        };
        let rt = Self::probe(&path)?;
        if rt.name == "crun" && CgroupLayout::detect() == CgroupLayout::Hybrid {
            warn!("crun is known to fail on hybrid cgroup hosts like this one; prefer runc");
        }
        Ok(rt)
    }

    fn detect_auto(path_var: &str, layout: CgroupLayout) -> Result<Runtime> {
        let mut tried = Vec::new();
        for name in CANDIDATES {
            let Some(path) = find_in_path(name, path_var) else {
                tried.push(format!("{name}: not found"));
                continue;
            };
            if name == "crun" && layout == CgroupLayout::Hybrid {
                tried.push(format!(
                    "{}: skipped on a hybrid cgroup host",
                    path.display()
                ));
                continue;
            }
            match Self::probe(&path) {
                Ok(rt) => return Ok(rt),
                Err(e) => tried.push(e.to_string()),
            }
        }
        Err(Error::NoRuntime {
            tried: tried.join("; "),
        })
    }

    /// Checks that `path` runs and reports a version.
    pub fn probe(path: &Path) -> Result<Runtime> {
        let unusable = |reason: String| Error::RuntimeUnusable {
            path: path.to_path_buf(),
            reason,
        };
        let out = version_output(path).map_err(|e| unusable(format!("cannot run it: {e}")))?;
        if !out.status.success() {
            return Err(unusable(format!("`--version` exited with {}", out.status)));
        }
        let version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        debug!(runtime = %path.display(), %version, "found oci runtime");
        Ok(Runtime {
            name,
            path: path.to_path_buf(),
            version,
        })
    }

    /// The runtime binary at `path`, not probed (to clean up after a run that used it).
    pub fn at(path: &Path) -> Runtime {
        Runtime {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: path.to_path_buf(),
            version: String::new(),
        }
    }

    /// `<runtime> --root <state_root>` ready for a subcommand; in a user namespace
    /// (rootless) with `--rootless true`, since runc's own detection takes a uid 0 there for
    /// real root on cgroup v1 and then fails to create cgroups it may not.
    pub fn command(&self, state_root: &Path) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg("--root").arg(state_root);
        if in_user_namespace() {
            cmd.arg("--rootless").arg("true");
        }
        cmd
    }
}

/// Whether this process runs in a user namespace other than the initial one (its uid map
/// is not the identity over every id): rootless.
pub fn in_user_namespace() -> bool {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let fields: Vec<&str> = map.split_whitespace().collect();
    !(fields.is_empty() || fields == ["0", "0", "4294967295"])
}

/// `<path> --version`. "Text file busy" (a binary still open for writing somewhere, e.g.
/// just installed, or written by a thread whose fd a concurrent fork inherited) is
/// transient: retried a few times before it counts.
fn version_output(path: &Path) -> std::io::Result<std::process::Output> {
    let mut attempt = 0;
    loop {
        let result = Command::new(path)
            .arg("--version")
            .stdin(Stdio::null())
            .output();
        match result {
            Err(e)
                if e.raw_os_error() == Some(rustix::io::Errno::TXTBSY.raw_os_error())
                    && attempt < 20 =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Looks `name` up in `path_var` and then the sbin dirs; executables only.
pub fn find_in_path(name: &str, path_var: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path_var)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_runtime(dir: &Path, name: &str, script: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn finds_executables_in_path_only() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notexec"), "x").unwrap();
        let p = fake_runtime(tmp.path(), "myrt", "echo v");
        let path_var = tmp.path().to_string_lossy().into_owned();
        assert_eq!(find_in_path("myrt", &path_var), Some(p));
        assert_eq!(find_in_path("notexec", &path_var), None);
    }

    #[test]
    fn probe_reads_the_version_and_rejects_failing_binaries() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = fake_runtime(tmp.path(), "runc", "echo 'runc version 9.9'; echo more");
        let rt = Runtime::probe(&ok).unwrap();
        assert_eq!(
            (rt.name.as_str(), rt.version.as_str()),
            ("runc", "runc version 9.9")
        );
        let bad = fake_runtime(tmp.path(), "broken", "exit 1");
        let msg = Runtime::probe(&bad).unwrap_err().to_string();
        assert!(msg.contains("broken") && msg.contains("--version"), "{msg}");
    }

    #[test]
    fn auto_detection_skips_crun_on_hybrid_hosts() {
        let tmp = tempfile::tempdir().unwrap();
        fake_runtime(tmp.path(), "crun", "echo crun 1.0");
        let dir = tmp.path().to_string_lossy().into_owned();
        // Only crun in PATH (plus the sbin dirs, where runc may be installed).
        match Runtime::detect_auto(&dir, CgroupLayout::Hybrid) {
            Ok(rt) => assert_eq!(rt.name, "runc"),
            Err(e) => assert!(e.to_string().contains("hybrid"), "{e}"),
        }
        let rt = Runtime::detect_auto(&dir, CgroupLayout::Unified).unwrap();
        assert!(rt.name == "runc" || rt.path == tmp.path().join("crun"));
    }

    #[test]
    fn missing_preferred_runtime_has_an_install_hint() {
        let msg = Runtime::detect_preferred("no-such-runtime-xyz", "/nonexistent")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("apt-get install runc"), "{msg}");
    }

    #[test]
    fn preferred_path_is_probed() {
        let tmp = tempfile::tempdir().unwrap();
        let p = fake_runtime(tmp.path(), "crun", "echo crun version 1.8");
        let rt = Runtime::detect_preferred(p.to_str().unwrap(), "").unwrap();
        assert_eq!(rt.path, p);
    }
}
