//! OCI/AUFS whiteout naming: `.wh.<name>` deletes `<name>` from lower
//! layers, `<dir>/.wh..wh..opq` hides everything below `<dir>` in them.

/// Prefix of a whiteout file's name.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// Name of the opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// The xattr overlayfs reads to mark a directory opaque (value `y`).
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Whether `meta` (from `lstat`) is overlayfs' whiteout: a 0:0 character
/// device. For turning an overlay upper dir into [`crate::EntryKind::Whiteout`]s.
pub fn is_overlay_whiteout(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// How [`crate::apply_layer`] treats whiteout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// Delete the whited-out path; for an opaque marker, delete everything
    /// in the directory that this layer did not itself create. For unpacking
    /// a layer on top of its lower layers in one directory.
    #[default]
    Apply,
    /// Write overlayfs' form: a 0:0 character device for a whiteout and the
    /// `trusted.overlay.opaque=y` xattr for an opaque directory. For
    /// snapshots used as overlay lowerdirs (needs root).
    Overlay,
    /// Write `.wh.*` entries literally as files (ADD extraction).
    Ignore,
}

/// What a tar entry's base name says about whiteouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutName<'a> {
    /// `.wh..wh..opq`.
    Opaque,
    /// `.wh.<name>`: delete `<name>`.
    Whiteout(&'a str),
    /// Not a whiteout.
    None,
}

/// Classifies a base name.
pub fn classify(base: &str) -> WhiteoutName<'_> {
    if base == OPAQUE_MARKER {
        WhiteoutName::Opaque
    } else if let Some(name) = base.strip_prefix(WHITEOUT_PREFIX) {
        if name.is_empty() {
            WhiteoutName::None
        } else {
            WhiteoutName::Whiteout(name)
        }
    } else {
        WhiteoutName::None
    }
}

/// The tar path of a whiteout for layer path `path` (`a/b` → `a/.wh.b`).
pub fn whiteout_path(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/{WHITEOUT_PREFIX}{base}"),
        None => format!("{WHITEOUT_PREFIX}{path}"),
    }
}

/// The tar path of the opaque marker of directory `dir`.
pub fn opaque_path(dir: &str) -> String {
    if dir.is_empty() {
        OPAQUE_MARKER.to_string()
    } else {
        format!("{dir}/{OPAQUE_MARKER}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(whiteout_path("a/b/c"), "a/b/.wh.c");
        assert_eq!(whiteout_path("c"), ".wh.c");
        assert_eq!(opaque_path("a"), "a/.wh..wh..opq");
        assert_eq!(classify(".wh..wh..opq"), WhiteoutName::Opaque);
        assert_eq!(classify(".wh.foo"), WhiteoutName::Whiteout("foo"));
        assert_eq!(classify(".wh."), WhiteoutName::None);
        assert_eq!(classify("foo"), WhiteoutName::None);
    }
}
