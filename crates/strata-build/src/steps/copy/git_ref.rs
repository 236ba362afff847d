//! What kind of source a COPY/ADD argument is: a git repository, an HTTP(S) URL or a path
//! in the build context (or `--from` stage), as BuildKit v0.24's frontend decides it
//! (frontend/dockerfile/dockerfile2llb/convert.go `dispatchCopy`, `isHTTPSource`,
//! `isGitSource`), and a git source parsed as `dfgitutil.ParseGitRef` parses it
//! (frontend/dockerfile/dfgitutil/git_ref.go, util/gitutil/git_url.go,
//! util/sshutil/scpurl.go). Pure: no I/O.
//!
//! A git source is `scheme://host/path[?query][#ref[:subdir]]` with scheme `git` or `ssh`
//! (any path) or `http`/`https` (a path ending in `.git`), or the scp-like
//! `user@host:path[?query][#ref[:subdir]]` (ssh). The query may set `ref`, `tag`
//! (`refs/tags/…`), `branch` (`refs/heads/…`), `subdir`, `checksum`/`commit`,
//! `keep-git-dir` and `submodules`. `github.com/…` is, as in BuildKit's Dockerfile COPY/ADD,
//! a local path.

use std::collections::BTreeMap;

/// The kind of one source argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Git(GitRef),
    /// `http://` or `https://` that is not a git repository.
    Url,
    /// A path in the build context or the `--from` source.
    Local,
}

/// How a git remote is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitScheme {
    Http,
    Https,
    Git,
    Ssh,
}

/// A parsed git source (`dfgitutil.GitRef`, without the fields only build contexts use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRef {
    /// What `git` is given: the source without its query and fragment.
    pub remote: String,
    pub scheme: GitScheme,
    /// A branch, tag, full ref or commit; `None` for the remote's HEAD.
    pub reference: Option<String>,
    /// A directory inside the repository, copied instead of its root.
    pub subdir: Option<String>,
    /// The commit the source must resolve to (`?checksum=` / `?commit=`).
    pub checksum: Option<String>,
    pub keep_git_dir: Option<bool>,
    pub submodules: Option<bool>,
}

/// Why a git source is malformed (dfgitutil `loadQuery`'s messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitRefError {
    #[error("query {0:?} has no value")]
    NoValue(String),
    #[error("query {0:?} has multiple values")]
    MultipleValues(String),
    #[error("ref conflicts: {0:?} vs {1:?}")]
    RefConflict(String, String),
    #[error("subdir conflicts: {0:?} vs {1:?}")]
    SubdirConflict(String, String),
    #[error("branch conflicts with tag")]
    BranchWithTag,
    #[error("invalid {key} value: {value:?}")]
    BadBool { key: &'static str, value: String },
    #[error("unexpected query {0:?}")]
    UnexpectedQuery(String),
    /// A ref or subdir that `git` would read as an option (BuildKit v0.25+ `validateGitRef`
    /// refuses such refs; strata refuses subdirs, tags and branches too, which git itself
    /// never names so).
    #[error("invalid git {what} {value:?}: it must not start with \"-\"")]
    LeadingDash { what: &'static str, value: String },
}

/// The kind of a COPY/ADD source argument (after expansion).
pub fn classify(src: &str) -> Result<SourceKind, GitRefError> {
    if src.starts_with("./") || src.starts_with("../") {
        return Ok(SourceKind::Local);
    }
    if src.starts_with("github.com/") {
        // `IndistinguishableFromLocal`: a path for COPY/ADD, but its query is still checked.
        let (_, query, _) = split_url(src);
        load_query(&mut empty_ref(), query)?;
        return Ok(SourceKind::Local);
    }
    let parsed = match scheme_of(src) {
        Some(scheme) => parse_scheme_url(src, &scheme),
        None => parse_scp(src),
    };
    match parsed {
        Some((mut r, query)) => {
            load_query(&mut r, query)?;
            refuse_dash("ref", r.reference.as_deref())?;
            refuse_dash("subdir", r.subdir.as_deref())?;
            Ok(SourceKind::Git(r))
        }
        None if src.starts_with("http://") || src.starts_with("https://") => Ok(SourceKind::Url),
        None => Ok(SourceKind::Local),
    }
}

fn empty_ref() -> GitRef {
    GitRef {
        remote: String::new(),
        scheme: GitScheme::Https,
        reference: None,
        subdir: None,
        checksum: None,
        keep_git_dir: None,
        submodules: None,
    }
}

/// The lowercased scheme of `^[a-zA-Z0-9]+://` (gitutil `protoRegexp`).
fn scheme_of(src: &str) -> Option<String> {
    let (scheme, _) = src.split_once("://")?;
    let ok = !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| scheme.to_ascii_lowercase())
}

