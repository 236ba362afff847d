//! RUN rules on commands other than package managers: pointless commands in a container
//! (DL3001), `wget` without a progress setting (DL3047), `wget` and `curl` both in a stage
//! (DL4001).

use super::flags::{has_any_flag, is};
use super::run::{lines_where, runs, Run};
use crate::lint::Context;

/// The commands DL3001 reports. hadolint's message also names `ifconfig`, but its check
/// does not include it; strata follows the check.
const POINTLESS: [&str; 9] = [
    "free", "kill", "mount", "ps", "service", "shutdown", "ssh", "top", "vim",
];

/// DL3001: a command that makes no sense in a container build (`ssh`, `vim`, `service`, …).
pub fn pointless(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| c.name().is_some_and(|n| POINTLESS.contains(&n)))
}

/// DL3047: `wget` without `--progress` and without `-q`/`--quiet`, `-nv`/`--no-verbose`,
/// `-o`/`--output-file` or `-a`/`--append-output` (which keep the log short).
pub fn wget_progress(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        c.name() == Some("wget")
            && !has_any_flag(c, &["progress", "q", "quiet", "o", "output-file"])
            && !has_any_flag(c, &["a", "append-output", "no-verbose"])
            && !is(c, "wget", &["-nv"])
    })
}

/// DL4001: a RUN using `wget` or `curl` when the stage (up to and including it) uses both.
/// `ONBUILD RUN` triggers are one stream of their own, as in hadolint.
pub fn wget_and_curl(ctx: &Context) -> Vec<usize> {
    let runs = runs(ctx);
    let (triggers, plain): (Vec<&Run>, Vec<&Run>) = runs.iter().partition(|r| r.onbuild);
    let mut out = both_tools(&triggers, |_| 0);
    out.extend(both_tools(&plain, |r| r.stage));
    out.sort_unstable();
    out
}

/// The lines of runs that use `curl` or `wget` once the group (`group_of`) has seen both.
fn both_tools(runs: &[&Run], group_of: impl Fn(&Run) -> usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut group = None;
    let (mut curl, mut wget) = (false, false);
    for r in runs {
        if group != Some(group_of(r)) {
            group = Some(group_of(r));
            (curl, wget) = (false, false);
        }
        let uses = |tool: &str| r.script.commands.iter().any(|c| c.name() == Some(tool));
        let (uses_curl, uses_wget) = (uses("curl"), uses("wget"));
        curl |= uses_curl;
        wget |= uses_wget;
        if (uses_curl || uses_wget) && curl && wget {
            out.push(r.line);
        }
    }
    out
}
