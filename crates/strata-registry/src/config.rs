//! The server's configuration: a TOML or YAML file (by extension), every field optional,
//! unknown fields refused. Storage and metadata kinds other than the embedded default
//! (`filesystem`, `sqlite`) parse, so a file written for a later version is understood, but
//! [`crate::Server::bind`] refuses them: nothing is accepted and ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::services::{GcPolicy, ImmutableRuleConfig, Limits};

/// The address `strata registry serve` listens on by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:5000";

/// Why a configuration file cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("config file {path} is not valid YAML")]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_norway::Error,
    },
    #[error("config file {path}: the extension must be .toml, .yaml or .yml")]
    Extension { path: PathBuf },
}

/// Where blobs live.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StorageConfig {
    /// `<data>/blobs`, `<data>/uploads` (the embedded default).
    #[default]
    Filesystem,
    /// S3-compatible object storage (not supported yet).
    S3 {
        bucket: String,
        #[serde(default)]
        endpoint: Option<String>,
        #[serde(default)]
        region: Option<String>,
        #[serde(default)]
        prefix: Option<String>,
    },
}

/// Where metadata lives.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum MetadataConfig {
    /// `<data>/registry.db` (the embedded default).
    #[default]
    Sqlite,
    /// A PostgreSQL database (not supported yet).
    Postgres { url: String },
}

/// Limits, as written in the file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// The largest manifest accepted (default 4 MiB).
    #[serde(default)]
    pub manifest_max_bytes: Option<u64>,
    /// Seconds an upload may sit unused before it is removed (default 3600).
    #[serde(default)]
    pub upload_expiry_secs: Option<u64>,
}

/// Garbage collection, as written in the file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GcConfig {
    /// Also remove untagged manifests no index lists (default false).
    #[serde(default)]
    pub untagged: Option<bool>,
    /// Seconds a blob or manifest is kept after it was put in place (default 3600).
    #[serde(default)]
    pub grace_secs: Option<u64>,
    /// Seconds a repository→blob link no manifest uses is kept after the push (default:
    /// `grace_secs`).
    #[serde(default)]
    pub link_grace_secs: Option<u64>,
    /// Seconds between runs in `serve`, 0 for none (default 3600).
    #[serde(default)]
    pub interval_secs: Option<u64>,
}

/// The default seconds between garbage collection runs in `serve`.
pub const DEFAULT_GC_INTERVAL_SECS: u64 = 3600;

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address to listen on (default 127.0.0.1:5000).
    #[serde(default)]
    pub addr: Option<SocketAddr>,
    /// The data directory.
    #[serde(default)]
    pub data: Option<PathBuf>,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub metadata: MetadataConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Tag immutability rules (`[[immutable_tags]]` with `repository` and `tag` globs).
    #[serde(default)]
    pub immutable_tags: Vec<ImmutableRuleConfig>,
    #[serde(default)]
    pub gc: GcConfig,
}

impl Config {
    /// Reads a config file, TOML or YAML by its extension.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parses `text` as the file at `path` (its extension tells the format).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let path_buf = || path.to_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => toml::from_str(text).map_err(|source| ConfigError::Toml {
                path: path_buf(),
                source,
            }),
            Some("yaml" | "yml") => {
                serde_norway::from_str(text).map_err(|source| ConfigError::Yaml {
                    path: path_buf(),
                    source,
                })
            }
            _ => Err(ConfigError::Extension { path: path_buf() }),
        }
    }

    /// The address, defaulted.
    pub fn addr(&self) -> SocketAddr {
        self.addr
            .unwrap_or_else(|| DEFAULT_ADDR.parse().expect("the default address parses"))
    }

    /// The limits, defaulted.
    pub fn limits(&self) -> Limits {
        let default = Limits::default();
        Limits {
            manifest_max: self
                .limits
                .manifest_max_bytes
                .unwrap_or(default.manifest_max),
            upload_expiry: self
                .limits
                .upload_expiry_secs
                .map_or(default.upload_expiry, Duration::from_secs),
        }
    }
}

impl Config {
    /// The garbage collection policy, defaulted.
    pub fn gc_policy(&self) -> GcPolicy {
        let default = GcPolicy::default();
        GcPolicy {
            untagged: self.gc.untagged.unwrap_or(default.untagged),
            grace: self
                .gc
                .grace_secs
                .map_or(default.grace, Duration::from_secs),
            link_grace: self.gc.link_grace_secs.map(Duration::from_secs),
            protected: None,
        }
    }