/// `rest` split as Go's `url.Parse` splits it: (without query and fragment, query, fragment).
fn split_url(src: &str) -> (&str, Option<&str>, Option<&str>) {
    let (before, fragment) = match src.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (src, None),
    };
    match before.split_once('?') {
        Some((b, q)) => (b, Some(q), fragment),
        None => (before, None, fragment),
    }
}

/// A `scheme://` source: a git ref for `git` and `ssh`, for `http(s)` only with a path
/// ending in `.git`; `None` when not git (an unsupported scheme is a local path).
fn parse_scheme_url<'a>(src: &'a str, scheme: &str) -> Option<(GitRef, Option<&'a str>)> {
    let scheme = match scheme {
        "http" => GitScheme::Http,
        "https" => GitScheme::Https,
        "git" => GitScheme::Git,
        "ssh" => GitScheme::Ssh,
        _ => return None,
    };
    let (base, query, fragment) = split_url(src);
    let after = &base[base.find("://")? + 3..];
    let path = after.find('/').map_or("", |i| &after[i..]);
    if matches!(scheme, GitScheme::Http | GitScheme::Https) && !path.ends_with(".git") {
        return None;
    }
    let (proto, rest) = base.split_once("://")?;
    let remote = format!("{}://{rest}", proto.to_ascii_lowercase());
    Some((with_fragment(remote, scheme, fragment), query))
}

/// sshutil's scp-like `user@host:path[?query][#fragment]`, user `[a-zA-Z0-9-_]+`, host
/// `[a-zA-Z0-9-.]+`.
fn parse_scp(src: &str) -> Option<(GitRef, Option<&str>)> {
    let (user, rest) = src.split_once('@')?;
    let (host, _) = rest.split_once(':')?;
    let user_ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let host_ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    if user.is_empty() || host.is_empty() || !user.bytes().all(user_ok) {
        return None;
    }
    if !host.bytes().all(host_ok) {
        return None;
    }
    let (base, query, fragment) = split_url(src);
    Some((
        with_fragment(base.to_owned(), GitScheme::Ssh, fragment),
        query,
    ))
}

/// gitutil `parseOpts`: the fragment is `ref[:subdir]`.
fn with_fragment(remote: String, scheme: GitScheme, fragment: Option<&str>) -> GitRef {
    let mut r = empty_ref();
    r.remote = remote;
    r.scheme = scheme;
    if let Some(f) = fragment.filter(|f| !f.is_empty()) {
        let (reference, subdir) = f.split_once(':').unwrap_or((f, ""));
        r.reference = Some(reference.to_owned()).filter(|s| !s.is_empty());
        r.subdir = Some(subdir.to_owned()).filter(|s| !s.is_empty());
    }
    r
}

