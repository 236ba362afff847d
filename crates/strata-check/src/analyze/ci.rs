//! dive's CI mode: three rules on an [`Analysis`], each a threshold or disabled, from dive's
//! defaults, then a `.dive-ci` file, then the command line; exit 1 when one fails.

use std::path::Path;

use serde::Serialize;

use super::report::Analysis;
use super::size::{parse_size, BadSize};

/// The rules' thresholds; `None` is disabled.
#[derive(Debug, Clone, PartialEq)]
pub struct CiRules {
    /// Fail when the efficiency is below (dive's default 0.9).
    pub lowest_efficiency: Option<f64>,
    /// Fail when more bytes are wasted (dive's default: disabled).
    pub highest_wasted_bytes: Option<u64>,
    /// Fail when the user-wasted ratio is above (dive's default 0.1).
    pub highest_user_wasted_percent: Option<f64>,
}

impl Default for CiRules {
    fn default() -> CiRules {
        CiRules {
            lowest_efficiency: Some(0.9),
            highest_wasted_bytes: None,
            highest_user_wasted_percent: Some(0.1),
        }
    }
}

/// A `.dive-ci` file or a threshold that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum CiConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a dive CI config: {source}")]
    Yaml {
        path: String,
        source: serde_norway::Error,
    },
    #[error("{path}: unknown key {key:?} (known: rules.lowestEfficiency, rules.highestWastedBytes, rules.highestUserWastedPercent)")]
    UnknownKey { path: String, key: String },
    #[error("{at}: {value:?} is not a ratio between 0 and 1 or \"disabled\"")]
    BadRatio { at: String, value: String },
    #[error("{at}: {source}")]
    BadSize { at: String, source: BadSize },
}

/// Parses a ratio threshold (`0.9`, `disabled`).
pub fn parse_ratio(at: &str, value: &str) -> Result<Option<f64>, CiConfigError> {
    if value.trim().eq_ignore_ascii_case("disabled") {
        return Ok(None);
    }
    match value.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(Some(v)),
        _ => Err(CiConfigError::BadRatio {
            at: at.to_string(),
            value: value.to_string(),
        }),
    }
}

/// Parses a byte threshold (`20MB`, `disabled`).
pub fn parse_bytes(at: &str, value: &str) -> Result<Option<u64>, CiConfigError> {
    if value.trim().eq_ignore_ascii_case("disabled") {
        return Ok(None);
    }
    parse_size(value)
        .map(Some)
        .map_err(|source| CiConfigError::BadSize {
            at: at.to_string(),
            source,
        })
}

impl CiRules {
    /// Applies the `rules:` of a `.dive-ci` file at `path` over `self`.
    pub fn apply_file(&mut self, path: &Path) -> Result<(), CiConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CiConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        self.apply_yaml(&shown, &text)
    }

    /// Applies the `rules:` of a `.dive-ci` document over `self`.
    pub fn apply_yaml(&mut self, path: &str, text: &str) -> Result<(), CiConfigError> {
        let doc: serde_norway::Value =
            serde_norway::from_str(text).map_err(|source| CiConfigError::Yaml {
                path: path.to_string(),
                source,
            })?;
        let unknown = |key: String| CiConfigError::UnknownKey {
            path: path.to_string(),
            key,
        };
        let Some(top) = doc.as_mapping() else {
            return Ok(()); // an empty file
        };
        for (key, rules) in top {
            let key = scalar(key);
            if key != "rules" {
                return Err(unknown(key));
            }
            for (name, value) in rules.as_mapping().into_iter().flatten() {
                let (name, value) = (scalar(name), scalar(value));
                let at = format!("{path}: rules.{name}");
                match name.as_str() {
                    "lowestEfficiency" => self.lowest_efficiency = parse_ratio(&at, &value)?,
                    "highestWastedBytes" => self.highest_wasted_bytes = parse_bytes(&at, &value)?,
                    "highestUserWastedPercent" => {
                        self.highest_user_wasted_percent = parse_ratio(&at, &value)?
                    }
                    _ => return Err(unknown(format!("rules.{name}"))),
                }
            }
        }
        Ok(())
    }

    /// Evaluates the rules on `a`, in dive's order.
    pub fn evaluate(&self, a: &Analysis) -> CiOutcome {
        let results = vec![
            rule(
                "highestUserWastedPercent",
                self.highest_user_wasted_percent,
                |t| {
                    (a.user_wasted_percent > t).then(|| {
                        format!(
                            "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes={:.4} > threshold={t})",
                            a.user_wasted_percent
                        )
                    })
                },
            ),
            rule("highestWastedBytes", self.highest_wasted_bytes, |t| {
                (a.wasted_bytes > t).then(|| {
                    format!(
                        "too many bytes wasted (wasted-bytes={} > threshold={t})",
                        a.wasted_bytes
                    )
                })
            }),
            rule("lowestEfficiency", self.lowest_efficiency, |t| {
                (a.efficiency < t).then(|| {
                    format!(
                        "image efficiency is too low (efficiency={:.4} < threshold={t})",
                        a.efficiency
                    )
                })
            }),
        ];
        CiOutcome { results }
    }
}

