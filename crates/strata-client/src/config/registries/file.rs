//! One `registries.conf` file: TOML → checked, normalised registries (containers/image's
//! `loadConfigFile` and `postProcessRegistries`). Unknown keys are ignored, as there.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use strata_oci::Reference;

use super::shortnames::{self, ShortNameMode};
use super::{Mirror, PullFromMirror, RegistriesError, Registry};

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    unqualified_search_registries: Option<Vec<String>>,
    #[serde(default)]
    registry: Vec<RawRegistry>,
    /// The v1 format (`[registries.search]`, `[registries.insecure]`, `[registries.block]`).
    registries: Option<RawV1>,
    short_name_mode: Option<String>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

/// The machine-written `short-name-aliases.conf`: only `[aliases]` is read.
#[derive(Deserialize, Default)]
struct RawAliases {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<RawMirror>,
    #[serde(default)]
    pull_from_mirror: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    pull_from_mirror: String,
}

#[derive(Deserialize, Default)]
struct RawV1 {
    #[serde(default)]
    search: RawV1List,
    #[serde(default)]
    insecure: RawV1List,
    #[serde(default)]
    block: RawV1List,
}

#[derive(Deserialize, Default)]
struct RawV1List {
    #[serde(default)]
    registries: Vec<String>,
}

/// What one file says: `None` search registries when the file does not set them (a
/// drop-in then leaves the earlier list alone).
#[derive(Debug, Default)]
pub(super) struct ParsedFile {
    pub search: Option<Vec<String>>,
    pub registries: Vec<Registry>,
    /// `None` when the file does not set `short-name-mode`.
    pub short_name_mode: Option<ShortNameMode>,
    /// `[aliases]`: a `None` target resets an alias of an earlier file (`name = ""`).
    pub aliases: Vec<(String, Option<Reference>)>,
}

