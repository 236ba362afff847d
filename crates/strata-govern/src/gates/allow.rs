//! The allow-list: `repository`, `repository:tag` or `repository@digest` globs naming images
//! exempt from the gates (and kept by retention). A repository glob matches the repository
//! with or without its registry host, so `team/*` names `registry.example/team/app` too.

use globset::GlobMatcher;

use crate::glob;

/// One allow-list entry, split and compiled.
pub(super) struct Pattern {
    repository: GlobMatcher,
    tag: Option<GlobMatcher>,
    digest: Option<GlobMatcher>,
}

/// Splits `repo[:tag]` or `repo@digest` (the tag's `:` is the one after the last `/`, so a
/// registry port is not a tag).
pub(super) fn compile(pattern: &str) -> Result<Pattern, globset::Error> {
    if let Some((repo, digest)) = pattern.split_once('@') {
        return Ok(Pattern {
            repository: glob::repository(repo)?,
            tag: None,
            digest: Some(glob::tag(digest)?),
        });
    }
    let (repo, tag) = split_tag(pattern);
    Ok(Pattern {
        repository: glob::repository(repo)?,
        tag: tag.map(glob::tag).transpose()?,
        digest: None,
    })
}

/// `name:tag` → (`name`, `tag`); a `:` before the last `/` belongs to a registry host.
pub(crate) fn split_tag(s: &str) -> (&str, Option<&str>) {
    let slash = s.rfind('/').map_or(0, |i| i + 1);
    match s[slash..].rfind(':') {
        Some(i) => (&s[..slash + i], Some(&s[slash + i + 1..])),
        None => (s, None),
    }
}

/// The repository without a leading registry host (`host.example/team/app` → `team/app`),
/// `None` when it has none.
pub(crate) fn without_host(repository: &str) -> Option<&str> {
    let (first, rest) = repository.split_once('/')?;
    let host = first.contains('.') || first.contains(':') || first == "localhost";
    host.then_some(rest)
}

impl Pattern {
    pub(super) fn matches_repository(&self, repository: &str) -> bool {
        self.repository.is_match(repository)
            || without_host(repository).is_some_and(|r| self.repository.is_match(r))
    }

    fn matches(&self, repository: &str, tags: &[String], digest: &str) -> bool {
        if !self.matches_repository(repository) {
            return false;
        }
        match (&self.tag, &self.digest) {
            (Some(tag), _) => tags.iter().any(|t| tag.is_match(t)),
            (None, Some(d)) => d.is_match(digest),
            (None, None) => true,
        }
    }
}

/// The allow-list compiled once, for callers that test many images (retention's
/// `protected`): [`super::GatePolicy::allow_list`].
pub struct AllowList {
    patterns: Vec<Pattern>,
}

impl AllowList {
    pub(super) fn new(allow: &[String]) -> AllowList {
        AllowList {
            patterns: allow.iter().filter_map(|p| compile(p).ok()).collect(),
        }
    }

    /// Whether an entry names the image (see [`super::GatePolicy::allows`]).
    pub fn allows(&self, repository: &str, tags: &[String], digest: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| p.matches(repository, tags, digest))
    }

    /// [`AllowList::allows`] for a registry image.
    pub fn allows_image(&self, image: &crate::Image) -> bool {
        self.allows(&image.repository, &image.tags, &image.digest.to_string())
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

impl Pattern {
    /// Whether a full reference's parts match: the repository glob against `name` exactly,
    /// the tag or digest glob (if any) against the reference's tag or digest.
    pub(super) fn matches_reference(
        &self,
        name: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> bool {
        let part = |glob: &Option<GlobMatcher>, value: Option<&str>| match glob {
            Some(g) => value.is_some_and(|v| g.is_match(v)),
            None => true,
        };
        self.repository.is_match(name) && part(&self.tag, tag) && part(&self.digest, digest)
    }
}
