//! The scheduler: runs the planned stages ([`crate::plan::graph`]), each on its own thread
//! as soon as its dependencies are done, at most `--jobs` at a time; a stage used by several
//! others is built once. The first failure cancels stages not yet started.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::error::{BuildError, Result};
use crate::state::StageResult;

/// Results of stages, filled in as they finish.
pub struct Board {
    slots: Mutex<Vec<Option<Arc<StageResult>>>>,
    changed: Condvar,
    running: AtomicUsize,
    pub cancelled: AtomicBool,
    first_error: Mutex<Option<BuildError>>,
}

impl Board {
    pub fn new(stages: usize) -> Board {
        Board {
            slots: Mutex::new(vec![None; stages]),
            changed: Condvar::new(),
            running: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            first_error: Mutex::new(None),
        }
    }

    /// Blocks until every stage in `deps` is done and a job slot is free; `None` when the
    /// build was cancelled meanwhile.
    pub fn wait_ready(&self, deps: &[usize], jobs: usize) -> Option<Vec<Arc<StageResult>>> {
        let mut slots = self.slots.lock().expect("board poisoned");
        loop {
            if self.cancelled.load(Ordering::SeqCst) {
                return None;
            }
            let ready = deps.iter().all(|&d| slots[d].is_some());
            if ready && self.running.load(Ordering::SeqCst) < jobs.max(1) {
                self.running.fetch_add(1, Ordering::SeqCst);
                return Some(
                    deps.iter()
                        .map(|&d| slots[d].clone().expect("checked above"))
                        .collect(),
                );
            }
            slots = self.changed.wait(slots).expect("board poisoned");
        }
    }

    pub fn finish(&self, stage: usize, result: Result<StageResult>) {
        let mut slots = self.slots.lock().expect("board poisoned");
        self.running.fetch_sub(1, Ordering::SeqCst);
        match result {
            Ok(r) => slots[stage] = Some(Arc::new(r)),
            Err(e) => {
                self.cancelled.store(true, Ordering::SeqCst);
                let mut first = self.first_error.lock().expect("board poisoned");
                if first.is_none() || matches!(*first, Some(BuildError::Interrupted)) {
                    *first = Some(e);
                }
            }
        }
        self.changed.notify_all();
    }

    pub fn result(&self, stage: usize) -> Option<Arc<StageResult>> {
        self.slots.lock().expect("board poisoned")[stage].clone()
    }

    pub fn take_error(&self) -> Option<BuildError> {
        self.first_error.lock().expect("board poisoned").take()
    }
}

/// Runs `plan` on scoped threads with `run(stage, dep_results)`.
pub fn run_plan<F>(
    order: &[usize],
    deps: &[Vec<usize>],
    jobs: usize,
    board: &Board,
    run: F,
) -> Result<()>
where
    F: Fn(usize, &[Arc<StageResult>]) -> Result<StageResult> + Sync,
{
    std::thread::scope(|s| {
        for &stage in order {
            let run = &run;
            let my_deps: Vec<usize> = deps[stage]
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            s.spawn(move || {
                let Some(inputs) = board.wait_ready(&my_deps, jobs) else {
                    return;
                };
                let dep_results: Vec<Arc<StageResult>> = inputs;
                let result = run(stage, &dep_results);
                board.finish(stage, result);
            });
        }
    });
    match board.take_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::state::ImageState;
    use strata_oci::Digest;

    #[test]
    fn independent_stages_overlap_and_shared_stage_runs_once() {
        let deps = vec![vec![], vec![0], vec![0], vec![1, 2]];
        let board = Board::new(4);
        let runs = AtomicUsize::new(0);
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        run_plan(&[0, 1, 2, 3], &deps, 2, &board, |_, _| {
            runs.fetch_add(1, Ordering::SeqCst);
            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            live.fetch_sub(1, Ordering::SeqCst);
            Ok(StageResult {
                state: ImageState::scratch("amd64"),
                key: Digest::of(b""),
                scope: Default::default(),
            })
        })
        .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_failure_cancels_waiting_stages() {
        let deps = vec![vec![], vec![0]];
        let board = Board::new(2);
        let ran = AtomicUsize::new(0);
        let err = run_plan(&[0, 1], &deps, 2, &board, |s, _| {
            ran.fetch_add(1, Ordering::SeqCst);
            if s == 0 {
                Err(BuildError::UnknownTarget { target: "x".into() })
            } else {
                Ok(StageResult {
                    state: ImageState::scratch("amd64"),
                    key: Digest::of(b""),
                    scope: Default::default(),
                })
            }
        })
        .unwrap_err();
        assert!(matches!(err, BuildError::UnknownTarget { .. }));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
