//! The checks BuildKit runs while parsing (`instructions/parse.go`, `validateStageNames`,
//! `validateCommandCasing`, the parser's empty-continuation warnings).

use strata_dockerfile::{Instruction, Stage};

use crate::lint::Context;

/// FROM's arguments as written (flags left out): `image [AS name]`.
fn from_args(stage: &Stage) -> Vec<&str> {
    stage
        .location
        .original
        .split_whitespace()
        .skip(1)
        .filter(|w| !w.starts_with("--"))
        .collect()
}

/// The keyword as written (`From`, `copy`).
fn keyword(original: &str) -> &str {
    original.split_whitespace().next().unwrap_or("")
}

/// StageNameCasing: `AS Name` not lower case.
pub fn stage_name_casing(ctx: &Context) -> Vec<(usize, String)> {
    ctx.stages
        .iter()
        .filter_map(|s| {
            let args = from_args(s);
            let name = *args.get(2).filter(|_| args.len() == 3)?;
            (name != name.to_lowercase()).then(|| {
                let msg = format!("Stage name '{name}' should be lowercase");
                (s.location.start_line, msg)
            })
        })
        .collect()
}

/// FromAsCasing: `FROM x as y` / `from x AS y` (only when FROM itself is all lower or upper).
pub fn from_as_casing(ctx: &Context) -> Vec<(usize, String)> {
    ctx.stages
        .iter()
        .filter_map(|s| {
            let args = from_args(s);
            let from = keyword(&s.location.original);
            let as_ = *args.get(1).filter(|_| args.len() >= 3)?;
            let matches = if from == from.to_lowercase() {
                as_ == as_.to_lowercase()
            } else if from == from.to_uppercase() {
                as_ == as_.to_uppercase()
            } else {
                true
            };
            (!matches).then(|| {
                let msg = format!("'{as_}' and '{from}' keywords' casing do not match");
                (s.location.start_line, msg)
            })
        })
        .collect()
}

/// NoEmptyContinuation: the parser's warnings (at the instruction's last line).
pub fn no_empty_continuation(ctx: &Context) -> Vec<(usize, String)> {
    ctx.dockerfile
        .warnings
        .iter()
        .filter(|w| w.url.ends_with("/no-empty-continuation/"))
        .map(|w| (w.line, "Empty continuation line".to_string()))
        .collect()
}

fn self_consistent(s: &str) -> bool {
    s == s.to_lowercase() || s == s.to_uppercase()
}

/// ConsistentInstructionCasing: every keyword of the stages (FROM included) against the
/// majority casing among the self-consistent ones.
pub fn consistent_casing(ctx: &Context) -> Vec<(usize, String)> {
    let keywords: Vec<(&str, usize)> = ctx
        .stages
        .iter()
        .flat_map(|s| {
            let from = (keyword(&s.location.original), s.location.start_line);
            std::iter::once(from).chain(
                s.commands
                    .iter()
                    .map(|c| (keyword(&c.location.original), c.location.start_line)),
            )
        })
        .collect();
    let consistent = keywords.iter().filter(|(k, _)| self_consistent(k));
    let lower = consistent
        .clone()
        .filter(|(k, _)| *k == k.to_lowercase())
        .count();
    let upper = consistent.count() - lower;
    let majority_lower = lower > upper;
    keywords
        .into_iter()
        .filter_map(|(k, line)| {
            let casing = if majority_lower && k != k.to_lowercase() {
                "lowercase"
            } else if !majority_lower && k != k.to_uppercase() {
                "uppercase"
            } else {
                return None;
            };
            let msg =
                format!("Command '{k}' should match the case of the command majority ({casing})");
            Some((line, msg))
        })
        .collect()
}

/// DuplicateStageName: a stage name used by an earlier stage.
pub fn duplicate_stage_name(ctx: &Context) -> Vec<(usize, String)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for s in ctx.stages {
        let Some(name) = &s.name else { continue };
        if seen.contains(&name) {
            let msg = format!("Duplicate stage name {name:?}, stage names should be unique");
            out.push((s.location.start_line, msg));
        }
        seen.push(name);
    }
    out
}

/// ReservedStageName: `context` or `scratch` as a stage name.
pub fn reserved_stage_name(ctx: &Context) -> Vec<(usize, String)> {
    ctx.stages
        .iter()
        .filter_map(|s| {
            let name = s.name.as_deref()?;
            matches!(name, "context" | "scratch").then(|| {
                let msg =
                    format!("Stage name should not use the same name as reserved stage {name:?}");
                (s.location.start_line, msg)
            })
        })
        .collect()
}

/// MaintainerDeprecated.
pub fn maintainer_deprecated(ctx: &Context) -> Vec<(usize, String)> {
    ctx.stages
        .iter()
        .flat_map(|s| &s.commands)
        .filter(|c| matches!(c.instruction, Instruction::Maintainer(_)))
        .map(|c| {
            let msg = "Maintainer instruction is deprecated in favor of using label";
            (c.location.start_line, msg.to_string())
        })
        .collect()
}

/// InvalidDefinitionDescription (experimental): the comment right above a named FROM or an
/// ARG must start with the name it describes.
pub fn definition_description(ctx: &Context) -> Vec<(usize, String)> {
    let mut defs: Vec<(&str, Vec<&str>, usize)> = Vec::new();
    for m in ctx.meta_args {
        let keys = m.args.iter().map(|d| d.key.as_str()).collect();
        defs.push(("ARG", keys, m.location.start_line));
    }
    for s in ctx.stages {
        if let Some(name) = &s.name {
            defs.push(("FROM", vec![name.as_str()], s.location.start_line));
        }
        for c in &s.commands {
            if let Instruction::Arg(decls) = &c.instruction {
                let keys = decls.iter().map(|d| d.key.as_str()).collect();
                defs.push(("ARG", keys, c.location.start_line));
            }
        }
    }
    defs.into_iter()
        .filter_map(|(instr, keys, line)| {
            let comment = comment_above(ctx, line)?;
            let first = comment.split(' ').next().unwrap_or("");
            if keys.contains(&first) || keys.is_empty() {
                return None;
            }
            let example = if keys.len() > 1 { "<arg_key>" } else { keys[0] };
            let msg = format!(
                "Comment for {instr} should follow the format: `# {example} <description>`"
            );
            Some((line, msg))
        })
        .collect()
}

/// The comment closest above `line` (blank lines skipped, as BuildKit's parser does), trimmed;
/// `None` when an instruction or an empty `#` comes first, or it is a parser directive.
fn comment_above(ctx: &Context, line: usize) -> Option<String> {
    let lines = &ctx.dockerfile.lines;
    let first_instruction = ctx.dockerfile.children.first().map_or(0, |n| n.start_line);
    (1..line)
        .rev()
        .find_map(|n| {
            let text = lines.get(n - 1)?.trim();
            if text.is_empty() {
                return None;
            }
            Some(text.strip_prefix('#').map(|c| (n, c.trim().to_string())))
        })?
        .filter(|(n, c)| {
            let directive = *n < first_instruction && is_directive(c);
            !c.is_empty() && !directive
        })
        .map(|(_, c)| c)
}

fn is_directive(comment: &str) -> bool {
    comment.split_once('=').is_some_and(|(k, _)| {
        let k = k.trim().to_ascii_lowercase();
        matches!(&k[..], "syntax" | "escape" | "check")
    })
}
