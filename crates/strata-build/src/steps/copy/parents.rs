//! `COPY --parents`: sources keep their directories under the destination.
//!
//! As BuildKit's dockerfile2llb (frontend/dockerfile/dockerfile2llb/convert.go, `dispatchCopy`,
//! moby/buildkit v0.24.0) turns it into a copy: a source `P` becomes a copy of the source root
//! `/` with `P` as the include pattern; with the rsync-style pivot `R/./P` (the first `/./`), a
//! copy of `R` with include pattern `P`. The root's contents go into the destination (a
//! directory, with or without a trailing `/`), filtered by the pattern as the copier filters
//! (`sources::filter`): globs and `**` are patternmatcher's, a matching directory brings
//! everything below it, directories above a match keep their source metadata, and a pattern
//! that matches nothing copies nothing without an error. A symlink named in the pattern is
//! copied as a link (only the root is followed).

use strata_archive::{Entry, EntryKind};
use strata_oci::path::clean_in_root;

use crate::sources::rootfs::RootfsView;
use crate::sources::select::{join, Node};
use crate::steps::copy::rules::{
    add_parents_as, check_kind, check_parents, entry_for, CopyError, NewDirs, Overrides, Planned,
};

/// A `--parents` source split at its pivot: the root to copy from and the include pattern,
/// both cleaned inside the source root (`./src/./app/*.go` → (`src`, `app/*.go`)).
pub fn split_pivot(src: &str) -> (String, String) {
    let (root, pattern) = match src.split_once("/./") {
        Some((root, pattern)) => (root, pattern),
        None => ("/", src),
    };
    (clean_in_root(root), clean_in_root(pattern))
}

/// A root of a `--parents` copy and the entries below it that the filter kept (paths
/// relative to the root).
pub struct Root {
    pub node: Node,
    pub items: Vec<(String, Node)>,
}

/// Plans the layer entries of a `--parents` copy into `dest`: every kept item at
/// `dest/<path below its root>`, missing directories above made as [`add_parents_as`] makes
/// them (the destination itself 0755, not the root's mode, as BuildKit's `MkdirAll`).
pub fn plan_parents(
    roots: &[Root],
    dest: &str,
    image: Option<&RootfsView>,
    ov: Overrides,
    now: i64,
) -> Result<Planned, CopyError> {
    let dest_dir = image
        .and_then(|v| v.resolve(dest, true))
        .unwrap_or_else(|| dest.to_owned());
    let mut p = Planned::default();
    for root in roots {
        if !root.node.meta.is_dir() {
            let name = root.node.path.rsplit('/').next().unwrap_or_default();
            insert(&mut p, &root.node, &join(&dest_dir, name), (image, &ov))?;
            continue;
        }
        for (sub, node) in &root.items {
            insert(&mut p, node, &join(&dest_dir, sub), (image, &ov))?;
        }
    }
    let new = ov.new_dirs();
    // Every root is one copy, whose `MkdirAll` makes the destination; a pivot root that is a
    // wildcard matching nothing is no copy at all (backend.go `docopy` returns first).
    if !roots.is_empty() {
        ensure_dest(&mut p, &dest_dir, image, now, new);
    }
    check_parents(&p, image)?;
    add_parents_as(&mut p, image, now, new);
    Ok(p)
}

/// The destination is made even when nothing matched (BuildKit's `MkdirAll` of the target):
/// made as the step's new directories, now, unless the stage has it.
fn ensure_dest(p: &mut Planned, dest: &str, image: Option<&RootfsView>, now: i64, new: NewDirs) {
    let rel = dest.trim_start_matches('/');
    if rel.is_empty() || p.entries.contains_key(rel) || image.and_then(|v| v.stat(dest)).is_some() {
        return;
    }
    let mut e = Entry::new(rel.to_owned(), EntryKind::Dir);
    e.mode = new.mode;
    (e.uid, e.gid) = new.owner;
    e.mtime = now;
    p.entries.insert(rel.to_owned(), e);
}

fn insert(
    p: &mut Planned,
    node: &Node,
    target: &str,
    (image, ov): (Option<&RootfsView>, &Overrides),
) -> Result<(), CopyError> {
    let rel = target.trim_start_matches('/').to_owned();
    if !rel.is_empty() {
        check_kind(p, image, &rel, node.meta.is_dir())?;
        p.entries.insert(rel.clone(), entry_for(node, &rel, ov));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pivot examples of frontend/dockerfile/docs/reference.md (`COPY --parents`) and the
    /// cut in convert.go's `dispatchCopy`.
    #[test]
    fn the_first_dot_slash_is_the_pivot() {
        let cases = [
            ("./x/a.txt", ("", "x/a.txt")),
            ("x/*.txt", ("", "x/*.txt")),
            ("./x/./y/*.txt", ("x", "y/*.txt")),
            ("./src/./app/main.go", ("src", "app/main.go")),
            ("/etc/./passwd", ("etc", "passwd")),
            ("a/./b/./c", ("a", "b/c")),
            ("../../a/b", ("", "a/b")),
            ("**/*.md", ("", "**/*.md")),
        ];
        for (src, (root, pattern)) in cases {
            assert_eq!(split_pivot(src), (root.into(), pattern.into()), "{src}");
        }
    }

    fn node(dir: &std::path::Path, name: &str, is_dir: bool) -> Node {
        let real = dir.join(name);
        if is_dir {
            std::fs::create_dir_all(&real).unwrap();
        } else {
            std::fs::write(&real, name).unwrap();
        }
        Node {
            path: name.to_owned(),
            meta: std::fs::symlink_metadata(&real).unwrap(),
            real,
        }
    }

    #[test]
    fn kept_items_land_below_the_destination_with_their_directories() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let root = node(t.path(), "", true);
        let a = node(t.path(), "a", true);
        std::fs::set_permissions(&a.real, std::fs::Permissions::from_mode(0o750)).unwrap();
        let a = node(t.path(), "a", true);
        let c = node(t.path(), "a/c.txt", false);
        std::fs::set_permissions(&c.real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let c = node(t.path(), "a/c.txt", false);
        let roots = [Root {
            node: root,
            items: vec![("a".into(), a), ("a/c.txt".into(), c)],
        }];
        let p = plan_parents(&roots, "/dst", None, Overrides::default(), 7).unwrap();
        let got: Vec<(&str, u32)> = p
            .entries
            .iter()
            .map(|(k, e)| (k.as_str(), e.mode))
            .collect();
        assert_eq!(
            got,
            [("dst", 0o755), ("dst/a", 0o750), ("dst/a/c.txt", 0o640)]
        );
        assert_eq!(p.entries["dst"].mtime, 7, "the destination is made now");
        let nothing_kept = [Root {
            node: node(t.path(), "", true),
            items: Vec::new(),
        }];
        let empty = plan_parents(&nothing_kept, "/none", None, Overrides::default(), 7).unwrap();
        assert_eq!(empty.entries.keys().collect::<Vec<_>>(), ["none"]);
        let no_root = plan_parents(&[], "/none", None, Overrides::default(), 7).unwrap();
        assert!(no_root.entries.is_empty(), "no copy, no destination");
    }
}
