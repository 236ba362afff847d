//! Pull, push and copy progress on stderr: a bar per blob on a terminal (bytes, rate), as
//! docker draws them; plain lines in docker's (pull, push) or skopeo's (copy) words
//! otherwise; nothing with `-q`. Build progress is `progress.rs`.

use std::collections::HashMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use strata_client::image::{BlobKind, BlobOutcome, Phase, TransferProgress};
use strata_oci::Digest;

pub use crate::progress::Mode;

/// Which verb's words to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Pull,
    Push,
    Copy,
}

pub struct TransferDisplay {
    mode: Mode,
    verb: Verb,
    multi: MultiProgress,
    bars: Mutex<HashMap<Digest, ProgressBar>>,
}

impl TransferDisplay {
    pub fn new(mode: Mode, verb: Verb) -> TransferDisplay {
        let multi = MultiProgress::with_draw_target(match mode {
            Mode::Tty => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        });
        TransferDisplay {
            mode,
            verb,
            multi,
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// A line of status (not per blob), above the bars on a terminal.
    pub fn line(&self, text: impl std::fmt::Display) {
        match self.mode {
            // indicatif draws nothing when stderr is not a terminal: lines still show.
            Mode::Tty if !self.multi.is_hidden() => {
                self.multi.println(text.to_string()).unwrap_or(())
            }
            Mode::Tty => eprintln!("{text}"),
            Mode::Plain => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    /// Clears bars still drawn (after a failure).
    pub fn finish(&self) {
        for (_, bar) in self.bars.lock().expect("progress lock poisoned").drain() {
            bar.finish_and_clear();
        }
    }

    /// Whether a blob gets lines: docker shows layers only; skopeo shows configs too.
    fn shown(&self, kind: BlobKind) -> bool {
        kind == BlobKind::Layer || self.verb == Verb::Copy
    }

    fn done_text(&self, digest: &Digest, kind: BlobKind, outcome: &BlobOutcome) -> String {
        let short = &digest.hex()[..12];
        match self.verb {
            Verb::Pull => match outcome {
                BlobOutcome::Exists => format!("{short}: Already exists"),
                _ => format!("{short}: Pull complete"),
            },
            Verb::Push => match outcome {
                BlobOutcome::Exists => format!("{short}: Layer already exists"),
                BlobOutcome::Mounted { from } => format!("{short}: Mounted from {from}"),
                _ => format!("{short}: Pushed"),
            },
            Verb::Copy => {
                let what = match kind {
                    BlobKind::Config => "config",
                    BlobKind::Layer => "blob",
                };
                match outcome {
                    BlobOutcome::Exists => {
                        format!("Copying {what} {digest} skipped: already exists")
                    }
                    BlobOutcome::Mounted { from } => {
                        format!("Copying {what} {digest} mounted from {from}")
                    }
                    _ => format!("Copying {what} {digest} done"),
                }
            }
        }
    }

    fn new_bar(&self, digest: &Digest, size: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix}: {msg:<11} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(digest.hex()[..12].to_owned());
        bar.set_message("Waiting");
        bar
    }
}

impl TransferProgress for TransferDisplay {
    fn blob_start(&self, digest: &Digest, size: u64, kind: BlobKind) {
        if self.mode == Mode::Tty && self.shown(kind) {
            let bar = self.new_bar(digest, size);
            self.bars
                .lock()
                .expect("progress lock poisoned")
                .insert(digest.clone(), bar);
        }
    }

    fn blob_bytes(&self, digest: &Digest, phase: Phase, done: u64) {
        let bars = self.bars.lock().expect("progress lock poisoned");
        if let Some(bar) = bars.get(digest) {
            let msg = match phase {
                Phase::Download => "Downloading",
                Phase::Upload => "Pushing",
            };
            if bar.message() != msg {
                bar.set_message(msg);
            }
            bar.set_position(done);
        }
    }

    fn blob_done(&self, digest: &Digest, kind: BlobKind, outcome: &BlobOutcome) {
        if !self.shown(kind) {
            return;
        }
        let text = self.done_text(digest, kind, outcome);
        let bar = self
            .bars
            .lock()
            .expect("progress lock poisoned")
            .remove(digest);
        if let Some(bar) = bar {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.line(text);
    }

    fn note(&self, message: &str) {
        self.line(message);
    }
}
