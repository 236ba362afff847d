//! The stage being built, as its instructions change it: the image so far, the cache key of
//! its last layer step, the ARG/ENV scope its words are expanded with, and its history.

use strata_oci::{Digest, History};

use crate::plan::args::Scope;
use crate::state::cache::LayerRecord;
use crate::state::clock::BuildClock;
use crate::state::metadata::MetaState;
use crate::state::ImageState;

/// History comment on every entry strata writes.
pub const HISTORY_COMMENT: &str = "strata.dockerfile.v0";

/// The mutable state of a stage being built.
pub struct StageState {
    pub image: ImageState,
    /// Cache key of the last layer step (or the base).
    pub key: Digest,
    pub scope: Scope,
    pub meta: MetaState,
    /// `created` of the newest layer so far: empty-layer history entries reuse it, so a fully
    /// cached rebuild gives the same image ID.
    pub last_created: Option<String>,
}

impl StageState {
    /// `FROM scratch` (the base is loaded over it).
    pub fn scratch(architecture: &str) -> StageState {
        StageState {
            image: ImageState::scratch(architecture),
            key: Digest::of(b"scratch"),
            scope: Scope::default(),
            meta: MetaState::default(),
            last_created: None,
        }
    }

    /// The working directory (`/` when unset).
    pub fn workdir(&self) -> &str {
        let wd = &self.image.config.config.working_dir;
        if wd.is_empty() {
            "/"
        } else {
            wd
        }
    }

    /// Appends a history entry. A layer entry passes its creation time.
    pub fn history(&mut self, created_by: String, layer: bool, created: Option<String>) {
        if let Some(c) = &created {
            self.last_created = Some(c.clone());
        }
        self.image.config.history.push(History {
            created: created.or_else(|| self.last_created.clone()),
            created_by: Some(created_by),
            author: None,
            comment: Some(HISTORY_COMMENT.to_owned()),
            empty_layer: !layer,
        });
    }

    /// Applies a layer step's outcome: the new key, the layer and its history entry.
    pub fn commit_layer(
        &mut self,
        key: Digest,
        rec: &LayerRecord,
        created_by: String,
        clock: &BuildClock,
    ) {
        self.commit(key, rec, created_by, clock, false);
    }

    /// [`Self::commit_layer`] of a linked copy's layer (`COPY --link` without `--chmod`).
    pub fn commit_linked_layer(
        &mut self,
        key: Digest,
        rec: &LayerRecord,
        created_by: String,
        clock: &BuildClock,
    ) {
        self.commit(key, rec, created_by, clock, true);
    }

    fn commit(
        &mut self,
        key: Digest,
        rec: &LayerRecord,
        created_by: String,
        clock: &BuildClock,
        linked: bool,
    ) {
        self.key = key;
        if let Some(layer) = &rec.layer {
            self.image.push_layer(layer.clone());
            self.image.own.add(linked);
        }
        let created = clock.clamp(&rec.created);
        self.history(created_by, rec.layer.is_some(), Some(created));
    }
}
