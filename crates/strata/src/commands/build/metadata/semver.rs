//! Release versions as git tags write them: `v1.2.0`, `1.2.0-rc.1` (semver 2.0 with an
//! optional `v`, as docker/metadata-action's `type=semver` reads a tag). Only what strata
//! needs: parse, order, and whether it is a pre-release.

use std::cmp::Ordering;

/// A parsed `[v]MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// The dot-separated pre-release identifiers (empty for a release).
    pub pre: Vec<String>,
}

impl Version {
    pub fn parse(tag: &str) -> Option<Version> {
        let s = tag.strip_prefix('v').unwrap_or(tag);
        let s = s.split_once('+').map_or(s, |(v, _)| v);
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (s, None),
        };
        let mut nums = core.split('.').map(number);
        let (major, minor, patch) = (nums.next()??, nums.next()??, nums.next()??);
        if nums.next().is_some() {
            return None;
        }
        let pre = match pre {
            Some(p) => p.split('.').map(identifier).collect::<Option<Vec<_>>>()?,
            None => Vec::new(),
        };
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

fn number(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = s.len() > 1 && s.starts_with('0');
    (digits && !leading_zero).then(|| s.parse().ok()).flatten()
}

fn identifier(s: &str) -> Option<String> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| s.to_owned())
}

impl Ord for Version {
    /// Semver precedence: numbers, then a release above its pre-releases, then the
    /// pre-release identifiers (numeric ones numerically and below alphanumeric ones).
    fn cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

/// The highest semver tag of `tags`; when none is semver, the first (git lists by name).
pub fn release_tag(tags: &[String]) -> Option<&String> {
    tags.iter()
        .filter_map(|t| Version::parse(t).map(|v| (v, t)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t)
        .or_else(|| tags.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_as_metadata_action_reads_them() {
        let v = Version::parse("v1.2.0").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 0));
        assert!(!v.is_prerelease());
        assert!(Version::parse("1.2.0-rc.1").unwrap().is_prerelease());
        assert!(Version::parse("v1.2.0+build.5").is_some());
        for bad in ["v1.2", "1.2.3.4", "01.2.3", "release", "v1.2.x", "1.2.3-"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_highest_release_wins() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let t = tags(&["v1.10.0", "v1.2.0", "v1.10.0-rc.1", "stable"]);
        assert_eq!(release_tag(&t).unwrap(), "v1.10.0");
        let t = tags(&["v2.0.0-rc.2", "v2.0.0-rc.10", "v2.0.0-beta"]);
        assert_eq!(release_tag(&t).unwrap(), "v2.0.0-rc.10");
        assert_eq!(release_tag(&tags(&["nightly"])).unwrap(), "nightly");
        assert_eq!(release_tag(&[]), None);
    }
}
