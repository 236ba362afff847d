//! FROM's checks: its base name and `--platform` expanded with the global ARGs as
//! `convert.go` does (`buildMetaArgs`, `reportUnusedFromArgs`, `reportRedundantTargetPlatform`,
//! `reportConstPlatformDisallowed`, `validateBaseImagesWithDefaultArgs`).

use std::collections::BTreeMap;

use strata_dockerfile::{Lexer, MetaArg, Stage};
use strata_oci::{Platform, Reference};

use super::suggest;
use crate::lint::Context;

/// BuildKit's `defaultArgs`: the platform arguments of a build on this host.
pub(super) fn default_args() -> Vec<(String, String)> {
    let p = Platform::host();
    let variant = p.variant.clone().unwrap_or_default();
    [
        ("BUILDPLATFORM", p.to_string()),
        ("BUILDOS", p.os.clone()),
        ("BUILDOSVERSION", String::new()),
        ("BUILDARCH", p.architecture.clone()),
        ("BUILDVARIANT", variant.clone()),
        ("TARGETPLATFORM", p.to_string()),
        ("TARGETOS", p.os.clone()),
        ("TARGETOSVERSION", String::new()),
        ("TARGETARCH", p.architecture.clone()),
        ("TARGETVARIANT", variant),
        ("TARGETSTAGE", "default".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The global scope (`buildMetaArgs`): default args (overridden by build args), then each
/// meta ARG in turn: its build arg, else its default expanded with the ARGs before it.
pub(super) fn global_args(
    lexer: &Lexer,
    meta: &[MetaArg],
    build_args: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = default_args()
        .into_iter()
        .map(|(k, v)| {
            let v = build_args.get(&k).cloned().unwrap_or(v);
            (k, v)
        })
        .collect();
    for decl in meta.iter().flat_map(|m| &m.args) {
        let value = match (build_args.get(&decl.key), &decl.value) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(d)) => lexer.process(d, &env).ok().map(|e| e.result),
            (None, None) => None,
        };
        if let Some(v) = value {
            env.push((decl.key.clone(), v));
        }
    }
    env
}

pub(super) fn lexer(ctx: &Context) -> Lexer {
    Lexer::new(ctx.dockerfile.directives.escape)
}

/// UndefinedArgInFrom: a variable in FROM's name or `--platform` that no global ARG declares.
pub fn undefined_arg_in_from(ctx: &Context) -> Vec<(usize, String)> {
    let lexer = lexer(ctx);
    let globals = global_args(&lexer, ctx.meta_args, &ctx.options.build_args);
    let mut known: Vec<String> = ctx
        .meta_args
        .iter()
        .flat_map(|m| m.args.iter().map(|d| d.key.clone()))
        .chain(globals.iter().map(|(k, _)| k.clone()))
        .collect();
    known.sort();
    known.dedup();
    let mut out = Vec::new();
    for s in ctx.stages {
        let words = std::iter::once(&s.base_name).chain(s.platform.as_ref());
        for word in words {
            let Ok(exp) = lexer.process(word, &globals) else {
                continue;
            };
            for arg in exp.unmatched.iter().filter(|a| !known.contains(a)) {
                let mut msg = format!("FROM argument '{arg}' is not declared");
                if let Some(m) = suggest::search(arg, &known, true) {
                    msg.push_str(&format!(" (did you mean {m}?)"));
                }
                out.push((s.location.start_line, msg));
            }
        }
    }
    out
}

/// RedundantTargetPlatform: `--platform=$TARGETPLATFORM` (or `${TARGETPLATFORM}`) alone.
pub fn redundant_target_platform(ctx: &Context) -> Vec<(usize, String)> {
    let lexer = lexer(ctx);
    let globals = global_args(&lexer, ctx.meta_args, &ctx.options.build_args);
    let target = globals
        .iter()
        .rev()
        .find(|(k, _)| k == "TARGETPLATFORM")
        .map(|(_, v)| v.clone());
    ctx.stages
        .iter()
        .filter_map(|s| {
            let platform = s.platform.as_ref()?;
            let exp = lexer.process(platform, &globals).ok()?;
            let only_target = exp.matched.len() == 1
                && exp.unmatched.is_empty()
                && exp.matched.contains("TARGETPLATFORM");
            (only_target && Some(&exp.result) == target.as_ref()).then(|| {
                let msg = format!("Setting platform to predefined {platform} in FROM is redundant as this is the default behavior");
                (s.location.start_line, msg)
            })
        })
        .collect()
}

/// FromPlatformFlagConstDisallowed: a constant `--platform` whose OS and architecture are not
/// in the stage's name.
pub fn const_platform(ctx: &Context) -> Vec<(usize, String)> {
    let lexer = lexer(ctx);
    let globals = global_args(&lexer, ctx.meta_args, &ctx.options.build_args);
    ctx.stages
        .iter()
        .filter_map(|s| {
            let exp = lexer.process(s.platform.as_ref()?, &globals).ok()?;
            if !exp.matched.is_empty() || !exp.unmatched.is_empty() {
                return None;
            }
            let p: Platform = exp.result.parse().ok()?;
            let name = s.name.as_deref().unwrap_or("");
            if name.contains(&p.os) || name.contains(&p.architecture) {
                return None;
            }
            let msg = format!(
                "FROM --platform flag should not use constant value {:?}",
                exp.result
            );
            Some((s.location.start_line, msg))
        })
        .collect()
}

/// InvalidDefaultArgInFrom: with no build arguments, the base name expands to an empty or
/// invalid reference.
pub fn invalid_default_arg(ctx: &Context) -> Vec<(usize, String)> {
    let lexer = lexer(ctx);
    let globals = global_args(&lexer, ctx.meta_args, &BTreeMap::new());
    ctx.stages
        .iter()
        .filter_map(|s| {
            let exp = lexer.process(&s.base_name, &globals).ok()?;
            if valid_base(&exp.result) {
                return None;
            }
            let msg = format!(
                "Default value for ARG {} results in empty or invalid base image name",
                s.base_name
            );
            Some((s.location.start_line, msg))
        })
        .collect()
}

/// A name `reference.ParseNormalizedNamed` accepts (stage names are valid names too).
fn valid_base(name: &str) -> bool {
    !name.is_empty() && Reference::parse_name_only(name).is_ok()
}

/// The stage a FROM name refers to, among `earlier` stages (names are lower case).
pub(super) fn stage_index(earlier: &[Stage], name: &str) -> Option<usize> {
    let lower = name.to_lowercase();
    earlier
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
}
