//! The findings of an image, in order: layers bottom first, then the config, then the
//! history; each names where it is, and a layer's finding whether a later layer deleted
//! or replaced the file (the bytes still ship in the layer).

use serde::Serialize;
use strata_oci::{Digest, ImageConfig};

use super::matcher::{redact, redact_text, Scanner};
use super::rule::{Rule, Severity};
use super::visitor::{LayerScan, ScanStats};

/// What a later layer did to a file holding a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Removal {
    /// A whiteout (or an opaque directory) deleted it.
    Deleted,
    /// A later layer has another entry at the same path.
    Overwritten,
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Source {
    /// A file in a layer.
    Layer {
        layer: usize,
        digest: Digest,
        /// The instruction that made the layer (secrets in it redacted).
        created_by: Option<String>,
        path: String,
        line: u64,
        /// Set when a later layer deleted or replaced the file.
        #[serde(skip_serializing_if = "Option::is_none")]
        removed: Option<Removal>,
        /// The layer that did.
        #[serde(skip_serializing_if = "Option::is_none")]
        removed_in: Option<usize>,
    },
    /// A field of the image config (`Env`, `Labels`, `Cmd`, `Entrypoint`, `User`, …);
    /// `line` is the 1-based item of a list field.
    Config { field: &'static str, line: usize },
    /// The `created_by` of history entry `history` (0-based, as `docker history` lists
    /// them oldest last).
    History { history: usize },
}

/// One secret found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    #[serde(flatten)]
    pub source: Source,
    /// The secret, redacted (its first 4 characters, then `*****`).
    #[serde(rename = "match")]
    pub secret: String,
}

impl Finding {
    fn new(rule: &'static Rule, source: Source, secret: String) -> Finding {
        Finding {
            rule: rule.id,
            title: rule.title,
            severity: rule.severity,
            source,
            secret,
        }
    }
}

/// The secrets of an image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub layers: usize,
    #[serde(flatten)]
    pub stats: ScanStats,
}

impl Report {
    /// The findings of `scans` (one per layer, bottom first), each told whether a later
    /// layer removed its file.
    pub fn from_layers(scanner: &Scanner, scans: Vec<LayerScan>) -> Report {
        let mut report = Report {
            layers: scans.len(),
            ..Report::default()
        };
        for (i, scan) in scans.iter().enumerate() {
            report.stats.add(&scan.stats);
            let created_by = scan
                .layer
                .created_by
                .as_deref()
                .map(|c| redact_text(scanner, c));
            for f in &scan.findings {
                let removed = scans[i + 1..]
                    .iter()
                    .find_map(|s| s.removals.removes(&f.path).map(|r| (s.layer.index, r)));
                let source = Source::Layer {
                    layer: scan.layer.index,
                    digest: scan.layer.digest.clone(),
                    created_by: created_by.clone(),
                    path: f.path.clone(),
                    line: f.line,
                    removed: removed.map(|(_, replaced)| match replaced {
                        true => Removal::Overwritten,
                        false => Removal::Deleted,
                    }),
                    removed_in: removed.map(|(layer, _)| layer),
                };
                report
                    .findings
                    .push(Finding::new(f.rule, source, f.secret.clone()));
            }
        }
        report
    }

    /// Adds the findings of the config's fields and of the history's `created_by`.
    pub fn add_config(&mut self, scanner: &Scanner, config: &ImageConfig) {
        let rc = &config.config;
        let labels: Vec<String> = rc.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let joined = |v: &Option<Vec<String>>| v.iter().map(|a| a.join(" ")).collect::<Vec<_>>();
        let health: Vec<String> = rc.healthcheck.iter().map(|h| h.test.join(" ")).collect();
        let fields: [(&'static str, Vec<String>); 7] = [
            ("Env", rc.env.clone()),
            ("Labels", labels),
            ("Entrypoint", joined(&rc.entrypoint)),
            ("Cmd", joined(&rc.cmd)),
            ("User", vec![rc.user.clone()]),
            ("Healthcheck", health),
            ("OnBuild", rc.on_build.clone()),
        ];
        for (field, items) in fields {
            for (i, item) in items.iter().enumerate() {
                let source = || Source::Config { field, line: i + 1 };
                self.add_text(scanner, item, source);
            }
        }
        for (i, h) in config.history.iter().enumerate() {
            if let Some(created_by) = &h.created_by {
                self.add_text(scanner, created_by, || Source::History { history: i });
            }
        }
    }

    fn add_text(&mut self, scanner: &Scanner, text: &str, source: impl Fn() -> Source) {
        let bytes = text.as_bytes();
        for hit in scanner.scan(bytes, 0, bytes.len(), None) {
            let secret = redact(&bytes[hit.start..hit.end]);
            self.findings
                .push(Finding::new(scanner.rule(hit.rule), source(), secret));
        }
    }

    /// How many findings have each severity, most severe first (for summaries).
    pub fn by_severity(&self) -> Vec<(Severity, usize)> {
        let all = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ];
        all.iter()
            .map(|&s| (s, self.findings.iter().filter(|f| f.severity == s).count()))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}
