//! The grammar of `--cache-to` and `--cache-from` (buildx's CSV form), as `FromStr` types.
//!
//! - `--cache-to type=registry,ref=REG/APP:TAG[,mode=min|max][,mounts=true|false]`
//! - `--cache-to type=local,dest=DIR[,tag=TAG][,mode=…][,mounts=…]`
//! - `--cache-from type=registry,ref=REG/APP:TAG`, or the bare reference (as buildx)
//! - `--cache-from type=local,src=DIR[,tag=TAG]`
//!
//! `mode=min` (the default, as BuildKit) exports the records of the steps whose layers make
//! the final image; `mode=max` those of every stage built. Anything else (BuildKit's `gha`,
//! `s3`, `inline` types, `compression=`, `oci-mediatypes=`, `image-manifest=`,
//! `ignore-error=` …) is refused: strata does not implement it.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use strata_oci::Reference;

use super::{fields, non_empty, OptionParseError};

/// Which steps' records `--cache-to` exports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// The steps whose layers are in the final image (the target stage and the stages it is
    /// built `FROM`).
    #[default]
    Min,
    /// Every step of every stage the build ran.
    Max,
}

/// Where a build cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    /// An OCI artifact in a registry, under a tag (or, to import, a digest).
    Registry(Reference),
    /// An OCI image layout directory; the artifact is named `tag` in its `index.json`.
    Local { dir: PathBuf, tag: String },
}

/// The tag a local cache is named with when `tag=` is not given (BuildKit's default).
pub const DEFAULT_LOCAL_TAG: &str = "latest";

/// One `--cache-to` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTo {
    pub location: CacheLocation,
    pub mode: CacheMode,
    /// `mounts=true`: the contents of the `RUN --mount=type=cache` dirs are exported too.
    pub mounts: bool,
}

/// One `--cache-from` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFrom {
    pub location: CacheLocation,
}

/// The fields of one cache value, before the type decides which apply.
#[derive(Default)]
struct Raw<'a> {
    kind: Option<&'a str>,
    reference: Option<String>,
    dir: Option<(&'static str, String)>,
    tag: Option<String>,
    mode: Option<CacheMode>,
    mounts: Option<bool>,
}

impl FromStr for CacheTo {
    type Err = OptionParseError;

    fn from_str(s: &str) -> Result<CacheTo, OptionParseError> {
        const EXPECTED: &str = "type, ref, dest, tag, mode or mounts";
        let raw = parse_raw(
            s,
            &["type", "ref", "dest", "tag", "mode", "mounts"],
            EXPECTED,
        )?;
        let location = location(&raw, "dest")?;
        if let CacheLocation::Registry(r) = &location {
            if r.digest().is_some() {
                return Err(OptionParseError::CacheRefDigest {
                    reference: r.to_string(),
                });
            }
        }
        Ok(CacheTo {
            location,
            mode: raw.mode.unwrap_or_default(),
            mounts: raw.mounts.unwrap_or(false),
        })
    }
}

impl FromStr for CacheFrom {
    type Err = OptionParseError;

    /// A value without `=` is a registry reference, as buildx takes it.
    fn from_str(s: &str) -> Result<CacheFrom, OptionParseError> {
        if !s.is_empty() && !s.contains('=') && !s.contains(',') {
            return Ok(CacheFrom {
                location: CacheLocation::Registry(reference(s)?),
            });
        }
        const EXPECTED: &str = "type, ref, src or tag";
        let raw = parse_raw(s, &["type", "ref", "src", "tag"], EXPECTED)?;
        Ok(CacheFrom {
            location: location(&raw, "src")?,
        })
    }
}

fn parse_raw<'a>(
    s: &'a str,
    allowed: &[&str],
    expected: &'static str,
) -> Result<Raw<'a>, OptionParseError> {
    let mut raw = Raw::default();
    for (key, value) in fields(s)? {
        if !allowed.contains(&key.as_str()) {
            return Err(OptionParseError::UnknownKey { key, expected });
        }
        match key.as_str() {
            "type" => raw.kind = Some(value),
            "ref" => raw.reference = Some(non_empty("ref=", value)?),
            "dest" => raw.dir = Some(("dest", non_empty("dest=", value)?)),
            "src" => raw.dir = Some(("src", non_empty("src=", value)?)),
            "tag" => raw.tag = Some(non_empty("tag=", value)?),
            "mode" => raw.mode = Some(mode(value)?),
            _ => raw.mounts = Some(boolean("mounts", value)?),
        }
    }
    Ok(raw)
}

/// The location the type names; a key of the other type is an error.
fn location(raw: &Raw<'_>, dir_key: &'static str) -> Result<CacheLocation, OptionParseError> {
    let misplaced =
        |key: &'static str, kind: &'static str| OptionParseError::CacheKeyForType { key, kind };
    match raw.kind.ok_or(OptionParseError::Missing { key: "type" })? {
        "registry" => {
            if raw.dir.is_some() {
                return Err(misplaced(dir_key, "registry"));
            }
            if raw.tag.is_some() {
                return Err(misplaced("tag", "registry"));
            }
            let r = raw
                .reference
                .as_deref()
                .ok_or(OptionParseError::Missing { key: "ref" })?;
            Ok(CacheLocation::Registry(reference(r)?))
        }
        "local" => {
            if raw.reference.is_some() {
                return Err(misplaced("ref", "local"));
            }
            let (_, dir) = raw
                .dir
                .clone()
                .ok_or(OptionParseError::Missing { key: dir_key })?;
            let tag = raw.tag.clone().unwrap_or_else(|| DEFAULT_LOCAL_TAG.into());
            Ok(CacheLocation::Local {
                dir: dir.into(),
                tag,
            })
        }
        other => Err(OptionParseError::CacheType {
            value: other.to_owned(),
        }),
    }
}

