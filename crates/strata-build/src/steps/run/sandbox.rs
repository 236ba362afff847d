//! The seam RUN runs through: a writable root mounted over the stage's snapshots (an overlay,
//! through the sandbox's [`Mounter`]) and a process run in it, whose changes land in the
//! root's upper dir. [`RuncSandbox`] is the real one (mount(2) and an OCI runtime); tests use
//! a fake that records the process spec and scripts changes into the upper dir, so RUN's
//! logic (mount preparation, env, cache keys, diff, teardown order) is tested without root.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use strata_executor::{Executor, RunOutcome, RunSpec, Runtime, Stream};
use strata_snapshot::{ActiveMount, LinuxMounter, Mounter};

/// Where RUN steps run.
pub trait Sandbox: Send + Sync {
    /// The mounter the build's snapshot store mounts writable roots with
    /// ([`strata_snapshot::SnapshotStore::mount_rw`]).
    fn mounter(&self) -> Arc<dyn Mounter>;

    /// Runs `spec` (its `rootfs` is `root.rootfs()`) to completion, streaming its output.
    /// The process's changes are in `root.upper()` afterwards. A non-zero exit is `Ok`;
    /// failing to start the process is an error.
    fn run(
        &self,
        root: &ActiveMount,
        spec: &RunSpec,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<RunOutcome, strata_executor::Error>;
}

/// Real overlay mounts and an OCI runtime (runc or crun, detected on first use, or the one
/// `--runtime` names), keeping its state under the store's `executor/` dir.
#[derive(Debug)]
pub struct RuncSandbox {
    preferred: Option<String>,
    state_dir: PathBuf,
    executor: Mutex<Option<Executor>>,
}

impl RuncSandbox {
    /// A sandbox whose runtime state lives in `state_dir`; `runtime` as `--runtime` gives it.
    pub fn new(state_dir: &Path, runtime: Option<String>) -> RuncSandbox {
        RuncSandbox {
            preferred: runtime,
            state_dir: state_dir.to_path_buf(),
            executor: Mutex::new(None),
        }
    }

    /// The executor, detecting (probing) the runtime on first use.
    fn executor(&self) -> Result<Executor, strata_executor::Error> {
        let mut slot = self.executor.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = slot.as_ref() {
            return Ok(e.clone());
        }
        let runtime = Runtime::detect(self.preferred.as_deref())?;
        tracing::debug!(runtime = %runtime.path.display(), "using OCI runtime");
        let executor = Executor::new(runtime, &self.state_dir)?;
        *slot = Some(executor.clone());
        Ok(executor)
    }
}

impl Sandbox for RuncSandbox {
    fn mounter(&self) -> Arc<dyn Mounter> {
        Arc::new(LinuxMounter)
    }

    fn run(
        &self,
        _root: &ActiveMount,
        spec: &RunSpec,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<RunOutcome, strata_executor::Error> {
        self.executor()?.run(spec, output)
    }
}
