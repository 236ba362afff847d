//! Layer-order rules: dependency manifests copied after the sources, files deleted by a later
//! RUN (still shipped in the layer that made them).

use strata_dockerfile::{Instruction, Stage};

use crate::lint::shell::{split, SimpleCommand};
use crate::lint::Context;

/// Dependency manifests of the common package managers.
const MANIFESTS: &[&str] = &[
    "package.json",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "requirements.txt",
    "pyproject.toml",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "go.mod",
    "go.sum",
    "Cargo.toml",
    "Cargo.lock",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
    "pom.xml",
    "build.gradle",
];

/// Whether a simple command installs dependencies from a manifest.
fn installs_dependencies(c: &SimpleCommand) -> bool {
    let w: Vec<&str> = c.words.iter().map(String::as_str).collect();
    let sub = |i: usize| w.get(i).copied().unwrap_or("");
    match sub(0) {
        "npm" => {
            matches!(sub(1), "install" | "ci" | "i") && w[2..].iter().all(|a| a.starts_with('-'))
        }
        "yarn" | "pnpm" => w.len() == 1 || matches!(sub(1), "install"),
        "pip" | "pip3" => {
            sub(1) == "install"
                && w.iter()
                    .any(|a| *a == "-r" || a.starts_with("--requirement"))
        }
        "poetry" | "bundle" | "composer" => sub(1) == "install",
        "go" => sub(1) == "mod" && sub(2) == "download",
        "mvn" => w.iter().any(|a| a.contains("dependency:")),
        _ => false,
    }
}

/// COPY of the whole context (`.`, `./`, `*`).
fn copies_everything(sources: &[String]) -> bool {
    sources
        .iter()
        .any(|s| matches!(s.as_str(), "." | "./" | "*"))
}

fn copies_manifest(sources: &[String]) -> bool {
    sources.iter().any(|s| {
        let name = s.rsplit('/').next().unwrap_or(s);
        MANIFESTS.contains(&name)
    })
}

/// DependencyManifestAfterSources: `COPY . …` and only then a dependency install, without a
/// manifest copied (and installed) before.
pub fn manifest_after_sources(ctx: &Context) -> Vec<(usize, String)> {
    ctx.stages.iter().filter_map(stage_manifest_order).collect()
}

fn stage_manifest_order(stage: &Stage) -> Option<(usize, String)> {
    let mut copy_all: Option<usize> = None;
    for c in &stage.commands {
        match &c.instruction {
            Instruction::Copy(cp) if cp.from.is_none() => {
                if copies_manifest(&cp.sources) && copy_all.is_none() {
                    return None;
                }
                if copies_everything(&cp.sources) && copy_all.is_none() {
                    copy_all = Some(c.location.start_line);
                }
            }
            Instruction::Run(r) => {
                let script = split(&r.cmd.args.join(" "));
                if script.commands.iter().any(installs_dependencies) {
                    let line = copy_all?;
                    return Some((line, format!("Sources are copied (line {line}) before dependencies are installed (line {}): copy the dependency manifests first, install, then copy the sources", c.location.start_line)));
                }
            }
            _ => {}
        }
    }
    None
}

/// Paths a simple command creates (download targets, `touch`, `mkdir`, archives written).
fn created_by(c: &SimpleCommand) -> Vec<String> {
    let w = &c.words;
    let after = |flags: &[&str]| -> Vec<String> {
        w.windows(2)
            .filter(|p| flags.contains(&p[0].as_str()))
            .map(|p| p[1].clone())
            .collect()
    };
    match c.name() {
        Some("wget") => after(&["-O", "--output-document"]),
        Some("curl") => after(&["-o", "--output"]),
        Some("touch") | Some("mkdir") => operands(c),
        _ => Vec::new(),
    }
}

/// A command's arguments that are not flags.
fn operands(c: &SimpleCommand) -> Vec<String> {
    c.args()
        .iter()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .collect()
}

/// Paths a simple command removes (`rm`).
fn removed_by(c: &SimpleCommand) -> Vec<String> {
    match c.name() {
        Some("rm") => operands(c),
        _ => Vec::new(),
    }
}

/// Whether `removed` is `created` or a path inside it, or `created` is inside `removed`.
fn same_or_nested(created: &str, removed: &str) -> bool {
    let norm = |p: &str| p.trim_end_matches('/').to_string();
    let (c, r) = (norm(created), norm(removed));
    !r.is_empty()
        && !c.is_empty()
        && (c == r || c.starts_with(&format!("{r}/")) || r.starts_with(&format!("{c}/")))
}

/// DeletedInLaterLayer: a RUN removes a path that an earlier instruction of the stage (COPY/ADD
/// destination, or a file a RUN downloaded or made) created in its own layer.
pub fn deleted_in_later_layer(ctx: &Context) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for stage in ctx.stages {
        let mut created: Vec<(String, usize)> = Vec::new();
        for c in &stage.commands {
            let line = c.location.start_line;
            match &c.instruction {
                Instruction::Copy(cp) if cp.dest.starts_with('/') => {
                    created.push((dest_path(&cp.dest, &cp.sources), line))
                }
                Instruction::Add(a) if a.dest.starts_with('/') => {
                    created.push((dest_path(&a.dest, &a.sources), line))
                }
                Instruction::Run(r) => {
                    let script = split(&r.cmd.args.join(" "));
                    for sc in &script.commands {
                        for path in removed_by(sc).iter().filter(|p| p.starts_with('/')) {
                            if let Some((p, made)) =
                                created.iter().find(|(p, _)| same_or_nested(p, path))
                            {
                                out.push((line, format!("{path} is deleted here but was created by the instruction at line {made} ({p}): it is still shipped in that layer; create and delete it in the same RUN, or use a build stage")));
                            }
                        }
                    }
                    for sc in &script.commands {
                        let paths = created_by(sc).into_iter().filter(|p| p.starts_with('/'));
                        created.extend(paths.map(|p| (p, line)));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The path a COPY/ADD writes: `dest/NAME` for one source into a directory destination.
fn dest_path(dest: &str, sources: &[String]) -> String {
    match sources {
        [one] if dest.ends_with('/') => {
            let name = one.trim_end_matches('/').rsplit('/').next().unwrap_or(one);
            format!("{dest}{name}")
        }
        _ => dest.to_string(),
    }
}
