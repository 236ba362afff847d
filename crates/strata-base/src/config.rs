//! The `strata base build` file: TOML (`.toml`) or YAML (`.yaml`/`.yml`), every key
//! documented in `docs/BASE.md`, unknown keys refused (`deny_unknown_fields`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::image::users::{Group, User};

/// The default archive keyring (Debian's `debian-archive-keyring` package).
pub const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// The default mirror.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid TOML")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: invalid YAML")]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_norway::Error,
    },
    #[error("{path}: unknown file type (expected .toml, .yaml or .yml)")]
    Extension { path: PathBuf },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// A base image definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BaseConfig {
    pub source: SourceConfig,
    /// Debian architecture (`amd64`, `arm64`, …); default: this machine's.
    pub arch: Option<String>,
    /// Packages to install (`name` or `name=version`), with their dependencies.
    #[serde(default)]
    pub packages: Vec<String>,
    /// `minbase` (debootstrap's: every `Priority: required` package and apt) or `none`.
    #[serde(default)]
    pub variant: Variant,
    /// Run the maintainer scripts (`preinst`, then `dpkg --configure -a`) in a container.
    #[serde(default)]
    pub run_scripts: bool,
    /// `bin`, `sbin`, `lib*` as links into `/usr` (Debian 12's layout). Default true.
    #[serde(default = "yes")]
    pub merged_usr: bool,
    /// Package groups, one layer each, in order; packages not in a group go to a last layer.
    #[serde(default)]
    pub layers: Vec<LayerGroup>,
    #[serde(default)]
    pub users: Vec<User>,
    /// Unix groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// `KEY = "value"` environment of the image (PATH defaults to Debian's).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub workdir: Option<String>,
    /// `USER` of the image (a name or `uid[:gid]`).
    pub user: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// Config labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Manifest annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Tags given to the image (added to `-t`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// dpkg `path-exclude` patterns (`/usr/share/doc/*`): packaged files not written.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// dpkg `path-include` patterns: excluded files written anyway.
    #[serde(default)]
    pub include: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Where packages come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceConfig {
    /// Only `debian` for now.
    #[serde(default = "debian")]
    pub distribution: String,
    /// Suites, first the release (`bookworm`), then `bookworm-updates`, `bookworm-security`.
    pub suites: Vec<String>,
    /// Archive mirror (`http://deb.debian.org/debian`); `-security` suites use it with
    /// `-security` appended unless `security-mirror` is set.
    #[serde(default = "default_mirror")]
    pub mirror: String,
    pub security_mirror: Option<String>,
    #[serde(default = "main")]
    pub components: Vec<String>,
    /// OpenPGP keyring the Release files must be signed with.
    pub keyring: Option<PathBuf>,
    /// A snapshot.debian.org timestamp (`20240601T000000Z`): the mirrors become
    /// `http://snapshot.debian.org/archive/debian[-security]/<timestamp>`.
    pub snapshot: Option<String>,
}

fn debian() -> String {
    "debian".into()
}
fn default_mirror() -> String {
    DEFAULT_MIRROR.into()
}
fn main() -> Vec<String> {
    vec!["main".into()]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Minbase,
    #[default]
    None,
}

/// `[[layers]]`: a named group of packages written as one layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LayerGroup {
    pub name: String,
    /// Packages of the group; their dependencies not in an earlier group join it.
    /// `"@minbase"` stands for the variant's packages.
    pub packages: Vec<String>,
}

/// One suite on one mirror, as the repository side fetches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteSource {
    pub mirror: String,
    pub suite: String,
    pub components: Vec<String>,
}

