//! `--tag-from-git[=full]`: the tags of each `-t NAME` given without a tag, from git (or
//! the CI). An exact release tag on HEAD (`v1.2.0`) gives `v1.2.0`, and with `full` also
//! `1.2` and `1` unless it is a pre-release (docker/metadata-action's `type=semver`
//! patterns `{{major}}.{{minor}}` and `{{major}}`); no tag gives `sha-<7 hex>`
//! (metadata-action's `type=sha`). It never produces only `latest`.

use anyhow::{bail, Result};
use strata_oci::Reference;

use super::semver::Version;
use super::Source;

/// How many tags `--tag-from-git` derives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derive {
    Exact,
    Full,
}

/// The tags git gives: the release tag's forms, else `sha-<short>`.
pub fn derived(source: &Source, derive: Derive) -> Result<Vec<String>> {
    if let Some(version) = &source.version {
        let mut tags = vec![version.clone()];
        if let Some(v) = Version::parse(version).filter(|v| !v.is_prerelease()) {
            if derive == Derive::Full {
                tags.push(format!("{}.{}", v.major, v.minor));
                tags.push(v.major.to_string());
            }
        }
        return Ok(tags);
    }
    match source.commit.as_deref() {
        Some(c) if c.len() >= 7 => Ok(vec![format!("sha-{}", &c[..7])]),
        _ => bail!(
            "--tag-from-git: no git commit to derive a tag from (the context is in no git \
             work tree with a commit, and no CI variables name one)"
        ),
    }
}

/// The final `-t` list: names without a tag get the derived tags, the others stay as
/// written; refused when nothing would be tagged but `latest`.
pub fn apply(tags: &[Reference], derived: &[String]) -> Result<Vec<Reference>> {
    if !tags.iter().any(untagged) {
        bail!("--tag-from-git needs a -t NAME without a tag to put the git tags on");
    }
    for t in derived {
        if !valid_tag(t) {
            bail!("--tag-from-git: the git tag {t:?} is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})");
        }
    }
    let mut out = Vec::new();
    for r in tags {
        if untagged(r) {
            out.extend(derived.iter().map(|t| r.with_tag(t)));
        } else {
            out.push(r.clone());
        }
    }
    if out.iter().all(|r| r.tag() == Some("latest")) {
        bail!("--tag-from-git would tag the image only `latest`: tag releases with a version (v1.2.0)");
    }
    Ok(out)
}

fn untagged(r: &Reference) -> bool {
    r.tag().is_none() && r.digest().is_none()
}

/// Docker's tag grammar.
fn valid_tag(t: &str) -> bool {
    let mut bytes = t.bytes();
    let first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    first && t.len() <= 128 && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(version: Option<&str>, commit: Option<&str>) -> Source {
        Source {
            version: version.map(Into::into),
            commit: commit.map(Into::into),
            ..Source::default()
        }
    }

    #[test]
    fn release_tags() {
        let s = source(Some("v1.2.0"), Some("0123456789"));
        assert_eq!(derived(&s, Derive::Exact).unwrap(), ["v1.2.0"]);
        assert_eq!(derived(&s, Derive::Full).unwrap(), ["v1.2.0", "1.2", "1"]);
        let rc = source(Some("v1.2.0-rc.1"), Some("0123456789"));
        assert_eq!(derived(&rc, Derive::Full).unwrap(), ["v1.2.0-rc.1"]);
        let odd = source(Some("stable"), None);
        assert_eq!(derived(&odd, Derive::Full).unwrap(), ["stable"]);
    }

    #[test]
    fn an_untagged_commit_gets_its_sha() {
        let s = source(None, Some("0123456789abcdef"));
        assert_eq!(derived(&s, Derive::Full).unwrap(), ["sha-0123456"]);
        assert!(derived(&source(None, None), Derive::Exact).is_err());
    }

    #[test]
    fn applied_to_untagged_names_only() {
        let r = |s: &str| Reference::parse_name_only(s).unwrap();
        let got = apply(
            &[r("reg.test/app"), r("reg.test/app:edge")],
            &["v1".into(), "1".into()],
        )
        .unwrap();
        let got: Vec<String> = got.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            got,
            ["reg.test/app:v1", "reg.test/app:1", "reg.test/app:edge"]
        );
        let e = apply(&[r("app:v1")], &["x".into()]).unwrap_err();
        assert!(e.to_string().contains("without a tag"), "{e}");
        let e = apply(&[r("app")], &["latest".into()]).unwrap_err();
        assert!(e.to_string().contains("only `latest`"), "{e}");
        let e = apply(&[r("app")], &["release/1".into()]).unwrap_err();
        assert!(e.to_string().contains("not a valid image tag"), "{e}");
    }
}
