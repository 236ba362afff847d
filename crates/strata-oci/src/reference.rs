//! Image references: Docker's grammar (distribution/reference) and its normalisation.
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] path-component [ "/" path-component ]*
//! domain     := host [ ":" port ]
//! component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [\w][\w.-]{0,127}
//! ```
//! Normalisation follows `docker`: a first component that has no `.` or `:` and is not
//! `localhost` is not a registry, so `debian` is `docker.io/library/debian:latest`.

use std::fmt;
use std::str::FromStr;

use crate::Digest;

pub const DEFAULT_REGISTRY: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";
const LEGACY_REGISTRY: &str = "index.docker.io";
const NAME_MAX: usize = 255;

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format: {reference:?} is empty")]
    Empty { reference: String },
    #[error("invalid reference format: repository name ({name}) must be lowercase")]
    Uppercase { reference: String, name: String },
    #[error("invalid reference format: {reason} in {reference:?}")]
    Format { reference: String, reason: String },
    #[error("invalid reference format: repository name must not be longer than {NAME_MAX} characters in {reference:?}")]
    NameTooLong { reference: String },
    #[error("invalid repository name ({reference}), cannot specify 64-byte hexadecimal strings")]
    HexName { reference: String },
    #[error("invalid reference format: bad digest in {reference:?}")]
    Digest {
        reference: String,
        source: crate::DigestError,
    },
}

/// A fully qualified image reference: registry, repository, and a tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises like `docker pull`: a missing tag becomes `latest` unless a
    /// digest is given.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let mut r = Reference::parse_name_only(s)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_owned());
        }
        Ok(r)
    }

    /// Parses and normalises, but leaves a missing tag missing (for `docker images REPO`).
    pub fn parse_name_only(s: &str) -> Result<Reference, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty {
                reference: s.to_owned(),
            });
        }
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReferenceError::HexName {
                reference: s.to_owned(),
            });
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest = d.parse().map_err(|source| ReferenceError::Digest {
                    reference: s.to_owned(),
                    source,
                })?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        let (name, tag) = split_tag(rest);
        if let Some(tag) = tag {
            validate_tag(s, tag)?;
        }
        let (registry, repository) = split_domain(s, name)?;
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry, e.g. `library/debian`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full name without tag or digest: `docker.io/library/debian`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The short name docker shows: `debian`, `user/app`, `host:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DEFAULT_REGISTRY {
            match self.repository.strip_prefix("library/") {
                Some(short) if !short.contains('/') => short.to_owned(),
                _ => self.repository.clone(),
            }
        } else {
            self.name()
        }
    }

    /// The short form with tag and digest: `debian:12`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    /// This reference with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        }
    }

    /// This reference with a digest and no tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Splits `name:tag`; a `:` before the last `/` belongs to a registry port.
fn split_tag(s: &str) -> (&str, Option<&str>) {
    match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => (&s[..i], Some(&s[i + 1..])),
        _ => (s, None),
    }
}

fn validate_tag(reference: &str, tag: &str) -> Result<(), ReferenceError> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && word(tag.as_bytes()[0])
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format_error(reference, &format!("invalid tag {tag:?}")))
    }
}

fn split_domain(reference: &str, name: &str) -> Result<(String, String), ReferenceError> {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if looks_like_domain(first) => (first.to_owned(), rest.to_owned()),
        _ => (DEFAULT_REGISTRY.to_owned(), name.to_owned()),
    };
    let domain = if domain == LEGACY_REGISTRY {
        DEFAULT_REGISTRY.to_owned()
    } else {
        domain
    };
    let path = if domain == DEFAULT_REGISTRY && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    validate_domain(reference, &domain)?;
    validate_path(reference, &path)?;
    if domain.len() + 1 + path.len() > NAME_MAX {
        return Err(ReferenceError::NameTooLong {
            reference: reference.to_owned(),
        });
    }
    Ok((domain, path))
}

fn looks_like_domain(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

fn validate_domain(reference: &str, domain: &str) -> Result<(), ReferenceError> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || domain.starts_with('[') => (h, Some(p)),
        _ => (domain, None),
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error(
                reference,
                &format!("invalid port in {domain:?}"),
            ));
        }
    }
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        !host.is_empty() && host.split('.').all(valid_domain_component)
    };
    if host_ok {
        Ok(())
    } else {
        Err(format_error(
            reference,
            &format!("invalid registry host {host:?}"),
        ))
    }
}

fn valid_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
}

fn validate_path(reference: &str, path: &str) -> Result<(), ReferenceError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase {
            reference: reference.to_owned(),
            name: path.to_owned(),
        });
    }
    for component in path.split('/') {
        if !valid_path_component(component) {
            return Err(format_error(
                reference,
                &format!("invalid repository path component {component:?}"),
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn format_error(reference: &str, reason: &str) -> ReferenceError {
    ReferenceError::Format {
        reference: reference.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(norm("debian"), "docker.io/library/debian:latest");
        assert_eq!(norm("debian:12"), "docker.io/library/debian:12");
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            norm("index.docker.io/library/debian"),
            "docker.io/library/debian:latest"
        );
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("localhost:5000/a/b:v1"), "localhost:5000/a/b:v1");
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            norm(&format!("host:5000/a/b:tag@{d}")),
            format!("host:5000/a/b:tag@{d}")
        );
        assert_eq!(
            norm(&format!("debian@{d}")),
            format!("docker.io/library/debian@{d}")
        );
        assert_eq!(norm("[::1]:5000/app"), "[::1]:5000/app:latest");
        assert_eq!(
            norm("a__b/c-d---e.f_g:V1.0-rc_1"),
            "docker.io/a__b/c-d---e.f_g:V1.0-rc_1"
        );
    }

    #[test]
    fn familiar_forms() {
        assert_eq!(
            Reference::parse("debian").unwrap().familiar(),
            "debian:latest"
        );
        assert_eq!(
            Reference::parse("docker.io/user/app:1").unwrap().familiar(),
            "user/app:1"
        );
        assert_eq!(
            Reference::parse("quay.io/a/b:2").unwrap().familiar_name(),
            "quay.io/a/b"
        );
    }

    #[test]
    fn rejects_invalid_references() {
        use ReferenceError as E;
        let kind = |e: &ReferenceError| match e {
            E::Empty { .. } => "empty",
            E::Uppercase { .. } => "uppercase",
            E::Format { .. } => "format",
            E::NameTooLong { .. } => "too long",
            E::HexName { .. } => "hex name",
            E::Digest { .. } => "digest",
        };
        for (bad, want) in [
            ("", "empty"),
            ("Debian", "uppercase"),
            ("debian:", "format"),
            ("debian:-x", "format"),
            ("a//b", "format"),
            ("-a", "format"),
            ("a-", "format"),
            ("a/b/", "format"),
            ("host:port/a", "format"),
            ("debian@sha256:abc", "digest"),
            ("a:b:c", "format"),
            ("a b", "format"),
            (".a", "format"),
            ("debian@md5:abcd", "digest"),
            (
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "hex name",
            ),
        ] {
            let err = Reference::parse(bad).expect_err(bad);
            assert_eq!(kind(&err), want, "{bad:?}: {err:?}");
            assert!(err.to_string().contains(bad), "names {bad:?}: {err}");
        }
        let long = format!("a/{}", "b".repeat(300));
        assert!(matches!(
            Reference::parse(&long),
            Err(ReferenceError::NameTooLong { .. })
        ));
    }

    #[test]
    fn uppercase_error_names_the_repository() {
        let err = Reference::parse("Debian").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid reference format: repository name (library/Debian) must be lowercase"
        );
    }
}
