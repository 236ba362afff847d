//! Debian version ordering (`deb-version(7)`): `[epoch:]upstream[-revision]`, compared as
//! dpkg does, `~` sorting before everything (even the end of the string).
//!
//! Written here rather than taken from `debian-packaging`: that crate pulls an async runtime,
//! an older `pgp` and an HTTP stack with it, for one comparison function of forty lines.

use std::cmp::Ordering;
use std::fmt;

/// A parsed Debian version. Ordering is dpkg's; equality is textual equality of the parts
/// (so `1.0` and `0:1.0` compare `Equal` but are not `==`; compare with `cmp`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    text: String,
    epoch: u64,
    upstream: (usize, usize),
    revision: (usize, usize),
}

/// A version string that is not a Debian version.
#[derive(Debug, thiserror::Error)]
#[error("invalid Debian version {0:?}")]
pub struct VersionError(pub String);

impl Version {
    /// Parses `[epoch:]upstream[-revision]`.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let bad = || VersionError(text.to_owned());
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.contains(char::is_whitespace) {
            return Err(bad());
        }
        let (epoch, rest_start) = match trimmed.find(':') {
            Some(i) => (trimmed[..i].parse::<u64>().map_err(|_| bad())?, i + 1),
            None => (0, 0),
        };
        let rest = &trimmed[rest_start..];
        let (up_end, rev) = match rest.rfind('-') {
            Some(i) => (rest_start + i, (rest_start + i + 1, trimmed.len())),
            None => (trimmed.len(), (trimmed.len(), trimmed.len())),
        };
        if up_end == rest_start {
            return Err(bad());
        }
        Ok(Version {
            text: trimmed.to_owned(),
            epoch,
            upstream: (rest_start, up_end),
            revision: rev,
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn upstream(&self) -> &str {
        &self.text[self.upstream.0..self.upstream.1]
    }

    fn revision(&self) -> &str {
        &self.text[self.revision.0..self.revision.1]
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream(), other.upstream()))
            .then_with(|| verrevcmp(self.revision(), other.revision()))
    }
}

/// dpkg's character weight in the non-digit parts: `~` lowest, then the end of the part,
/// then letters, then everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Version::parse(a).unwrap().cmp(&Version::parse(b).unwrap())
    }

    #[test]
    fn orders_like_dpkg() {
        let less = [
            ("1.0", "1.1"),
            ("1.0~rc1", "1.0"),
            ("1.0~~", "1.0~"),
            ("1.0", "1.0a"),
            ("1.0", "1.0-1"),
            ("1.0-1", "1.0-2"),
            ("1.0-9", "1.0-10"),
            ("9.9", "1:0.1"),
            ("2.36-9+deb12u3", "2.36-9+deb12u10"),
            ("1.2.3", "1.2.3.0"),
            ("1.0+b1", "1.0.1"),
            ("0.9", "1.0~alpha"),
            ("1.a", "1.+"),
        ];
        for (a, b) in less {
            assert_eq!(cmp(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(cmp(b, a), Ordering::Greater, "{b} > {a}");
        }
        assert_eq!(cmp("1.0", "0:1.0"), Ordering::Equal);
        assert_eq!(cmp("1.00", "1.0"), Ordering::Equal);
    }

    #[test]
    fn splits_epoch_and_last_hyphen() {
        let v = Version::parse("1:2.3-4-5").unwrap();
        assert_eq!(v.epoch, 1);
        assert_eq!(v.upstream(), "2.3-4");
        assert_eq!(v.revision(), "5");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "x:1.0", "1.0 2", ":1", "1:-2"] {
            assert!(Version::parse(bad).is_err(), "{bad:?}");
        }
    }
}