pub(super) fn parse(path: &Path, text: &str, drop_in: bool) -> Result<ParsedFile, RegistriesError> {
    let invalid = |reason: String| RegistriesError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let raw: RawFile = toml::from_str(text).map_err(|source| RegistriesError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    let short_name_mode = match raw.short_name_mode.as_deref() {
        None | Some("") => None,
        Some(mode) => Some(mode.parse().map_err(invalid)?),
    };
    let aliases = parse_aliases(&raw.aliases).map_err(invalid)?;
    let raw = match raw.registries {
        Some(_) if drop_in => return Err(invalid("drop-in files must use the v2 format".into())),
        Some(_) if raw.unqualified_search_registries.is_some() || !raw.registry.is_empty() => {
            return Err(invalid(
                "mixing the v1 and v2 formats is not supported".into(),
            ))
        }
        Some(v1) => convert_v1(v1),
        None => raw,
    };
    let mut registries = Vec::new();
    for r in raw.registry {
        registries.push(registry(r).map_err(invalid)?);
    }
    check_conflicts(&registries).map_err(invalid)?;
    let search = match raw.unqualified_search_registries {
        Some(list) => Some(search_list(list).map_err(invalid)?),
        None => None,
    };
    // The first entry of a prefix wins; later ones are ignored, as in containers/image.
    let mut unique: Vec<Registry> = Vec::new();
    for r in registries {
        if !unique.iter().any(|u| u.prefix == r.prefix) {
            unique.push(r);
        }
    }
    Ok(ParsedFile {
        search,
        registries: unique,
        short_name_mode,
        aliases,
    })
}

/// The `[aliases]` of the machine-written `short-name-aliases.conf` (podman records a
/// choice made at its prompt there; strata only reads it).
pub(super) fn parse_aliases_file(
    path: &Path,
    text: &str,
) -> Result<Vec<(String, Option<Reference>)>, RegistriesError> {
    let raw: RawAliases = toml::from_str(text).map_err(|source| RegistriesError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    parse_aliases(&raw.aliases).map_err(|reason| RegistriesError::Invalid {
        path: path.to_owned(),
        reason,
    })
}

/// Every entry checked (containers/image's `newShortNameAliasCache`): the name a short
/// name without tag or digest, the target fully qualified without tag or digest, or `""`.
fn parse_aliases(
    raw: &BTreeMap<String, String>,
) -> Result<Vec<(String, Option<Reference>)>, String> {
    let mut aliases = Vec::new();
    for (name, target) in raw {
        shortnames::check_alias_name(name)?;
        let target = match target.as_str() {
            "" => None,
            target => Some(shortnames::parse_alias_target(target)?),
        };
        aliases.push((name.clone(), target));
    }
    Ok(aliases)
}

/// containers/image's `ConvertToV2`: each listed host becomes a registry.
fn convert_v1(v1: RawV1) -> RawFile {
    let mut registry: Vec<RawRegistry> = Vec::new();
    let mut get = |location: &str| -> usize {
        match registry.iter().position(|r| r.location == location) {
            Some(i) => i,
            None => {
                registry.push(RawRegistry {
                    location: location.to_owned(),
                    ..RawRegistry::default()
                });
                registry.len() - 1
            }
        }
    };
    let blocked: Vec<_> = v1.block.registries.iter().map(|l| get(l)).collect();
    let insecure: Vec<_> = v1.insecure.registries.iter().map(|l| get(l)).collect();
    blocked.into_iter().for_each(|i| registry[i].blocked = true);
    insecure
        .into_iter()
        .for_each(|i| registry[i].insecure = true);
    RawFile {
        unqualified_search_registries: Some(v1.search.registries),
        registry,
        ..RawFile::default()
    }
}

fn registry(raw: RawRegistry) -> Result<Registry, String> {
    let location = parse_location(&raw.location)?;
    let prefix = match raw.prefix.as_str() {
        "" if location.is_empty() => {
            return Err("invalid condition: both location and prefix are unset".into())
        }
        "" => location.clone(),
        prefix => {
            let prefix = parse_location(prefix)?;
            if !prefix.starts_with("*.") && location.is_empty() {
                return Err(format!(
                    "location is unset and prefix {prefix:?} is not in the format *.example.com"
                ));
            }
            prefix
        }
    };
    if !raw.pull_from_mirror.is_empty() {
        return Err(format!(
            "pull-from-mirror must not be set for a non-mirror registry {prefix:?}"
        ));
    }
    let mut mirrors = Vec::new();
    for m in raw.mirror {
        let location = parse_location(&m.location)?;
        if location.is_empty() {
            return Err(format!("a mirror of {prefix:?} has no location"));
        }
        if raw.mirror_by_digest_only && !m.pull_from_mirror.is_empty() {
            return Err(format!("{prefix:?} sets both mirror-by-digest-only and pull-from-mirror (mirror {location:?})"));
        }
        let pull_from = match m.pull_from_mirror.as_str() {
            _ if raw.mirror_by_digest_only => PullFromMirror::DigestOnly,
            "" | "all" => PullFromMirror::All,
            "digest-only" => PullFromMirror::DigestOnly,
            "tag-only" => PullFromMirror::TagOnly,
            other => {
                return Err(format!(
                    "unsupported pull-from-mirror value {other:?} for mirror {location:?}"
                ))
            }
        };
        mirrors.push(Mirror {
            location,
            insecure: m.insecure,
            pull_from,
        });
    }
    Ok(Registry {
        prefix,
        location,
        insecure: raw.insecure,
        blocked: raw.blocked,
        mirrors,
    })
}

/// A registry named several times (several prefixes backed by one location) must agree
/// on `insecure` and `blocked`.
fn check_conflicts(registries: &[Registry]) -> Result<(), String> {
    let key = |r: &Registry| match r.location.is_empty() {
        true => r.prefix.clone(),
        false => r.location.clone(),
    };
    for (i, a) in registries.iter().enumerate() {
        for b in registries[..i].iter().filter(|b| key(b) == key(a)) {
            for (setting, differ) in [
                ("insecure", a.insecure != b.insecure),
                ("blocked", a.blocked != b.blocked),
            ] {
                if differ {
                    return Err(format!(
                        "registry {:?} is defined multiple times with conflicting {setting:?} settings",
                        key(a)
                    ));
                }
            }
        }
    }
    Ok(())
}

fn search_list(list: Vec<String>) -> Result<Vec<String>, String> {
    list.iter()
        .map(|entry| {
            let host = parse_location(entry)?;
            let valid = !host.is_empty()
                && !host.contains('/')
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c));
            match valid {
                true => Ok(host),
                false => Err(format!(
                    "invalid unqualified-search-registries entry {entry:?}"
                )),
            }
        })
        .collect()
}

/// containers/image's `parseLocation`: no URL schemes, trailing `/` dropped.
fn parse_location(input: &str) -> Result<String, String> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(format!(
            "invalid location {input:?}: URI schemes are not supported"
        ));
    }
    Ok(trimmed.to_owned())
}
