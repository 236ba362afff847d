//! Slash-separated path cleaning with Go's `path.Clean` semantics — the one lexical path
//! normaliser of the workspace (Dockerfile patterns, COPY sources, tar entry names).
//!
//! [`clean`] is Go's function; the other functions are shapes of the same rule:
//! [`clean_in_root`] for paths that must stay under a root (as if they began with `/`), and
//! [`clean_components`] for raw bytes (tar names need not be UTF-8).

/// The kept components of `parts` after Go's `path.Clean` rules: empty and `.` components go,
/// `..` removes the previous kept component; at the start, `..` is dropped when `rooted` and
/// kept otherwise.
fn clean_parts<'a, T, I>(rooted: bool, parts: I) -> Vec<&'a T>
where
    T: AsRef<[u8]> + ?Sized + 'a,
    I: Iterator<Item = &'a T>,
{
    let mut out: Vec<&'a T> = Vec::new();
    for part in parts {
        match part.as_ref() {
            b"" | b"." => {}
            b".." => {
                if out.last().is_some_and(|p| p.as_ref() != b"..") {
                    out.pop();
                } else if !rooted {
                    out.push(part);
                }
            }
            _ => out.push(part),
        }
    }
    out
}

/// Go's `path.Clean`: the shortest path equivalent to `path` by lexical processing alone.
/// Repeated slashes become one, `.` components go, `..` eats the component before it (and,
/// at the start of a rooted path, is dropped), trailing slashes go. An empty result is `.`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let joined = clean_parts(rooted, path.split('/')).join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// `path` cleaned as if it began with `/` (so `..` never climbs above the root), without the
/// leading slash: `./a/../../b/` → `b`; the root itself is the empty string. Equal to
/// `clean("/" + path)` minus its first byte.
pub fn clean_in_root(path: &str) -> String {
    clean_parts(true, path.split('/')).join("/")
}

/// The components of [`clean_in_root`] of raw path bytes (a tar entry name need not be
/// UTF-8): `/../a/./b/../c//` → `["a", "c"]`.
pub fn clean_components(path: &[u8]) -> Vec<&[u8]> {
    clean_parts(true, path.split(|b| *b == b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `path.Clean` test table (src/path/path_test.go), every case.
    const GO_CASES: &[(&str, &str)] = &[
        // Already clean
        ("", "."),
        ("abc", "abc"),
        ("abc/def", "abc/def"),
        ("a/b/c", "a/b/c"),
        (".", "."),
        ("..", ".."),
        ("../..", "../.."),
        ("../../abc", "../../abc"),
        ("/abc", "/abc"),
        ("/", "/"),
        // Remove trailing slash
        ("abc/", "abc"),
        ("abc/def/", "abc/def"),
        ("a/b/c/", "a/b/c"),
        ("./", "."),
        ("../", ".."),
        ("../../", "../.."),
        ("/abc/", "/abc"),
        // Remove doubled slash
        ("abc//def//ghi", "abc/def/ghi"),
        ("//abc", "/abc"),
        ("///abc", "/abc"),
        ("//abc//", "/abc"),
        ("abc//", "abc"),
        // Remove . elements
        ("abc/./def", "abc/def"),
        ("/./abc/def", "/abc/def"),
        ("abc/.", "abc"),
        // Remove .. elements
        ("abc/def/ghi/../jkl", "abc/def/jkl"),
        ("abc/def/../ghi/../jkl", "abc/jkl"),
        ("abc/def/..", "abc"),
        ("abc/def/../..", "."),
        ("/abc/def/../..", "/"),
        ("abc/def/../../..", ".."),
        ("/abc/def/../../..", "/"),
        ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
        // Combinations
        ("abc/./../def", "def"),
        ("abc//./../def", "def"),
        ("abc/../../././../def", "../../def"),
    ];

    #[test]
    fn clean_matches_go() {
        for (input, want) in GO_CASES {
            assert_eq!(clean(input), *want, "clean({input:?})");
            // Go also checks that cleaning is idempotent.
            assert_eq!(clean(want), *want, "clean({want:?})");
        }
    }

    #[test]
    fn clean_in_root_is_rooted_clean_without_the_slash() {
        for (input, _) in GO_CASES {
            let rooted = clean(&format!("/{input}"));
            assert_eq!(
                clean_in_root(input),
                rooted[1..],
                "clean_in_root({input:?})"
            );
        }
        assert_eq!(clean_in_root("./a/../b/"), "b");
        assert_eq!(clean_in_root("../../etc/passwd"), "etc/passwd");
        assert_eq!(clean_in_root("."), "");
    }

    #[test]
    fn components_of_raw_bytes() {
        assert_eq!(
            clean_components(b"/../a/./b/../../../c//d/"),
            vec![&b"c"[..], &b"d"[..]]
        );
        assert_eq!(
            clean_components(b"a/\xff/../\xfe"),
            vec![&b"a"[..], &b"\xfe"[..]]
        );
        assert!(clean_components(b"/./..").is_empty());
    }
}
