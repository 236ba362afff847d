//! A suite's `Release` file: its dates and the SHA256 list of the index files it vouches for.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

use super::control;

/// One file listed under `SHA256:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    pub sha256: String,
    pub size: u64,
}

/// The parts of a Release strata uses.
#[derive(Debug, Clone)]
pub struct Release {
    /// `Date:` as written (recorded in lock files).
    pub date: String,
    /// `Date:` parsed.
    pub date_parsed: OffsetDateTime,
    /// `Valid-Until:` parsed, when present (security and updates suites set it).
    pub valid_until: Option<OffsetDateTime>,
    /// `Codename:` (or `Suite:`), for messages.
    pub codename: String,
    /// Path relative to `dists/<suite>/` → hash and size.
    pub files: BTreeMap<String, IndexFile>,
}

/// A Release that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{suite}: Release is not a control file")]
    Control {
        suite: String,
        #[source]
        source: control::ControlError,
    },
    #[error("{suite}: Release has no {field} field")]
    Missing { suite: String, field: &'static str },
    #[error("{suite}: Release {field} {value:?} is not an RFC 2822 date")]
    Date {
        suite: String,
        field: &'static str,
        value: String,
    },
    #[error("{suite}: Release SHA256 line {line:?} is not `hash size path`")]
    HashLine { suite: String, line: String },
    #[error("{suite}: Release expired on {valid_until} (Valid-Until); the mirror is stale or a replay: refusing it")]
    Expired { suite: String, valid_until: String },
}

impl Release {
    /// Parses the (already verified) Release text of `suite`.
    pub fn parse(suite: &str, text: &str) -> Result<Release, ReleaseError> {
        let paras = control::parse(text).map_err(|source| ReleaseError::Control {
            suite: suite.to_owned(),
            source,
        })?;
        let para = paras.first().ok_or(ReleaseError::Missing {
            suite: suite.to_owned(),
            field: "Date",
        })?;
        let field = |name: &'static str| {
            para.get(name).ok_or(ReleaseError::Missing {
                suite: suite.to_owned(),
                field: name,
            })
        };
        let date = field("Date")?.to_owned();
        let date_parsed = parse_date(suite, "Date", &date)?;
        let valid_until = para
            .get("Valid-Until")
            .map(|v| parse_date(suite, "Valid-Until", v))
            .transpose()?;
        let codename = para
            .get("Codename")
            .or(para.get("Suite"))
            .unwrap_or(suite)
            .to_owned();
        let mut files = BTreeMap::new();
        for line in field("SHA256")?.lines().map(str::trim) {
            if line.is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let bad = || ReleaseError::HashLine {
                suite: suite.to_owned(),
                line: line.to_owned(),
            };
            let [hash, size, path] = parts[..] else {
                return Err(bad());
            };
            let size = size.parse().map_err(|_| bad())?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            files.insert(
                path.to_owned(),
                IndexFile {
                    sha256: hash.to_ascii_lowercase(),
                    size,
                },
            );
        }
        Ok(Release {
            date,
            date_parsed,
            valid_until,
            codename,
            files,
        })
    }

    /// Refuses a Release past its `Valid-Until` (apt's check against replayed old indices).
    pub fn check_valid(&self, suite: &str, now: OffsetDateTime) -> Result<(), ReleaseError> {
        match self.valid_until {
            Some(until) if until < now => Err(ReleaseError::Expired {
                suite: suite.to_owned(),
                valid_until: until.format(&Rfc2822).unwrap_or_default(),
            }),
            _ => Ok(()),
        }
    }
}

/// Debian writes `Sat, 10 Aug 2024 09:00:00 UTC`; RFC 2822 wants a numeric zone.
fn parse_date(
    suite: &str,
    field: &'static str,
    value: &str,
) -> Result<OffsetDateTime, ReleaseError> {
    let normalized = value
        .trim()
        .strip_suffix(" UTC")
        .or_else(|| value.trim().strip_suffix(" GMT"))
        .map(|s| format!("{s} +0000"))
        .unwrap_or_else(|| value.trim().to_owned());
    OffsetDateTime::parse(&normalized, &Rfc2822).map_err(|_| ReleaseError::Date {
        suite: suite.to_owned(),
        field,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "Origin: Debian\nSuite: stable-security\nCodename: bookworm-security\n\
Date: Sat, 10 Aug 2024 09:00:00 UTC\nValid-Until: Sat, 17 Aug 2024 09:00:00 UTC\n\
SHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages.xz\n \
fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210 99999 main/binary-amd64/Packages\n";

    #[test]
    fn parses_dates_and_hashes() {
        let r = Release::parse("bookworm-security", RELEASE).unwrap();
        assert_eq!(r.codename, "bookworm-security");
        assert_eq!(r.date_parsed.year(), 2024);
        assert_eq!(r.files["main/binary-amd64/Packages.xz"].size, 1234);
        assert_eq!(
            r.files["main/binary-amd64/Packages"].sha256,
            "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
        );
    }

    #[test]
    fn valid_until_is_enforced() {
        let r = Release::parse("s", RELEASE).unwrap();
        let before = r.date_parsed + time::Duration::days(1);
        let after = r.date_parsed + time::Duration::days(8);
        r.check_valid("s", before).unwrap();
        let err = r.check_valid("s", after).unwrap_err().to_string();
        assert!(err.contains("Valid-Until"), "{err}");
    }

    #[test]
    fn bad_hash_line_is_named() {
        let text = "Date: Sat, 10 Aug 2024 09:00:00 UTC\nSHA256:\n nothex 12 x\n";
        let err = Release::parse("s", text).unwrap_err().to_string();
        assert!(err.contains("nothex"), "{err}");
    }
}
