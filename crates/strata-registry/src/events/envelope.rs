//! The payload, CNCF distribution's notification format so its consumers work unchanged:
//! `{"events":[{id, timestamp, action, target, request, actor, source}]}` sent as
//! [`ENVELOPE_MEDIA_TYPE`], one event per envelope.

use serde::{Deserialize, Serialize};

/// The `Content-Type` of a delivery (distribution's).
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.docker.distribution.events.v1+json";

/// The media type of a blob's target (distribution's, for pushes, pulls and mounts).
pub const BLOB_MEDIA_TYPE: &str = "application/octet-stream";

/// What happened.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A manifest was pushed, or an upload finished as a blob.
    Push,
    /// A manifest or blob was fetched: `GET`, or `HEAD` as in distribution.
    Pull,
    /// A blob was linked into a repository without an upload.
    Mount,
    /// A manifest, tag or blob was removed from a repository.
    Delete,
}

/// A delivery's body.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Envelope {
    pub events: Vec<Event>,
}

/// One event.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Event {
    /// A UUID, the same on every delivery attempt (receivers deduplicate by it).
    pub id: String,
    /// When it happened, RFC 3339 UTC.
    pub timestamp: String,
    pub action: Action,
    pub target: Target,
    pub request: RequestRecord,
    pub actor: ActorRecord,
    pub source: SourceRecord,
}

/// What the event is about.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The same as `size` (distribution sends both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    pub repository: String,
    /// The content's URL by digest on this registry, as the request's `Host` named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The tag a manifest was pushed or pulled by, or the tag deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// A mount's source repository, when the client named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_repository: Option<String>,
}

/// The request that caused the event.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    /// The request id (also in the access log and the response's `X-Request-Id`).
    pub id: String,
    /// The peer address.
    pub addr: String,
    pub host: String,
    pub method: String,
    pub useragent: String,
}

/// Who made the request.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct ActorRecord {
    /// The authenticated account, absent for anonymous requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The registry instance that sent it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct SourceRecord {
    /// `hostname:port` of the server.
    pub addr: String,
    /// A UUID made when the server started.
    #[serde(rename = "instanceID")]
    pub instance_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_as_distribution_does() {
        let event = Event {
            id: "e1".into(),
            timestamp: "2026-01-01T00:00:00Z".into(),
            action: Action::Push,
            target: Target {
                media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
                size: Some(7),
                digest: Some("sha256:ab".into()),
                length: Some(7),
                repository: "team/app".into(),
                url: Some("http://r/v2/team/app/manifests/sha256:ab".into()),
                tag: Some("v1".into()),
                from_repository: None,
            },
            request: RequestRecord {
                id: "r1".into(),
                addr: "127.0.0.1:4000".into(),
                host: "r".into(),
                method: "PUT".into(),
                useragent: "ua".into(),
            },
            actor: ActorRecord::default(),
            source: SourceRecord {
                addr: "host:5000".into(),
                instance_id: "i1".into(),
            },
        };
        let value = serde_json::to_value(Envelope {
            events: vec![event],
        })
        .unwrap();
        assert_eq!(
            value,
            json!({"events": [{
                "id": "e1", "timestamp": "2026-01-01T00:00:00Z", "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 7,
                    "digest": "sha256:ab", "length": 7, "repository": "team/app",
                    "url": "http://r/v2/team/app/manifests/sha256:ab", "tag": "v1"
                },
                "request": {"id": "r1", "addr": "127.0.0.1:4000", "host": "r",
                            "method": "PUT", "useragent": "ua"},
                "actor": {},
                "source": {"addr": "host:5000", "instanceID": "i1"}
            }]})
        );
    }
}
