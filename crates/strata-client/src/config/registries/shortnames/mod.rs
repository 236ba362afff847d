//! Short names as podman and buildah resolve them (containers/image `pkg/shortnames`),
//! without ever prompting.
//!
//! A name is *short* when its first component names no registry: no `/`, or a first
//! component without `.` or `:` that is not `localhost` (`app:1`, `library/app`). A
//! qualified name (`quay.io/app`, `localhost/app`, `host:5000/app`) is never searched.
//!
//! Pulling a short name ([`RegistriesConf::resolve_pull`]):
//! 1. an `[aliases]` entry for its repository (the tag or digest carried over) is the one
//!    candidate, whatever the mode;
//! 2. else each `unqualified-search-registries` entry, in order (`docker.io` adds
//!    `library/` to a one-component name, other registries nothing). With several,
//!    `short-name-mode = "enforcing"` is an error, as podman's without a terminal (strata
//!    never prompts); `permissive` (the default when unset, as containers/image) and
//!    `disabled` try them in order;
//! 3. no search registries: Docker Hub, as docker does (podman refuses the name).
//!
//! Finding a short name in the store ([`RegistriesConf::resolve_local`], libimage's
//! `LookupImage`): the alias, then docker's normalisation (where strata tags `-t app:1`,
//! as podman tags under `localhost/`), `localhost/NAME`, then each search registry; the
//! caller takes the first one stored.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use strata_oci::{Reference, ReferenceError};

use super::RegistriesConf;

/// `short-name-mode`: what to do with several search registries and no alias.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ShortNameMode {
    /// Podman prompts on a terminal and refuses otherwise; strata always refuses.
    Enforcing,
    /// Try every candidate in order (containers/image's default).
    #[default]
    Permissive,
    /// Try every candidate in order (podman also records no alias).
    Disabled,
}

impl FromStr for ShortNameMode {
    type Err = String;

    fn from_str(s: &str) -> Result<ShortNameMode, String> {
        match s {
            "enforcing" => Ok(ShortNameMode::Enforcing),
            "permissive" => Ok(ShortNameMode::Permissive),
            "disabled" => Ok(ShortNameMode::Disabled),
            other => Err(format!(
                "invalid short-name-mode {other:?} (expected enforcing, permissive or disabled)"
            )),
        }
    }
}

/// One `[aliases]` entry and the file that set it; no target when a later file reset it
/// with `""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// A fully qualified name without tag or digest.
    pub target: Option<Reference>,
    pub origin: PathBuf,
}

/// An image name as typed: valid in docker's grammar, and kept unnormalised so that a
/// short name can be told from a qualified one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    input: String,
    reference: Reference,
}

impl FromStr for ImageName {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<ImageName, ReferenceError> {
        Ok(ImageName {
            input: s.to_owned(),
            reference: Reference::parse(s)?,
        })
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.input)
    }
}

impl ImageName {
    pub fn as_str(&self) -> &str {
        &self.input
    }

    /// Docker's normalisation: `app:1` is `docker.io/library/app:1`.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// No registry named (containers/image's `IsShortName`).
    pub fn is_short(&self) -> bool {
        !names_registry(&self.input)
            && self.reference.registry() == strata_oci::reference::DEFAULT_REGISTRY
    }

    /// The repository as typed (`app`, `library/app`): the key of `[aliases]`.
    pub fn repository(&self) -> &str {
        &self.input[..self.split_at()]
    }

    /// Where the repository ends and `:tag@digest` begins.
    fn split_at(&self) -> usize {
        let name_end = self.input.find('@').unwrap_or(self.input.len());
        let name = &self.input[..name_end];
        match name.rfind(':') {
            Some(i) if !name[i..].contains('/') => i,
            _ => name_end,
        }
    }

    /// This name with its repository replaced by `name` (an alias target).
    fn retarget(&self, name: &str) -> Result<Reference, ShortNameError> {
        let suffix = &self.input[self.split_at()..];
        parse_candidate(self, name, format!("{name}{suffix}"))
    }

    /// This name under `registry` (a search registry, `localhost`).
    fn under(&self, registry: &str) -> Result<Reference, ShortNameError> {
        parse_candidate(self, registry, format!("{registry}/{}", self.input))
    }
}

fn parse_candidate(
    name: &ImageName,
    prefix: &str,
    text: String,
) -> Result<Reference, ShortNameError> {
    Reference::parse(&text).map_err(|source| ShortNameError::Candidate {
        name: name.input.clone(),
        prefix: prefix.to_owned(),
        source,
    })
}

/// Does the first component name a registry (`.` or `:` in it, or `localhost`)?
fn names_registry(input: &str) -> bool {
    let name = input.split('@').next().unwrap_or(input);
    match name.split_once('/') {
        Some((first, _)) => first.contains(['.', ':']) || first == "localhost",
        None => false,
    }
}

/// How a name became its candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A qualified name: itself.
    Qualified,
    /// An `[aliases]` entry of this file.
    Alias { origin: PathBuf },
    /// The `unqualified-search-registries` of this file.
    SearchRegistries { origin: PathBuf },
    /// No search registries configured: Docker Hub, as docker.
    DockerHub,
}

/// The references to pull a name from, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub name: ImageName,
    pub candidates: Vec<Reference>,
    pub how: Resolution,
}

