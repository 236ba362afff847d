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
//! - a destination that is a symlink (dangling or not) is followed to where it points;
//! - modes (setuid/setgid/sticky too) and mtimes are kept; owners become 0:0 for build-context
//!   files and stay as they are for `--from` sources, unless `--chown`; `--chmod` sets the mode
//!   (octal) or edits it (symbolic, see [`super::chmod`]);
//! - files hard-linked to each other inside one source stay hard links;
//! - directories created for the destination are 0755 (or the octal `--chmod`), owned by
//!   `--chown`, made now.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use strata_archive::{Entry, EntryKind, FileSource};

use crate::sources::rootfs::RootfsView;
use crate::sources::select::{clean_source, join, Node};
use crate::steps::copy::chmod::{Chmod, ChmodError};

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
    #[error(transparent)]
    Chmod(#[from] ChmodError),
    #[error("cannot replace to directory {path} with file")]
    ReplaceDir { path: String },
    #[error("cannot copy to non-directory: {path}")]
    NotADir { path: String },
    #[error("mkdir {path}: not a directory")]
    ParentNotADir { path: String },
    /// An entry below a source directory could not be read (listed or stat'ed).
    #[error("reading {path}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What is below a directory source (filtered by `--exclude`), or why it cannot be listed.
pub type Walk<'a> = dyn Fn(&Node) -> Result<Vec<(String, Node)>, CopyError> + 'a;

/// Owner and mode overrides of `--chown` / `--chmod`, and whose owners the sources keep.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub chown: Option<(u32, u32)>,
    pub chmod: Option<Chmod>,
    /// Sources from another stage or image keep their uid/gid without `--chown` (fsutil's
    /// `copyFileInfo` chowns to the source's owner when there is no chowner); build-context
    /// files arrive 0:0 (the context is transferred without owners).
    pub keep_owner: bool,
}

impl Overrides {
    fn owner(&self, meta: &Metadata) -> (u32, u32) {
        match (self.chown, self.keep_owner) {
            (Some(owner), _) => owner,
            (None, true) => (meta.uid(), meta.gid()),
            (None, false) => (0, 0),
        }
    }

    /// What directories created for the destination look like.
    pub fn new_dirs(&self) -> NewDirs {
        NewDirs {
            mode: Chmod::created_dir_mode(self.chmod.as_ref()),
            owner: self.chown.unwrap_or((0, 0)),
        }
    }
}

/// Mode and owner of the directories a step creates (fsutil copy/mkdir_unix.go `MkdirAll`:
/// `os.Mkdir(perm)`, then `Chown` with the step's chowner and `Utimes` with its time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDirs {
    pub mode: u32,
    pub owner: (u32, u32),
}

/// Parses `--chmod` (octal or symbolic).
pub fn parse_chmod(value: &str) -> Result<Chmod, CopyError> {
    Ok(Chmod::parse(value)?)
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
    /// Whether the image has a directory at a layer path, as [`check_kind`] asked it: a path
    /// can only be in the image if its parent is, so a copy into a new directory asks once
    /// per directory instead of once per file.
    image_dirs: HashMap<String, bool>,
}

impl Planned {
    /// Whether the image has the directory `rel` sits in (memoised per directory).
    fn parent_in_image(&mut self, view: &RootfsView, rel: &str) -> bool {
        let Some((parent, _)) = rel.rsplit_once('/') else {
            return true; // `/` itself
        };
        if let Some(known) = self.image_dirs.get(parent) {
            return *known;
        }
        let is_dir = view
            .lookup_exact(&format!("/{parent}"))
            .is_some_and(|f| f.meta.is_dir());
        self.image_dirs.insert(parent.to_owned(), is_dir);
        is_dir
    }
}

/// Plans the layer entries of one COPY: `sources` (already resolved nodes, per argument) to
/// `dest` resolved against `image` (the destination stage's filesystem; `None` with --link);
/// `walk` lists what is below a directory source (filtered by `--exclude`).
pub fn plan(
    walk: &Walk<'_>,
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
    // fsutil copy.go `Copy`: `fs.RootPath(dstRoot, dst)` follows every symlink of the
    // destination, the last one too, even when it dangles.
    let dest_dir = image
        .and_then(|v| v.resolve(dest, true))
        .unwrap_or_else(|| dest.to_owned());
    let mut p = Planned::default();
    let mut new_dirs = ov.new_dirs();
    for node in sources {
        // One copier per source: hard links are kept among the files of one source.
        let mut links = Links::default();
        if node.meta.is_dir() {
            add_dir(&mut p, walk, node, &dest_dir, image, &ov, &mut links)?;
        } else if extract(node) {
            // solver/llbsolver/file/unpack.go: the destination is `MkdirAll(dest, 0755, ch)`.
            new_dirs.mode = 0o755;
            crate::steps::copy::add::add_archive(&mut p, &node.real, &dest_dir, &ov, (image, now))
                .map_err(|source| CopyError::Archive {
                    path: node.path.clone(),
                    source,
                })?;
        } else {
            let target = if dest_is_dir_hint || existing_dir {
                join(&dest_dir, basename(&node.path))
            } else {
                dest_dir.clone()
            };
            add_node(&mut p, node, &target, (image, &ov), &mut links)?;
        }
    }
    check_parents(&p, image)?;
    add_parents_as(&mut p, image, now, new_dirs);
    Ok(p)
}

