//! strata's build-cache artifact: one OCI image manifest whose `artifactType` is
//! [`ARTIFACT_TYPE`], whose config blob ([`CONFIG_MEDIA_TYPE`]) holds the records and the
//! cache mounts, and whose layers are every blob they name (layer blobs, as they are).
//!
//! ```json
//! {"version":1,
//!  "records":[{"key":"sha256:…","value":{…the builder's record…},"blobs":["sha256:…"]}],
//!  "mounts":[{"id":"/root/.cache","layer":"sha256:…"}]}
//! ```
//!
//! The encoding is deterministic (records and mounts in the order given, blobs once, in
//! order of first use), so the same cache gives the same manifest digest. Reading checks
//! what a reference holds: a BuildKit cache, an image or an index is said to be one.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use strata_distribution::media::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use strata_oci::{to_canonical_json, Descriptor, Digest};

use super::{ArtifactMount, ArtifactRecord, CacheArtifact, CacheError};

/// The manifest's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.strata.build-cache.v1";
/// The config blob's media type.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.strata.build-cache.config.v1+json";
/// BuildKit's cache config (`--cache-to type=registry` of buildx), which strata cannot read.
pub const BUILDKIT_CACHE_CONFIG: &str = "application/vnd.buildkit.cacheconfig.v0";
/// The format version written and read.
pub const VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
struct Config {
    version: u64,
    #[serde(default)]
    records: Vec<ConfigRecord>,
    #[serde(default)]
    mounts: Vec<ConfigMount>,
}

#[derive(Serialize, Deserialize)]
struct ConfigRecord {
    key: Digest,
    value: serde_json::Value,
    #[serde(default)]
    blobs: Vec<Digest>,
}

#[derive(Serialize, Deserialize)]
struct ConfigMount {
    id: String,
    layer: Digest,
}

/// The manifest as written: an OCI image manifest with `artifactType`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// An artifact's blobs: the config's bytes and descriptor, and the manifest's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub config: Vec<u8>,
    pub config_descriptor: Descriptor,
    pub layers: Vec<Descriptor>,
    pub manifest: Vec<u8>,
}

/// Encodes `artifact`. A record value that is not JSON is an error naming its key.
pub fn encode(artifact: &CacheArtifact) -> Result<Encoded, CacheError> {
    let mut layers = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |d: &Descriptor| {
        if seen.insert(d.digest.clone()) {
            layers.push(d.clone());
        }
    };
    let mut records = Vec::with_capacity(artifact.records.len());
    for r in &artifact.records {
        r.blobs.iter().for_each(&mut add);
        let value = serde_json::from_slice(&r.value).map_err(|source| CacheError::RecordValue {
            key: r.key.clone(),
            source,
        })?;
        records.push(ConfigRecord {
            key: r.key.clone(),
            value,
            blobs: r.blobs.iter().map(|d| d.digest.clone()).collect(),
        });
    }
    let mounts = artifact.mounts.iter().map(|m| {
        add(&m.layer);
        ConfigMount {
            id: m.id.clone(),
            layer: m.layer.digest.clone(),
        }
    });
    let mounts = mounts.collect();
    let config = to_canonical_json(&Config {
        version: VERSION,
        records,
        mounts,
    });
    let config_descriptor =
        Descriptor::new(CONFIG_MEDIA_TYPE, Digest::of(&config), config.len() as u64);
    let manifest = to_canonical_json(&Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_owned()),
        artifact_type: Some(ARTIFACT_TYPE.to_owned()),
        config: config_descriptor.clone(),
        layers: layers.clone(),
        annotations: BTreeMap::new(),
    });
    Ok(Encoded {
        config,
        config_descriptor,
        layers,
        manifest,
    })
}

