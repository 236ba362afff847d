//! The server's configuration: a TOML or YAML file (by extension), every field optional,
//! unknown fields refused. Two backend pairs exist: the embedded default (`filesystem`
//! storage, `sqlite` metadata, in the data directory) and the shared one (`s3` storage,
//! `postgres` metadata, nothing stored locally). [`crate::Server::bind`] refuses a mix.
//! `[log]` says where the access log goes; `[[notifications.endpoints]]`
//! ([`crate::events::config`]) are the webhooks, checked when the server starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::auth::AuthConfig;
use crate::events::NotificationsConfig;
use crate::services::{GcPolicy, ImmutableRuleConfig, Limits};
use crate::storage::S3Settings;

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
    #[error("config file {path}: [govern] retention-schedule: {reason}")]
    RetentionSchedule { path: PathBuf, reason: String },
}

/// Where blobs live.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StorageConfig {
    /// `<data>/blobs`, `<data>/uploads` (the embedded default).
    #[default]
    Filesystem,
    /// S3-compatible object storage (with `postgres` metadata: several replicas share it).
    S3 {
        bucket: String,
        /// The endpoint URL (default: AWS for the region).
        #[serde(default)]
        endpoint: Option<String>,
        /// The region (default `us-east-1`).
        #[serde(default)]
        region: Option<String>,
        /// A key prefix inside the bucket.
        #[serde(default)]
        prefix: Option<String>,
        /// Credentials; both or neither (then `AWS_ACCESS_KEY_ID` and
        /// `AWS_SECRET_ACCESS_KEY` from the environment).
        #[serde(default)]
        access_key_id: Option<String>,
        #[serde(default)]
        secret_access_key: Option<String>,
        /// Allow a plain `http://` endpoint (default false).
        #[serde(default)]
        allow_http: bool,
    },
}

/// Where metadata lives.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum MetadataConfig {
    /// `<data>/registry.db` (the embedded default).
    #[default]
    Sqlite,
    /// A PostgreSQL database (with `s3` storage: several replicas share it).
    Postgres {
        /// `postgres://user:password@host:port/db` or `host=… user=… dbname=…`.
        url: String,
    },
}

impl StorageConfig {
    /// The kind's name, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            StorageConfig::Filesystem => "filesystem",
            StorageConfig::S3 { .. } => "s3",
        }
    }

    /// The S3 settings, `None` for filesystem storage.
    pub fn s3_settings(&self) -> Option<S3Settings> {
        let StorageConfig::S3 {
            bucket,
            endpoint,
            region,
            prefix,
            access_key_id,
            secret_access_key,
            allow_http,
        } = self
        else {
            return None;
        };
        Some(S3Settings {
            bucket: bucket.clone(),
            endpoint: endpoint.clone(),
            region: region.clone(),
            prefix: prefix.clone(),
            access_key_id: access_key_id.clone(),
            secret_access_key: secret_access_key.clone(),
            allow_http: *allow_http,
        })
    }
}

impl MetadataConfig {
    /// The kind's name, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            MetadataConfig::Sqlite => "sqlite",
            MetadataConfig::Postgres { .. } => "postgres",
        }
    }
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

/// HTTPS, as written in the file: PEM files read at start.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (leaf first).
    pub certificate: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates a client certificate must chain to; when set, every client must
    /// present one (mutual TLS).
    #[serde(default)]
    pub client_cas: Vec<PathBuf>,
}

/// Where the access log goes: `"stderr"` (the default: a `tracing` event with target
/// `strata_registry::access`, text or JSON lines by `--log-format`) or an absolute file
/// path (JSON lines appended, whatever `--log-format` says).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub enum AccessLogTarget {
    #[default]
    Stderr,
    File(PathBuf),
}

impl TryFrom<String> for AccessLogTarget {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "stderr" => Ok(AccessLogTarget::Stderr),
            path if Path::new(path).is_absolute() => Ok(AccessLogTarget::File(path.into())),
            other => Err(format!(
                "access log {other:?}: must be \"stderr\" or an absolute file path"
            )),
        }
    }
}

/// `[log]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Where the access log goes (default `stderr`).
    #[serde(default)]
    pub access: AccessLogTarget,
}

/// `[govern]`: governance files, relative paths taken from the config file's directory.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GovernConfig {
    /// The gate policy checked at push and promote (TOML, or YAML by extension).
    #[serde(default)]
    pub gates: Option<PathBuf>,
    /// The retention policy (TOML, or YAML by extension).
    #[serde(default)]
    pub retention: Option<PathBuf>,
    /// How often `serve` applies the retention policy (`30m`, `24h`, `7d`); absent: only on
    /// demand.
    #[serde(default)]
    pub retention_schedule: Option<String>,
}

impl GovernConfig {
    /// The retention schedule as a duration, `None` when absent.
    pub fn retention_every(&self) -> Result<Option<Duration>, String> {
        self.retention_schedule
            .as_deref()
            .map(parse_duration)
            .transpose()
    }

