//! A process-wide registry of things to undo (containers, overlay mounts, temp
//! dirs) so that an error, a panic or SIGINT/SIGTERM leaves nothing behind.
//!
//! Each resource registers an action and holds the returned [`CleanupGuard`]; the
//! guard runs the action when dropped (or explicitly with [`CleanupGuard::run`]).
//! [`install_signal_cleanup`] starts a thread that, on SIGINT or SIGTERM, runs every
//! registered action newest first and exits with 130 or 143.
//!
//! The registry lives here, in `strata-snapshot`, so both this crate (mounts) and
//! `strata-executor` (containers) can use it without a dependency cycle.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use tracing::{debug, info};

use crate::error::{Error, Result};

type Action = Box<dyn FnOnce() + Send>;

/// The signal being handled (0 while none): once set, the signal thread owns the teardown
/// and the exit of the process.
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// The signal (SIGINT/SIGTERM) whose cleanup is under way, if any.
pub fn interrupted() -> Option<i32> {
    match INTERRUPTED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// Called by a thread that must not go on once a signal's cleanup has started (it would
/// report a failure the user did not cause, or exit before the teardown is done): it waits
/// for the signal thread to end the process.
pub fn yield_to_signal_cleanup() {
    if interrupted().is_some() {
        loop {
            std::thread::park();
        }
    }
}

#[derive(Default)]
struct Inner {
    next: AtomicU64,
    actions: Mutex<BTreeMap<u64, (String, Action)>>,
    in_flight: Mutex<usize>,
    idle: Condvar,
}

/// A registry of cleanup actions. Cheap to clone; clones share the actions.
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("pending", &self.labels())
            .finish()
    }
}

impl Registry {
    /// A new, empty registry (tests; real code uses [`Registry::global`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide registry that the signal handler drains.
    pub fn global() -> Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new).clone()
    }

    /// Registers `action`; it runs exactly once: when the guard is dropped or run,
    /// or when [`Registry::run_all`] drains the registry, whichever comes first.
    pub fn register(
        &self,
        label: impl Into<String>,
        action: impl FnOnce() + Send + 'static,
    ) -> CleanupGuard {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let label = label.into();
        debug!(id, %label, "registered cleanup");
        self.inner
            .actions
            .lock()
            .unwrap()
            .insert(id, (label, Box::new(action)));
        CleanupGuard {
            registry: self.clone(),
            id: Some(id),
        }
    }

    /// Labels of the pending actions, oldest first.
    pub fn labels(&self) -> Vec<String> {
        self.inner
            .actions
            .lock()
            .unwrap()
            .values()
            .map(|(l, _)| l.clone())
            .collect()
    }

    /// Runs every pending action, newest first, then waits (up to `wait`) for
    /// actions that guards are running concurrently.
    pub fn run_all(&self, wait: Duration) {
        while let Some(id) = self.newest() {
            self.run_one(id);
        }
        let in_flight = self.inner.in_flight.lock().unwrap();
        let _ = self
            .inner
            .idle
            .wait_timeout_while(in_flight, wait, |n| *n > 0)
            .unwrap();
    }

    fn newest(&self) -> Option<u64> {
        self.inner
            .actions
            .lock()
            .unwrap()
            .keys()
            .next_back()
            .copied()
    }

    fn take(&self, id: u64) -> Option<(String, Action)> {
        let taken = self.inner.actions.lock().unwrap().remove(&id);
        if taken.is_some() {
            *self.inner.in_flight.lock().unwrap() += 1;
        }
        taken
    }

    fn run_one(&self, id: u64) {
        let Some((label, action)) = self.take(id) else {
            // Another thread runs it: during a signal's teardown, wait for the exit.
            yield_to_signal_cleanup();
            return;
        };
        debug!(id, %label, "running cleanup");
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(action));
        let mut n = self.inner.in_flight.lock().unwrap();
        *n -= 1;
        self.inner.idle.notify_all();
    }

    fn forget(&self, id: u64) {
        self.inner.actions.lock().unwrap().remove(&id);
    }
}

/// Runs its registered action when dropped, unless disarmed.
#[must_use = "dropping the guard runs the cleanup at once"]
pub struct CleanupGuard {
    registry: Registry,
    id: Option<u64>,
}

impl std::fmt::Debug for CleanupGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanupGuard")
            .field("id", &self.id)
            .finish()
    }
}

impl CleanupGuard {
    /// Runs the action now (no-op if the registry already ran it).
    pub fn run(mut self) {
        if let Some(id) = self.id.take() {
            self.registry.run_one(id);
        }
    }

    /// Removes the action without running it (the resource was handed on).
    pub fn disarm(mut self) {
        if let Some(id) = self.id.take() {
            self.registry.forget(id);
        }
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.registry.run_one(id);
        }
    }
}

/// Starts (once per process) a thread that, on SIGINT or SIGTERM, drains
/// [`Registry::global`] and exits with 128 + the signal number (130, 143).
pub fn install_signal_cleanup() -> Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(Error::Signals)?;
    let _ = INSTALLED.set(());
    std::thread::Builder::new()
        .name("strata-signal-cleanup".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                info!(signal = sig, "interrupted, cleaning up");
                INTERRUPTED.store(sig, Ordering::SeqCst);
                Registry::global().run_all(Duration::from_secs(10));
                std::process::exit(128 + sig);
            }
        })
        .map_err(Error::Signals)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn guard_drop_runs_action_once() {
        let reg = Registry::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let guard = reg.register("a", move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(reg.labels(), vec!["a".to_string()]);
        drop(guard);
        reg.run_all(Duration::ZERO);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert!(reg.labels().is_empty());
    }

    #[test]
    fn run_all_runs_newest_first_and_guards_become_noops() {
        let reg = Registry::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let guards: Vec<_> = ["mount", "container"]
            .into_iter()
            .map(|name| {
                let o = order.clone();
                reg.register(name, move || o.lock().unwrap().push(name))
            })
            .collect();
        reg.run_all(Duration::ZERO);
        drop(guards);
        assert_eq!(*order.lock().unwrap(), vec!["container", "mount"]);
    }

    #[test]
    fn disarmed_guard_never_runs() {
        let reg = Registry::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        reg.register("x", move || {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .disarm();
        reg.run_all(Duration::ZERO);
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn panicking_action_does_not_stop_the_others() {
        let reg = Registry::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let _a = reg.register("ok", move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let _b = reg.register("boom", || panic!("boom"));
        reg.run_all(Duration::ZERO);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
