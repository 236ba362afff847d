//! Instructions that make layers: WORKDIR (when it creates the directory), COPY/ADD and RUN.
//!
//! A step sees a narrow view of the build ([`StepEnv`]: the store, the snapshots, the sandbox
//! RUN runs in, the options, progress, the clock, the build context and the other stages'
//! results) and the stage it changes ([`StageState`]); it never reaches into the scheduler
//! or the plan. Each returns whether its result came from the cache.

pub mod copy;
pub mod run;
pub mod workdir;

use std::collections::BTreeSet;
use std::sync::Arc;

use strata_content::{Image, Store};
use strata_dockerfile::instructions::Command;
use strata_oci::Digest;
use strata_snapshot::SnapshotStore;

use crate::error::Result;
use crate::error::{BuildError, Location, StepError};
use crate::options::BuildOptions;
use crate::progress::{Progress, StepName};
use crate::remote::usage::CacheUsage;
use crate::remote::{ensure_blobs, RemoteCache};
use crate::sources::context::{Context, LazyContext};
use crate::sources::rootfs::RootfsView;
use crate::state::cache::{self, LayerRecord};
use crate::state::clock::BuildClock;
use crate::state::stage::StageState;
use crate::state::{ImageState, StageResult};

pub use run::sandbox::{RuncSandbox, Sandbox};

/// What every step of a build may use.
pub struct StepEnv<'a> {
    pub store: &'a Store,
    pub snapshots: &'a SnapshotStore,
    pub sandbox: &'a dyn Sandbox,
    pub opts: &'a BuildOptions,
    pub progress: &'a dyn Progress,
    pub clock: &'a BuildClock,
    pub context: &'a LazyContext,
    pub stages: &'a dyn StageOutputs,
    pub architecture: &'a str,
    /// The imported build cache (`--cache-from`), asked when a key misses here.
    pub remote: &'a dyn RemoteCache,
    /// What the build used of the cache (for `--cache-to`).
    pub usage: &'a CacheUsage,
}

impl StepEnv<'_> {
    /// The build context, walked on first use.
    pub fn context(&self) -> Result<Arc<Context>> {
        self.context.get(self.store, &self.opts.context)
    }

    /// Looks up a layer step's key unless `--no-cache`: in the store, else in the imported
    /// cache (whose layers are fetched only when something needs their bytes).
    pub fn cached(&self, step: &Step<'_>, key: &Digest) -> Result<Option<LayerRecord>> {
        self.usage.key(step.stage, key);
        if self.opts.no_cache {
            return Ok(None);
        }
        if let Some(rec) = cache::lookup(self.store, key)? {
            return Ok(Some(rec));
        }
        let Some(shared) = self
            .usage
            .imported_record(key)
            .or_else(|| self.remote.lookup(key))
        else {
            return Ok(None);
        };
        match serde_json::from_slice::<LayerRecord>(&shared.value) {
            Ok(rec) => {
                tracing::debug!(%key, "hit in the imported cache");
                self.usage.imported(shared);
                Ok(Some(rec))
            }
            Err(e) => {
                tracing::warn!(%key, error = %e, "ignoring an unreadable imported cache record");
                Ok(None)
            }
        }
    }

    /// The layers' snapshot dirs (bottom first), fetching blobs of imported layers first.
    pub fn snapshot_dirs(&self, image: &ImageState) -> Result<Vec<std::path::PathBuf>> {
        self.ensure_layers(image)?;
        image.snapshot_dirs(self.store, self.snapshots)
    }

    /// The image's merged root filesystem, fetching blobs of imported layers first.
    pub fn view(&self, image: &ImageState) -> Result<RootfsView> {
        Ok(RootfsView::new(self.snapshot_dirs(image)?))
    }

    /// Fetches the blobs of `image`'s layers that came from the imported cache.
    pub fn ensure_layers(&self, image: &ImageState) -> Result<()> {
        let layers = image.layers.iter().map(|l| l.descriptor.clone());
        ensure_blobs(self.store, self.remote, layers.collect::<Vec<_>>())
    }

    /// Records a freshly made layer in the cache, then commits it to the stage.
    pub fn record_layer(
        &self,
        stage: &mut StageState,
        key: strata_oci::Digest,
        layer: Option<crate::state::LayerRef>,
        created_by: String,
    ) -> Result<()> {
        let rec = self.record(&key, layer)?;
        stage.commit_layer(key, &rec, created_by, self.clock);
        Ok(())
    }

    /// Records a freshly made layer in the cache under `key`, made now.
    pub fn record(
        &self,
        key: &strata_oci::Digest,
        layer: Option<crate::state::LayerRef>,
    ) -> Result<LayerRecord> {
        let rec = LayerRecord {
            layer,
            created: self.clock.now_rfc3339(),
        };
        cache::record(self.store, key, &rec)?;
        Ok(rec)
    }

    /// Writes entries as a layer blob with the build's compression and epoch.
    pub fn store_layer(
        &self,
        entries: Vec<strata_archive::Entry>,
    ) -> Result<crate::state::LayerRef> {
        crate::output::layer::store_layer(
            self.store,
            entries,
            self.opts.compression,
            self.clock.epoch(),
        )
    }
}

/// A stage or image named by `COPY --from` / `RUN --mount=from=`.
pub enum Source {
    /// An earlier stage of this build, finished.
    Stage(Arc<StageResult>),
    /// An image from the store.
    Image(Box<Image>),
    Scratch,
}

impl Source {
    /// The image state to read from and how the cache key names it.
    pub fn state(&self, architecture: &str) -> Result<(ImageState, String)> {
        Ok(match self {
            Source::Stage(r) => (r.state.clone(), format!("stage {}", r.key)),
            Source::Image(image) => (
                ImageState::from_image(image)?,
                format!("image {}", image.manifest_digest),
            ),
            Source::Scratch => (ImageState::scratch(architecture), "scratch".to_owned()),
        })
    }
}

/// Resolves `--from` values against the build's other stages and the store.
pub trait StageOutputs: Sync {
    /// `from` as a finished stage (by name or index), an image, or scratch. `current` is the
    /// stage asking (a stage cannot read itself or a later one by index).
    fn source(&self, from: &str, current: usize) -> std::result::Result<Source, StepError>;
}

/// The step being run: which instruction, where, and its progress name.
pub struct Step<'s> {
    pub cmd: &'s Command,
    pub location: Location,
    pub name: &'s StepName,
    /// The stage the step belongs to.
    pub stage: usize,
    /// The build args the instruction's words used (they enter RUN's key).
    pub used_args: &'s BTreeSet<String>,
}

impl Step<'_> {
    /// The instruction as written (continuations joined).
    pub fn instruction(&self) -> String {
        self.cmd.location.original.trim().to_owned()
    }

    /// A [`BuildError::Step`] for this step.
    pub fn fail(&self, source: impl Into<StepError>) -> BuildError {
        BuildError::Step {
            location: self.location.clone(),
            instruction: self.instruction(),
            source: Box::new(source.into()),
        }
    }
}
