//! Quality gates: a policy file (allowed base registries and images, forbidden tags per
//! environment, `latest` never promoted, a maximum size, no secrets, required annotations)
//! checked at build (`strata build --policy`), at push (the registry refuses the manifest
//! naming the rule) and at promote. Each failed rule is a [`Violation`] naming it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The gate policy as written (TOML or YAML).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GatePolicy {
    /// Allowed bases: `registry/repository[:tag]` globs (`registry.example/base/**`); a
    /// registry alone (`registry.example`) allows all its images. Empty: any base.
    #[serde(default)]
    pub allowed_bases: Vec<String>,
    /// Repositories that may have no base (built `FROM scratch` or by `strata base build`).
    #[serde(default)]
    pub roots: Vec<String>,
    /// Tag globs that may not be promoted to an environment, by environment label.
    #[serde(default)]
    pub forbidden_tags: BTreeMap<String, Vec<String>>,
    /// Whether an image whose only tag is `latest` may be promoted (never, by default).
    #[serde(default)]
    pub allow_latest_promotion: bool,
    /// Largest image (manifest, config and layers), e.g. `500MB`, `1GiB`, or a number of
    /// bytes (written as a string or an integer).
    #[serde(default, deserialize_with = "size::string_or_bytes")]
    pub max_size: Option<String>,
    /// Refuse images in which the secret scan finds anything.
    #[serde(default)]
    pub no_secrets: bool,
    /// Annotations every image must carry.
    #[serde(default)]
    pub required_annotations: Vec<String>,
    /// Images exempt from the gates and never removed by retention
    /// (`repository[:tag]` or `repository@digest` globs).
    #[serde(default)]
    pub allow: Vec<String>,
}

/// Where a gate is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    Build,
    Push,
    /// Promotion to the environment label.
    Promote(String),
}

/// What a gate looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// `registry/repository` (the registry part empty when unknown).
    pub repository: String,
    pub digest: Option<String>,
    pub tags: Vec<String>,
    /// The base's full reference (`registry/repo:tag`), `None` for an image without one.
    pub base_name: Option<String>,
    pub size: u64,
    pub annotations: BTreeMap<String, String>,
    /// Secrets the scan found; `None` when not scanned.
    pub secrets: Option<usize>,
}

/// One failed rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule's key in the policy file (`allowed-bases`, `max-size`…).
    pub rule: String,
    pub message: String,
}

/// A policy that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("gate policy: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("gate policy: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("gate policy {key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl GatePolicy {
    /// Parses a policy; `yaml` for a `.yaml`/`.yml` file. Globs and sizes are checked.
    pub fn parse(text: &str, yaml: bool) -> Result<GatePolicy, GateError> {
        let policy: GatePolicy = if yaml {
            serde_norway::from_str(text)?
        } else {
            toml::from_str(text)?
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks a policy made in code as [`GatePolicy::parse`] checks a parsed one.
    pub fn validate(&self) -> Result<(), GateError> {
        rules::validate(self)
    }

    /// The largest size allowed, in bytes (`None`: no limit, or a size that does not parse,
    /// which `parse` refuses).
    pub fn max_size_bytes(&self) -> Option<u64> {
        self.max_size.as_deref().and_then(|s| parse_size(s).ok())
    }

    /// Every rule `subject` fails at `stage`; empty when it passes.
    pub fn check(&self, stage: &Stage, subject: &Subject) -> Vec<Violation> {
        rules::check(self, stage, subject)
    }

    /// Whether the allow-list names this image (exempt from gates, kept by retention).
    /// Compiles the list on each call: to test many images, use [`GatePolicy::allow_list`].
    pub fn allows(&self, repository: &str, tags: &[String], digest: &str) -> bool {
        self.allow_list().allows(repository, tags, digest)
    }

    /// The allow-list compiled once (for retention's `protected` over many images).
    pub fn allow_list(&self) -> AllowList {
        AllowList::new(&self.allow)
    }
}

mod allow;
mod rules;
mod size;
#[cfg(test)]
mod tests;

pub use allow::AllowList;
pub use size::{parse_size, SizeError};