/// What [`check_manifest`] found: the config to read and the layers' descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// Checks that `bytes` (served as `media_type`) is a strata build cache; else says what it is.
pub fn check_manifest(
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<Checked, CacheError> {
    let not = |found: String| CacheError::NotStrataCache {
        reference: reference.to_owned(),
        found,
    };
    if matches!(media_type, OCI_INDEX | DOCKER_MANIFEST_LIST) {
        return Err(not(describe_index(bytes)));
    }
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        return Err(not(format!("a manifest of type {media_type}")));
    }
    let m: Manifest = serde_json::from_slice(bytes).map_err(|source| CacheError::Malformed {
        reference: reference.to_owned(),
        what: "manifest",
        source,
    })?;
    let ours = m.artifact_type.as_deref() == Some(ARTIFACT_TYPE)
        && m.config.media_type == CONFIG_MEDIA_TYPE;
    if ours {
        return Ok(Checked {
            config: m.config,
            layers: m.layers,
        });
    }
    Err(not(match (m.config.media_type.as_str(), m.artifact_type) {
        (BUILDKIT_CACHE_CONFIG, _) => format!("a BuildKit cache ({BUILDKIT_CACHE_CONFIG})"),
        (_, Some(t)) => format!("an artifact of type {t}"),
        (config, None) if config.contains("image.config") || config.contains("container.image") => {
            format!("an image (config {config})")
        }
        (config, None) => format!("a manifest whose config is {config}"),
    }))
}

/// An index, named after what it holds: BuildKit's default registry cache is an index whose
/// entries include its cache config.
fn describe_index(bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Descriptor>,
    }
    let kinds = serde_json::from_slice::<Index>(bytes).map(|i| i.manifests);
    match kinds {
        Ok(m) if m.iter().any(|d| d.media_type == BUILDKIT_CACHE_CONFIG) => {
            format!("a BuildKit cache ({BUILDKIT_CACHE_CONFIG})")
        }
        _ => "an image index".to_owned(),
    }
}