/// Go's `url.ParseQuery` (pairs split on `&`, `+` and `%XX` decoded; a pair with `;` is
/// dropped), keys in sorted order.
fn parse_query(query: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in query
        .split('&')
        .filter(|p| !p.is_empty() && !p.contains(';'))
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (unescape(k), unescape(v)) else {
            continue;
        };
        out.entry(k).or_default().push(v);
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Go's `strconv.ParseBool`.
fn parse_bool(key: &'static str, value: Option<&str>) -> Result<bool, GitRefError> {
    match value {
        None => Ok(true),
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
        Some(v) => Err(GitRefError::BadBool {
            key,
            value: v.to_owned(),
        }),
    }
}

/// dfgitutil `loadQuery`: the query's settings, checked against the fragment's.
fn load_query(r: &mut GitRef, query: Option<&str>) -> Result<(), GitRefError> {
    let (mut tag, mut branch) = (None, None);
    for (k, v) in parse_query(query.unwrap_or("")) {
        if v.len() > 1 {
            return Err(GitRefError::MultipleValues(k));
        }
        let value = v.into_iter().next().filter(|s| !s.is_empty());
        if value.is_none() && k != "submodules" && k != "keep-git-dir" {
            return Err(GitRefError::NoValue(k));
        }
        match (k.as_str(), value) {
            ("ref", Some(v)) => set_ref(r, v)?,
            ("tag", v) => tag = v,
            ("branch", v) => branch = v,
            ("subdir", Some(v)) => match &r.subdir {
                Some(s) if *s != v => return Err(GitRefError::SubdirConflict(s.clone(), v)),
                _ => r.subdir = Some(v),
            },
            ("checksum" | "commit", v) => r.checksum = v,
            ("keep-git-dir", v) => r.keep_git_dir = Some(parse_bool("keep-git-dir", v.as_deref())?),
            ("submodules", v) => r.submodules = Some(parse_bool("submodules", v.as_deref())?),
            _ => return Err(GitRefError::UnexpectedQuery(k)),
        }
    }
    refuse_dash("tag", tag.as_deref())?;
    refuse_dash("branch", branch.as_deref())?;
    if let Some(t) = &tag {
        set_ref(r, prefixed("refs/tags/", t))?;
    }
    if let Some(b) = branch {
        if tag.is_some() {
            return Err(GitRefError::BranchWithTag);
        }
        set_ref(r, prefixed("refs/heads/", &b))?;
    }
    Ok(())
}

/// Refuses a value `git` would take for an option.
fn refuse_dash(what: &'static str, value: Option<&str>) -> Result<(), GitRefError> {
    match value {
        Some(v) if v.starts_with('-') => Err(GitRefError::LeadingDash {
            what,
            value: v.to_owned(),
        }),
        _ => Ok(()),
    }
}

fn prefixed(prefix: &str, name: &str) -> String {
    if name.starts_with(prefix) {
        name.to_owned()
    } else {
        format!("{prefix}{name}")
    }
}

fn set_ref(r: &mut GitRef, value: String) -> Result<(), GitRefError> {
    match &r.reference {
        Some(old) if *old != value => Err(GitRefError::RefConflict(old.clone(), value)),
        _ => {
            r.reference = Some(value);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(remote: &str, reference: Option<&str>, subdir: Option<&str>) -> SourceKind {
        let mut r = empty_ref();
        r.remote = remote.to_owned();
        r.scheme = match remote.split_once("://").map(|(s, _)| s) {
            Some("http") => GitScheme::Http,
            Some("https") => GitScheme::Https,
            Some("git") => GitScheme::Git,
            _ => GitScheme::Ssh,
        };
        r.reference = reference.map(str::to_owned);
        r.subdir = subdir.map(str::to_owned);
        SourceKind::Git(r)
    }

    /// frontend/dockerfile/dfgitutil/git_ref_test.go `TestParseGitRef` (v0.24.0), with
    /// what `dispatchCopy` makes of each: a ref that is not git is a URL or a path.
    #[test]
    fn sources_are_classified_as_buildkits_parse_git_ref() {
        use SourceKind::{Local, Url};
        let cases = [
            ("https://example.com/", Url),
            ("https://example.com/foo", Url),
            (
                "https://example.com/foo.git",
                git("https://example.com/foo.git", None, None),
            ),
            (
                "https://example.com/foo.git#deadbeef",
                git("https://example.com/foo.git", Some("deadbeef"), None),
            ),
            (
                "https://example.com/foo.git#release/1.2",
                git("https://example.com/foo.git", Some("release/1.2"), None),
            ),
            ("https://example.com/foo.git/", Url),
            ("https://example.com/foo.git.bar", Url),
            (
                "git://example.com/foo",
                git("git://example.com/foo", None, None),
            ),
            ("github.com/moby/buildkit", Local),
            ("github.com/moby/buildkit#master", Local),
            ("custom.xyz/moby/buildkit.git", Local),
            ("https://github.com/moby/buildkit", Url),
            (
                "https://foo:bar@github.com/moby/buildkit.git",
                git("https://foo:bar@github.com/moby/buildkit.git", None, None),
            ),
            (
                "git@github.com:moby/buildkit",
                git("git@github.com:moby/buildkit", None, None),
            ),
            (
                "git@bitbucket.org:atlassianlabs/atlassian-docker.git",
                git(
                    "git@bitbucket.org:atlassianlabs/atlassian-docker.git",
                    None,
                    None,
                ),
            ),
            (
                "https://github.com/foo/bar.git#baz/qux:quux/quuz",
                git(
                    "https://github.com/foo/bar.git",
                    Some("baz/qux"),
                    Some("quux/quuz"),
                ),
            ),
            ("http://github.com/docker/docker.git:#branch", Url),
            (
                "https://github.com/docker/docker.git#:myfolder",
                git(
                    "https://github.com/docker/docker.git",
                    None,
                    Some("myfolder"),
                ),
            ),
            ("./.git", Local),
            (".git", Local),
            (
                "https://github.com/docker/docker.git?ref=v1.0.0&subdir=/subdir",
                git(
                    "https://github.com/docker/docker.git",
                    Some("v1.0.0"),
                    Some("/subdir"),
                ),
            ),
            (
                "https://github.com/moby/buildkit.git?subdir=/subdir#v1.0.0",
                git(
                    "https://github.com/moby/buildkit.git",
                    Some("v1.0.0"),
                    Some("/subdir"),
                ),
            ),
            (
                "https://github.com/moby/buildkit.git?tag=v1.0.0",
                git(
                    "https://github.com/moby/buildkit.git",
                    Some("refs/tags/v1.0.0"),
                    None,
                ),
            ),
            ("github.com/moby/buildkit?tag=v1.0.0", Local),
            (
                "https://github.com/moby/buildkit.git?branch=v1.0",
                git(
                    "https://github.com/moby/buildkit.git",
                    Some("refs/heads/v1.0"),
                    None,
                ),
            ),
            (
                "git@github.com:moby/buildkit.git?subdir=/subdir#v1.0.0",
                git(
                    "git@github.com:moby/buildkit.git",
                    Some("v1.0.0"),
                    Some("/subdir"),
                ),
            ),
            (
                "ssh://git@h/r#main",
                git("ssh://git@h/r", Some("main"), None),
            ),
            ("ftp://h/r.git", Local),
            ("src/app", Local),
            ("*.txt", Local),
        ];
        for (src, want) in cases {
            assert_eq!(classify(src), Ok(want), "{src}");
        }
    }

    #[test]
    fn malformed_git_queries_are_errors_as_in_buildkit() {
        let cases = [
            (
                "https://github.com/moby/buildkit.git?ref=v1.0.0#v1.2.3",
                "ref conflicts",
            ),
            (
                "https://github.com/moby/buildkit.git?ref=v1.0.0&tag=v1.2.3",
                "ref conflicts",
            ),
            (
                "https://github.com/moby/buildkit.git?tag=v1.0.0&branch=v1.0",
                "branch conflicts with tag",
            ),
            (
                "https://github.com/moby/buildkit.git?invalid=123",
                "unexpected query \"invalid\"",
            ),
            (
                "https://h/r.git?ref=a&ref=b",
                "query \"ref\" has multiple values",
            ),
            ("https://h/r.git?ref=", "query \"ref\" has no value"),
            (
                "https://h/r.git?keep-git-dir=maybe",
                "invalid keep-git-dir value: \"maybe\"",
            ),
            ("github.com/moby/buildkit?bad=1", "unexpected query \"bad\""),
        ];
        for (src, want) in cases {
            let err = classify(src).unwrap_err().to_string();
            assert!(err.contains(want), "{src}: {err}");
        }
    }

    /// A ref or subdir starting with `-` would reach `git fetch`/`checkout`/`cat-file` as an
    /// option (`#--upload-pack=…`); it is refused while parsing, wherever it is written.
    #[test]
    fn refs_and_subdirs_starting_with_a_dash_are_refused() {
        let cases = [
            (
                "https://h/r.git#--upload-pack=touch /tmp/x",
                "ref",
                "--upload-pack=touch /tmp/x",
            ),
            ("https://h/r.git#-b", "ref", "-b"),
            ("https://h/r.git?ref=--output=/x", "ref", "--output=/x"),
            ("https://h/r.git?tag=-x", "tag", "-x"),
            ("https://h/r.git?branch=--all", "branch", "--all"),
            ("https://h/r.git#main:-sub", "subdir", "-sub"),
            ("https://h/r.git?subdir=--x", "subdir", "--x"),
            ("git@h:r.git#-f", "ref", "-f"),
        ];
        for (src, what, value) in cases {
            assert_eq!(
                classify(src),
                Err(GitRefError::LeadingDash {
                    what,
                    value: value.to_owned()
                }),
                "{src}"
            );
        }
        let err = classify("https://h/r.git#-b").unwrap_err().to_string();
        assert_eq!(err, r#"invalid git ref "-b": it must not start with "-""#);
        // A dash inside a name is fine.
        assert!(matches!(
            classify("https://h/r.git#fix-1:sub-dir"),
            Ok(SourceKind::Git(_))
        ));
    }

    #[test]
    fn query_flags_and_checksum_are_read() {
        let SourceKind::Git(r) =
            classify("https://h/r.git?keep-git-dir&submodules=false&commit=abc#main").unwrap()
        else {
            panic!("not git");
        };
        assert_eq!(
            (r.keep_git_dir, r.submodules, r.checksum.as_deref()),
            (Some(true), Some(false), Some("abc"))
        );
        assert_eq!(
            (r.reference.as_deref(), r.scheme),
            (Some("main"), GitScheme::Https)
        );
    }
}
