//! Governance metadata (docs/GOVERN.md): the records ([`ImageFacts`], [`StoredImage`],
//! [`PromotionRecord`], [`TagRecord`], [`RepositorySummary`]) and their SQLite queries.
//! Tables: `images` (facts of each image manifest or index, written at push, removed with
//! the manifest), `labels` (per repository and digest, removed with the manifest), `owners`
//! (per repository), `promotions` and `tag_history` (history: never removed),
//! `lineage_generation` (one counter bumped by every change of `images`).
//!
//! [`sqlite`] and [`postgres`] hold the queries of each store.
//!
//! Must not: decide anything (gates, retention, lineage are `strata-govern`'s), or remove
//! history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use strata_distribution::RepositoryName;
use strata_govern::annotations;
use strata_govern::lineage::BuildRecord;
use strata_govern::Image;
use strata_oci::Digest;

use super::sqlite::digest;
use super::MetaError;

pub(super) mod postgres;
pub(super) mod sqlite;

/// What a push records of an image: read from its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFacts {
    /// The config blob (`None` for an index).
    pub config: Option<Digest>,
    /// The layer blobs, in order (empty for an index).
    pub layers: Vec<Digest>,
    /// Bytes of the manifest, config and layers (an index: itself and its children).
    pub size: u64,
}

/// An image as the metadata holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    pub image: Image,
    pub media_type: String,
    pub config: Option<Digest>,
    /// Its `org.strata.build` annotation, when it parses.
    pub build: Option<BuildRecord>,
}

/// One promotion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionRecord {
    pub repository: RepositoryName,
    pub digest: Digest,
    /// The image's tags when promoted.
    pub tags: Vec<String>,
    pub env: String,
    pub by: String,
    /// Unix seconds.
    pub at: i64,
}

/// One entry of a tag's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagRecord {
    /// What the tag named from `since` on, `None` when it was deleted.
    pub digest: Option<Digest>,
    /// Unix seconds.
    pub since: i64,
    pub by: String,
}

/// A repository for the listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositorySummary {
    pub name: RepositoryName,
    pub owner: Option<String>,
    pub images: u64,
    pub tags: u64,
}

std::thread_local! {
    /// The actor of the metadata transaction running on this (blocking-pool) thread, where
    /// the request's task-local is out of reach.
    static BLOCKING_ACTOR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` (on a blocking-pool thread) with `actor` as [`current_actor`].
pub(super) fn with_actor<T>(actor: String, f: impl FnOnce() -> T) -> T {
    BLOCKING_ACTOR.with(|a| *a.borrow_mut() = Some(actor));
    let out = f();
    BLOCKING_ACTOR.with(|a| *a.borrow_mut() = None);
    out
}

/// Who is changing things: the request's account, `anonymous` for an unauthenticated
/// request, `registry` outside a request (garbage collection, retention runs).
pub fn current_actor() -> String {
    if let Some(actor) = BLOCKING_ACTOR.with(|a| a.borrow().clone()) {
        return actor;
    }
    match crate::request::current() {
        Some(info) => info
            .actor()
            .map_or_else(|| "anonymous".to_owned(), |a| a.name.clone()),
        None => "registry".to_owned(),
    }
}

/// The build record of an image's annotations.
pub(super) fn build_record(annotations: &BTreeMap<String, String>) -> Option<BuildRecord> {
    serde_json::from_str(annotations.get(annotations::BUILD)?).ok()
}

/// Layers as stored: digests separated by newlines.
pub(super) fn join_layers(layers: &[Digest]) -> String {
    layers
        .iter()
        .map(Digest::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn split_layers(text: &str) -> Result<Vec<Digest>, MetaError> {
    text.split('\n')
        .filter(|s| !s.is_empty())
        .map(|s| digest(s.to_owned()))
        .collect()
}

/// A row of `images` joined with its manifest, before tags and labels.
pub(super) struct ImageRow {
    pub repo: String,
    pub digest: String,
    pub media_type: String,
    pub config: Option<String>,
    pub layers: String,
    pub size: i64,
    pub pushed: i64,
    pub last_pulled: Option<i64>,
    pub annotations: String,
}

impl ImageRow {
    /// The image, given the tags and labels of every `(repo, digest)`.
    pub(super) fn into_stored(
        self,
        tags: &mut HashMap<(String, String), Vec<String>>,
        labels: &mut HashMap<(String, String), BTreeSet<String>>,
    ) -> Result<StoredImage, MetaError> {
        let key = (self.repo.clone(), self.digest.clone());
        let annotations: BTreeMap<String, String> =
            serde_json::from_str(&self.annotations).unwrap_or_default();
        let mut tags = tags.remove(&key).unwrap_or_default();
        tags.sort();
        let repository = self.repo;
        Ok(StoredImage {
            build: build_record(&annotations),
            media_type: self.media_type,
            config: self.config.map(digest).transpose()?,
            image: Image {
                repository,
                digest: digest(self.digest)?,
                tags,
                labels: labels.remove(&key).unwrap_or_default(),
                pushed: self.pushed,
                last_pulled: self.last_pulled,
                size: self.size as u64,
                layers: split_layers(&self.layers)?,
                annotations,
            },
        })
    }
}

/// Steps of the SQLite schema (appended to its migrations).
pub(super) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS images (
    repo TEXT NOT NULL, digest TEXT NOT NULL, config TEXT, layers TEXT NOT NULL,
    size INTEGER NOT NULL, pushed INTEGER NOT NULL, last_pulled INTEGER,
    PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS images_pushed ON images (pushed);
CREATE TABLE IF NOT EXISTS labels (
    repo TEXT NOT NULL, digest TEXT NOT NULL, label TEXT NOT NULL,
    PRIMARY KEY (repo, digest, label)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owners (repo TEXT PRIMARY KEY, owner TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS promotions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, digest TEXT NOT NULL,
    tags TEXT NOT NULL, env TEXT NOT NULL, actor TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS promotions_repo ON promotions (repo, id);
CREATE TABLE IF NOT EXISTS tag_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, tag TEXT NOT NULL,
    digest TEXT, since INTEGER NOT NULL, actor TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tag_history_tag ON tag_history (repo, tag, id);
CREATE TABLE IF NOT EXISTS lineage_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0), generation INTEGER NOT NULL);
INSERT OR IGNORE INTO lineage_generation (id, generation) VALUES (0, 0);
INSERT OR IGNORE INTO images (repo, digest, config, layers, size, pushed, last_pulled)
    SELECT repo, digest, NULL, '', size, created, NULL FROM manifests
    WHERE subject IS NULL AND artifact_type IS NULL;
";
