//! COPY rules: DL3010 (an archive copied then extracted), DL3021 (several sources, dest not a
//! directory), DL3022/DL3023 (`--from` unknown or its own stage), DL3045 (relative dest
//! without WORKDIR), DL3067 (`/` copied from another stage onto `/`).

use std::collections::{BTreeSet, HashMap};

use strata_dockerfile::{CopyCommand, Instruction};

use super::run::script_of;
use super::stage::image_ref;
use crate::lint::shell::{split, SimpleCommand};
use crate::lint::Context;

/// Every COPY of every stage with its stage index and line.
fn copies<'a>(ctx: &'a Context) -> impl Iterator<Item = (usize, &'a CopyCommand, usize)> + 'a {
    ctx.stages.iter().enumerate().flat_map(|(i, s)| {
        s.commands.iter().filter_map(move |c| match &c.instruction {
            Instruction::Copy(copy) => Some((i, copy, c.location.start_line)),
            _ => None,
        })
    })
}

fn drop_quotes(s: &str) -> &str {
    s.trim_matches(|c| c == '"' || c == '\'')
}

/// DL3021: COPY of several sources to a dest without a trailing `/`.
pub fn many_sources_no_slash(ctx: &Context) -> Vec<usize> {
    copies(ctx)
        .filter(|(_, c, _)| {
            c.sources.len() + c.heredocs.len() > 1 && !drop_quotes(&c.dest).ends_with('/')
        })
        .map(|(_, _, l)| l)
        .collect()
}

/// DL3022: `COPY --from` naming neither an earlier stage (alias or index) nor an image
/// (hadolint counts a `:` as an image reference).
pub fn from_unknown_stage(ctx: &Context) -> Vec<usize> {
    copies(ctx)
        .filter(|(stage, c, _)| {
            let Some(from) = &c.from else {
                return false;
            };
            let from = drop_quotes(from);
            let known = ctx.stages[..=*stage]
                .iter()
                .any(|s| s.name.as_deref() == Some(&from.to_ascii_lowercase()));
            let index = from.parse::<usize>().is_ok_and(|i| i <= *stage);
            !from.contains(':') && !known && !index
        })
        .map(|(_, _, l)| l)
        .collect()
}

/// DL3023: `COPY --from` naming the stage it is in.
pub fn from_own_stage(ctx: &Context) -> Vec<usize> {
    copies(ctx)
        .filter(|(stage, c, _)| {
            let own = ctx.stages[*stage].name.as_deref();
            c.from
                .as_ref()
                .is_some_and(|f| own.is_some() && Some(f.to_ascii_lowercase().as_str()) == own)
        })
        .map(|(_, _, l)| l)
        .collect()
}

/// DL3067: `COPY --from=… / /`.
pub fn whole_filesystem(ctx: &Context) -> Vec<usize> {
    copies(ctx)
        .filter(|(_, c, _)| {
            c.from.is_some()
                && drop_quotes(&c.dest) == "/"
                && c.sources.iter().any(|s| drop_quotes(s) == "/")
        })
        .map(|(_, _, l)| l)
        .collect()
}

/// DL3045: COPY to a relative dest in a stage without WORKDIR (a stage built FROM a stage
/// with one inherits it, hadolint's way: by name).
pub fn relative_dest_without_workdir(ctx: &Context) -> Vec<usize> {
    let mut workdir: HashMap<String, bool> = HashMap::new();
    let mut out = Vec::new();
    for stage in ctx.stages {
        let base = image_ref(&stage.base_name).name.to_ascii_lowercase();
        let inherited = workdir.get(&base).copied().unwrap_or(false);
        let current = stage.name.clone().unwrap_or(base);
        workdir.insert(current.clone(), inherited);
        for c in &stage.commands {
            match &c.instruction {
                Instruction::Workdir(_) => {
                    workdir.insert(current.clone(), true);
                }
                Instruction::Copy(copy) if !workdir[&current] && is_relative(&copy.dest) => {
                    out.push(c.location.start_line);
                }
                _ => {}
            }
        }
    }
    out
}

fn is_relative(dest: &str) -> bool {
    let dest = drop_quotes(dest);
    let b = dest.as_bytes();
    let windows = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    !(dest.starts_with('/') || dest.starts_with('$') || windows)
}

// ---- DL3010 ----

/// hadolint's archive suffixes.
const ARCHIVES: [&str; 15] = [
    ".tar", ".Z", ".bz2", ".gz", ".lz", ".lzma", ".tZ", ".tb2", ".tbz", ".tbz2", ".tgz", ".tlz",
    ".tpz", ".txz", ".xz",
];

fn is_archive(name: &str) -> bool {
    ARCHIVES.iter().any(|a| drop_quotes(name).ends_with(a))
}

fn basename(path: &str) -> &str {
    let path = drop_quotes(path);
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// DL3010: a local archive COPYed, then extracted by a later RUN (`tar -x`, `unzip`,
/// `gunzip`, …), where `ADD` would have extracted it. As hadolint, only the last stage.
pub fn copied_archive_extracted(ctx: &Context) -> Vec<usize> {
    let Some(stage) = ctx.stages.last() else {
        return Vec::new();
    };
    let mut archives: Vec<(usize, String)> = Vec::new();
    let mut extracted = BTreeSet::new();
    for c in &stage.commands {
        match &c.instruction {
            Instruction::Copy(copy) if copy.from.is_none() => {
                let line = c.location.start_line;
                if is_archive(&copy.dest) {
                    archives.push((line, basename(&copy.dest).to_string()));
                } else {
                    let names = copy.sources.iter().filter(|s| is_archive(s));
                    archives.extend(names.map(|s| (line, basename(s).to_string())));
                }
            }
            Instruction::Run(run) => {
                let script = split(&script_of(run));
                for (line, name) in &archives {
                    if script.commands.iter().any(|cmd| extracts(cmd, name)) {
                        extracted.insert(*line);
                    }
                }
            }
            _ => {}
        }
    }
    extracted.into_iter().collect()
}

/// The decompressors hadolint knows besides `tar -x`.
const UNPACKERS: [&str; 9] = [
    "unzip",
    "gunzip",
    "bunzip2",
    "unlzma",
    "unxz",
    "zgz",
    "uncompress",
    "zcat",
    "gzcat",
];

fn extracts(cmd: &SimpleCommand, archive: &str) -> bool {
    let args = cmd.args();
    let tar_x = cmd.name() == Some("tar")
        && args
            .iter()
            .any(|a| a == "--extract" || a == "--get" || (a.starts_with('-') && a.contains('x')));
    let unpack = cmd.name().is_some_and(|n| UNPACKERS.contains(&n));
    (tar_x || unpack)
        && args
            .iter()
            .filter(|a| !a.starts_with('-'))
            .any(|a| basename(a) == archive)
}
