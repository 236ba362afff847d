//! Mount-point stubs: paths the runtime creates in the rootfs only to mount over
//! them (`/proc`, `/etc/hosts`, a bind target...). They would otherwise end up in
//! the overlay upper and so in the layer. As BuildKit does, strata records which
//! paths were missing before the run and, after it, removes those that are still
//! empty (an empty file or dir), deepest first. A path that the process filled
//! (e.g. `/etc` with a new file in it) is kept.

use std::fs;
use std::path::{Component, Path, PathBuf};

use tracing::{debug, warn};

/// Paths under `rootfs` (absolute, host side) that do not exist yet and that
/// mounting at `targets` would create, parents before children.
pub fn missing_mountpoints<'a>(
    rootfs: &Path,
    targets: impl IntoIterator<Item = &'a str>,
) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = Vec::new();
    for target in targets {
        let mut path = rootfs.to_path_buf();
        for comp in Path::new(target).components() {
            let Component::Normal(name) = comp else {
                continue;
            };
            path.push(name);
            match path.symlink_metadata() {
                Ok(m) if m.file_type().is_symlink() => break,
                Ok(_) => {}
                Err(_) if !missing.contains(&path) => missing.push(path.clone()),
                Err(_) => {}
            }
        }
    }
    missing
}

/// Removes the stubs that are still empty, children before parents; returns
/// those removed.
pub fn remove_stubs(stubs: &[PathBuf]) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for path in stubs.iter().rev() {
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        let result = if meta.is_dir() {
            fs::remove_dir(path)
        } else if meta.is_file() && meta.len() == 0 {
            fs::remove_file(path)
        } else {
            continue;
        };
        match result {
            Ok(()) => removed.push(path.clone()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {}
            Err(e) => {
                warn!(path = %path.display(), error = %e, "failed to remove mount point stub")
            }
        }
    }
    debug!(count = removed.len(), "removed mount point stubs");
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_missing_components_once_parents_first() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        fs::create_dir(r.join("proc")).unwrap();
        let got = missing_mountpoints(r, ["/proc", "/etc/hosts", "/etc/hostname", "/dev/pts"]);
        assert_eq!(
            got,
            vec![
                r.join("etc"),
                r.join("etc/hosts"),
                r.join("etc/hostname"),
                r.join("dev"),
                r.join("dev/pts")
            ]
        );
    }

    #[test]
    fn stops_at_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nowhere", tmp.path().join("etc")).unwrap();
        assert!(missing_mountpoints(tmp.path(), ["/etc/hosts"]).is_empty());
    }

    #[test]
    fn removes_only_empty_stubs() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let stubs = missing_mountpoints(r, ["/etc/hosts", "/proc", "/mnt/x"]);
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::write(r.join("etc/hosts"), "").unwrap();
        fs::write(r.join("etc/kept"), "made by the process").unwrap();
        fs::create_dir(r.join("proc")).unwrap();
        fs::create_dir_all(r.join("mnt/x")).unwrap();
        fs::write(r.join("mnt/x/data"), "y").unwrap();
        let removed = remove_stubs(&stubs);
        assert_eq!(removed, vec![r.join("proc"), r.join("etc/hosts")]);
        assert!(r.join("etc/kept").exists() && r.join("mnt/x/data").exists());
    }
}
