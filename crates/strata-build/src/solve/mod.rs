//! Running a plan: the scheduler ([`scheduler`]) starts a thread per needed stage, and each
//! stage ([`stage`]) loads its base, runs inherited ONBUILD triggers, then dispatches every
//! instruction — config-only ones to [`crate::state::metadata`], layer steps to
//! [`crate::steps`] through the narrow [`StepEnv`].

pub mod scheduler;
pub mod stage;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use strata_content::Store;
use strata_snapshot::SnapshotStore;

use crate::error::{Result, StageError, StepError};
use crate::options::BuildOptions;
use crate::output::annotate::BaseImage;
use crate::plan::{Base, Plan};
use crate::progress::Progress;
use crate::remote::usage::CacheUsage;
use crate::remote::{NoRemoteCache, RemoteCache};
use crate::sources::context::LazyContext;
use crate::sources::images::{ImageError, Images};
use crate::state::clock::BuildClock;
use crate::state::StageResult;
use crate::steps::{Sandbox, Source, StageOutputs, StepEnv};
use scheduler::{run_plan, Board};

/// A build being run: the plan, what steps may use, and the stages' results so far.
pub struct Solver<'a> {
    plan: &'a Plan,
    store: &'a Store,
    snapshots: &'a SnapshotStore,
    sandbox: &'a dyn Sandbox,
    opts: &'a BuildOptions,
    progress: &'a dyn Progress,
    clock: BuildClock,
    architecture: String,
    pub context: LazyContext,
    board: Board,
    /// `--build-arg`s some ARG consumed (for the "not consumed" warning).
    used_args: Mutex<BTreeSet<String>>,
    /// The next step number, across stages (progress ids).
    next_step: AtomicUsize,
    /// Images named by `FROM` and `--from`, pulled when the policy says so.
    images: Images<'a>,
    /// The imported build cache (`--cache-from`); none unless [`Solver::with_remote`].
    remote: &'a dyn RemoteCache,
    /// What the build used of the cache.
    pub usage: CacheUsage,
    /// The image each stage built `FROM` an image was built on, by stage.
    bases: Mutex<BTreeMap<usize, BaseImage>>,
}

impl<'a> Solver<'a> {
    pub fn new(
        plan: &'a Plan,
        store: &'a Store,
        snapshots: &'a SnapshotStore,
        sandbox: &'a dyn Sandbox,
        opts: &'a BuildOptions,
        progress: &'a dyn Progress,
        architecture: &str,
    ) -> Solver<'a> {
        Solver {
            plan,
            store,
            snapshots,
            sandbox,
            opts,
            progress,
            clock: BuildClock::new(opts.source_date_epoch),
            architecture: architecture.to_owned(),
            context: LazyContext::default(),
            board: Board::new(plan.stages.len()),
            used_args: Mutex::new(plan.used_args.clone()),
            next_step: AtomicUsize::new(1),
            images: Images::new(store, opts.pull, opts.puller.as_deref(), progress),
            remote: &NoRemoteCache,
            usage: CacheUsage::default(),
            bases: Mutex::new(BTreeMap::new()),
        }
    }

    /// Steps whose keys miss the store also ask `remote`.
    pub fn with_remote(mut self, remote: &'a dyn RemoteCache) -> Solver<'a> {
        self.remote = remote;
        self
    }

    /// The stages whose layers make the target's image: the target, then each stage it is
    /// built `FROM`.
    pub fn final_stages(&self) -> std::collections::BTreeSet<usize> {
        let mut out = std::collections::BTreeSet::new();
        let mut idx = self.plan.target;
        while out.insert(idx) {
            match &self.plan.bases[idx] {
                Base::Stage(j) => idx = *j,
                _ => break,
            }
        }
        out
    }

    /// The image the target's image is built on: the first image down its chain of `FROM`
    /// stages; `None` when that chain ends in `scratch`.
    pub fn target_base(&self) -> Option<BaseImage> {
        let bases = self.bases.lock().expect("bases lock poisoned");
        self.final_stages()
            .iter()
            .find_map(|idx| bases.get(idx).cloned())
    }

    /// Records the image stage `idx` was built on.
    fn record_base(&self, idx: usize, base: BaseImage) {
        let mut bases = self.bases.lock().expect("bases lock poisoned");
        bases.insert(idx, base);
    }

    /// Runs every stage the target needs; returns the target's result.
    pub fn run(&self) -> Result<Arc<StageResult>> {
        let plan = self.plan;
        run_plan(
            &plan.order,
            &plan.deps,
            self.opts.jobs,
            &self.board,
            |idx, _| stage::run_stage(self, idx),
        )?;
        Ok(self
            .board
            .result(plan.target)
            .expect("target stage finished"))
    }

    /// What the steps of a stage may use.
    pub fn env(&self) -> StepEnv<'_> {
        StepEnv {
            store: self.store,
            snapshots: self.snapshots,
            sandbox: self.sandbox,
            opts: self.opts,
            progress: self.progress,
            clock: &self.clock,
            context: &self.context,
            stages: self,
            architecture: &self.architecture,
            remote: self.remote,
            usage: &self.usage,
        }
    }

    /// The `--build-arg`s no ARG consumed.
    pub fn unused_args(&self) -> Vec<String> {
        let used = self.used_args.lock().expect("arg lock poisoned");
        self.opts
            .build_args
            .keys()
            .filter(|k| {
                !used.contains(*k) && !crate::plan::args::BUILTIN_ARGS.contains(&k.as_str())
            })
            .cloned()
            .collect()
    }
}

/// An image name the store does not know that is no valid reference either (`FROM Builder`
/// when the stage is `builder`, `FROM SCRATCH`): BuildKit's `failed to parse stage name`
/// (dockerfile2llb/convert.go), rather than "no such image".
fn bad_name(name: &str, e: &ImageError) -> Option<StageError> {
    if !matches!(e, ImageError::Missing | ImageError::PullForbidden) {
        return None;
    }
    let source = strata_oci::Reference::parse(name).err()?;
    Some(StageError::BadName {
        name: name.to_owned(),
        source,
    })
}

impl StageOutputs for Solver<'_> {
    fn source(&self, from: &str, current: usize) -> std::result::Result<Source, StepError> {
        match self.plan.resolve_from(from, current)? {
            // The plan orders every stage a step reads before it, except one named only by
            // an ONBUILD trigger of a base image (read after planning): deterministically
            // refused, even when another path happened to build it already.
            Base::Stage(j) => self
                .plan
                .depends_on(current, j)
                .then(|| self.board.result(j))
                .flatten()
                .map(Source::Stage)
                .ok_or_else(|| StepError::StageNotBuilt { from: from.into() }),
            Base::Image(name) => match self.images.get(&name) {
                Ok(image) => Ok(Source::Image(Box::new(image))),
                Err(source) => Err(bad_name(&name, &source)
                    .map_or(StepError::FromImage { name, source }, Into::into)),
            },
            Base::Scratch => Ok(Source::Scratch),
        }
    }
}
