//! A sandbox for unit tests: overlay mounts are recorded by the snapshot crate's recording
//! mounter instead of being made, and the "process" is a script that writes its changes into
//! the root's upper dir — what a real command's writes through the overlay would leave there.

use std::path::Path;
use std::sync::{Arc, Mutex};

use strata_executor::{RunOutcome, RunSpec, Stream};
use strata_snapshot::{ActiveMount, MountCall, Mounter, RecordingMounter};

use super::sandbox::Sandbox;

/// What the script of a fake run gets: the spec, the upper dir, and the output sink.
pub type Script = dyn Fn(&RunSpec, &Path, &mut dyn FnMut(Stream, &[u8])) -> Result<i32, strata_executor::Error>
    + Send
    + Sync;

/// Records every run and answers it with a script.
pub struct FakeSandbox {
    mounter: Arc<RecordingMounter>,
    script: Box<Script>,
    runs: Mutex<Vec<RunSpec>>,
}

impl FakeSandbox {
    /// A sandbox whose runs call `script` (which returns the exit code).
    pub fn new(
        script: impl Fn(
                &RunSpec,
                &Path,
                &mut dyn FnMut(Stream, &[u8]),
            ) -> Result<i32, strata_executor::Error>
            + Send
            + Sync
            + 'static,
    ) -> FakeSandbox {
        FakeSandbox {
            mounter: Arc::new(RecordingMounter::new()),
            script: Box::new(script),
            runs: Mutex::new(Vec::new()),
        }
    }

    /// The specs of every run so far, in order.
    pub fn runs(&self) -> Vec<RunSpec> {
        self.runs.lock().unwrap().clone()
    }

    /// Every mount and unmount so far, in order.
    pub fn mount_calls(&self) -> Vec<MountCall> {
        self.mounter.calls()
    }
}

impl Sandbox for FakeSandbox {
    fn mounter(&self) -> Arc<dyn Mounter> {
        self.mounter.clone()
    }

    fn run(
        &self,
        root: &ActiveMount,
        spec: &RunSpec,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<RunOutcome, strata_executor::Error> {
        assert_eq!(
            spec.rootfs,
            root.rootfs(),
            "the spec runs in the mounted root"
        );
        self.runs.lock().unwrap().push(spec.clone());
        let exit_code = (self.script)(spec, &root.upper(), output)?;
        Ok(RunOutcome {
            exit_code,
            created_mountpoints: Vec::new(),
        })
    }
}
