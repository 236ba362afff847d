//! A read-only view of an image's root filesystem, merged from its unpacked layer snapshots
//! the way overlayfs merges lowerdirs, but in user space: no mount, no root.
//!
//! Snapshots store deletions in overlay form (a 0:0 character device is a whiteout, a directory
//! with `trusted.overlay.opaque=y` hides everything below it in lower layers). The builder uses
//! this view to resolve COPY destinations through symlinks inside the image, to read
//! `/etc/passwd` for `--chown`, and to copy files out of other stages.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// How many symlinks one lookup may follow before it fails, as Linux does (ELOOP).
const MAX_SYMLINKS: usize = 40;

/// The merged view of snapshot directories, bottom layer first.
#[derive(Debug, Clone, Default)]
pub struct RootfsView {
    layers: Vec<PathBuf>,
}

/// A path found in the view: the real file backing it and its metadata.
#[derive(Debug, Clone)]
pub struct Found {
    /// The image path, absolute, with symlinks resolved as asked.
    pub path: String,
    /// The file inside one snapshot that backs it.
    pub real: PathBuf,
    pub meta: Metadata,
}

impl RootfsView {
    pub fn new(layers: Vec<PathBuf>) -> RootfsView {
        RootfsView { layers }
    }

    /// Looks up `path` without following a final symlink (intermediate ones are followed).
    pub fn lstat(&self, path: &str) -> Option<Found> {
        let resolved = self.resolve(path, false)?;
        self.lookup_exact(&resolved)
    }

    /// Looks up `path`, following symlinks all the way.
    pub fn stat(&self, path: &str) -> Option<Found> {
        let resolved = self.resolve(path, true)?;
        self.lookup_exact(&resolved)
    }

    /// Resolves symlinks in `path` inside the image root (never escaping it). Components that
    /// do not exist are kept as they are, so the result names where a new file would go.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Option<String> {
        let mut todo: Vec<String> = components(path).rev().map(str::to_owned).collect();
        let mut done: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(comp) = todo.pop() {
            match comp.as_str() {
                "." | "" => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            let candidate = join_abs(&done, &comp);
            let is_last = todo.is_empty();
            match self.lookup_exact(&candidate) {
                Some(f) if f.meta.file_type().is_symlink() && (!is_last || follow_last) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return None;
                    }
                    let target = std::fs::read_link(&f.real).ok()?;
                    let target = target.to_string_lossy().into_owned();
                    if target.starts_with('/') {
                        done.clear();
                    }
                    todo.extend(components(&target).rev().map(str::to_owned));
                }
                _ => done.push(comp),
            }
        }
        Some(join_abs(&done, ""))
    }

    /// Looks up an already resolved absolute path, top layer first, honouring whiteouts and
    /// opaque directories.
    pub fn lookup_exact(&self, path: &str) -> Option<Found> {
        let rel = path.trim_start_matches('/');
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let real = if rel.is_empty() {
                layer.clone()
            } else {
                layer.join(rel)
            };
            if let Ok(meta) = std::fs::symlink_metadata(&real) {
                if is_whiteout(&meta) {
                    return None;
                }
                return Some(Found {
                    path: format!("/{rel}"),
                    real,
                    meta,
                });
            }
            if i > 0 && self.hidden_below(layer, rel) {
                return None;
            }
        }
        None
    }

    /// Whether a layer hides lower ones at `rel`: an ancestor is opaque, a whiteout or a
    /// non-directory in this layer.
    fn hidden_below(&self, layer: &Path, rel: &str) -> bool {
        let mut cur = layer.to_path_buf();
        for comp in components(rel) {
            cur.push(comp);
            let Ok(meta) = std::fs::symlink_metadata(&cur) else {
                return false;
            };
            if is_whiteout(&meta) || !meta.is_dir() {
                return true;
            }
            if is_opaque(&cur) {
                return true;
            }
        }
        false
    }

    /// The merged listing of a directory: name → backing entry.
    pub fn read_dir(&self, dir: &str) -> BTreeMap<String, Found> {
        let rel = dir.trim_start_matches('/').trim_end_matches('/');
        let mut out: BTreeMap<String, Found> = BTreeMap::new();
        let mut hidden: std::collections::HashSet<String> = Default::default();
        for layer in self.layers.iter().rev() {
            let real_dir = if rel.is_empty() {
                layer.clone()
            } else {
                layer.join(rel)
            };
            let Ok(rd) = std::fs::read_dir(&real_dir) else {
                if self.layer_blocks(layer, rel) {
                    break;
                }
                continue;
            };
            for entry in rd.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if out.contains_key(&name) || hidden.contains(&name) {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                if is_whiteout(&meta) {
                    hidden.insert(name);
                    continue;
                }
                let path = format!(
                    "/{}",
                    if rel.is_empty() {
                        name.clone()
                    } else {
                        format!("{rel}/{name}")
                    }
                );
                out.insert(
                    name,
                    Found {
                        path,
                        real: entry.path(),
                        meta,
                    },
                );
            }
            if is_opaque(&real_dir) || self.layer_blocks(layer, rel) {
                break;
            }
        }
        out
    }

    fn layer_blocks(&self, layer: &Path, rel: &str) -> bool {
        !rel.is_empty() && self.hidden_below(layer, rel) && !layer.join(rel).is_dir()
    }

    /// Reads a whole file of the image (following symlinks), if it exists.
    pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        let f = self.stat(path)?;
        std::fs::read(&f.real).ok()
    }
}

