//! The image config: Docker's superset of the OCI image config.
//!
//! Docker and BuildKit write fields the OCI spec does not define (`Healthcheck`, `OnBuild`,
//! `Shell`, `ArgsEscaped`); they matter to anyone who runs or builds on the image, so the model
//! keeps them. Maps are `BTreeMap` so that serialisation is deterministic (sorted keys, as Go
//! writes them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The empty JSON object docker uses as the value of `ExposedPorts` and `Volumes` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// An image config blob (`application/vnd.oci.image.config.v1+json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    #[serde(default, skip_serializing_if = "RuntimeConfig::is_empty")]
    pub config: RuntimeConfig,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// The execution parameters a runtime uses when it starts a container from the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_map"
    )]
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub env: Vec<String>,
    /// `ENTRYPOINT []` clears it; like docker's `omitempty`, an empty list is not written.
    #[serde(default, skip_serializing_if = "none_or_empty")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "none_or_empty")]
    pub cmd: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_map"
    )]
    pub volumes: BTreeMap<String, Empty>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_map"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub args_escaped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub on_build: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub shell: Vec<String>,
}

impl RuntimeConfig {
    pub fn is_empty(&self) -> bool {
        self == &RuntimeConfig::default()
    }

    /// The value of an environment variable, as the last `KEY=` entry sets it.
    pub fn env_get(&self, key: &str) -> Option<&str> {
        self.env.iter().rev().find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then_some(v)
        })
    }

    /// Sets `key=value`, replacing an earlier entry in place (docker keeps the position).
    pub fn env_set(&mut self, key: &str, value: &str) {
        let entry = format!("{key}={value}");
        match self
            .env
            .iter_mut()
            .find(|kv| kv.split_once('=').map_or(kv.as_str(), |p| p.0) == key)
        {
            Some(slot) => *slot = entry,
            None => self.env.push(entry),
        }
    }
}

/// `Healthcheck` as docker stores it; durations are nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_interval: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u64,
}

/// The layers of the image as their uncompressed digests, base first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_vec")]
    pub diff_ids: Vec<crate::Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// One history entry: one per Dockerfile instruction, `empty_layer` where it made no layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl ImageConfig {
    /// A config for an empty `linux` image of the given architecture (`FROM scratch`).
    pub fn scratch(architecture: &str) -> ImageConfig {
        ImageConfig {
            architecture: architecture.to_owned(),
            os: "linux".to_owned(),
            ..ImageConfig::default()
        }
    }
}

/// The GOARCH name of the machine strata runs on, the default platform of a build.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

fn none_or_empty(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn null_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn null_map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    Ok(Option::<BTreeMap<String, V>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_docker_config_with_nulls_and_extra_fields() {
        let json = r#"{"architecture":"amd64","os":"linux","docker_version":"20.10",
            "config":{"Env":["PATH=/bin","A=1"],"Cmd":null,"Labels":null,"Hostname":"x",
            "ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Test":["CMD","true"],"Interval":1000}},
            "rootfs":{"type":"layers","diff_ids":null},"history":[{"created_by":"x","empty_layer":true}]}"#;
        let c: ImageConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.config.env_get("A"), Some("1"));
        assert!(c.config.exposed_ports.contains_key("80/tcp"));
        assert_eq!(c.config.healthcheck.as_ref().unwrap().interval, 1000);
        assert!(c.rootfs.diff_ids.is_empty());
        assert!(c.history[0].empty_layer);
    }

    #[test]
    fn env_set_replaces_in_place() {
        let mut rc = RuntimeConfig {
            env: vec!["A=1".into(), "B=2".into()],
            ..Default::default()
        };
        rc.env_set("A", "3");
        rc.env_set("C", "4");
        assert_eq!(rc.env, ["A=3", "B=2", "C=4"]);
    }

    #[test]
    fn serialises_deterministically_without_empty_fields() {
        let mut c = ImageConfig::scratch("amd64");
        c.config.labels.insert("b".into(), "2".into());
        c.config.labels.insert("a".into(), "1".into());
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(
            text,
            r#"{"architecture":"amd64","os":"linux","config":{"Labels":{"a":"1","b":"2"}},"rootfs":{"type":"layers","diff_ids":[]}}"#
        );
    }
}
