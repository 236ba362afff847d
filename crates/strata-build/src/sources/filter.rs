//! Which entries below a copied directory are copied, with `COPY --exclude` and the include
//! pattern of `COPY --parents`, as BuildKit's copier decides it
//! (vendor/github.com/tonistiigi/fsutil/copy/copy.go in moby/buildkit v0.24.0, `copier.copy`):
//!
//! - paths are matched relative to the copied source (the directory named, or the `--parents`
//!   root), never the source itself: a file named directly (or matched by a source glob) is
//!   always copied;
//! - matching is moby/patternmatcher's `MatchesUsingParentResults`: a directory that matches a
//!   pattern matches for everything below it, `**` crosses directories, `!` re-includes;
//! - an entry is copied when it matches an include pattern (if any) and no exclude pattern;
//! - a directory that is not copied itself is still created, with its source metadata, when
//!   something below it is copied (`createParentDirs`), so `a/*/c` copies `a/b/` for `a/b/c`.

use std::collections::{BTreeSet, HashMap};

use strata_dockerfile::{DockerIgnore, IgnoreError, MatchInfo};

/// Include and exclude patterns over the paths below one source.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    include: Option<DockerIgnore>,
    exclude: Option<DockerIgnore>,
}

/// Match results of one directory, for its children.
#[derive(Default, Clone)]
struct DirInfo {
    include: MatchInfo,
    exclude: MatchInfo,
}

impl PathFilter {
    /// A filter from `--exclude` patterns and (with `--parents`) one include pattern; `None`
    /// when neither is given, so callers can skip filtering.
    pub fn new(
        include: Option<&str>,
        excludes: &[String],
    ) -> Result<Option<PathFilter>, IgnoreError> {
        if include.is_none() && excludes.is_empty() {
            return Ok(None);
        }
        let include = include
            .map(|p| DockerIgnore::from_patterns(&[p]))
            .transpose()?;
        let exclude = if excludes.is_empty() {
            None
        } else {
            Some(DockerIgnore::from_patterns(excludes)?)
        };
        Ok(Some(PathFilter { include, exclude }))
    }

    /// The paths to copy among `paths` (relative to the source, `/`-separated, every parent
    /// listed before its children): the selected ones and the directories above them.
    pub fn select<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> BTreeSet<String> {
        let mut infos: HashMap<&str, DirInfo> = HashMap::new();
        let mut kept = BTreeSet::new();
        let root = DirInfo::default();
        for path in paths {
            let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
            let parent_info = infos.get(parent).unwrap_or(&root);
            let (selected, info) = self.matches(path, parent_info);
            infos.insert(path, info);
            if selected {
                keep_with_parents(&mut kept, path);
            }
        }
        kept
    }

    fn matches(&self, path: &str, parent: &DirInfo) -> (bool, DirInfo) {
        let (included, include) = match &self.include {
            Some(m) => m.matches_using_parent(path, &parent.include),
            None => (true, MatchInfo::default()),
        };
        let (excluded, exclude) = match &self.exclude {
            Some(m) => m.matches_using_parent(path, &parent.exclude),
            None => (false, MatchInfo::default()),
        };
        (included && !excluded, DirInfo { include, exclude })
    }
}

fn keep_with_parents(kept: &mut BTreeSet<String>, path: &str) {
    let mut cur = path;
    while kept.insert(cur.to_owned()) {
        match cur.rsplit_once('/') {
            Some((parent, _)) => cur = parent,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context of BuildKit's `testExcludedFilesOnCopy`
    /// (frontend/dockerfile/exclude_patterns_test.go in moby/buildkit v0.24.0).
    const TREE: [&str; 11] = [
        "dir1",
        "dir1/file-101.png",
        "dir1/file-102.txt",
        "dir1/file-103.jpeg",
        "dir2",
        "dir2/file-201.pdf",
        "dir2/file-202.jpeg",
        "dir2/file-203.png",
        "dir3",
        "dir3/file-301.mp3",
        "dir3/file-302.mpeg",
    ];

    fn select(include: Option<&str>, excludes: &[&str], paths: &[&str]) -> Vec<String> {
        let excludes: Vec<String> = excludes.iter().map(|s| s.to_string()).collect();
        let f = PathFilter::new(include, &excludes).unwrap().unwrap();
        f.select(paths.iter().copied()).into_iter().collect()
    }

    #[test]
    fn excludes_match_relative_to_the_copied_source() {
        // COPY --exclude=*/*.png --exclude=*/*.jpeg . /1
        let got = select(None, &["*/*.png", "*/*.jpeg"], &TREE);
        assert_eq!(
            got,
            [
                "dir1",
                "dir1/file-102.txt",
                "dir2",
                "dir2/file-201.pdf",
                "dir3",
                "dir3/file-301.mp3",
                "dir3/file-302.mpeg"
            ]
        );
        // ADD --exclude=*.mp3 dir3/ /3/: paths below dir3, relative to it.
        let got = select(None, &["*.mp3"], &["file-301.mp3", "file-302.mpeg"]);
        assert_eq!(got, ["file-302.mpeg"]);
        // `*.txt` does not reach into subdirectories.
        assert_eq!(
            select(None, &["*.txt"], &["a", "a/b.txt"]),
            ["a", "a/b.txt"]
        );
    }

    #[test]
    fn an_excluded_directory_excludes_what_is_below_it_unless_re_included() {
        let paths = ["build", "build/keep", "build/x", "src", "src/main.rs"];
        assert_eq!(select(None, &["build"], &paths), ["src", "src/main.rs"]);
        let got = select(None, &["build", "!build/keep"], &paths);
        assert_eq!(got, ["build", "build/keep", "src", "src/main.rs"]);
        assert!(select(None, &["*"], &paths).is_empty());
    }

    #[test]
    fn include_pattern_keeps_matches_and_their_parent_directories() {
        let paths = [
            "a",
            "a/b",
            "a/b/c.txt",
            "a/b/d.txt",
            "x",
            "x/1.txt",
            "x/2.md",
        ];
        assert_eq!(
            select(Some("a/b/c.txt"), &[], &paths),
            ["a", "a/b", "a/b/c.txt"]
        );
        assert_eq!(select(Some("x/*.txt"), &[], &paths), ["x", "x/1.txt"]);
        // A matching directory brings everything below it.
        assert_eq!(
            select(Some("a"), &[], &paths),
            ["a", "a/b", "a/b/c.txt", "a/b/d.txt"]
        );
        assert_eq!(
            select(Some("**/*.txt"), &["a/b/d.txt"], &paths),
            ["a", "a/b", "a/b/c.txt", "x", "x/1.txt"]
        );
    }

    #[test]
    fn no_patterns_no_filter() {
        assert!(PathFilter::new(None, &[]).unwrap().is_none());
        assert!(matches!(
            PathFilter::new(None, &["a[".to_owned()]),
            Err(IgnoreError::BadPattern { .. })
        ));
    }
}