impl Resolved {
    /// Podman's line before it pulls a name resolved by the configuration.
    pub fn description(&self) -> Option<String> {
        let repository = self.name.repository();
        match &self.how {
            Resolution::Alias { origin } => Some(format!(
                "Resolved {repository:?} as an alias ({})",
                origin.display()
            )),
            Resolution::SearchRegistries { origin } => Some(format!(
                "Resolving {repository:?} using unqualified-search registries ({})",
                origin.display()
            )),
            Resolution::Qualified | Resolution::DockerHub => None,
        }
    }
}

/// Why a short name has no candidates to pull.
#[derive(Debug, thiserror::Error)]
pub enum ShortNameError {
    #[error(
        "short-name resolution enforced but strata does not prompt: {name} could be any of \
         {} (short-name-mode = \"enforcing\" in {}); name the registry, add an [aliases] \
         entry or set short-name-mode = \"permissive\"",
        join(candidates),
        origin.display()
    )]
    Ambiguous {
        name: String,
        candidates: Vec<Reference>,
        origin: PathBuf,
    },
    #[error("{name} under {prefix} is not a valid reference")]
    Candidate {
        name: String,
        prefix: String,
        #[source]
        source: ReferenceError,
    },
}

fn join(references: &[Reference]) -> String {
    let names: Vec<String> = references.iter().map(Reference::to_string).collect();
    names.join(", ")
}

impl RegistriesConf {
    /// What to pull for `name`, in order (see the module docs).
    pub fn resolve_pull(&self, name: &ImageName) -> Result<Resolved, ShortNameError> {
        let resolved = |candidates, how| Resolved {
            name: name.clone(),
            candidates,
            how,
        };
        if !name.is_short() {
            return Ok(resolved(
                vec![name.reference.clone()],
                Resolution::Qualified,
            ));
        }
        if let Some((target, origin)) = self.alias_of(name) {
            let how = Resolution::Alias {
                origin: origin.to_owned(),
            };
            return Ok(resolved(vec![name.retarget(&target.name())?], how));
        }
        let search = &self.unqualified_search_registries;
        if search.is_empty() {
            return Ok(resolved(
                vec![name.reference.clone()],
                Resolution::DockerHub,
            ));
        }
        let candidates = search
            .iter()
            .map(|registry| name.under(registry))
            .collect::<Result<Vec<_>, _>>()?;
        if self.short_name_mode == ShortNameMode::Enforcing && candidates.len() > 1 {
            return Err(ShortNameError::Ambiguous {
                name: name.input.clone(),
                candidates,
                origin: self.origin(&self.short_name_mode_origin),
            });
        }
        let origin = self.origin(&self.search_origin);
        Ok(resolved(
            candidates,
            Resolution::SearchRegistries { origin },
        ))
    }

    /// The names `name` may be stored under, in lookup order, each once (see the module
    /// docs); a qualified name is only itself.
    pub fn resolve_local(&self, name: &ImageName) -> Result<Vec<Reference>, ShortNameError> {
        if !name.is_short() {
            return Ok(vec![name.reference.clone()]);
        }
        let mut candidates = Vec::new();
        if let Some((target, _)) = self.alias_of(name) {
            candidates.push(name.retarget(&target.name())?);
        }
        candidates.push(name.reference.clone());
        let registries = std::iter::once("localhost").chain(
            self.unqualified_search_registries
                .iter()
                .map(String::as_str),
        );
        for registry in registries {
            let candidate = name.under(registry)?;
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
        Ok(candidates)
    }

    /// The alias of a short name's repository, unless reset.
    fn alias_of(&self, name: &ImageName) -> Option<(&Reference, &Path)> {
        let alias = self.aliases.get(name.repository())?;
        Some((alias.target.as_ref()?, &alias.origin))
    }

    fn origin(&self, path: &Option<PathBuf>) -> PathBuf {
        path.clone()
            .unwrap_or_else(|| PathBuf::from("registries.conf"))
    }
}

/// An `[aliases]` name: a short name without tag or digest.
pub(super) fn check_alias_name(name: &str) -> Result<(), String> {
    let parsed: ImageName = name
        .parse()
        .map_err(|e| format!("invalid short name {name:?} in [aliases]: {e}"))?;
    let problem = if parsed.reference.digest().is_some() {
        "must not contain a digest"
    } else if parsed.repository() != name {
        "must not contain a tag"
    } else if !parsed.is_short() {
        "must not contain a registry"
    } else {
        return Ok(());
    };
    Err(format!(
        "invalid short name {name:?} in [aliases]: {problem}"
    ))
}

/// An `[aliases]` target: a fully qualified name without tag or digest, normalised
/// (`docker.io/alpine` is `docker.io/library/alpine`).
pub(super) fn parse_alias_target(target: &str) -> Result<Reference, String> {
    let parsed =
        Reference::parse_name_only(target).map_err(|e| format!("invalid alias {target:?}: {e}"))?;
    let problem = if parsed.digest().is_some() {
        "must not contain a digest"
    } else if parsed.tag().is_some() {
        "must not contain a tag"
    } else if !names_registry(target) {
        "must contain registry and repository"
    } else {
        return Ok(parsed);
    };
    Err(format!("invalid alias {target:?}: {problem}"))
}

#[cfg(test)]
mod tests;
