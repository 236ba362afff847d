//! COPY and ADD: resolving sources, applying docker's destination rules, and producing the
//! layer entries. No container is involved: files go straight from their source into the tar.
//!
//! The rules, as `docker build` applies them:
//! - a directory source copies its *contents* into the destination (created if missing);
//! - a file source goes to `dest/<name>` when `dest` ends in `/` or is an existing directory
//!   in the image, else to `dest` itself;
//! - several sources (or a glob matching several) need a destination ending in `/`;
//! - a source named directly that is a symlink is followed; symlinks inside a copied directory
//!   stay links;
//! - a relative destination is relative to WORKDIR; the destination is resolved through
//!   symlinks inside the image (`/var/run` → `/run`), except with `--link`;
//! - modes and mtimes are kept, owners become 0:0 unless `--chown`; `--chmod` sets the mode.
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use strata_archive::{Entry, EntryKind, FileSource};

use crate::sources::rootfs::RootfsView;
use crate::sources::select::{clean_source, join, Node};

/// Why a COPY cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("when using COPY with more than one source file, the destination must be a directory and end with a /")]
    DestNotDir,
    #[error("unpacking {path:?}")]
    Archive {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid --chmod value {value:?}: expected an octal mode")]
    BadChmod { value: String },
}

/// Owner and mode overrides of `--chown` / `--chmod`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub chown: Option<(u32, u32)>,
    pub chmod: Option<u32>,
}

pub fn parse_chmod(value: &str) -> Result<u32, CopyError> {
    u32::from_str_radix(value, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| CopyError::BadChmod {
            value: value.to_owned(),
        })
}

/// A destination made absolute against WORKDIR; a trailing `/` (or `/.`) is kept as a flag.
pub fn absolute_dest(dest: &str, workdir: &str) -> (String, bool) {
    let dir_hint = dest.ends_with('/') || dest.ends_with("/.") || dest == "." || dest.is_empty();
    let joined = if dest.starts_with('/') {
        dest.to_owned()
    } else {
        format!("{}/{dest}", workdir.trim_end_matches('/'))
    };
    let clean = clean_source(&joined);
    (format!("/{clean}"), dir_hint)
}

/// The planned content of a COPY layer.
#[derive(Default)]
pub struct Planned {
    /// Layer path → entry.
    pub entries: BTreeMap<String, Entry>,
    /// Regular files whose content digest goes into the cache key: layer path → real path.
    pub files: Vec<(String, Node)>,
}

/// Plans the layer entries of one COPY: `sources` (already resolved nodes, per argument) to
/// `dest` resolved against `image` (the destination stage's filesystem; `None` with --link);
/// `walk` lists what is below a directory source (filtered by `--exclude`).
pub fn plan(
    walk: &dyn Fn(&Node) -> Vec<(String, Node)>,
    sources: &[Node],
    (dest, dest_is_dir_hint): (&str, bool),
    image: Option<&RootfsView>,
    ov: Overrides,
    now: i64,
    extract: &dyn Fn(&Node) -> bool,
) -> Result<Planned, CopyError> {
    if sources.len() > 1 && !dest_is_dir_hint {
        return Err(CopyError::DestNotDir);
    }
    let existing_dir = image
        .and_then(|v| v.stat(dest))
        .is_some_and(|f| f.meta.is_dir());
    let dest_dir = image
        .and_then(|v| v.resolve(dest, true))
        .unwrap_or_else(|| dest.to_owned());
    let mut p = Planned::default();
    for node in sources {
        if node.meta.is_dir() {
            add_dir(&mut p, walk, node, &dest_dir, image, ov);
        } else if extract(node) {
            crate::steps::copy::add::add_archive(&mut p, &node.real, &dest_dir, ov).map_err(
                |source| CopyError::Archive {
                    path: node.path.clone(),
                    source,
                },
            )?;
        } else {
            let target = if dest_is_dir_hint || existing_dir {
                join(&dest_dir, basename(&node.path))
            } else {
                resolve_parent(image, dest)
            };
            add_node(&mut p, node, &target, ov);
        }
    }
    add_parents(&mut p, image, now);
    Ok(p)
}

fn basename(p: &str) -> &str {
    p.rsplit('/').find(|c| !c.is_empty()).unwrap_or(p)
}

