//! The lint configuration: hadolint's config file schema read as is (`.hadolint.yaml`, or
//! strata's name `.strata-lint.yaml`, same keys). Finding the file is the caller's job (no
//! I/O here); [`LintConfig::from_yaml`] reads its text.
//!
//! A key hadolint has and strata does not implement (`verbose`, `formats`, …) is an error
//! naming it, never silently ignored; so is any other unknown key or a bad value.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Severity;

/// The keys of hadolint's config file strata does not implement.
const HADOLINT_ONLY: [&str; 3] = ["verbose", "formats", "no-color"];

/// A config file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not YAML, or not a mapping.
    #[error("{file}: {source}")]
    Yaml {
        file: String,
        #[source]
        source: serde_norway::Error,
    },
    /// A key with a bad value.
    #[error("{file}: key `{key}`: {source}")]
    Value {
        file: String,
        key: String,
        #[source]
        source: serde_norway::Error,
    },
    /// A key strata does not know.
    #[error("{file}: unknown key `{key}` (strata lint reads: {})", KEYS.join(", "))]
    UnknownKey { file: String, key: String },
    /// A key of hadolint's schema strata does not implement.
    #[error("{file}: key `{key}` is hadolint's, strata lint does not implement it")]
    NotImplemented { file: String, key: String },
    /// `format` names an output strata does not write.
    #[error("{file}: key `format`: `{value}` is not supported (strata lint writes tty, json, sarif, junit)")]
    Format { file: String, value: String },
}

/// The keys strata reads.
const KEYS: [&str; 9] = [
    "ignored",
    "override",
    "failure-threshold",
    "trustedRegistries",
    "label-schema",
    "strict-labels",
    "no-fail",
    "format",
    "disable-ignore-pragma",
];

/// The lint configuration (file, then command-line flags on top).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LintConfig {
    /// Rules never reported.
    #[serde(default)]
    pub ignored: Vec<String>,
    /// Rules reported at another severity.
    #[serde(default, rename = "override")]
    pub overrides: Overrides,
    /// Exit 1 when a finding is at least this severe (`none`/`ignore`: never).
    #[serde(default)]
    pub failure_threshold: Option<Threshold>,
    /// DL3026: the registries FROM (and `COPY --from`, `RUN --mount from=`) may use;
    /// `*.example.com` and `example.*` patterns. Empty: any registry.
    #[serde(default, rename = "trustedRegistries")]
    pub trusted_registries: Vec<String>,
    /// DL3049–DL3058: labels every stage must have, with the type of their value.
    #[serde(default)]
    pub label_schema: BTreeMap<String, LabelType>,
    /// DL3050: labels outside `label-schema` are reported.
    #[serde(default)]
    pub strict_labels: Option<bool>,
    /// Exit 0 whatever is found.
    #[serde(default)]
    pub no_fail: Option<bool>,
    /// Output format: `tty` (strata's `text`) or `json`.
    #[serde(default)]
    pub format: Option<String>,
    /// Inline `# hadolint ignore=` comments are not honoured.
    #[serde(default)]
    pub disable_ignore_pragma: Option<bool>,
}

/// `override:`: rule ids per new severity. A rule in several lists gets the most severe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[serde(default)]
    pub error: Vec<String>,
    #[serde(default)]
    pub warning: Vec<String>,
    #[serde(default)]
    pub info: Vec<String>,
    #[serde(default)]
    pub style: Vec<String>,
}

/// hadolint's failure thresholds (`ignore` and `none` both mean never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    Error,
    Warning,
    Info,
    Style,
    #[serde(alias = "ignore")]
    None,
}

impl Threshold {
    /// The least severe level that fails, `None` for never.
    pub fn severity(self) -> Option<Severity> {
        match self {
            Threshold::Error => Some(Severity::Error),
            Threshold::Warning => Some(Severity::Warning),
            Threshold::Info => Some(Severity::Info),
            Threshold::Style => Some(Severity::Style),
            Threshold::None => None,
        }
    }
}

/// The type of a label's value in `label-schema` (hadolint's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelType {
    /// Any text (`""` is text too, as hadolint).
    #[serde(alias = "")]
    Text,
    Email,
    /// A git commit id (7 or 40 lower-case hex digits).
    Hash,
    Rfc3339,
    Semver,
    Spdx,
    Url,
}

impl LabelType {
    /// hadolint's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelType::Text => "text",
            LabelType::Email => "email",
            LabelType::Hash => "hash",
            LabelType::Rfc3339 => "rfc3339",
            LabelType::Semver => "semver",
            LabelType::Spdx => "spdx",
            LabelType::Url => "url",
        }
    }
}