/// fsutil copy.go never replaces a path of the other kind: a non-directory copied where the
/// destination has a directory fails in `ensureEmptyFileTarget`, a directory copied where it
/// has a file (or a symlink) fails in `copyDirectoryOnly`. Dockerfile copies never set
/// `AlwaysReplaceExistingDestPaths`, so this holds with `--link` too, where the destination is
/// empty scratch (`image` is `None`) and only this step's own entries can clash. `rel` is the
/// layer path; what is there is this step's entry, else the image's (not followed: `Lstat`).
pub fn check_kind(
    p: &mut Planned,
    image: Option<&RootfsView>,
    rel: &str,
    src_is_dir: bool,
) -> Result<(), CopyError> {
    let path = format!("/{rel}");
    let own = p.entries.get(rel).map(|e| matches!(e.kind, EntryKind::Dir));
    let there_is_dir = match (own, image) {
        (Some(dir), _) => Some(dir),
        (None, Some(view)) if p.parent_in_image(view, rel) => {
            view.lookup_exact(&path).map(|f| f.meta.is_dir())
        }
        (None, _) => None,
    };
    match (src_is_dir, there_is_dir) {
        (false, Some(true)) => Err(CopyError::ReplaceDir { path }),
        (true, Some(false)) => Err(CopyError::NotADir { path }),
        _ => Ok(()),
    }
}

/// The directories above the copied entries must be directories where the image has them:
/// fsutil's `MkdirAll` of the destination fails on a file (`mkdir /etc/passwd: not a
/// directory` for `COPY f /etc/passwd/x`), naming the topmost one.
pub fn check_parents(p: &Planned, image: Option<&RootfsView>) -> Result<(), CopyError> {
    let Some(view) = image else {
        return Ok(());
    };
    let mut parents = BTreeSet::new();
    for path in p.entries.keys() {
        let mut cur = path.as_str();
        while let Some((parent, _)) = cur.rsplit_once('/') {
            parents.insert(parent);
            cur = parent;
        }
    }
    let file = parents
        .into_iter()
        .filter(|d| !p.entries.contains_key(*d))
        .find(|d| {
            view.lookup_exact(&format!("/{d}"))
                .is_some_and(|f| !f.meta.is_dir())
        });
    match file {
        Some(d) => Err(CopyError::ParentNotADir {
            path: format!("/{d}"),
        }),
        None => Ok(()),
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').find(|c| !c.is_empty()).unwrap_or(p)
}

/// The first layer path of every multiply-linked inode copied so far (fsutil copy
/// hardlink.go `getLinkSource`: later paths of the inode become links to it). One per
/// source; the cache key's description of a source ([`super::describe`]) uses the same rule.
#[derive(Default)]
pub struct Links(HashMap<(u64, u64), String>);

impl Links {
    /// The earlier path `meta`'s inode was copied to, or `None` (and `rel` recorded).
    pub fn source(&mut self, meta: &Metadata, rel: &str) -> Option<String> {
        if !meta.is_file() || meta.nlink() < 2 {
            return None;
        }
        match self.0.entry((meta.dev(), meta.ino())) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.get().clone()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(rel.to_owned());
                None
            }
        }
    }
}

fn add_dir(
    p: &mut Planned,
    walk: &Walk<'_>,
    dir: &Node,
    dest: &str,
    image: Option<&RootfsView>,
    ov: &Overrides,
    links: &mut Links,
) -> Result<(), CopyError> {
    let rel = dest.trim_start_matches('/').to_owned();
    if !rel.is_empty() {
        check_kind(p, image, &rel, true)?;
        p.entries
            .insert(rel.clone(), dest_dir_entry(dir, dest, &rel, image, ov));
    }
    for (sub, node) in walk(dir)? {
        let target = if rel.is_empty() {
            sub
        } else {
            format!("{rel}/{sub}")
        };
        add_node(p, &node, &format!("/{target}"), (image, ov), links)?;
    }
    Ok(())
}

/// The directory a directory source is copied into. fsutil copy.go `prepareTargetDir` makes
/// a missing one with `MkdirAll` (0755 or the octal `--chmod`, `--chown`'s owner); `copy`
/// then leaves its mode and owner, new or existing, and gives it the source's mtime.
fn dest_dir_entry(
    dir: &Node,
    dest: &str,
    rel: &str,
    image: Option<&RootfsView>,
    ov: &Overrides,
) -> Entry {
    let mut e = Entry::new(rel.to_owned(), EntryKind::Dir);
    match image.and_then(|v| v.stat(dest)).filter(|f| f.meta.is_dir()) {
        Some(f) => {
            e.mode = f.meta.permissions().mode() & 0o7777;
            (e.uid, e.gid) = (f.meta.uid(), f.meta.gid());
        }
        None => {
            let new = ov.new_dirs();
            e.mode = new.mode;
            (e.uid, e.gid) = new.owner;
        }
    }
    e.mtime = dir.meta.mtime();
    e
}

