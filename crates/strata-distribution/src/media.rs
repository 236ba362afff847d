//! The manifest media types a registry accepts and serves, and how to tell which one a
//! manifest is when its `Content-Type` is missing or generic.
//!
//! The constants are strata_oci's; this module adds the registry's view: the `Accept` header
//! a client sends, and [`ManifestKind::resolve`], which checks a pushed manifest's
//! `Content-Type` against its own `mediaType` field.

use serde::Deserialize;
use strata_oci::media_types;
use thiserror::Error;

pub use strata_oci::media_types::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

/// Docker schema 1, refused by strata (as by current registries' defaults).
pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_MANIFEST_V1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// The OCI empty descriptor's media type (artifacts without a config).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// The four manifest media types, preferred first: what a client puts in `Accept`.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// Why a manifest's kind cannot be told.
#[derive(Debug, Error)]
pub enum MediaError {
    #[error("manifest is not a JSON object")]
    NotJson {
        #[source]
        source: serde_json::Error,
    },
    #[error("unsupported manifest media type {media_type:?}")]
    Unsupported { media_type: String },
    #[error("docker schema 1 manifests are not supported")]
    Schema1,
    #[error("manifest has no mediaType and neither \"config\" nor \"manifests\"")]
    Unrecognised,
    #[error(
        "Content-Type {content_type:?} does not match the manifest's mediaType {media_type:?}"
    )]
    Mismatch {
        content_type: String,
        media_type: String,
    },
}

/// What kind of manifest a body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ManifestKind {
    OciManifest,
    OciIndex,
    DockerManifest,
    DockerManifestList,
}

/// The fields that tell a manifest's kind.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    fs_layers: Option<serde_json::Value>,
}

/// `application/json; charset=utf-8` → `application/json`.
pub fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// The `Accept` header value a client sends for manifests.
pub fn manifest_accept() -> String {
    MANIFEST_MEDIA_TYPES.join(", ")
}