impl LintConfig {
    /// Reads a config file's text; `file` names it in errors. An empty file is the default.
    pub fn from_yaml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let yaml = |source| ConfigError::Yaml {
            file: file.to_string(),
            source,
        };
        let value: serde_norway::Value = serde_norway::from_str(text).map_err(yaml)?;
        if value.is_null() {
            return Ok(LintConfig::default());
        }
        check_keys(&value, file)?;
        check_values(&value, file)?;
        let config: LintConfig = serde_norway::from_value(value).map_err(yaml)?;
        if let Some(format) = &config.format {
            if !["tty", "json", "sarif", "junit"].contains(&format.as_str()) {
                return Err(ConfigError::Format {
                    file: file.to_string(),
                    value: format.clone(),
                });
            }
        }
        Ok(config)
    }

    /// The severity a rule is reported at: its `override`, else `default`.
    pub fn severity_of(&self, code: &str, default: Severity) -> Severity {
        let o = &self.overrides;
        let lists = [
            (&o.error, Severity::Error),
            (&o.warning, Severity::Warning),
            (&o.info, Severity::Info),
            (&o.style, Severity::Style),
        ];
        lists
            .into_iter()
            .find(|(list, _)| list.iter().any(|c| c == code))
            .map_or(default, |(_, s)| s)
    }

    /// Whether `ignored` lists the rule.
    pub fn ignores(&self, code: &str) -> bool {
        self.ignored.iter().any(|c| c == code)
    }
}

/// Top-level keys: hadolint's unimplemented ones and unknown ones are errors of their own.
fn check_keys(value: &serde_norway::Value, file: &str) -> Result<(), ConfigError> {
    let Some(map) = value.as_mapping() else {
        // Not a mapping: serde's "invalid type" error says so.
        return Ok(());
    };
    for key in map.keys().filter_map(|k| k.as_str()) {
        if HADOLINT_ONLY.contains(&key) {
            return Err(ConfigError::NotImplemented {
                file: file.to_string(),
                key: key.to_string(),
            });
        }
        if !KEYS.contains(&key) {
            return Err(ConfigError::UnknownKey {
                file: file.to_string(),
                key: key.to_string(),
            });
        }
    }
    Ok(())
}

/// Each top-level key read alone, so that a bad value's error names its key.
fn check_values(value: &serde_norway::Value, file: &str) -> Result<(), ConfigError> {
    let Some(map) = value.as_mapping() else {
        return Ok(());
    };
    for (key, v) in map {
        let mut single = serde_norway::Mapping::new();
        single.insert(key.clone(), v.clone());
        serde_norway::from_value::<LintConfig>(serde_norway::Value::Mapping(single)).map_err(
            |source| ConfigError::Value {
                file: file.to_string(),
                key: key.as_str().unwrap_or_default().to_string(),
                source,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hadolint_schema_is_read_as_is() {
        let text = "ignored: [DL3008]\noverride:\n  error: [DL3015]\n  style: [DL3015, DL3057]\nfailure-threshold: warning\ntrustedRegistries:\n  - docker.io\nlabel-schema:\n  maintainer: text\n  org.opencontainers.image.created: rfc3339\nstrict-labels: true\nno-fail: true\nformat: json\ndisable-ignore-pragma: true\n";
        let c = LintConfig::from_yaml(text, ".hadolint.yaml").unwrap();
        assert!(c.ignores("DL3008"));
        assert_eq!(c.severity_of("DL3015", Severity::Info), Severity::Error);
        assert_eq!(c.severity_of("DL3057", Severity::Ignore), Severity::Style);
        assert_eq!(c.severity_of("DL3009", Severity::Info), Severity::Info);
        assert_eq!(c.failure_threshold, Some(Threshold::Warning));
        assert_eq!(c.label_schema["maintainer"], LabelType::Text);
        assert_eq!(c.format.as_deref(), Some("json"));
        assert_eq!(c.strict_labels, Some(true));
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(
            LintConfig::from_yaml("", "x.yaml").unwrap(),
            LintConfig::default()
        );
    }

    #[test]
    fn unknown_and_unimplemented_keys_and_bad_values_are_errors_naming_them() {
        let err = |t| {
            LintConfig::from_yaml(t, "cfg.yaml")
                .unwrap_err()
                .to_string()
        };
        let e = err("ignore: [DL3008]\n");
        assert!(e.starts_with("cfg.yaml: unknown key `ignore`"), "{e}");
        let e = err("verbose: true\n");
        assert!(e.contains("cfg.yaml: key `verbose` is hadolint's"), "{e}");
        let e = err("failure-threshold: loud\n");
        assert!(
            e.starts_with("cfg.yaml: key `failure-threshold`: unknown variant `loud`"),
            "{e}"
        );
        let e = err("override:\n  fatal: [DL3008]\n");
        assert!(
            e.starts_with("cfg.yaml: key `override`") && e.contains("fatal"),
            "{e}"
        );
        let e = err("label-schema:\n  a: date\n");
        assert!(
            e.starts_with("cfg.yaml: key `label-schema`") && e.contains("date"),
            "{e}"
        );
        let e = err("ignored: DL3008\n");
        assert!(e.starts_with("cfg.yaml: key `ignored`"), "{e}");
        let e = err("format: checkstyle\n");
        assert!(e.contains("key `format`: `checkstyle`"), "{e}");
    }
}
