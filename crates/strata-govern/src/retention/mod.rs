//! Retention policies: which images of a repository to keep, as config, evaluated per
//! repository. A rule selects images (repository glob, tag glob, label or bucket) and keeps
//! some of them (newest N by push or pull, pushed or pulled within N days, always). In a
//! repository some rule selects, an image is kept when any rule keeps it and deleted
//! otherwise (also when no rule's tag, bucket or label selector takes it), as Harbor's tag
//! retention; repositories no rule selects are left alone. Protected images (immutable
//! tags, a gate's allow-list) are never deleted, whatever the rules say. Ties in time are
//! broken by digest, so a decision never depends on the order images are handed in.
//!
//! The default policy (`examples/govern/retention.toml`): per repository, the newest 2
//! images with no promotion label, the newest 10 `maybe_prod`, the newest 10 `prod`.

use serde::Deserialize;
use strata_oci::Digest;

use crate::Image;

/// A retention policy as written (TOML or YAML).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionPolicy {
    /// Promotion labels, highest first: an image counts in the bucket of its highest one.
    #[serde(default = "default_order")]
    pub label_order: Vec<String>,
    /// The rules, in order (the first that keeps an image is its reason).
    #[serde(rename = "rule", default)]
    pub rules: Vec<RetentionRule>,
}

fn default_order() -> Vec<String> {
    crate::labels::DEFAULT_ORDER.map(String::from).to_vec()
}

/// One rule: which images it looks at, and which of those it keeps.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionRule {
    /// Repository glob (`*` within a path component, `**` across them).
    #[serde(default = "any")]
    pub repositories: String,
    /// Tag glob: the rule looks at images with a tag matching it (untagged ones never
    /// match a tag selector); absent: every image.
    #[serde(default)]
    pub tags: Option<String>,
    /// Bucket selector: `none` (no promotion label) or a label of `label-order` (images
    /// whose highest label it is); absent: every bucket.
    #[serde(default)]
    pub bucket: Option<String>,
    /// Label selector: images carrying this label (whatever their bucket).
    #[serde(default)]
    pub label: Option<String>,
    /// What it keeps of the images it selects.
    pub keep: Keep,
}

fn any() -> String {
    "**".to_owned()
}

/// What a rule keeps. Written as a table with exactly one key, in TOML and YAML alike
/// (`keep = { newest-pushed = 10 }`, `keep: {newest-pushed: 10}`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "check::KeepTable")]
pub enum Keep {
    /// The N most recently pushed.
    NewestPushed(usize),
    /// The N most recently pulled (never pulled: by push time, after every pulled one).
    NewestPulled(usize),
    /// Those pushed within N days of now.
    PushedWithinDays(u32),
    /// Those pulled within N days of now.
    PulledWithinDays(u32),
    /// All of them.
    Always(bool),
}

/// A policy that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("retention policy: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("retention policy: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// A policy-wide setting (`label-order`) that cannot be used.
    #[error("retention policy: {0}")]
    Invalid(String),
    #[error("retention rule {index}: {reason}")]
    Rule { index: usize, reason: String },
}

/// What happens to one image, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub repository: String,
    pub digest: Digest,
    pub tags: Vec<String>,
    /// `None`: no promotion label of the policy's order.
    pub bucket: Option<String>,
    pub keep: bool,
    /// Why, for `--dry-run` (`rule 2 (bucket prod, newest 10 pushed): #3`, `protected:
    /// immutable tag v1 (rule release)`, `no rule keeps it`).
    pub reason: String,
}

impl RetentionPolicy {
    /// Parses a policy; `yaml` for a `.yaml`/`.yml` file. Every glob and selector is checked.
    pub fn parse(text: &str, yaml: bool) -> Result<RetentionPolicy, PolicyError> {
        let policy: RetentionPolicy = if yaml {
            serde_norway::from_str(text)?
        } else {
            toml::from_str(text)?
        };
        policy.check()?;
        Ok(policy)
    }

    /// Checks a policy made in code as [`RetentionPolicy::parse`] checks a parsed one: the
    /// label order, every glob, every selector and every `keep`.
    pub fn check(&self) -> Result<(), PolicyError> {
        check::label_order(&self.label_order)?;
        for (i, rule) in self.rules.iter().enumerate() {
            check::rule(rule, &self.label_order).map_err(|reason| PolicyError::Rule {
                index: i + 1,
                reason,
            })?;
        }
        Ok(())
    }

    /// The decisions for `images` (any number of repositories, any order): one per image of
    /// a repository some rule selects, sorted by repository then newest push first.
    /// `protected` names why an image may never be deleted (immutable tag, allow-list).
    pub fn evaluate(
        &self,
        images: &[Image],
        protected: &dyn Fn(&Image) -> Option<String>,
        now: i64,
    ) -> Vec<Decision> {
        evaluate::evaluate(self, images, protected, now)
    }
}

impl Default for RetentionPolicy {
    /// The default policy: per repository, the newest 2 images without a promotion label,
    /// the newest 10 `maybe_prod`, the newest 10 `prod` (`examples/govern/retention.toml`).
    fn default() -> Self {
        let rule = |bucket: &str, n| RetentionRule {
            repositories: any(),
            tags: None,
            bucket: Some(bucket.to_owned()),
            label: None,
            keep: Keep::NewestPushed(n),
        };
        RetentionPolicy {
            label_order: default_order(),
            rules: vec![rule("none", 2), rule("maybe_prod", 10), rule("prod", 10)],
        }
    }
}

mod check;
mod evaluate;
#[cfg(test)]
mod tests;