impl ManifestKind {
    pub fn from_media_type(media_type: &str) -> Result<ManifestKind, MediaError> {
        Ok(match essence(media_type) {
            OCI_MANIFEST => ManifestKind::OciManifest,
            OCI_INDEX => ManifestKind::OciIndex,
            DOCKER_MANIFEST => ManifestKind::DockerManifest,
            DOCKER_MANIFEST_LIST => ManifestKind::DockerManifestList,
            DOCKER_MANIFEST_V1 | DOCKER_MANIFEST_V1_SIGNED => return Err(MediaError::Schema1),
            other => {
                return Err(MediaError::Unsupported {
                    media_type: other.to_owned(),
                })
            }
        })
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ManifestKind::OciManifest => OCI_MANIFEST,
            ManifestKind::OciIndex => OCI_INDEX,
            ManifestKind::DockerManifest => DOCKER_MANIFEST,
            ManifestKind::DockerManifestList => DOCKER_MANIFEST_LIST,
        }
    }

    /// Whether it lists other manifests (an index or manifest list).
    pub fn is_index(self) -> bool {
        media_types::is_index(self.media_type())
    }

    /// Tells the kind from the body alone: its `mediaType` when present, else its shape
    /// (`manifests` → OCI index, `config`/`layers` → OCI manifest; Docker types always say
    /// their `mediaType`).
    pub fn detect(body: &[u8]) -> Result<ManifestKind, MediaError> {
        let shape: Shape =
            crate::json::from_object(body).map_err(|source| MediaError::NotJson { source })?;
        if shape.fs_layers.is_some() || shape.schema_version == Some(serde_json::json!(1)) {
            return Err(MediaError::Schema1);
        }
        if let Some(mt) = &shape.media_type {
            return ManifestKind::from_media_type(mt);
        }
        if shape.manifests.is_some() {
            Ok(ManifestKind::OciIndex)
        } else if shape.config.is_some() || shape.layers.is_some() {
            Ok(ManifestKind::OciManifest)
        } else {
            Err(MediaError::Unrecognised)
        }
    }

    /// The kind of a pushed manifest from its `Content-Type` and body: a specific
    /// `Content-Type` must agree with the body's `mediaType` when it has one; a missing or
    /// generic one (`application/json`, `application/octet-stream`) defers to the body.
    pub fn resolve(content_type: Option<&str>, body: &[u8]) -> Result<ManifestKind, MediaError> {
        let ct = content_type.map(essence).unwrap_or("");
        if matches!(ct, "" | "application/json" | "application/octet-stream") {
            return ManifestKind::detect(body);
        }
        let declared = ManifestKind::from_media_type(ct)?;
        let shape: Shape =
            crate::json::from_object(body).map_err(|source| MediaError::NotJson { source })?;
        match shape.media_type {
            Some(mt) if essence(&mt) != declared.media_type() => Err(MediaError::Mismatch {
                content_type: ct.to_owned(),
                media_type: mt,
            }),
            _ => Ok(declared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_round_trip() {
        for mt in MANIFEST_MEDIA_TYPES {
            let kind = ManifestKind::from_media_type(mt).unwrap();
            assert_eq!(kind.media_type(), mt);
        }
        assert!(ManifestKind::OciIndex.is_index());
        assert!(ManifestKind::DockerManifestList.is_index());
        assert!(!ManifestKind::DockerManifest.is_index());
        assert_eq!(
            ManifestKind::from_media_type(&format!("{OCI_MANIFEST}; charset=utf-8")).unwrap(),
            ManifestKind::OciManifest
        );
        assert!(manifest_accept().starts_with(OCI_INDEX));
        assert!(matches!(
            ManifestKind::from_media_type(DOCKER_MANIFEST_V1_SIGNED),
            Err(MediaError::Schema1)
        ));
        assert!(matches!(
            ManifestKind::from_media_type("text/html"),
            Err(MediaError::Unsupported { .. })
        ));
    }

    #[test]
    fn detect_from_body() {
        let cases: &[(&str, ManifestKind)] = &[
            (
                r#"{"schemaVersion":2,"config":{},"layers":[]}"#,
                ManifestKind::OciManifest,
            ),
            (
                r#"{"schemaVersion":2,"layers":[]}"#,
                ManifestKind::OciManifest,
            ),
            (
                r#"{"schemaVersion":2,"manifests":[]}"#,
                ManifestKind::OciIndex,
            ),
            (
                r#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{}}"#,
                ManifestKind::DockerManifest,
            ),
            (
                r#"{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#,
                ManifestKind::DockerManifestList,
            ),
            (
                r#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
                ManifestKind::OciIndex,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                ManifestKind::detect(body.as_bytes()).unwrap(),
                *want,
                "{body}"
            );
        }
    }

    #[test]
    fn detect_rejects() {
        type Check = fn(&MediaError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, MediaError::NotJson { .. })),
            ("<html></html>", |e| matches!(e, MediaError::NotJson { .. })),
            ("[1]", |e| matches!(e, MediaError::NotJson { .. })),
            (r#"{"mediaType":5}"#, |e| {
                matches!(e, MediaError::NotJson { .. })
            }),
            ("{}", |e| matches!(e, MediaError::Unrecognised)),
            (r#"{"schemaVersion":2}"#, |e| {
                matches!(e, MediaError::Unrecognised)
            }),
            (r#"{"schemaVersion":1,"fsLayers":[]}"#, |e| {
                matches!(e, MediaError::Schema1)
            }),
            (r#"{"mediaType":"text/plain","config":{}}"#, |e| {
                matches!(e, MediaError::Unsupported { .. })
            }),
        ];
        for (body, check) in cases {
            let err = ManifestKind::detect(body.as_bytes()).unwrap_err();
            assert!(check(&err), "{body}: {err:?}");
        }
    }

    #[test]
    fn resolve_with_content_type() {
        let oci = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}"#;
        let bare = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(
            ManifestKind::resolve(Some(OCI_MANIFEST), oci).unwrap(),
            ManifestKind::OciManifest
        );
        assert_eq!(
            ManifestKind::resolve(None, oci).unwrap(),
            ManifestKind::OciManifest
        );
        assert_eq!(
            ManifestKind::resolve(Some("application/json; charset=utf-8"), bare).unwrap(),
            ManifestKind::OciIndex
        );
        assert_eq!(
            ManifestKind::resolve(Some(DOCKER_MANIFEST_LIST), bare).unwrap(),
            ManifestKind::DockerManifestList
        );
        assert!(matches!(
            ManifestKind::resolve(Some(DOCKER_MANIFEST), oci),
            Err(MediaError::Mismatch { .. })
        ));
        assert!(matches!(
            ManifestKind::resolve(Some("text/html"), oci),
            Err(MediaError::Unsupported { .. })
        ));
        assert!(matches!(
            ManifestKind::resolve(Some(OCI_MANIFEST), b"<html>"),
            Err(MediaError::NotJson { .. })
        ));
    }
}
