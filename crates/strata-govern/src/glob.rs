//! The two kinds of glob the policies use, compiled the same way everywhere: repository
//! globs (`*` stays within a path component, `**` crosses them, as Harbor's `**` and
//! docker's references) and tag or digest globs (no separators to respect).

use globset::{GlobBuilder, GlobMatcher};

/// A repository glob: `team/*` matches `team/app`, not `team/app/sub`; `team/**` both.
pub(crate) fn repository(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
}

/// A tag (or digest) glob: `v1.*`, `sha-*`.
pub(crate) fn tag(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(pattern)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
}