    /// The time between garbage collection runs in `serve`, `None` when off.
    pub fn gc_interval(&self) -> Option<Duration> {
        match self.gc.interval_secs.unwrap_or(DEFAULT_GC_INTERVAL_SECS) {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_yaml_read_the_same_config() {
        let toml = "addr = \"127.0.0.1:5001\"\ndata = \"/srv/reg\"\n[limits]\nmanifest_max_bytes = 1024\nupload_expiry_secs = 60\n";
        let yaml = "addr: 127.0.0.1:5001\ndata: /srv/reg\nlimits:\n  manifest_max_bytes: 1024\n  upload_expiry_secs: 60\n";
        let a = Config::parse(Path::new("r.toml"), toml).unwrap();
        let b = Config::parse(Path::new("r.yaml"), yaml).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.addr().port(), 5001);
        assert_eq!(a.limits().manifest_max, 1024);
        assert_eq!(a.limits().upload_expiry, Duration::from_secs(60));
    }

    #[test]
    fn empty_config_is_the_embedded_default() {
        let c = Config::parse(Path::new("r.toml"), "").unwrap();
        assert_eq!(c.storage, StorageConfig::Filesystem);
        assert_eq!(c.metadata, MetadataConfig::Sqlite);
        assert_eq!(c.addr().to_string(), DEFAULT_ADDR);
        assert_eq!(c.limits(), Limits::default());
        assert!(!c.gc_policy().untagged);
        assert_eq!(c.gc_policy().grace, Duration::from_secs(3600));
        assert_eq!(c.gc_interval(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn gc_settings_read_and_zero_interval_is_off() {
        let toml = "[gc]\nuntagged = true\ngrace_secs = 0\ninterval_secs = 0\n";
        let c = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert!(c.gc_policy().untagged);
        assert_eq!(c.gc_policy().grace, Duration::ZERO);
        assert_eq!(c.gc_policy().link_grace, None);
        assert_eq!(c.gc_interval(), None);
        let c = Config::parse(
            Path::new("r.toml"),
            "[gc]
link_grace_secs = 86400
",
        )
        .unwrap();
        assert_eq!(c.gc_policy().link_grace, Some(Duration::from_secs(86400)));
        let yaml = "gc:\n  interval_secs: 60\n";
        let c = Config::parse(Path::new("r.yaml"), yaml).unwrap();
        assert_eq!(c.gc_interval(), Some(Duration::from_secs(60)));
    }

    #[test]
    fn immutable_tag_rules_read_from_toml_and_yaml() {
        let toml = "[[immutable_tags]]\nrepository = \"team/**\"\ntag = \"v*\"\n";
        let yaml = "immutable_tags:\n  - repository: team/**\n    tag: v*\n";
        let a = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert_eq!(a, Config::parse(Path::new("r.yml"), yaml).unwrap());
        assert_eq!(a.immutable_tags[0].repository, "team/**");
        let bad = "[[immutable_tags]]\nrepository = \"a\"\ntag = \"v*\"\nforever = true\n";
        assert!(
            Config::parse(Path::new("r.toml"), bad).is_err(),
            "unknown field"
        );
    }

    #[test]
    fn scale_out_kinds_parse() {
        let toml = "[storage]\nkind = \"s3\"\nbucket = \"b\"\n[metadata]\nkind = \"postgres\"\nurl = \"postgres://x\"\n";
        let c = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert!(matches!(c.storage, StorageConfig::S3 { ref bucket, .. } if bucket == "b"));
        assert!(matches!(c.metadata, MetadataConfig::Postgres { .. }));
    }

    #[test]
    fn unknown_fields_and_extensions_are_refused() {
        let err = Config::parse(Path::new("r.toml"), "adress = \"x\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::Toml { .. }), "{err:?}");
        let err = Config::parse(Path::new("r.yaml"), "limits:\n  gc: true\n").unwrap_err();
        assert!(matches!(err, ConfigError::Yaml { .. }), "{err:?}");
        let err = Config::parse(Path::new("r.toml"), "[gc]\ngrace = 5\n").unwrap_err();
        assert!(matches!(err, ConfigError::Toml { .. }), "{err:?}");
        let err = Config::parse(Path::new("r.json"), "{}").unwrap_err();
        assert!(matches!(err, ConfigError::Extension { .. }), "{err:?}");
        let err = Config::parse(Path::new("r.toml"), "[storage]\nkind = \"gcs\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::Toml { .. }), "{err:?}");
    }
}