fn add_node(
    p: &mut Planned,
    node: &Node,
    target: &str,
    (image, ov): (Option<&RootfsView>, &Overrides),
    links: &mut Links,
) -> Result<(), CopyError> {
    let rel = target.trim_start_matches('/').to_owned();
    if rel.is_empty() {
        return Ok(());
    }
    check_kind(p, image, &rel, node.meta.is_dir())?;
    let mut entry = entry_for(node, &rel, ov);
    if let Some(first) = links.source(&node.meta, &rel) {
        entry.kind = EntryKind::Hardlink { target: first };
    }
    if matches!(entry.kind, EntryKind::File { .. }) {
        p.files.push((rel.clone(), node.clone()));
    }
    p.entries.insert(rel, entry);
    Ok(())
}

/// The layer entry for a source node: its kind, mode (`--chmod` applied) and mtime; its
/// owner per [`Overrides`].
pub fn entry_for(node: &Node, rel: &str, ov: &Overrides) -> Entry {
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
    let own = node.meta.permissions().mode() & 0o7777;
    let mode = match (&ov.chmod, ft.is_symlink()) {
        (_, true) => 0o777,
        (Some(m), false) => m.apply(own, ft.is_dir()),
        (None, false) => own,
    };
    let mut e = Entry::new(rel.to_owned(), kind);
    e.mode = mode;
    (e.uid, e.gid) = ov.owner(&node.meta);
    e.mtime = node.meta.mtime();
    e
}

/// Adds every missing ancestor directory: with the image's metadata where it exists (as an
/// overlay diff would show it), else made now as `new` says (mode and owner).
pub fn add_parents_as(p: &mut Planned, image: Option<&RootfsView>, now: i64, new: NewDirs) {
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
                e.mode = new.mode;
                (e.uid, e.gid) = new.owner;
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

    /// An image with the directory `/t/a/d`, the file `/t/f` and the symlink `/t/l -> a`.
    fn image() -> (tempfile::TempDir, RootfsView) {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("t/a/d")).unwrap();
        std::fs::write(t.path().join("t/f"), "f").unwrap();
        std::os::unix::fs::symlink("a", t.path().join("t/l")).unwrap();
        let view = RootfsView::new(vec![t.path().to_owned()]);
        (t, view)
    }

    /// fsutil copy.go `ensureEmptyFileTarget` and `copyDirectoryOnly` (BuildKit v0.24).
    #[test]
    fn a_file_never_replaces_a_directory_nor_a_directory_a_file() {
        let (_t, view) = image();
        let mut p = Planned::default();
        let mut kind =
            |rel, dir| check_kind(&mut p, Some(&view), rel, dir).map_err(|e| e.to_string());
        assert_eq!(
            kind("t/a/d", false),
            Err("cannot replace to directory /t/a/d with file".into())
        );
        assert_eq!(
            kind("t/f", true),
            Err("cannot copy to non-directory: /t/f".into())
        );
        // `Lstat`: a symlink to a directory is not a directory to merge into, but a file may
        // replace it.
        assert_eq!(
            kind("t/l", true),
            Err("cannot copy to non-directory: /t/l".into())
        );
        assert_eq!(kind("t/l", false), Ok(()));
        assert_eq!(kind("t/a/d", true), Ok(()), "directories merge");
        assert_eq!(kind("t/f", false), Ok(()), "files are replaced");
        assert_eq!(kind("t/new", false), Ok(()));
        // Without an image (`--link`) only this step's own entries can clash.
        let mut own = Planned::default();
        own.entries
            .insert("x".into(), Entry::new("x", EntryKind::Dir));
        assert_eq!(check_kind(&mut own, None, "t/a/d", false).ok(), Some(()));
        assert!(matches!(
            check_kind(&mut own, None, "x", false),
            Err(CopyError::ReplaceDir { .. })
        ));
    }

    /// fsutil's `MkdirAll` of the destination: `mkdir /t/f: not a directory`.
    #[test]
    fn a_file_above_the_destination_is_refused_as_mkdir_refuses_it() {
        let (_t, view) = image();
        let mut p = Planned::default();
        let file = |path: &str| {
            let size = 0;
            let source = FileSource::Bytes(Vec::new().into());
            Entry::new(path, EntryKind::File { size, source })
        };
        p.entries.insert("t/f/x/y".into(), file("t/f/x/y"));
        let err = check_parents(&p, Some(&view)).unwrap_err();
        assert_eq!(err.to_string(), "mkdir /t/f: not a directory");
        assert!(
            check_parents(&p, None).is_ok(),
            "--link: nothing to clash with"
        );
        let mut fine = Planned::default();
        fine.entries.insert("t/a/d/z".into(), file("t/a/d/z"));
        assert!(check_parents(&fine, Some(&view)).is_ok());
    }

    #[test]
    fn sources_are_cleaned_inside_the_root() {
        assert_eq!(clean_source("./a/../b/"), "b");
        assert_eq!(clean_source("../../etc/passwd"), "etc/passwd");
        assert_eq!(clean_source("."), "");
    }
}
