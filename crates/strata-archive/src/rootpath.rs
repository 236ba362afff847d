//! Path resolution confined to a root directory, like containerd's
//! `fs.RootPath`: symlinks met on the way are followed, but their targets
//! are read relative to the root (absolute targets restart at the root, and
//! `..` never climbs above it), so nothing outside the root is reachable.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::DirBuilder;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

const MAX_LINKS: usize = 255;

/// Splits raw tar path bytes into clean components: empty and `.` dropped,
/// `..` removes the previous component and never climbs above the start
/// ([`strata_oci::path::clean_components`]).
pub(crate) fn clean_components(raw: &[u8]) -> Vec<&OsStr> {
    strata_oci::path::clean_components(raw)
        .into_iter()
        .map(OsStr::from_bytes)
        .collect()
}

/// Resolves directory `comps` below `root`, following symlinks within the
/// root. With `create`, missing directories are made (mode 0755); without,
/// missing components are appended as they are. A non-directory in the
/// middle fails with `ENOTDIR`.
pub(crate) fn resolve_dir(root: &Path, comps: &[&OsStr], create: bool) -> io::Result<PathBuf> {
    let mut queue: VecDeque<OsString> = comps.iter().map(|c| c.to_os_string()).collect();
    let mut depth = 0usize;
    let mut links = 0usize;
    let mut cur = root.to_path_buf();
    while let Some(c) = queue.pop_front() {
        match c.as_bytes() {
            b"" | b"." => continue,
            b".." => {
                if depth > 0 {
                    depth -= 1;
                    cur.pop();
                }
                continue;
            }
            _ => {}
        }
        let next = cur.join(&c);
        match std::fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(&next)?;
                let bytes = target.as_os_str().as_bytes();
                if bytes.starts_with(b"/") {
                    depth = 0;
                    cur = root.to_path_buf();
                }
                for part in bytes.split(|b| *b == b'/').rev() {
                    queue.push_front(OsStr::from_bytes(part).to_os_string());
                }
            }
            Ok(m) if m.is_dir() => {
                depth += 1;
                cur = next;
            }
            Ok(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if create {
                    match DirBuilder::new().mode(0o755).create(&next) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                }
                depth += 1;
                cur = next;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn cleans_components() {
        let c = clean_components(b"/../a/./b/../../../c//d/");
        assert_eq!(c, vec![OsStr::new("c"), OsStr::new("d")]);
    }

    #[test]
    fn symlinks_stay_inside_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("real")).unwrap();
        symlink("/etc", root.join("abs")).unwrap();
        symlink("../../../../tmp", root.join("rel")).unwrap();
        symlink("real", root.join("ok")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let r = |p: &str, create| {
            let comps = clean_components(p.as_bytes());
            resolve_dir(&root, &comps, create)
        };
        assert_eq!(r("abs", false).unwrap(), root.join("etc"));
        assert_eq!(r("rel/x", false).unwrap(), root.join("tmp/x"));
        assert_eq!(r("ok/sub", true).unwrap(), root.join("real/sub"));
        assert!(root.join("real/sub").is_dir());
        assert_eq!(
            r("loop", false).unwrap_err().raw_os_error(),
            Some(libc::ELOOP)
        );
    }
}
