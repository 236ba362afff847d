//! What the registry knows about its content: the [`Meta`] trait (repositories, the blobs
//! each repository may serve, manifests with their media type, size, subject and artifact
//! type, tags, the blobs and child manifests each manifest references, upload sessions),
//! its SQLite implementation ([`SqliteMeta`], the embedded default) and its PostgreSQL one
//! ([`PostgresMeta`], shared by several replicas).
//!
//! A manifest is recorded in one transaction that first checks every reference, so a
//! manifest whose blobs or children are missing is never visible.

mod gc;
mod govern;
mod postgres;
mod robots;
mod sqlite;

use std::collections::{BTreeMap, HashSet};

use futures_util::future::BoxFuture;
use strata_distribution::{ManifestRef, Page, RepositoryName, Tag};
use strata_oci::{Descriptor, Digest};
use thiserror::Error;

pub use govern::{
    current_actor, ImageFacts, PromotionRecord, RepositorySummary, StoredImage, TagRecord,
};
pub use postgres::PostgresMeta;
pub use sqlite::SqliteMeta;

use sqlite::digest;

/// Why the metadata store failed.
#[derive(Debug, Error)]
pub enum MetaError {
    #[error("metadata database {path}")]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("metadata database {path} has schema version {found}; this strata knows up to {supported} (a newer strata wrote it)")]
    SchemaTooNew {
        path: std::path::PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("metadata query failed")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL metadata database: bad settings")]
    PostgresConfig(#[source] tokio_postgres::Error),
    #[error("PostgreSQL metadata query failed")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the PostgreSQL metadata database's schema is at version {found}, newer than this strata knows ({known}): run the newer strata, or restore an older database")]
    PostgresSchemaTooNew { found: i32, known: usize },
    #[error("PostgreSQL metadata database: no connection")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("PostgreSQL metadata database: cannot set up the connection pool")]
    PoolBuild(#[from] deadpool_postgres::BuildError),
    #[error("metadata task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("stored value {value:?} is not a digest")]
    BadDigest { value: String },
    #[error("tag {tag} of {name} is immutable (rule {rule}): it names {current}")]
    TagImmutable {
        name: RepositoryName,
        tag: String,
        rule: String,
        current: Digest,
    },
    #[error("removing unreferenced blob {digest}")]
    Sweep {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest {manifest} references {kind} {digest}, unknown in {name}")]
    MissingReference {
        name: RepositoryName,
        manifest: Digest,
        kind: &'static str,
        digest: Digest,
    },
}

/// A manifest as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestRecord {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// A manifest to record, with what it references.
#[derive(Clone, Debug)]
pub struct NewManifest {
    pub name: RepositoryName,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub subject: Option<Digest>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// Blobs (config, layers) that must be in the repository.
    pub blobs: Vec<Digest>,
    /// Child manifests (of an index) that must be in the repository.
    pub children: Vec<Digest>,
    /// The tag to point at it, when pushed by tag.
    pub tag: Option<Tag>,
    /// The immutability rule covering that tag: then the tag may be created or re-pushed
    /// with the same manifest, never moved (checked in the recording transaction).
    pub immutable_rule: Option<String>,
    /// What governance records of an image (an image manifest or an index, not an artifact
    /// or a referrer): `None` records nothing.
    pub facts: Option<ImageFacts>,
}

/// Which tags may not disappear with a deleted manifest: the rule covering a tag, if any.
pub type TagGuard = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// An upload session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: String,
    pub name: RepositoryName,
    /// Unix seconds of the last request on it.
    pub updated: i64,
}

/// A robot account (`robot$NAME`), as stored: its secret only as a SHA-256 hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RobotRecord {
    /// The name after `robot$`.
    pub name: String,
    /// The hex SHA-256 of the secret.
    pub secret_sha256: String,
    /// Repository globs it may act on.
    pub repositories: Vec<String>,
    /// What it may do there (`pull`, `push`, `delete`).
    pub actions: Vec<String>,
    /// Unix seconds of its creation.
    pub created: i64,
    /// Unix seconds it expires at (never when absent).
    pub expires: Option<i64>,
}

/// One page of a listing, and whether more entries follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<String>,
    pub more: bool,
}

/// Removes one blob's bytes: called inside the sweep's write transaction, once that
/// transaction re-checked the blob is garbage, and awaited there; the bytes freed, `None`
/// when it was kept (gone already, or younger than the grace period).
pub type SweepBlob = std::sync::Arc<
    dyn Fn(&Digest) -> BoxFuture<'static, std::io::Result<Option<u64>>> + Send + Sync,
>;

/// Keeps an upload held against other processes until dropped ([`Meta::hold_upload`]).
pub type UploadHold = Box<dyn Send + Sync>;

/// The registry's metadata. Every call is one transaction.
pub trait Meta: Send + Sync + 'static {
    /// Whether repository `name` exists (holds a blob, manifest or upload).
    fn repository_exists<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<bool, MetaError>>;
    /// Lets `name` serve blob `digest` of `size` bytes (creating the repository); the link
    /// is dated now (garbage collection drops links no manifest uses once they are older
    /// than its grace period).
    fn link_blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<(), MetaError>>;
    /// The size of blob `digest` in `name`, `None` when `name` cannot serve it.
    fn blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<u64>, MetaError>>;
    /// Removes blob `digest` from `name`; false when it was not there.
    fn unlink_blob<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<bool, MetaError>>;
    /// Records a manifest after checking its references ([`MetaError::MissingReference`]).
    fn put_manifest(&self, manifest: NewManifest) -> BoxFuture<'_, Result<(), MetaError>>;
    /// The manifest a tag or digest names in `name`.
    fn manifest<'a>(
        &'a self,
        name: &'a RepositoryName,
        reference: &'a ManifestRef,
    ) -> BoxFuture<'a, Result<Option<ManifestRecord>, MetaError>>;
    /// Removes manifest `digest` and the tags pointing at it; false when it was not there.
    /// A tag `guard` names a rule for stops it all ([`MetaError::TagImmutable`]).
    fn delete_manifest<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        guard: TagGuard,
    ) -> BoxFuture<'a, Result<bool, MetaError>>;
    /// Removes a tag; false when it was not there.
    fn delete_tag<'a>(
        &'a self,
        name: &'a RepositoryName,
        tag: &'a Tag,
    ) -> BoxFuture<'a, Result<bool, MetaError>>;
    /// A page of `name`'s tags in lexical order.
    fn tags<'a>(
        &'a self,
        name: &'a RepositoryName,
        page: &'a Page,
    ) -> BoxFuture<'a, Result<Listing, MetaError>>;
    /// A page of the repository names in lexical order.
    fn repositories<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<Listing, MetaError>>;
    /// The descriptors of the manifests in `name` whose subject is `subject`.
    fn referrers<'a>(
        &'a self,
        name: &'a RepositoryName,
        subject: &'a Digest,
    ) -> BoxFuture<'a, Result<Vec<Descriptor>, MetaError>>;
    /// Records a new upload session.
    fn create_upload(&self, upload: UploadRecord) -> BoxFuture<'_, Result<(), MetaError>>;
    /// An upload session by id.
    fn upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<UploadRecord>, MetaError>>;
    /// Marks an upload as used at `now` (unix seconds).
    fn touch_upload<'a>(&'a self, id: &'a str, now: i64) -> BoxFuture<'a, Result<(), MetaError>>;
    /// Holds upload `id` against the other processes sharing this store until the returned
    /// value is dropped (a request appending to, finishing or removing it). The default, for
    /// a store only one server uses (SQLite), holds nothing: that server's own lock suffices.
    fn hold_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<UploadHold, MetaError>> {
        let _ = id;
        Box::pin(async { Ok(Box::new(()) as UploadHold) })
    }
    /// Forgets an upload session.
    fn remove_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), MetaError>>;
    /// The ids of the uploads last used before `before` (unix seconds).
    fn stale_uploads(&self, before: i64) -> BoxFuture<'_, Result<Vec<String>, MetaError>>;
    /// Keeps blob `digest` from garbage collection until [`Meta::unpin_blob`] (a push pins
    /// before its bytes go into place and unpins once it is linked); returns the pin's id.
    fn pin_blob<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<String, MetaError>>;
    /// Drops a pin.
    fn unpin_blob<'a>(&'a self, pin: &'a str) -> BoxFuture<'a, Result<(), MetaError>>;
    /// GC mark: every digest linked, recorded as a manifest, referenced by a manifest or
    /// pinned, after dropping pins created before `stale_pins_before` (unix seconds).
    fn gc_referenced(
        &self,
        stale_pins_before: i64,
    ) -> BoxFuture<'_, Result<HashSet<Digest>, MetaError>>;
    /// GC mark: the untagged manifests created before `before` that no index of their
    /// repository lists and whose subject (if any) is gone.
    fn gc_untagged(
        &self,
        before: i64,
    ) -> BoxFuture<'_, Result<Vec<(RepositoryName, Digest)>, MetaError>>;
    /// GC sweep: in one write transaction, deletes those of `manifests` that, re-checked,
    /// still are collectable untagged manifests; returns the ones deleted.
    fn gc_delete_untagged<'a>(
        &'a self,
        manifests: &'a [(RepositoryName, Digest)],
        before: i64,
    ) -> BoxFuture<'a, Result<Vec<(RepositoryName, Digest)>, MetaError>>;
    /// GC mark: the repository→blob links made before `before` (unix seconds) that no
    /// manifest of their repository references and no push in flight pins.
    fn gc_stale_links(
        &self,
        before: i64,
    ) -> BoxFuture<'_, Result<Vec<(RepositoryName, Digest)>, MetaError>>;
    /// GC sweep: in one write transaction, removes those of `links` that, re-checked, still
    /// are stale links (as [`Meta::gc_stale_links`] says); returns the ones removed.
    fn gc_unlink_stale<'a>(
        &'a self,
        links: &'a [(RepositoryName, Digest)],
        before: i64,
    ) -> BoxFuture<'a, Result<Vec<(RepositoryName, Digest)>, MetaError>>;
    /// GC sweep: in one write transaction, for each of `digests` re-checks that nothing
    /// references or pins it and only then runs `remove` on it; the bytes each freed,
    /// `None` when kept.
    fn gc_sweep_blobs<'a>(
        &'a self,
        digests: &'a [Digest],
        remove: SweepBlob,
    ) -> BoxFuture<'a, Result<Vec<Option<u64>>, MetaError>>;
    /// Records a new robot account; false (nothing written) when the name is taken.
    fn create_robot(&self, robot: RobotRecord) -> BoxFuture<'_, Result<bool, MetaError>>;
    /// A robot account by name (without `robot$`).
    fn robot<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<RobotRecord>, MetaError>>;
    /// Every robot account, by name.
    fn robots(&self) -> BoxFuture<'_, Result<Vec<RobotRecord>, MetaError>>;
    /// Removes a robot account; false when there was none.
    fn delete_robot<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, MetaError>>;

    // Governance (docs/GOVERN.md). Image facts are written by `put_manifest` (from
    // `NewManifest::facts`) and removed with the manifest, with its labels; promotions and tag
    // history stay (history). Tag writes, moves and deletes are recorded in the tag history
    // with [`current_actor`].

    /// Every image of `name` (all repositories when `None`), newest push first.
    fn images<'a>(
        &'a self,
        name: Option<&'a RepositoryName>,
    ) -> BoxFuture<'a, Result<Vec<StoredImage>, MetaError>>;
    /// One image by digest.
    fn image<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<StoredImage>, MetaError>>;
    /// Records a pull of `digest` in `name` at `now` (unix seconds).
    fn record_pull<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        now: i64,
    ) -> BoxFuture<'a, Result<(), MetaError>>;
    /// Every repository with its owner and its image and tag counts, by name.
    fn repository_summaries(&self) -> BoxFuture<'_, Result<Vec<RepositorySummary>, MetaError>>;
    /// Sets (`None`: clears) the owner of `name`; false when the repository does not exist.
    fn set_owner<'a>(
        &'a self,
        name: &'a RepositoryName,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, MetaError>>;
    /// The owner of `name`.
    fn owner<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<Option<String>, MetaError>>;
    /// Adds a label to image `digest` (idempotent); false when the image is unknown.
    fn add_label<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        label: &'a str,
    ) -> BoxFuture<'a, Result<bool, MetaError>>;
    /// Removes a label; false when the image did not carry it.
    fn remove_label<'a>(
        &'a self,
        name: &'a RepositoryName,
        digest: &'a Digest,
        label: &'a str,
    ) -> BoxFuture<'a, Result<bool, MetaError>>;
    /// In one transaction: adds the label `promotion.env` to the image and records the
    /// promotion; false (nothing written) when the image is unknown.
    fn promote(&self, promotion: PromotionRecord) -> BoxFuture<'_, Result<bool, MetaError>>;
    /// The promotions recorded in `name`, newest first.
    fn promotions<'a>(
        &'a self,
        name: &'a RepositoryName,
    ) -> BoxFuture<'a, Result<Vec<PromotionRecord>, MetaError>>;
    /// What `tag` of `name` named over time, oldest first.
    fn tag_history<'a>(
        &'a self,
        name: &'a RepositoryName,
        tag: &'a Tag,
    ) -> BoxFuture<'a, Result<Vec<TagRecord>, MetaError>>;
    /// A counter bumped by every change of the image facts (push, delete), so a server can
    /// tell that another replica changed them and reload its lineage index.
    fn lineage_generation(&self) -> BoxFuture<'_, Result<i64, MetaError>>;
}

#[cfg(test)]
mod tests;