fn scalar(v: &serde_norway::Value) -> String {
    match v {
        serde_norway::Value::String(s) => s.clone(),
        serde_norway::Value::Number(n) => n.to_string(),
        serde_norway::Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn rule<T>(
    name: &'static str,
    threshold: Option<T>,
    fails: impl Fn(T) -> Option<String>,
) -> RuleResult {
    let (status, message) = match threshold {
        None => (Status::Skip, Some("rule disabled".to_string())),
        Some(t) => match fails(t) {
            Some(why) => (Status::Fail, Some(why)),
            None => (Status::Pass, None),
        },
    };
    RuleResult {
        rule: name,
        status,
        message,
    }
}

/// PASS, FAIL or SKIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One rule's result.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: &'static str,
    pub status: Status,
    pub message: Option<String>,
}

/// All the rules' results.
#[derive(Debug, Clone, Serialize)]
pub struct CiOutcome {
    pub results: Vec<RuleResult>,
}

impl CiOutcome {
    /// Whether no rule failed.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.status != Status::Fail)
    }

    fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// dive's last line: `Result:PASS [Total:3] [Passed:2] [Failed:0] [Warn:0] [Skipped:1]`.
    pub fn summary(&self) -> String {
        format!(
            "Result:{} [Total:{}] [Passed:{}] [Failed:{}] [Warn:0] [Skipped:{}]",
            if self.passed() { "PASS" } else { "FAIL" },
            self.results.len(),
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dive_ci_files_are_read_with_disabled_and_sizes() {
        let mut rules = CiRules::default();
        rules
            .apply_yaml(
                ".dive-ci",
                "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n",
            )
            .unwrap();
        assert_eq!(
            rules,
            CiRules {
                lowest_efficiency: Some(0.95),
                highest_wasted_bytes: Some(20_000_000),
                highest_user_wasted_percent: None,
            }
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_them() {
        let mut rules = CiRules::default();
        let e = rules
            .apply_yaml("x.yaml", "rules:\n  lowestEfficency: 0.9\n")
            .unwrap_err();
        assert!(e.to_string().contains("rules.lowestEfficency"), "{e}");
        let e = rules
            .apply_yaml("x.yaml", "rules:\n  lowestEfficiency: 1.5\n")
            .unwrap_err();
        assert!(
            e.to_string().contains("x.yaml: rules.lowestEfficiency"),
            "{e}"
        );
        let e = rules
            .apply_yaml("x.yaml", "rules:\n  highestWastedBytes: much\n")
            .unwrap_err();
        assert!(e.to_string().contains("highestWastedBytes"), "{e}");
    }
}