/// `dest` with its parent resolved through image symlinks (the last component kept).
fn resolve_parent(image: Option<&RootfsView>, dest: &str) -> String {
    let (parent, name) = dest.rsplit_once('/').unwrap_or(("", dest));
    let parent = if parent.is_empty() { "/" } else { parent };
    let parent = image
        .and_then(|v| v.resolve(parent, true))
        .unwrap_or_else(|| parent.to_owned());
    join(&parent, name)
}

fn add_dir(
    p: &mut Planned,
    walk: &dyn Fn(&Node) -> Vec<(String, Node)>,
    dir: &Node,
    dest: &str,
    image: Option<&RootfsView>,
    ov: Overrides,
) {
    let rel = dest.trim_start_matches('/').to_owned();
    if !rel.is_empty() && image.and_then(|v| v.stat(dest)).is_none() {
        // A destination directory that did not exist takes the source directory's metadata.
        p.entries.insert(rel.clone(), entry_for(dir, &rel, ov));
    }
    for (sub, node) in walk(dir) {
        let target = if rel.is_empty() {
            sub
        } else {
            format!("{rel}/{sub}")
        };
        add_node(p, &node, &format!("/{target}"), ov);
    }
}

fn add_node(p: &mut Planned, node: &Node, target: &str, ov: Overrides) {
    let rel = target.trim_start_matches('/').to_owned();
    if rel.is_empty() {
        return;
    }
    let entry = entry_for(node, &rel, ov);
    if matches!(entry.kind, EntryKind::File { .. }) {
        p.files.push((rel.clone(), node.clone()));
    }
    p.entries.insert(rel, entry);
}

/// The layer entry for a source node: its kind, mode and mtime; owner 0:0 unless --chown.
pub fn entry_for(node: &Node, rel: &str, ov: Overrides) -> Entry {
    let ft = node.meta.file_type();
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        let target = std::fs::read_link(&node.real)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        EntryKind::Symlink { target }
    } else {
        EntryKind::File {
            source: FileSource::Path(node.real.clone()),
            size: node.meta.len(),
        }
    };
    let mode = match (ov.chmod, ft.is_symlink()) {
        (_, true) => 0o777,
        (Some(m), false) => m,
        (None, false) => node.meta.permissions().mode() & 0o7777,
    };
    let (uid, gid) = ov.chown.unwrap_or((0, 0));
    let mut e = Entry::new(rel.to_owned(), kind);
    e.mode = mode;
    e.uid = uid;
    e.gid = gid;
    e.mtime = node.meta.mtime();
    e
}

/// Adds every missing ancestor directory: with the image's metadata where it exists (as an
/// overlay diff would show it), else 0755 root-owned, made now.
pub fn add_parents(p: &mut Planned, image: Option<&RootfsView>, now: i64) {
    let mut parents = BTreeSet::new();
    for path in p.entries.keys() {
        let mut cur = path.as_str();
        while let Some((parent, _)) = cur.rsplit_once('/') {
            parents.insert(parent.to_owned());
            cur = parent;
        }
    }
    for parent in parents {
        if p.entries.contains_key(&parent) {
            continue;
        }
        let found = image.and_then(|v| v.lookup_exact(&format!("/{parent}")));
        let mut e = Entry::new(parent.clone(), EntryKind::Dir);
        match found {
            Some(f) if f.meta.is_dir() => {
                e.mode = f.meta.permissions().mode() & 0o7777;
                e.uid = f.meta.uid();
                e.gid = f.meta.gid();
                e.mtime = f.meta.mtime();
            }
            _ => {
                e.mode = 0o755;
                e.mtime = now;
            }
        }
        p.entries.insert(parent, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_workdir_relative() {
        assert_eq!(absolute_dest("app/", "/srv"), ("/srv/app".into(), true));
        assert_eq!(absolute_dest("/x", "/srv"), ("/x".into(), false));
        assert_eq!(absolute_dest(".", "/srv"), ("/srv".into(), true));
        assert_eq!(absolute_dest("../etc/x", "/srv"), ("/etc/x".into(), false));
    }

    #[test]
    fn sources_are_cleaned_inside_the_root() {
        assert_eq!(clean_source("./a/../b/"), "b");
        assert_eq!(clean_source("../../etc/passwd"), "etc/passwd");
        assert_eq!(clean_source("."), "");
    }

    #[test]
    fn chmod_is_octal() {
        assert_eq!(parse_chmod("755").unwrap(), 0o755);
        for bad in ["u+x", "99999"] {
            assert!(
                matches!(parse_chmod(bad), Err(CopyError::BadChmod { value }) if value == bad),
                "{bad}"
            );
        }
    }
}
