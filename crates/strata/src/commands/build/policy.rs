//! `strata build --policy FILE`: the gate policy (`strata_govern::gates`) checked on the
//! built image at `Stage::Build`, after the build and before any exporter runs, so a refused
//! image is neither tagged, exported nor pushed (it stays in the store, untagged, for
//! inspection). `no-secrets` runs strata-check's secret scan on the image, as `strata scan`.
//! Must not: tag, export or push.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use strata_build::{BuildGate, Built};
use strata_content::Store;
use strata_govern::gates::{GatePolicy, Stage, Subject, Violation};

/// A loaded policy file, checked as the build's [`BuildGate`].
#[derive(Debug)]
pub struct PolicyGate {
    path: PathBuf,
    policy: GatePolicy,
}

/// The image failed the policy: every rule that failed, by name.
#[derive(Debug)]
pub struct Refused {
    pub path: PathBuf,
    pub violations: Vec<Violation>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.violations.len();
        write!(f, "policy {}: {n} rule(s) failed:", self.path.display())?;
        for v in &self.violations {
            write!(f, "\n  {}: {}", v.rule, v.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

impl PolicyGate {
    /// Reads and checks the policy (YAML for `.yaml`/`.yml`, else TOML).
    pub fn load(path: &Path) -> Result<PolicyGate> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the policy {}", path.display()))?;
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let policy =
            GatePolicy::parse(&text, yaml).with_context(|| format!("policy {}", path.display()))?;
        Ok(PolicyGate {
            path: path.to_owned(),
            policy,
        })
    }

    /// Every rule the built image fails, for each repository it is tagged in (or, untagged,
    /// once with no repository).
    fn violations(&self, store: &Store, built: &Built<'_>) -> Result<Vec<Violation>> {
        let secrets = self.scan(store, built)?;
        // Manifest, config and layers, as the registry counts them.
        let manifest = strata_oci::to_canonical_json(&built.image.manifest).len() as u64;
        let size = built.image.size + manifest;
        let mut repositories: Vec<String> = built.tags.iter().map(|t| t.name()).collect();
        if repositories.is_empty() {
            repositories.push(String::new());
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for repository in repositories.into_iter().filter(|r| seen.insert(r.clone())) {
            let tags = built
                .tags
                .iter()
                .filter(|t| t.name() == repository)
                .filter_map(|t| t.tag().map(str::to_owned))
                .collect();
            let subject = Subject {
                repository,
                digest: Some(built.image.manifest_digest.to_string()),
                tags,
                base_name: built.base.map(|b| b.name.clone()),
                size,
                annotations: built.image.manifest.annotations.clone(),
                secrets,
            };
            for v in self.policy.check(&Stage::Build, &subject) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        Ok(out)
    }

    /// The secret scan's count, when the policy asks for it.
    fn scan(&self, store: &Store, built: &Built<'_>) -> Result<Option<usize>> {
        if !self.policy.no_secrets {
            return Ok(None);
        }
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
        let report = strata_check::secrets::scan_image(store, built.image, jobs)
            .context("scanning the built image for secrets (no-secrets)")?;
        Ok(Some(report.findings.len()))
    }
}

impl BuildGate for PolicyGate {
    fn check(
        &self,
        store: &Store,
        built: &Built<'_>,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let violations = self
            .violations(store, built)
            .map_err(Box::<dyn std::error::Error + Send + Sync>::from)?;
        if violations.is_empty() {
            return Ok(());
        }
        Err(Box::new(Refused {
            path: self.path.clone(),
            violations,
        }))
    }
}
