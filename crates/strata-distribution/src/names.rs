//! Repository names, tags and manifest references as the distribution spec defines them.
//!
//! - name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
//!   (at most [`NAME_MAX_LEN`] bytes, distribution's limit);
//! - tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`;
//! - a manifest reference is a tag or a digest ([`strata_oci::Digest`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use strata_oci::{Digest, DigestError};
use thiserror::Error;

/// Longest repository name accepted (CNCF distribution's `RepositoryNameTotalLengthMax`).
pub const NAME_MAX_LEN: usize = 255;
/// Longest tag accepted (the spec's regex allows 128 characters).
pub const TAG_MAX_LEN: usize = 128;

/// Why a string is not a repository name, tag or reference.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("invalid repository name {name:?}: {reason}")]
    Name { name: String, reason: &'static str },
    #[error("invalid tag {tag:?}: {reason}")]
    Tag { tag: String, reason: &'static str },
    #[error("invalid digest reference {reference:?}")]
    Digest {
        reference: String,
        #[source]
        source: DigestError,
    },
}

/// A repository name (`library/debian`, `team/app.api`), validated.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

/// A tag (`v1.2.0`, `latest`), validated.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

/// What `/manifests/<reference>` names: a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ManifestRef {
    Tag(Tag),
    Digest(Digest),
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// One path component: alnum runs joined by `.`, `_`, `__` or `-+`.
fn component_error(component: &str) -> Option<&'static str> {
    let bytes = component.as_bytes();
    if bytes.is_empty() {
        return Some("empty path component");
    }
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| is_alnum(**b)).count();
        if run == 0 {
            return Some(if bytes[i].is_ascii_uppercase() {
                "uppercase letters are not allowed"
            } else {
                "components must start and end with [a-z0-9] and separators may not repeat"
            });
        }
        i += run;
        if i == bytes.len() {
            return None;
        }
        let sep = bytes[i..].iter().take_while(|b| !is_alnum(**b)).count();
        let sep_str = &component[i..i + sep];
        let ok = matches!(sep_str, "." | "_" | "__") || sep_str.bytes().all(|b| b == b'-');
        if !ok {
            return Some(if sep_str.bytes().any(|b| b.is_ascii_uppercase()) {
                "uppercase letters are not allowed"
            } else {
                "only '.', '_', '__' or dashes may separate [a-z0-9] runs"
            });
        }
        i += sep;
        if i == bytes.len() {
            return Some(
                "components must start and end with [a-z0-9] and separators may not repeat",
            );
        }
    }
    None
}

impl RepositoryName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RepositoryName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        let err = |reason| NameError::Name {
            name: s.to_owned(),
            reason,
        };
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.len() > NAME_MAX_LEN {
            return Err(err("longer than 255 characters"));
        }
        match s.split('/').find_map(component_error) {
            Some(reason) => Err(err(reason)),
            None => Ok(RepositoryName(s.to_owned())),
        }
    }
}

impl Tag {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Tag {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        let err = |reason| NameError::Tag {
            tag: s.to_owned(),
            reason,
        };
        let mut bytes = s.bytes();
        match bytes.next() {
            None => return Err(err("empty")),
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' => {}
            Some(_) => return Err(err("must start with [A-Za-z0-9_]")),
        }
        if s.len() > TAG_MAX_LEN {
            return Err(err("longer than 128 characters"));
        }
        if !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return Err(err("only [A-Za-z0-9._-] are allowed"));
        }
        Ok(Tag(s.to_owned()))
    }
}

impl ManifestRef {
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            ManifestRef::Digest(d) => Some(d),
            ManifestRef::Tag(_) => None,
        }
    }

    pub fn tag(&self) -> Option<&Tag> {
        match self {
            ManifestRef::Tag(t) => Some(t),
            ManifestRef::Digest(_) => None,
        }
    }
}

impl FromStr for ManifestRef {
    type Err = NameError;

    /// A reference with a `:` is a digest (tags cannot hold one); anything else is a tag.
    fn from_str(s: &str) -> Result<Self, NameError> {
        if s.contains(':') {
            s.parse()
                .map(ManifestRef::Digest)
                .map_err(|source| NameError::Digest {
                    reference: s.to_owned(),
                    source,
                })
        } else {
            s.parse().map(ManifestRef::Tag)
        }
    }
}

impl From<Digest> for ManifestRef {
    fn from(d: Digest) -> Self {
        ManifestRef::Digest(d)
    }
}

impl From<Tag> for ManifestRef {
    fn from(t: Tag) -> Self {
        ManifestRef::Tag(t)
    }
}

macro_rules! string_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}
string_impls!(RepositoryName);
string_impls!(Tag);

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestRef::Tag(t) => t.fmt(f),
            ManifestRef::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for name in [
            "a",
            "library/debian",
            "team/app.api",
            "a_b",
            "a__b",
            "a---b",
            "a-b/c.d/e_f",
            "0/1/2",
            "manifests/blobs/uploads",
        ] {
            let parsed: RepositoryName = name.parse().unwrap();
            assert_eq!(parsed.as_str(), name);
        }
        assert!("a".repeat(NAME_MAX_LEN).parse::<RepositoryName>().is_ok());
    }

    #[test]
    fn invalid_names() {
        for name in [
            "",
            "A",
            "Library/debian",
            "a/",
            "/a",
            "a//b",
            "-a",
            "a-",
            "a.",
            ".a",
            "a..b",
            "a___b",
            "a._b",
            "a_-b",
            "a b",
            "a:b",
            "a%2Fb",
            "ü",
        ] {
            assert!(
                matches!(name.parse::<RepositoryName>(), Err(NameError::Name { .. })),
                "{name:?} should be invalid"
            );
        }
        let long = "a".repeat(NAME_MAX_LEN + 1);
        assert!(long.parse::<RepositoryName>().is_err());
    }

    #[test]
    fn tags() {
        for tag in ["latest", "v1.2.0", "_x", "A-b_c.D", "0"] {
            assert_eq!(tag.parse::<Tag>().unwrap().as_str(), tag);
        }
        assert!("a".repeat(TAG_MAX_LEN).parse::<Tag>().is_ok());
        let long = "a".repeat(TAG_MAX_LEN + 1);
        for tag in ["", ".x", "-x", "a/b", "a:b", "a b", "a+b", long.as_str()] {
            assert!(
                matches!(tag.parse::<Tag>(), Err(NameError::Tag { .. })),
                "{tag:?}"
            );
        }
    }

    #[test]
    fn manifest_refs() {
        let digest = Digest::of(b"x");
        let r: ManifestRef = digest.to_string().parse().unwrap();
        assert_eq!(r, ManifestRef::Digest(digest.clone()));
        assert_eq!(r.to_string(), digest.to_string());
        let r: ManifestRef = "v1".parse().unwrap();
        assert_eq!(r.tag().unwrap().as_str(), "v1");
        for bad in ["sha256:abc", "sha512:00", ":", "md5:x"] {
            assert!(
                matches!(bad.parse::<ManifestRef>(), Err(NameError::Digest { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            "-x".parse::<ManifestRef>(),
            Err(NameError::Tag { .. })
        ));
    }

    #[test]
    fn serde_validates() {
        let name: RepositoryName = serde_json::from_str("\"a/b\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"a/b\"");
        assert!(serde_json::from_str::<RepositoryName>("\"A\"").is_err());
        assert!(serde_json::from_str::<Tag>("\".x\"").is_err());
    }
}
