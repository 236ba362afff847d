//! Build progress on stderr: a live list of steps on a terminal (like buildx), numbered lines
//! for CI logs (`--progress=plain`), or nothing (`-q`).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use strata_build::{Event, Progress, StepName};

use crate::cli::ProgressKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tty,
    Plain,
    Quiet,
}

impl Mode {
    /// What `--progress` and `-q` ask for: `auto` is live on a terminal, plain lines
    /// otherwise; `-q` wins.
    pub fn of(kind: ProgressKind, quiet: bool) -> Mode {
        if quiet {
            return Mode::Quiet;
        }
        match kind {
            ProgressKind::Auto if std::io::stderr().is_terminal() => Mode::Tty,
            ProgressKind::Auto | ProgressKind::Plain => Mode::Plain,
            ProgressKind::Tty => Mode::Tty,
            ProgressKind::Quiet => Mode::Quiet,
        }
    }
}

pub struct Display {
    mode: Mode,
    multi: MultiProgress,
    bars: Mutex<HashMap<usize, ProgressBar>>,
}

impl Display {
    pub fn new(mode: Mode) -> Display {
        let multi = MultiProgress::with_draw_target(match mode {
            Mode::Tty => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        });
        Display {
            mode,
            multi,
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// Stops drawing; the lines of finished steps stay on screen, as buildx leaves them.
    pub fn finish(&self) {
        for (_, bar) in self.bars.lock().expect("progress lock poisoned").drain() {
            bar.finish_and_clear();
        }
    }

    /// A finished step becomes a permanent line above the spinners of the running ones.
    fn settle(&self, bar: Option<ProgressBar>, line: String) {
        if let Some(bar) = bar {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let _ = self.multi.println(line);
    }

    fn tty(&self, event: Event) {
        let mut bars = self.bars.lock().expect("progress lock poisoned");
        match event {
            Event::Started(s) => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {elapsed:>4}")
                        .expect("valid template"),
                );
                bar.set_message(title(&s));
                bar.enable_steady_tick(Duration::from_millis(100));
                bars.insert(s.id, bar);
            }
            Event::Cached(s) => self.settle(bars.remove(&s.id), format!("=> CACHED {}", title(&s))),
            Event::Done { step, elapsed } => self.settle(
                bars.remove(&step.id),
                format!("=> {} {:.1}s", title(&step), elapsed.as_secs_f64()),
            ),
            Event::Failed { step, elapsed } => self.settle(
                bars.remove(&step.id),
                format!("=> ERROR {} {:.1}s", title(&step), elapsed.as_secs_f64()),
            ),
            Event::Log { id, line } => {
                if let Some(bar) = bars.get(&id) {
                    bar.println(format!("#{id} {line}"));
                }
            }
            Event::Message(m) => self.multi.println(format!("=> {m}")).unwrap_or(()),
            Event::Warning(w) => self.multi.println(format!("WARNING: {w}")).unwrap_or(()),
        }
    }
}

fn title(s: &StepName) -> String {
    format!("{} {}", s.prefix, s.text)
}

fn plain(event: Event) {
    match event {
        Event::Started(s) => eprintln!("#{} {}", s.id, title(&s)),
        Event::Cached(s) => eprintln!("#{} CACHED", s.id),
        Event::Done { step, elapsed } => {
            eprintln!("#{} DONE {:.1}s", step.id, elapsed.as_secs_f64())
        }
        Event::Failed { step, elapsed } => {
            eprintln!("#{} ERROR {:.1}s", step.id, elapsed.as_secs_f64())
        }
        Event::Log { id, line } => eprintln!("#{id} {line}"),
        Event::Message(m) => eprintln!("=> {m}"),
        Event::Warning(w) => eprintln!("WARNING: {w}"),
    }
}

impl Progress for Display {
    fn event(&self, event: Event) {
        match self.mode {
            Mode::Tty => self.tty(event),
            Mode::Plain => plain(event),
            Mode::Quiet => {}
        }
    }
}