fn reference(s: &str) -> Result<Reference, OptionParseError> {
    Reference::parse(s).map_err(|source| OptionParseError::CacheRef {
        reference: s.to_owned(),
        source: Arc::new(source),
    })
}

fn mode(value: &str) -> Result<CacheMode, OptionParseError> {
    match value {
        "min" => Ok(CacheMode::Min),
        "max" => Ok(CacheMode::Max),
        _ => Err(OptionParseError::CacheMode {
            value: value.to_owned(),
        }),
    }
}

fn boolean(key: &'static str, value: &str) -> Result<bool, OptionParseError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(OptionParseError::Bool {
            key,
            value: value.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OptionParseError as E;

    fn to(s: &str) -> Result<CacheTo, OptionParseError> {
        s.parse()
    }

    fn from(s: &str) -> Result<CacheFrom, OptionParseError> {
        s.parse()
    }

    fn registry(r: &str) -> CacheLocation {
        CacheLocation::Registry(Reference::parse(r).unwrap())
    }

    #[test]
    fn cache_to_forms() {
        let r = "127.0.0.1:5000/app:buildcache";
        assert_eq!(
            to(&format!("type=registry,ref={r}")),
            Ok(CacheTo {
                location: registry(r),
                mode: CacheMode::Min,
                mounts: false
            })
        );
        assert_eq!(
            to(&format!("type=registry,ref={r},mode=max,mounts=true")),
            Ok(CacheTo {
                location: registry(r),
                mode: CacheMode::Max,
                mounts: true
            })
        );
        assert_eq!(
            to("TYPE=local,Dest=/c,mode=min,mounts=false"),
            Ok(CacheTo {
                location: CacheLocation::Local {
                    dir: "/c".into(),
                    tag: "latest".into()
                },
                mode: CacheMode::Min,
                mounts: false
            })
        );
        assert_eq!(
            to("type=local,dest=/c,tag=main").map(|c| c.location),
            Ok(CacheLocation::Local {
                dir: "/c".into(),
                tag: "main".into()
            })
        );
        // A reference without a tag is `:latest`, as everywhere else.
        assert_eq!(
            to("type=registry,ref=reg.example/app").map(|c| c.location),
            Ok(registry("reg.example/app:latest"))
        );
    }

    #[test]
    fn cache_from_forms() {
        let r = "reg.example/app:buildcache";
        assert_eq!(
            from(r),
            Ok(CacheFrom {
                location: registry(r)
            })
        );
        assert_eq!(
            from(&format!("type=registry,ref={r}")),
            Ok(CacheFrom {
                location: registry(r)
            })
        );
        let pinned = format!("reg.example/app@{}", strata_oci::Digest::of(b"x"));
        assert_eq!(
            from(&format!("type=registry,ref={pinned}")),
            Ok(CacheFrom {
                location: registry(&pinned)
            })
        );
        assert_eq!(
            from("type=local,src=/c"),
            Ok(CacheFrom {
                location: CacheLocation::Local {
                    dir: "/c".into(),
                    tag: "latest".into()
                }
            })
        );
    }

    #[test]
    fn cache_value_errors() {
        assert_eq!(
            to("type=gha"),
            Err(E::CacheType {
                value: "gha".into()
            })
        );
        assert_eq!(
            to("type=registry,ref=r/a:c,compression=zstd"),
            Err(E::UnknownKey {
                key: "compression".into(),
                expected: "type, ref, dest, tag, mode or mounts"
            })
        );
        assert_eq!(
            to("type=registry,ref=r/a:c,oci-mediatypes=true"),
            Err(E::UnknownKey {
                key: "oci-mediatypes".into(),
                expected: "type, ref, dest, tag, mode or mounts"
            })
        );
        assert_eq!(
            to("type=registry,ref=r/a:c,mode=all"),
            Err(E::CacheMode {
                value: "all".into()
            })
        );
        assert_eq!(
            to("type=registry,ref=r/a:c,mounts=yes"),
            Err(E::Bool {
                key: "mounts",
                value: "yes".into()
            })
        );
        assert_eq!(to("type=registry"), Err(E::Missing { key: "ref" }));
        assert_eq!(to("ref=r/a:c"), Err(E::Missing { key: "type" }));
        assert_eq!(to("type=local"), Err(E::Missing { key: "dest" }));
        assert_eq!(
            to("type=local,dest=/c,ref=r/a:c"),
            Err(E::CacheKeyForType {
                key: "ref",
                kind: "local"
            })
        );
        assert_eq!(
            to("type=registry,ref=r/a:c,dest=/c"),
            Err(E::CacheKeyForType {
                key: "dest",
                kind: "registry"
            })
        );
        let digest = strata_oci::Digest::of(b"x");
        assert!(matches!(
            to(&format!("type=registry,ref=r/a@{digest}")),
            Err(E::CacheRefDigest { .. })
        ));
        assert!(matches!(
            to("type=registry,ref=Bad/Name"),
            Err(E::CacheRef { reference, .. }) if reference == "Bad/Name"
        ));
        assert_eq!(
            from("type=registry,ref=r/a:c,mode=max"),
            Err(E::UnknownKey {
                key: "mode".into(),
                expected: "type, ref, src or tag"
            })
        );
        assert_eq!(
            from("type=local,dest=/c"),
            Err(E::UnknownKey {
                key: "dest".into(),
                expected: "type, ref, src or tag"
            })
        );
        assert_eq!(
            E::CacheType {
                value: "gha".into()
            }
            .to_string(),
            "unsupported cache type \"gha\" (expected registry or local)"
        );
    }
}
