//! Rules on the nodes as written, before they become stages: DL3061 (an instruction before
//! the first FROM), DL3043 (ONBUILD ONBUILD/FROM/MAINTAINER) and DL1001 (inline ignore
//! pragmas). BuildKit refuses the first two; hadolint reports them and lints the rest, so
//! [`buildable`] leaves those nodes out of the typed parse.

use strata_dockerfile::{parse_command, Command, Dockerfile, Node};

use crate::lint::ignore::parse_pragma;
use crate::lint::Context;

/// ONBUILD triggers BuildKit refuses.
const FORBIDDEN_TRIGGERS: [&str; 3] = ["onbuild", "from", "maintainer"];

/// `df` without the nodes DL3061 and DL3043 report.
pub(crate) fn buildable(df: &Dockerfile) -> Dockerfile {
    let mut out = df.clone();
    let early = early_lines(df);
    out.children
        .retain(|n| !early.contains(&n.start_line) && !forbidden_trigger(n));
    out
}

/// The lines of instructions other than ARG before the first FROM.
fn early_lines(df: &Dockerfile) -> Vec<usize> {
    df.children
        .iter()
        .take_while(|n| n.value != "from")
        .filter(|n| n.value != "arg")
        .map(|n| n.start_line)
        .collect()
}

fn forbidden_trigger(node: &Node) -> bool {
    node.value == "onbuild"
        && node
            .sub
            .as_ref()
            .is_some_and(|sub| FORBIDDEN_TRIGGERS.contains(&sub.value.as_str()))
}

/// DL3061: an instruction other than ARG before the first FROM.
pub fn before_from(ctx: &Context) -> Vec<usize> {
    early_lines(ctx.dockerfile)
}

/// DL3043: ONBUILD whose trigger is ONBUILD, FROM or MAINTAINER.
pub fn bad_onbuild_trigger(ctx: &Context) -> Vec<usize> {
    ctx.dockerfile
        .children
        .iter()
        .filter(|n| forbidden_trigger(n))
        .map(|n| n.start_line)
        .collect()
}

/// DL1001 (off unless overridden): a `# hadolint ignore=…` comment.
pub fn ignore_pragma(ctx: &Context) -> Vec<usize> {
    ctx.src
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let comment = line.trim_start().strip_prefix('#')?;
            (!parse_pragma(comment).is_empty()).then_some(i + 1)
        })
        .collect()
}

/// The typed triggers of the ONBUILD instructions, with the ONBUILD line (hadolint checks
/// some rules on triggers too). Triggers that do not parse are left out.
pub(crate) fn onbuild_triggers(ctx: &Context) -> Vec<(usize, Command)> {
    ctx.dockerfile
        .children
        .iter()
        .filter(|n| n.value == "onbuild" && !forbidden_trigger(n))
        .filter_map(|n| {
            let sub = n.sub.as_ref()?;
            let cmd = parse_command(ctx.dockerfile, sub).ok()?;
            Some((n.start_line, cmd))
        })
        .collect()
}