    /// Relative paths made relative to `dir`.
    fn resolve(&mut self, dir: &Path) {
        for path in [&mut self.gates, &mut self.retention].into_iter().flatten() {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
    }
}

/// A duration written as a whole number and a unit: `90s`, `30m`, `24h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("duration {text:?}: a whole number then s, m, h or d (`24h`)");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    match n.checked_mul(secs) {
        Some(s) if s > 0 => Ok(Duration::from_secs(s)),
        _ => Err(bad()),
    }
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
    /// The data directory (the embedded default only).
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
    /// Serve HTTPS (`[tls]`); plain HTTP without it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Authentication and authorization; none: an open registry.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Webhooks (`[[notifications.endpoints]]`).
    #[serde(default)]
    pub notifications: NotificationsConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// Gates, retention (`[govern]`).
    #[serde(default)]
    pub govern: GovernConfig,
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
        let mut config = Config::parse_text(path, text)?;
        if let Err(reason) = config.govern.retention_every() {
            return Err(ConfigError::RetentionSchedule {
                path: path.to_owned(),
                reason,
            });
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        config.govern.resolve(dir);
        Ok(config)
    }

    fn parse_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
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

    /// Whether it names the shared stores (s3 storage, postgres metadata): then nothing is
    /// stored in a data directory.
    pub fn is_shared(&self) -> bool {
        matches!(
            (&self.storage, &self.metadata),
            (StorageConfig::S3 { .. }, MetadataConfig::Postgres { .. })
        )
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
    use std::error::Error as _;

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
    fn govern_section_paths_are_relative_to_the_config_file() {
        let toml = "[govern]\ngates = \"gates.toml\"\nretention = \"/etc/r.yaml\"\nretention-schedule = \"24h\"\n";
        let c = Config::parse(Path::new("/srv/registry/config.toml"), toml).unwrap();
        assert_eq!(
            c.govern.gates,
            Some(PathBuf::from("/srv/registry/gates.toml"))
        );
        assert_eq!(c.govern.retention, Some(PathBuf::from("/etc/r.yaml")));
        assert_eq!(
            c.govern.retention_every().unwrap(),
            Some(Duration::from_secs(86400))
        );
        let yaml = "govern:\n  gates: g.yaml\n";
        let c = Config::parse(Path::new("conf/c.yaml"), yaml).unwrap();
        assert_eq!(c.govern.gates, Some(PathBuf::from("conf/g.yaml")));
        for bad in [
            "[govern]\nretention-schedule = \"soon\"\n",
            "[govern]\nretention-schedule = \"0h\"\n",
            "[govern]\ngate = \"x\"\n",
        ] {
            assert!(Config::parse(Path::new("c.toml"), bad).is_err(), "{bad}");
        }
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
    fn tls_reads_from_toml_and_yaml() {
        let toml =
            "[tls]\ncertificate = \"/c.pem\"\nkey = \"/k.pem\"\nclient_cas = [\"/ca.pem\"]\n";
        let yaml = "tls:\n  certificate: /c.pem\n  key: /k.pem\n  client_cas: [/ca.pem]\n";
        let a = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert_eq!(a, Config::parse(Path::new("r.yaml"), yaml).unwrap());
        let tls = a.tls.unwrap();
        assert_eq!(tls.key, Path::new("/k.pem"));
        assert_eq!(tls.client_cas, vec![PathBuf::from("/ca.pem")]);
        let no_key = "[tls]\ncertificate = \"/c.pem\"\n";
        assert!(Config::parse(Path::new("r.toml"), no_key).is_err());
    }

    #[test]
    fn auth_reads_from_toml_and_yaml_and_refuses_unknown_fields() {
        let toml = r#"
[auth]
htpasswd = "/etc/strata/htpasswd"
service = "registry.example"
realm = "https://registry.example/token"
token_key_file = "/etc/strata/token.key"
token_expiry_secs = 600
basic = false

[[auth.access]]
account = "alice"
repository = "team/**"
actions = ["pull", "push"]

[[auth.access]]
account = "admin"
catalog = true
"#;
        let yaml = r#"
auth:
  htpasswd: /etc/strata/htpasswd
  service: registry.example
  realm: https://registry.example/token
  token_key_file: /etc/strata/token.key
  token_expiry_secs: 600
  basic: false
  access:
    - account: alice
      repository: team/**
      actions: [pull, push]
    - account: admin
      catalog: true
"#;
        let a = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert_eq!(a, Config::parse(Path::new("r.yaml"), yaml).unwrap());
        let auth = a.auth.unwrap();
        assert_eq!(auth.access.len(), 2);
        assert_eq!(auth.basic, Some(false));
        assert!(auth.access[1].catalog);
        assert!(Config::parse(Path::new("r.toml"), "")
            .unwrap()
            .auth
            .is_none());
        let bad = "[auth]
htpasswd = \"h\"
realms = \"x\"
";
        assert!(matches!(
            Config::parse(Path::new("r.toml"), bad),
            Err(ConfigError::Toml { .. })
        ));
    }

    #[test]
    fn notifications_and_log_read_from_toml_and_yaml() {
        let toml = r#"
[log]
access = "/var/log/strata/access.log"

[[notifications.endpoints]]
name = "ci"
url = "https://hooks.example/registry"
secret = "s3cr3t"
headers = { Authorization = "Bearer abc" }
timeout_ms = 2000
backoff_initial_ms = 500
backoff_max_ms = 30000
max_attempts = 8
max_age_secs = 600
queue_size = 100
ignore = { actions = ["pull"], media_types = ["application/octet-stream"] }
"#;
        let yaml = r#"
log:
  access: /var/log/strata/access.log
notifications:
  endpoints:
    - name: ci
      url: https://hooks.example/registry
      secret: s3cr3t
      headers:
        Authorization: Bearer abc
      timeout_ms: 2000
      backoff_initial_ms: 500
      backoff_max_ms: 30000
      max_attempts: 8
      max_age_secs: 600
      queue_size: 100
      ignore:
        actions: [pull]
        media_types: [application/octet-stream]
"#;
        let a = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert_eq!(a, Config::parse(Path::new("r.yaml"), yaml).unwrap());
        assert_eq!(
            a.log.access,
            AccessLogTarget::File("/var/log/strata/access.log".into())
        );
        let endpoint = &a.notifications.endpoints[0];
        assert_eq!(endpoint.secret.as_ref().unwrap().expose(), "s3cr3t");
        assert_eq!(endpoint.ignore.actions, [crate::events::Action::Pull]);
        let settings = a.notifications.settings().unwrap();
        assert_eq!(settings[0].backoff_initial, Duration::from_millis(500));
        assert_eq!(settings[0].max_attempts, Some(8));
    }

    #[test]
    fn bad_log_and_notification_entries_are_refused() {
        let err = Config::parse(Path::new("r.toml"), "[log]\naccess = \"logs/a.log\"\n");
        let err = format!("{:#}", err.unwrap_err().source().unwrap());
        assert!(err.contains("absolute"), "{err}");
        let bad_action = "[[notifications.endpoints]]\nname = \"a\"\nurl = \"http://x/\"\nignore = { actions = [\"fetch\"] }\n";
        assert!(Config::parse(Path::new("r.toml"), bad_action).is_err());
        let no_url = "[[notifications.endpoints]]\nname = \"a\"\n";
        assert!(Config::parse(Path::new("r.toml"), no_url).is_err());
        assert_eq!(Config::default().log.access, AccessLogTarget::Stderr);
    }

    #[test]
    fn scale_out_kinds_parse() {
        let toml = "[storage]\nkind = \"s3\"\nbucket = \"b\"\n[metadata]\nkind = \"postgres\"\nurl = \"postgres://x\"\n";
        let c = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert!(matches!(c.storage, StorageConfig::S3 { ref bucket, .. } if bucket == "b"));
        assert!(matches!(c.metadata, MetadataConfig::Postgres { .. }));
    }

    #[test]
    fn s3_settings_read_alike_from_toml_and_yaml() {
        let toml = "[storage]\nkind = \"s3\"\nbucket = \"b\"\nendpoint = \"http://h:3900\"\nregion = \"garage\"\nprefix = \"p\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\nallow_http = true\n[metadata]\nkind = \"postgres\"\nurl = \"postgres://x\"\n";
        let yaml = "storage:\n  kind: s3\n  bucket: b\n  endpoint: http://h:3900\n  region: garage\n  prefix: p\n  access_key_id: k\n  secret_access_key: s\n  allow_http: true\nmetadata:\n  kind: postgres\n  url: postgres://x\n";
        let a = Config::parse(Path::new("r.toml"), toml).unwrap();
        assert_eq!(a, Config::parse(Path::new("r.yaml"), yaml).unwrap());
        assert!(a.is_shared());
        let s3 = a.storage.s3_settings().unwrap();
        assert_eq!(s3.endpoint.as_deref(), Some("http://h:3900"));
        assert!(s3.allow_http);
        let plain = Config::parse(
            Path::new("r.toml"),
            "[storage]\nkind = \"s3\"\nbucket = \"b\"\n",
        )
        .unwrap();
        assert!(
            !plain.storage.s3_settings().unwrap().allow_http,
            "https by default"
        );
        assert!(!plain.is_shared(), "s3 alone is not the shared pair");
        let typo = "[storage]\nkind = \"s3\"\nbucket = \"b\"\nallow_https = true\n";
        assert!(Config::parse(Path::new("r.toml"), typo).is_err());
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
