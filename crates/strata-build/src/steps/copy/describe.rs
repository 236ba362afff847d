//! Cache-key material of sources: one line per file, directory and link (path, kind, mode,
//! and for context files the content digest from the stat cache; for a later path of a
//! multiply-linked file, the hard link the copy makes of it), shared by COPY/ADD and by
//! `RUN --mount=type=bind` of context files.

use strata_oci::Digest;

use crate::error::Result;
use crate::sources::context::{Context, ContextEntry};
use crate::sources::select::{Node, SourceFs};
use crate::steps::copy::rules::Links;

/// One line per file, directory and link under `node`: path, kind, mode, and for context
/// files the content digest (from the stat cache when it still matches).
pub fn describe_node(
    fs: &SourceFs<'_>,
    context: Option<&Context>,
    node: &Node,
    desc: &mut Vec<u8>,
) -> Result<()> {
    let mut items = vec![(String::new(), node.clone())];
    if node.meta.is_dir() {
        items.extend(fs.walk(node));
    }
    describe_listed(context, &items, desc)
}

/// Like [`describe_node`] for an explicit list: a source and the entries below it that are
/// copied (`--exclude`, `--parents`), so what is left out never enters the key.
pub fn describe_listed(
    context: Option<&Context>,
    items: &[(String, Node)],
    desc: &mut Vec<u8>,
) -> Result<()> {
    let digests = match context {
        Some(ctx) => context_digests(ctx, items)?,
        None => Vec::new(),
    };
    let lines = describe_items(items, &digests);
    desc.extend_from_slice(&lines);
    Ok(())
}

/// Content digests of the regular files among `items` (aligned with `items`; `None` for
/// everything else), from the context's stat cache where it still matches.
pub fn context_digests(ctx: &Context, items: &[(String, Node)]) -> Result<Vec<Option<Digest>>> {
    let entries: Vec<Option<&ContextEntry>> = items
        .iter()
        .map(|(_, n)| {
            if n.meta.is_file() {
                context_entry(ctx, n)
            } else {
                None
            }
        })
        .collect();
    let files: Vec<&ContextEntry> = entries.iter().flatten().copied().collect();
    let mut digests = ctx.digests(&files)?.into_iter();
    Ok(entries
        .iter()
        .map(|e| e.and_then(|_| digests.next()))
        .collect())
}

/// The context entry behind a node: by its own path, or (a followed symlink) by its target.
fn context_entry<'c>(ctx: &'c Context, n: &Node) -> Option<&'c ContextEntry> {
    use std::os::unix::fs::MetadataExt;
    match ctx.get(&n.path) {
        Some(e) if e.meta.ino() == n.meta.ino() => Some(e),
        _ => ctx.get(&n.real.strip_prefix(ctx.root()).ok()?.to_string_lossy()),
    }
}

/// One key line per item: path, kind (with content digest or link target) and mode. `items`
/// are one source in walk order: a file whose inode an earlier item has is keyed as the hard
/// link [`Links`] makes of it in the layer, so the link structure is part of the key.
pub fn describe_items(items: &[(String, Node)], digests: &[Option<Digest>]) -> Vec<u8> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::with_capacity(items.len() * 96);
    let mut links = Links::default();
    for ((sub, n), digest) in items
        .iter()
        .zip(digests.iter().chain(std::iter::repeat(&None)))
    {
        let ft = n.meta.file_type();
        let mode = n.meta.permissions().mode() & 0o7777;
        let _ = if let Some(first) = links.source(&n.meta, sub) {
            write!(out, "{sub}\0h {first}")
        } else if ft.is_dir() {
            write!(out, "{sub}\0d")
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&n.real)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            write!(out, "{sub}\0l {target}")
        } else {
            match digest {
                Some(d) => write!(out, "{sub}\0f {d}"),
                None => write!(out, "{sub}\0f {} {}", n.path, n.meta.len()),
            }
        };
        let _ = writeln!(out, "\0{mode:o}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(dir: &std::path::Path, names: &[&str]) -> Vec<(String, Node)> {
        names
            .iter()
            .map(|n| {
                let real = dir.join(n);
                let meta = std::fs::symlink_metadata(&real).unwrap();
                let path = (*n).to_owned();
                (path.clone(), Node { path, real, meta })
            })
            .collect()
    }

    /// `rules` copies a second path of an inode as a hard link to the first: two identical
    /// files and a file with a link to it are different layers, so they are different keys.
    #[test]
    fn a_hard_link_is_keyed_apart_from_an_identical_file() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("h1"), "same").unwrap();
        std::fs::write(t.path().join("h2"), "same").unwrap();
        let d = Digest::of(b"same");
        let digests = [Some(d.clone()), Some(d)];
        let separate = describe_items(&items(t.path(), &["h1", "h2"]), &digests);
        std::fs::remove_file(t.path().join("h2")).unwrap();
        std::fs::hard_link(t.path().join("h1"), t.path().join("h2")).unwrap();
        let linked = describe_items(&items(t.path(), &["h1", "h2"]), &digests);
        assert_ne!(separate, linked);
        let text = String::from_utf8_lossy(&linked).into_owned();
        assert!(text.contains("h2\0h h1\0"), "{text:?}");
        // The first path is the one the walk meets first, as `rules` decides it.
        let reversed = describe_items(&items(t.path(), &["h2", "h1"]), &digests);
        let text = String::from_utf8_lossy(&reversed).into_owned();
        assert!(text.contains("h1\0h h2\0"), "{text:?}");
        // Each call is one source: a lone path of a linked inode is a plain file.
        let alone = describe_items(&items(t.path(), &["h2"]), &digests[..1]);
        assert!(String::from_utf8_lossy(&alone).contains("h2\0f "));
    }
}
