//! Rules on single instructions: DL3002, DL3020, DL3025, DL4000.

use crate::lint::Context;
use strata_dockerfile::Instruction;

/// Every instruction of every stage with its line.
fn all<'a>(ctx: &'a Context) -> impl Iterator<Item = (&'a Instruction, usize)> + 'a {
    ctx.stages
        .iter()
        .flat_map(|s| &s.commands)
        .map(|c| (&c.instruction, c.location.start_line))
}

/// DL3002: the last USER of a stage is root (hadolint checks every stage).
pub fn last_user_root(ctx: &Context) -> Vec<usize> {
    ctx.stages
        .iter()
        .filter_map(|stage| {
            stage
                .commands
                .iter()
                .rev()
                .find_map(|c| match &c.instruction {
                    Instruction::User(u) => Some((u.as_str(), c.location.start_line)),
                    _ => None,
                })
        })
        .filter(|(u, _)| is_root(u))
        .map(|(_, line)| line)
        .collect()
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user);
    name == "root" || name == "0"
}

/// DL4000: MAINTAINER.
pub fn maintainer(ctx: &Context) -> Vec<usize> {
    all(ctx)
        .filter(|(i, _)| matches!(i, Instruction::Maintainer(_)))
        .map(|(_, l)| l)
        .collect()
}

/// DL3025: CMD, ENTRYPOINT or `HEALTHCHECK CMD` in shell form.
pub fn cmd_not_json(ctx: &Context) -> Vec<usize> {
    all(ctx)
        .filter(|(i, _)| match i {
            Instruction::Cmd(c) | Instruction::Entrypoint(c) => c.prepend_shell,
            Instruction::Healthcheck(h) => h.test.first().is_some_and(|t| t == "CMD-SHELL"),
            _ => false,
        })
        .map(|(_, l)| l)
        .collect()
}

/// DL3020: ADD of a source that is neither a URL nor an archive.
pub fn add_local(ctx: &Context) -> Vec<usize> {
    all(ctx)
        .filter(|(i, _)| match i {
            Instruction::Add(a) => {
                a.heredocs.is_empty() && a.sources.iter().any(|s| is_plain_file(s))
            }
            _ => false,
        })
        .map(|(_, l)| l)
        .collect()
}

/// Archive suffixes ADD unpacks (hadolint's list, compressed single files included).
const ARCHIVES: [&str; 17] = [
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tb2", ".tar.xz", ".txz", ".tar.lz",
    ".tar.zst", ".gz", ".bz2", ".xz", ".zst", ".lz", ".lzma",
];

fn is_plain_file(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    let url = ["http://", "https://", "git@", "git://"]
        .iter()
        .any(|p| lower.starts_with(p));
    let archive = ARCHIVES.iter().any(|a| lower.ends_with(a));
    !url && !archive
}

/// DL3000: a WORKDIR that is not absolute (variables and Windows drives allowed).
pub fn workdir_relative(ctx: &Context) -> Vec<usize> {
    all(ctx)
        .filter(|(i, _)| match i {
            Instruction::Workdir(dir) => !is_absolute(dir.trim_matches(|c| c == '"' || c == '\'')),
            _ => false,
        })
        .map(|(_, l)| l)
        .collect()
}

fn is_absolute(dir: &str) -> bool {
    let b = dir.as_bytes();
    let drive =
        b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'/' | b'\\');
    dir.starts_with('/') || dir.starts_with('$') || drive
}

/// DL4003: a second CMD in a stage (only the last one counts).
pub fn multiple_cmd(ctx: &Context) -> Vec<usize> {
    repeated(ctx, |i| matches!(i, Instruction::Cmd(_)))
}

/// DL4004: a second ENTRYPOINT in a stage (only the last one counts).
pub fn multiple_entrypoint(ctx: &Context) -> Vec<usize> {
    repeated(ctx, |i| matches!(i, Instruction::Entrypoint(_)))
}

/// The lines of every instruction matching `pred` after the first in its stage.
fn repeated(ctx: &Context, pred: impl Fn(&Instruction) -> bool) -> Vec<usize> {
    ctx.stages
        .iter()
        .flat_map(|s| {
            s.commands
                .iter()
                .filter(|c| pred(&c.instruction))
                .skip(1)
                .map(|c| c.location.start_line)
        })
        .collect()
}

/// DL3024: a FROM alias already used by an earlier stage.
pub fn duplicate_alias(ctx: &Context) -> Vec<usize> {
    ctx.stages
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            s.name
                .as_ref()
                .is_some_and(|n| ctx.stages[..*i].iter().any(|e| e.name.as_ref() == Some(n)))
        })
        .map(|(_, s)| s.location.start_line)
        .collect()
}
