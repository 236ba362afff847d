//! One tar entry of a layer, its path normalised and whiteouts decoded.

use strata_archive::whiteout::{classify, WhiteoutName};

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink {
        target: String,
    },
    /// A hard link to `target` (a path of this layer or a lower one).
    Hardlink {
        target: String,
    },
    /// `.wh.NAME`: deletes the entry's [`Entry::path`] (the name without the prefix) from
    /// the lower layers, with everything under it.
    Whiteout,
    /// `.wh..wh..opq`: hides everything the lower layers have under [`Entry::path`] (the
    /// directory).
    Opaque,
    /// Devices, FIFOs and other types.
    Other,
}

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the root, without `./` or a leading `/`, never empty (`usr/bin/sh`).
    /// For a whiteout the path it deletes, for an opaque marker its directory.
    pub path: String,
    pub kind: EntryKind,
    /// Content bytes (regular files; 0 for the others).
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

impl Entry {
    /// Whether the entry is a regular file with content.
    pub fn is_file(&self) -> bool {
        self.kind == EntryKind::File
    }
}

/// `./a//b/` → `a/b`; `None` for the root itself.
pub fn clean_path(raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Decodes a whiteout name: `(path, kind)` for `.wh.` entries, else `None`.
pub(crate) fn whiteout(path: &str) -> Option<(String, EntryKind)> {
    let (dir, base) = match path.rsplit_once('/') {
        Some((d, b)) => (Some(d), b),
        None => (None, path),
    };
    let join = |name: &str| match dir {
        Some(d) => format!("{d}/{name}"),
        None => name.to_string(),
    };
    match classify(base) {
        WhiteoutName::Opaque => Some((dir.unwrap_or("").to_string(), EntryKind::Opaque)),
        WhiteoutName::Whiteout(name) => Some((join(name), EntryKind::Whiteout)),
        WhiteoutName::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(clean_path("./usr//bin/"), Some("usr/bin".into()));
        assert_eq!(clean_path("/etc/passwd"), Some("etc/passwd".into()));
        assert_eq!(clean_path("./"), None);
    }

    #[test]
    fn whiteouts_are_decoded() {
        assert_eq!(
            whiteout("etc/.wh.secret"),
            Some(("etc/secret".into(), EntryKind::Whiteout))
        );
        assert_eq!(
            whiteout(".wh.top"),
            Some(("top".into(), EntryKind::Whiteout))
        );
        assert_eq!(
            whiteout("var/cache/.wh..wh..opq"),
            Some(("var/cache".into(), EntryKind::Opaque))
        );
        assert_eq!(whiteout("etc/passwd"), None);
    }
}
