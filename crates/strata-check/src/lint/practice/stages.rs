//! Stage rules: compilers in the final stage, bases pinned to neither a version nor a digest.

use strata_dockerfile::{Instruction, Lexer};
use strata_oci::Reference;

use crate::lint::shell::split;
use crate::lint::Context;

/// Packages that are compilers or build toolchains (Debian/Alpine/Fedora names).
const COMPILER_PACKAGES: &[&str] = &[
    "build-essential",
    "build-base",
    "gcc",
    "g++",
    "clang",
    "make",
    "cmake",
    "golang",
    "golang-go",
    "go",
    "rustc",
    "cargo",
    "default-jdk",
    "maven",
    "gradle",
    "musl-dev",
    "libc6-dev",
    "gcc-c++",
];

/// Base images that are toolchains (`golang:1.22`, `rust:1`, `maven:3-…`, `gcc:13`).
const COMPILER_IMAGES: &[&str] = &["golang", "rust", "gcc", "maven", "gradle", "openjdk"];

/// Package managers' install sub-commands.
fn installs(words: &[String]) -> Option<&[String]> {
    let name = words.first()?.as_str();
    let sub = words.get(1..)?.iter().position(|w| !w.starts_with('-'))? + 1;
    let verb = words[sub].as_str();
    let ok = matches!(
        (name, verb),
        ("apt-get" | "apt" | "dnf" | "yum" | "microdnf", "install") | ("apk", "add")
    );
    ok.then(|| &words[sub + 1..])
}

fn is_compiler_package(pkg: &str) -> bool {
    let name = pkg.split(['=', ':']).next().unwrap_or(pkg);
    COMPILER_PACKAGES.contains(&name) || name.starts_with("openjdk-") && name.ends_with("-jdk")
}

/// CompilerInFinalStage: the last stage installs a compiler, or is built on a toolchain image
/// (only when the Dockerfile has several stages: a single-stage file may be a build image).
pub fn compiler_in_final_stage(ctx: &Context) -> Vec<(usize, String)> {
    let Some(last) = ctx.stages.last().filter(|_| ctx.stages.len() > 1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let repo = last.base_name.split([':', '@']).next().unwrap_or("");
    let repo = repo.rsplit('/').next().unwrap_or(repo);
    if COMPILER_IMAGES.contains(&repo) {
        let msg = format!("The final stage is built on the toolchain image {}: build in an earlier stage and copy the result onto a runtime image", last.base_name);
        out.push((last.location.start_line, msg));
    }
    for c in &last.commands {
        let Instruction::Run(r) = &c.instruction else {
            continue;
        };
        let script = split(&r.cmd.args.join(" "));
        let found: Vec<&str> = script
            .commands
            .iter()
            .filter_map(|sc| installs(&sc.words))
            .flatten()
            .map(String::as_str)
            .filter(|p| is_compiler_package(p))
            .collect();
        if !found.is_empty() {
            let msg = format!("The final stage installs build tools ({}): install them in a build stage and copy only the result", found.join(", "));
            out.push((c.location.start_line, msg));
        }
    }
    out
}

/// UnpinnedBaseImage: a base image (after the global ARGs' defaults) with `latest` or no tag
/// and no digest.
pub fn unpinned_base(ctx: &Context) -> Vec<(usize, String)> {
    let lexer = Lexer::new(ctx.dockerfile.directives.escape);
    let globals = defaults(&lexer, ctx);
    let mut out = Vec::new();
    for (i, s) in ctx.stages.iter().enumerate() {
        let Ok(exp) = lexer.process(&s.base_name, &globals) else {
            continue;
        };
        let base = exp.result;
        let lower = base.to_lowercase();
        let is_stage = ctx.stages[..i]
            .iter()
            .any(|e| e.name.as_deref() == Some(&lower));
        if base == "scratch" || is_stage || base.is_empty() {
            continue;
        }
        let Ok(r) = Reference::parse_name_only(&base) else {
            continue;
        };
        if r.digest().is_some() {
            continue;
        }
        let how = match r.tag() {
            None => "has no tag (latest)",
            Some("latest") => "uses the latest tag",
            Some(_) => continue,
        };
        let via = if s.base_name.contains('$') {
            format!(" (from {})", s.base_name)
        } else {
            String::new()
        };
        let msg = format!("Base image {base}{via} {how}: pin a version tag or a digest so rebuilds are reproducible");
        out.push((s.location.start_line, msg));
    }
    out
}

/// The global ARGs with their defaults (build arguments ignored: the Dockerfile's own pin).
fn defaults(lexer: &Lexer, ctx: &Context) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for d in ctx.meta_args.iter().flat_map(|m| &m.args) {
        if let Some(v) = &d.value {
            if let Ok(e) = lexer.process(v, &env) {
                env.push((d.key.clone(), e.result));
            }
        }
    }
    env
}
