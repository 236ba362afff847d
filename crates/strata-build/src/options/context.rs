//! The grammar of `--build-context NAME=VALUE` (buildx's named contexts) and the name
//! matching BuildKit does (frontend/dockerui `NamedContext`): a `FROM NAME` (after ARG
//! expansion) or a `COPY --from=NAME` / `RUN --mount from=NAME` that names no stage uses the
//! context instead of the image or stage NAME would otherwise be.
//!
//! Names are normalised on both sides as BuildKit does: parsed as a docker reference,
//! written in docker's familiar form, `:latest` dropped (`docker.io/library/alpine:latest`,
//! `alpine:latest` and `alpine` are one name; `alpine:3.20` is another).
//!
//! Values: `docker-image://REF` (an image, pulled by the `--pull` policy like any FROM) and a
//! local directory (`./dir`, `/abs/dir`: its files, through its own `.dockerignore`, as a
//! one-layer image with no config). buildx's other forms (`oci-layout://`, `target:`, git
//! and HTTP URLs, `input:`) are refused by name.

use std::path::PathBuf;
use std::str::FromStr;

use strata_oci::Reference;

/// What a named context stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// `docker-image://REF`: the image REF (a reference as written after the scheme).
    Image(String),
    /// A local directory, as written (relative to the working directory).
    Dir(PathBuf),
}

/// One `--build-context` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContextArg {
    /// The normalised name ([`normalize_name`]).
    pub name: String,
    pub context: NamedContext,
}

/// Why a `--build-context` value does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildContextError {
    #[error("expected NAME=VALUE")]
    NotKeyValue,
    #[error("invalid context name {name:?}")]
    Name {
        name: String,
        #[source]
        source: strata_oci::ReferenceError,
    },
    #[error("docker-image://{reference}: not an image reference")]
    Image {
        reference: String,
        #[source]
        source: strata_oci::ReferenceError,
    },
    #[error("empty context value")]
    Empty,
    #[error("{form} build contexts are not supported (expected docker-image://REF or a local directory)")]
    Unsupported { form: &'static str },
}

/// BuildKit's normalisation of a context name: `ParseNormalizedNamed`, `FamiliarString`,
/// `:latest` trimmed. `None` when `name` is no docker reference (such a `FROM` never matches
/// a context).
pub fn normalize_name(name: &str) -> Option<String> {
    normalize(name).ok()
}

fn normalize(name: &str) -> Result<String, strata_oci::ReferenceError> {
    let r = Reference::parse_name_only(name)?;
    let familiar = r.familiar();
    Ok(match familiar.strip_suffix(":latest") {
        Some(short) if r.digest().is_none() => short.to_owned(),
        _ => familiar,
    })
}

/// The forms buildx accepts that strata does not, by prefix.
const UNSUPPORTED: [(&str, &str); 7] = [
    ("oci-layout://", "oci-layout://"),
    ("target:", "target:"),
    ("input:", "input:"),
    ("git@", "git"),
    ("git://", "git"),
    ("http://", "URL"),
    ("https://", "URL"),
];

impl FromStr for BuildContextArg {
    type Err = BuildContextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, value) = s.split_once('=').ok_or(BuildContextError::NotKeyValue)?;
        let name = normalize(name).map_err(|source| BuildContextError::Name {
            name: name.to_owned(),
            source,
        })?;
        Ok(BuildContextArg {
            name,
            context: value.parse()?,
        })
    }
}

impl FromStr for NamedContext {
    type Err = BuildContextError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.is_empty() {
            return Err(BuildContextError::Empty);
        }
        if let Some(reference) = value.strip_prefix("docker-image://") {
            Reference::parse(reference).map_err(|source| BuildContextError::Image {
                reference: reference.to_owned(),
                source,
            })?;
            return Ok(NamedContext::Image(reference.to_owned()));
        }
        if let Some((_, form)) = UNSUPPORTED.iter().find(|(p, _)| value.starts_with(p)) {
            return Err(BuildContextError::Unsupported { form });
        }
        Ok(NamedContext::Dir(PathBuf::from(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_like_buildkit() {
        assert_eq!(normalize_name("alpine").unwrap(), "alpine");
        assert_eq!(normalize_name("alpine:latest").unwrap(), "alpine");
        assert_eq!(
            normalize_name("docker.io/library/alpine").unwrap(),
            "alpine"
        );
        assert_eq!(normalize_name("alpine:3.20").unwrap(), "alpine:3.20");
        assert_eq!(
            normalize_name("localhost:5000/team/base:1").unwrap(),
            "localhost:5000/team/base:1"
        );
        assert_eq!(normalize_name("Builder"), None);
    }

    #[test]
    fn values_parse_or_are_refused_by_form() {
        let a: BuildContextArg = "base=docker-image://reg:5000/base@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap();
        assert_eq!(a.name, "base");
        assert!(matches!(a.context, NamedContext::Image(r) if r.starts_with("reg:5000/base@")));
        let d: BuildContextArg = "src=./dir".parse().unwrap();
        assert_eq!(d.context, NamedContext::Dir("./dir".into()));
        for (v, form) in [
            ("x=oci-layout:///tmp/l", "oci-layout://"),
            ("x=target:base", "target:"),
            ("x=https://github.com/a/b.git", "URL"),
            ("x=git@github.com:a/b.git", "git"),
        ] {
            assert_eq!(
                v.parse::<BuildContextArg>().unwrap_err(),
                BuildContextError::Unsupported { form }
            );
        }
        assert_eq!(
            "novalue".parse::<BuildContextArg>().unwrap_err(),
            BuildContextError::NotKeyValue
        );
        assert!(matches!(
            "x=docker-image://Bad Ref".parse::<BuildContextArg>(),
            Err(BuildContextError::Image { .. })
        ));
    }
}
