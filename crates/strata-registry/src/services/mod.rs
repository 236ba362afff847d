//! What the registry does, independent of HTTP: blobs (pull, mount, delete), uploads
//! (sessions, chunks, finishing), manifests (verify, record, serve, delete), and discovery
//! (tags, catalog, referrers). Routes call these; these call [`Blobs`] and [`Meta`], and
//! announce what they did (pushes, pulls, mounts, deletes) to [`Events`].

mod blobs;
mod discovery;
mod error;
mod gc;
pub mod govern;
mod immutable;
mod inspect;
mod manifests;
mod retention;
mod uploads;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::events::Events;
use crate::meta::Meta;
use crate::storage::Blobs;

pub use blobs::{BlobRead, MountOutcome};
pub use discovery::Referrers;
pub use error::ServiceError;
pub use gc::{GcPolicy, GcReport, Protected};
pub use immutable::{ImmutableRuleConfig, ImmutableTags, RuleError};
pub use manifests::{ManifestRead, PushedManifest};
pub use retention::{RetentionAction, RetentionItem, RetentionReport};
pub use uploads::{ChunkRange, UploadState};

/// Limits a registry enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest manifest accepted, in bytes.
    pub manifest_max: u64,
    /// How long an upload may sit unused before it is removed.
    pub upload_expiry: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            manifest_max: 4 << 20,
            upload_expiry: Duration::from_secs(3600),
        }
    }
}

/// The registry: a blob store, a metadata store, and its limits.
pub struct Registry {
    blobs: Arc<dyn Blobs>,
    meta: Arc<dyn Meta>,
    limits: Limits,
    /// Tags that can be pushed once and never moved or deleted.
    immutable: ImmutableTags,
    /// One lock per upload, so two requests on the same upload never interleave.
    upload_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Where pushes, pulls and deletes are announced (no endpoints: nowhere).
    events: Events,
    /// Gates, the lineage index, last-pull writes.
    govern: govern::Governance,
}

impl Registry {
    pub fn new(blobs: Arc<dyn Blobs>, meta: Arc<dyn Meta>, limits: Limits) -> Registry {
        Registry {
            blobs,
            meta,
            limits,
            immutable: ImmutableTags::default(),
            upload_locks: Mutex::new(HashMap::new()),
            events: Events::default(),
            govern: govern::Governance::default(),
        }
    }

    /// This registry announcing what happens through `events`.
    pub fn with_events(mut self, events: Events) -> Registry {
        self.events = events;
        self
    }

    /// The event emitter (its endpoints' counters).
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// This registry with tag immutability rules.
    pub fn with_immutable_tags(mut self, rules: ImmutableTags) -> Registry {
        self.immutable = rules;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod gc_tests;
#[cfg(test)]
mod tests;
