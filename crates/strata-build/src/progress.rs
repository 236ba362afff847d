//! Build progress events. The builder reports; the binary decides how to show them.

use std::time::Duration;

/// One step of the build as the progress display names it: `[stage 2/5] COPY . /app`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepName {
    /// A build-wide unique id, in the order steps were planned.
    pub id: usize,
    /// `[stage-name 2/5]` or `[internal]`.
    pub prefix: String,
    /// The instruction as written (secrets are never part of an instruction).
    pub text: String,
}

/// What happened to a step.
#[derive(Debug, Clone)]
pub enum Event {
    Started(StepName),
    Cached(StepName),
    Log {
        id: usize,
        line: String,
    },
    Done {
        step: StepName,
        elapsed: Duration,
    },
    Failed {
        step: StepName,
        elapsed: Duration,
    },
    /// A message about the whole build (`writing image sha256:…`).
    Message(String),
    Warning(String),
}

/// Receives progress events from any build thread.
pub trait Progress: Send + Sync {
    fn event(&self, event: Event);
}

/// Progress that goes nowhere (tests, `-q`).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event) {}
}