pub fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(dir: &Path) -> bool {
    for name in ["trusted.overlay.opaque", "user.overlay.opaque"] {
        if let Some(v) = getxattr(dir, name) {
            if v == b"y" {
                return true;
            }
        }
    }
    false
}

fn getxattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = [0u8; 16];
    let len = rustix::fs::lgetxattr(path, name, &mut buf).ok()?;
    Some(buf[..len].to_vec())
}

fn components(path: &str) -> std::iter::Filter<std::str::Split<'_, char>, fn(&&str) -> bool> {
    path.split('/').filter(|c| !c.is_empty())
}

fn join_abs(done: &[String], last: &str) -> String {
    let mut s = String::from("/");
    for c in done {
        if s.len() > 1 {
            s.push('/');
        }
        s.push_str(c);
    }
    if !last.is_empty() {
        if s.len() > 1 {
            s.push('/');
        }
        s.push_str(last);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn layer(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn upper_layers_win_and_symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let l0 = layer(t.path(), "l0");
        let l1 = layer(t.path(), "l1");
        std::fs::create_dir_all(l0.join("run")).unwrap();
        std::fs::create_dir_all(l0.join("var")).unwrap();
        symlink("../run", l0.join("var/run")).unwrap();
        std::fs::write(l0.join("etc"), "old").unwrap();
        std::fs::write(l1.join("etc"), "new").unwrap();
        symlink("/../../..", l1.join("escape")).unwrap();
        let v = RootfsView::new(vec![l0, l1]);
        assert_eq!(v.resolve("/var/run/x", true).unwrap(), "/run/x");
        assert_eq!(v.read_file("/etc").unwrap(), b"new");
        assert_eq!(v.resolve("/escape/etc", true).unwrap(), "/etc");
        assert!(v.lstat("/var/run").unwrap().meta.file_type().is_symlink());
    }

    #[test]
    #[ignore = "needs root"]
    fn whiteouts_hide_lower_files() {
        // A whiteout is a 0:0 char device, which only root can make.
        strata_testkit::require_root();
        let t = tempfile::tempdir().unwrap();
        let l0 = layer(t.path(), "l0");
        let l1 = layer(t.path(), "l1");
        std::fs::write(l0.join("gone"), "x").unwrap();
        std::fs::write(l0.join("kept"), "y").unwrap();
        mknod_whiteout(&l1.join("gone"));
        let v = RootfsView::new(vec![l0, l1]);
        assert!(v.lstat("/gone").is_none());
        assert_eq!(v.read_dir("/").keys().collect::<Vec<_>>(), ["kept"]);
        assert!(v.lstat("/kept").is_some());
    }

    fn mknod_whiteout(path: &Path) {
        use rustix::fs::{mknodat, FileType, Mode, CWD};
        mknodat(
            CWD,
            path,
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mknod a whiteout (needs root)");
    }
}