impl BaseConfig {
    /// Reads and checks `path` (TOML or YAML by extension).
    pub fn load(path: &Path) -> Result<BaseConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let config: BaseConfig = match ext {
            "toml" => toml::from_str(&text).map_err(|source| ConfigError::Toml {
                path: path.to_path_buf(),
                source,
            })?,
            "yaml" | "yml" => {
                serde_norway::from_str(&text).map_err(|source| ConfigError::Yaml {
                    path: path.to_path_buf(),
                    source,
                })?
            }
            _ => {
                return Err(ConfigError::Extension {
                    path: path.to_path_buf(),
                })
            }
        };
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        if self.source.distribution != "debian" {
            return Err(invalid(format!(
                "distribution {:?} is not supported (only \"debian\")",
                self.source.distribution
            )));
        }
        if self.source.suites.is_empty() {
            return Err(invalid("source.suites is empty".into()));
        }
        if self.packages.is_empty() && self.variant == Variant::None {
            return Err(invalid(
                "no packages and variant \"none\": nothing to install".into(),
            ));
        }
        for mirror in [
            Some(&self.source.mirror),
            self.source.security_mirror.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if !mirror.starts_with("http://") && !mirror.starts_with("https://") {
                return Err(invalid(format!("mirror {mirror:?} is not an http(s) URL")));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for g in &self.layers {
            if !seen.insert(&g.name) {
                return Err(invalid(format!("layer group {:?} appears twice", g.name)));
            }
        }
        Ok(())
    }

    /// The Debian architecture to build for.
    pub fn arch(&self) -> String {
        self.arch
            .clone()
            .unwrap_or_else(|| host_debian_arch().to_owned())
    }

    /// The (mirror, suite) pairs to fetch, `mirror` overriding the file's (a local
    /// apt-cacher-ng, say); the security suites keep theirs unless it is derived.
    pub fn suite_sources(&self, mirror: Option<&str>) -> Vec<SuiteSource> {
        let (main, security) = self.mirrors(mirror);
        self.source
            .suites
            .iter()
            .map(|suite| SuiteSource {
                mirror: if suite.ends_with("-security") {
                    security.clone()
                } else {
                    main.clone()
                },
                suite: suite.clone(),
                components: self.source.components.clone(),
            })
            .collect()
    }

    /// (main, security) mirrors: the snapshot's, else the override's, else the file's.
    pub fn mirrors(&self, mirror: Option<&str>) -> (String, String) {
        if let Some(ts) = &self.source.snapshot {
            let base = "http://snapshot.debian.org/archive";
            return (
                format!("{base}/debian/{ts}"),
                format!("{base}/debian-security/{ts}"),
            );
        }
        let main = mirror
            .unwrap_or(&self.source.mirror)
            .trim_end_matches('/')
            .to_owned();
        let security = match (&self.source.security_mirror, mirror) {
            (Some(s), None) => s.clone(),
            _ => crate::image::skeleton::security_mirror(&main),
        };
        (main, security)
    }

    /// The keyring Release signatures are checked with.
    pub fn keyring(&self) -> PathBuf {
        self.source
            .keyring
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYRING))
    }
}

/// This machine's Debian architecture name.
pub fn host_debian_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// The OCI architecture of a Debian one.
pub fn oci_arch(debian: &str) -> &str {
    match debian {
        "armhf" | "armel" => "arm",
        "i386" => "386",
        "ppc64el" => "ppc64le",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn toml_and_yaml_read_the_same() {
        let (_d1, t) = write(
            "a.toml",
            "variant = \"minbase\"\nrun-scripts = true\npackages = [\"curl\"]\n\
             [source]\nsuites = [\"bookworm\", \"bookworm-security\"]\n\
             [[users]]\nname = \"nonroot\"\nuid = 65532\n",
        );
        let (_d2, y) = write(
            "a.yaml",
            "variant: minbase\nrun-scripts: true\npackages: [curl]\n\
             source:\n  suites: [bookworm, bookworm-security]\n\
             users:\n  - name: nonroot\n    uid: 65532\n",
        );
        let a = BaseConfig::load(&t).unwrap();
        let b = BaseConfig::load(&y).unwrap();
        assert_eq!(a.packages, b.packages);
        assert_eq!(a.users, b.users);
        assert_eq!(a.variant, Variant::Minbase);
        let s = a.suite_sources(None);
        assert_eq!(s[1].mirror, "http://deb.debian.org/debian-security");
        let s = a.suite_sources(Some("http://127.0.0.1:3142/deb.debian.org/debian"));
        assert_eq!(s[0].mirror, "http://127.0.0.1:3142/deb.debian.org/debian");
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_named() {
        let (_d, p) = write(
            "b.toml",
            "pakages = []\n[source]\nsuites = [\"bookworm\"]\n",
        );
        let err = BaseConfig::load(&p).unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            chain.contains("b.toml") && chain.contains("pakages"),
            "{chain}"
        );
    }
}
