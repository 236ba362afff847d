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

/// DL3025: CMD or ENTRYPOINT in shell form.
pub fn cmd_not_json(ctx: &Context) -> Vec<usize> {
    all(ctx)
        .filter(|(i, _)| match i {
            Instruction::Cmd(c) | Instruction::Entrypoint(c) => c.prepend_shell,
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
