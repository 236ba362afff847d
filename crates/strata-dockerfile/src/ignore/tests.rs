use super::*;

fn one(pattern: &str, path: &str) -> bool {
    DockerIgnore::parse(pattern).unwrap().matches(path)
}

/// moby/patternmatcher `TestMatches` table (single pattern, parent-aware matching).
#[test]
fn moby_match_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "file/", true),
        ("**/", "file", true),
        ("**/", "file/", true),
        ("**", "/", true),
        ("**/", "/", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**", "dir/file/", true),
        ("**/", "dir/file/", true),
        ("**/**", "dir/file", true),
        ("**/**", "dir/file/", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true),
        ("dir/**", "dir/dir2/file/", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/*", "dir/dir2/file/", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("a\\\\", "a\\", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("*", "fileutils.go", true),
        ("*.go", "fileutils.go", true),
        ("*.go", "dir/fileutils.go", false),
        ("docs", "docs/sub/file", true),
        ("/docs/", "docs/file", true),
    ];
    let failures: Vec<_> = cases
        .iter()
        .filter(|(p, path, want)| one(p, path) != *want)
        .collect();
    assert!(failures.is_empty(), "failing: {failures:?}");
}

#[test]
fn exclusions_and_last_match_wins() {
    let m = |pats: &str, path: &str| DockerIgnore::parse(pats).unwrap().matches(path);
    assert!(m("!fileutils.go\n*.go", "fileutils.go"));
    assert!(!m("*.go\n!fileutils.go", "fileutils.go"));
    assert!(!m("docs\n!docs/README.md", "docs/README.md"));
    assert!(m("docs\n!docs/README.md", "docs/other.md"));
    assert!(!m("docs/\n!docs/README.md", "docs/README.md"));
    assert!(!m("docs/*\n!docs/README.md", "docs/README.md"));
    assert!(m("*\n!src\nsrc/*.tmp", "src/a.tmp"));
    assert!(!m("*\n!src\nsrc/*.tmp", "src/a.rs"));
    assert!(m("**/node_modules", "web/node_modules/x/index.js"));
}

#[test]
fn read_all_normalisation() {
    let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n  spaced  \n./x/../y\n";
    let ig = DockerIgnore::parse(text).unwrap();
    assert_eq!(
        ig.patterns(),
        vec![
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path",
            "spaced",
            "y"
        ]
    );
    assert!(ig.has_exclusions());
    assert!(DockerIgnore::parse("").unwrap().is_empty());
    assert!(DockerIgnore::parse("\u{feff}# c\n").unwrap().is_empty());
}

#[test]
fn invalid_patterns() {
    assert_eq!(
        DockerIgnore::parse("a\n!\n").unwrap_err(),
        IgnoreError::LoneExclusion { line: 2 }
    );
    assert!(matches!(
        DockerIgnore::parse("[abc").unwrap_err(),
        IgnoreError::BadPattern { line: 1, .. }
    ));
    assert_eq!(
        DockerIgnore::parse("a\\").unwrap_err(),
        IgnoreError::BadPattern {
            line: 1,
            pattern: "a\\".into()
        }
    );
}

#[test]
fn matches_using_parent_agrees_with_matches() {
    let ig = DockerIgnore::parse("build\n!build/keep\n*.log\n").unwrap();
    let (dir_hit, info) = ig.matches_using_parent("build", &MatchInfo::default());
    assert!(dir_hit);
    for child in ["build/keep", "build/x", "build/keep/a.log"] {
        let parent = if child.starts_with("build/keep/") {
            ig.matches_using_parent("build/keep", &info).1
        } else {
            info.clone()
        };
        assert_eq!(
            ig.matches_using_parent(child, &parent).0,
            ig.matches(child),
            "{child}"
        );
    }
}

#[test]
fn may_reinclude_under_dir() {
    let ig = DockerIgnore::parse("node_modules\n!node_modules/keep\nvendor\n!**/*.go\n").unwrap();
    assert!(ig.may_reinclude_under("node_modules"));
    assert!(ig.may_reinclude_under("anything"));
    let ig = DockerIgnore::parse("node_modules\nvendor\n!src/main.rs\n").unwrap();
    assert!(!ig.may_reinclude_under("node_modules"));
    assert!(ig.may_reinclude_under("src"));
    assert!(!ig.may_reinclude_under("src/other"));
    let ig = DockerIgnore::parse("*\n!docs\n").unwrap();
    assert!(ig.may_reinclude_under("docs/deep/dir"));
    assert!(!ig.may_reinclude_under("target"));
}

#[test]
fn clean_like_go() {
    assert_eq!(clean("a//b/./c/.."), "a/b");
    assert_eq!(clean("/../a"), "/a");
    assert_eq!(clean("../a"), "../a");
    assert_eq!(clean(""), ".");
    assert_eq!(clean("a/.."), ".");
}

/// `patternmatcher.New` (vendor/github.com/moby/patternmatcher/patternmatcher.go in
/// moby/buildkit v0.24.0): whitespace trimmed, empty patterns skipped, `filepath.Clean`ed, no
/// comment or leading-`/` handling (that is `ignorefile.ReadAll`'s).
#[test]
fn from_patterns_is_patternmatcher_new() {
    let m = DockerIgnore::from_patterns(&[" *.txt ", "", "src/**/*.go", "!src/keep.go"]).unwrap();
    assert_eq!(m.patterns(), vec!["*.txt", "src/**/*.go", "!src/keep.go"]);
    assert!(m.matches("a.txt"));
    assert!(!m.matches("sub/a.txt"));
    assert!(m.matches("src/x/y/main.go"));
    assert!(!m.matches("src/keep.go"));
    let m = DockerIgnore::from_patterns(&["#x", "/abs"]).unwrap();
    assert!(m.matches("#x"));
    assert!(!m.matches("abs"));
    assert_eq!(
        DockerIgnore::from_patterns(&["ok", "a["]),
        Err(IgnoreError::BadPattern {
            line: 2,
            pattern: "a[".into()
        })
    );
}