/// Reads the config blob of a checked manifest into the records and mounts, each blob named
/// by its descriptor in the manifest.
pub fn decode(
    reference: &str,
    checked: &Checked,
    config: &[u8],
) -> Result<CacheArtifact, CacheError> {
    let c: Config = serde_json::from_slice(config).map_err(|source| CacheError::Malformed {
        reference: reference.to_owned(),
        what: "config",
        source,
    })?;
    if c.version != VERSION {
        return Err(CacheError::Version {
            reference: reference.to_owned(),
            version: c.version,
        });
    }
    let layers: HashMap<&Digest, &Descriptor> =
        checked.layers.iter().map(|d| (&d.digest, d)).collect();
    let layer = |d: &Digest| {
        layers
            .get(d)
            .map(|d| (*d).clone())
            .ok_or_else(|| CacheError::UnlistedBlob {
                reference: reference.to_owned(),
                digest: d.clone(),
            })
    };
    let mut records = Vec::with_capacity(c.records.len());
    for r in c.records {
        records.push(ArtifactRecord {
            blobs: r.blobs.iter().map(layer).collect::<Result<_, _>>()?,
            key: r.key,
            value: serde_json::to_vec(&r.value).expect("a JSON value serialises"),
        });
    }
    let mut mounts = Vec::with_capacity(c.mounts.len());
    for m in c.mounts {
        mounts.push(ArtifactMount {
            layer: layer(&m.layer)?,
            id: m.id,
        });
    }
    Ok(CacheArtifact { records, mounts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_oci::media_types::{OCI_CONFIG, OCI_LAYER_GZIP};

    fn layer(name: &[u8]) -> Descriptor {
        Descriptor::new(OCI_LAYER_GZIP, Digest::of(name), 10)
    }

    fn artifact() -> CacheArtifact {
        CacheArtifact {
            records: vec![
                ArtifactRecord {
                    key: Digest::of(b"k1"),
                    value: br#"{"layer":null,"created":"2024-01-01T00:00:00Z"}"#.to_vec(),
                    blobs: vec![],
                },
                ArtifactRecord {
                    key: Digest::of(b"k2"),
                    value: br#"{"z":1,"a":[2]}"#.to_vec(),
                    blobs: vec![layer(b"l1"), layer(b"l2")],
                },
                ArtifactRecord {
                    key: Digest::of(b"k3"),
                    value: b"{}".to_vec(),
                    blobs: vec![layer(b"l2")],
                },
            ],
            mounts: vec![ArtifactMount {
                id: "/root/.cache".into(),
                layer: layer(b"m"),
            }],
        }
    }

    #[test]
    fn an_artifact_round_trips_and_is_deterministic() {
        let a = artifact();
        let e = encode(&a).unwrap();
        assert_eq!(e, encode(&a).unwrap(), "same cache, same bytes");
        assert_eq!(
            e.layers,
            vec![layer(b"l1"), layer(b"l2"), layer(b"m")],
            "each blob once, in order of first use"
        );
        let m: serde_json::Value = serde_json::from_slice(&e.manifest).unwrap();
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert_eq!(m["artifactType"], ARTIFACT_TYPE);
        assert_eq!(m["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        assert_eq!(m["config"]["digest"], Digest::of(&e.config).to_string());
        let c: serde_json::Value = serde_json::from_slice(&e.config).unwrap();
        assert_eq!(c["version"], 1);
        assert_eq!(c["records"][1]["value"], serde_json::json!({"z":1,"a":[2]}));
        assert_eq!(c["mounts"][0]["id"], "/root/.cache");
        let checked = check_manifest("r", OCI_MANIFEST, &e.manifest).unwrap();
        assert_eq!(checked.config, e.config_descriptor);
        let back = decode("r", &checked, &e.config).unwrap();
        assert_eq!(back, a, "values keep their bytes (field order kept)");
    }

    #[test]
    fn a_value_that_is_not_json_is_refused() {
        let mut a = artifact();
        a.records[0].value = b"not json".to_vec();
        assert!(
            matches!(encode(&a), Err(CacheError::RecordValue { key, .. }) if key == Digest::of(b"k1"))
        );
    }

    fn found(media_type: &str, bytes: &[u8]) -> String {
        match check_manifest("reg/app:cache", media_type, bytes) {
            Err(CacheError::NotStrataCache { reference, found }) => {
                assert_eq!(reference, "reg/app:cache");
                found
            }
            other => panic!("expected NotStrataCache, got {other:?}"),
        }
    }

    #[test]
    fn other_content_is_named() {
        let config = |t: &str| {
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{t}","digest":"{}","size":2}},"layers":[]}}"#,
                Digest::of(b"{}")
            )
        };
        assert_eq!(
            found(OCI_MANIFEST, config(BUILDKIT_CACHE_CONFIG).as_bytes()),
            "a BuildKit cache (application/vnd.buildkit.cacheconfig.v0)"
        );
        assert_eq!(
            found(OCI_MANIFEST, config(OCI_CONFIG).as_bytes()),
            "an image (config application/vnd.oci.image.config.v1+json)"
        );
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{BUILDKIT_CACHE_CONFIG}","digest":"{}","size":2}}]}}"#,
            Digest::of(b"{}")
        );
        assert_eq!(
            found(OCI_INDEX, index.as_bytes()),
            "a BuildKit cache (application/vnd.buildkit.cacheconfig.v0)"
        );
        let plain = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#);
        assert_eq!(found(OCI_INDEX, plain.as_bytes()), "an image index");
    }

    #[test]
    fn a_config_naming_an_unlisted_blob_or_another_version_is_refused() {
        let e = encode(&artifact()).unwrap();
        let mut checked = check_manifest("r", OCI_MANIFEST, &e.manifest).unwrap();
        checked.layers.pop();
        assert!(matches!(
            decode("r", &checked, &e.config),
            Err(CacheError::UnlistedBlob { digest, .. }) if digest == Digest::of(b"m")
        ));
        let v2 = br#"{"version":2,"records":[]}"#;
        assert!(matches!(
            decode("r", &checked, v2),
            Err(CacheError::Version { version: 2, .. })
        ));
        assert!(matches!(
            decode("r", &checked, b"[]"),
            Err(CacheError::Malformed { what: "config", .. })
        ));
    }
}
