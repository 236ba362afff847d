//! Rules on stages and their FROM: DL3012 (two HEALTHCHECKs), DL3026 (untrusted registry),
//! DL3029/DL3065 (`FROM --platform`), DL3057 (no HEALTHCHECK), DL3059 (consecutive RUNs),
//! DL3063 (reserved stage name).

use std::collections::HashSet;

use strata_dockerfile::{Instruction, MountKind, RunCommand, Stage};

use super::run::script_of;
use crate::lint::shell::split;
use crate::lint::Context;

/// A reference split as docker does: the registry is the first component when it has a `.`
/// or a `:` or is `localhost`; `name` has no registry, tag or digest.
pub(super) struct ImageRef<'a> {
    pub registry: Option<&'a str>,
    pub name: &'a str,
}

pub(super) fn image_ref(reference: &str) -> ImageRef<'_> {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    let (registry, rest) = match no_digest.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, no_digest),
    };
    let name = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => rest,
    };
    ImageRef { registry, name }
}

/// The name other stages know a stage by: its alias, else its image name (hadolint's).
fn stage_name(stage: &Stage) -> String {
    stage
        .name
        .clone()
        .unwrap_or_else(|| image_ref(&stage.base_name).name.to_ascii_lowercase())
}

/// DL3012: a second HEALTHCHECK in a stage.
pub fn multiple_healthcheck(ctx: &Context) -> Vec<usize> {
    ctx.stages
        .iter()
        .flat_map(|s| {
            s.commands
                .iter()
                .filter(|c| matches!(c.instruction, Instruction::Healthcheck(_)))
                .skip(1)
                .map(|c| c.location.start_line)
        })
        .collect()
}

/// DL3029: `FROM --platform` other than `$BUILDPLATFORM`/`$TARGETPLATFORM`.
pub fn platform_flag(ctx: &Context) -> Vec<usize> {
    platform_lines(ctx, |p| {
        !p.contains("BUILDPLATFORM") && !p.contains("TARGETPLATFORM")
    })
}

/// DL3065: `FROM --platform=$TARGETPLATFORM`, the default anyway.
pub fn platform_target(ctx: &Context) -> Vec<usize> {
    platform_lines(ctx, |p| p == "$TARGETPLATFORM" || p == "${TARGETPLATFORM}")
}

fn platform_lines(ctx: &Context, pred: impl Fn(&str) -> bool) -> Vec<usize> {
    ctx.stages
        .iter()
        .filter(|s| s.platform.as_deref().is_some_and(&pred))
        .map(|s| s.location.start_line)
        .collect()
}

/// DL3063: a stage named `scratch` or `context`.
pub fn reserved_name(ctx: &Context) -> Vec<usize> {
    ctx.stages
        .iter()
        .filter(|s| matches!(s.name.as_deref(), Some("scratch" | "context")))
        .map(|s| s.location.start_line)
        .collect()
}

// ---- DL3026 ----

/// DL3026: FROM, `COPY --from` or `RUN --mount from=` naming an image of a registry not in
/// `trustedRegistries` (earlier stages and `scratch` are fine; no list: any registry).
pub fn untrusted_registry(ctx: &Context) -> Vec<usize> {
    let trusted = &ctx.config.trusted_registries;
    if trusted.is_empty() {
        return Vec::new();
    }
    let allowed = |aliases: &HashSet<String>, reference: &str| {
        let stage = aliases.contains(&image_ref(reference).name.to_ascii_lowercase())
            || aliases.contains(&reference.to_ascii_lowercase())
            || (!reference.is_empty() && reference.bytes().all(|b| b.is_ascii_digit()));
        stage || registry_allowed(trusted, reference)
    };
    let mut aliases = HashSet::new();
    let mut out = Vec::new();
    for stage in ctx.stages {
        if !allowed(&aliases, &stage.base_name) {
            out.push(stage.location.start_line);
        }
        aliases.extend(stage.name.clone());
        for c in &stage.commands {
            let bad = match &c.instruction {
                Instruction::Copy(copy) => {
                    copy.from.as_ref().is_some_and(|f| !allowed(&aliases, f))
                }
                Instruction::Run(run) => mount_images(run).any(|f| !allowed(&aliases, f)),
                _ => false,
            };
            if bad {
                out.push(c.location.start_line);
            }
        }
    }
    out
}

/// The `from=` of cache and bind mounts.
fn mount_images(run: &RunCommand) -> impl Iterator<Item = &str> {
    run.mounts
        .iter()
        .filter(|m| matches!(m.kind, MountKind::Cache | MountKind::Bind))
        .filter_map(|m| m.from.as_deref())
}

fn registry_allowed(trusted: &[String], reference: &str) -> bool {
    let matches = |registry: &str| trusted.iter().any(|t| registry_matches(t, registry));
    match image_ref(reference).registry {
        Some(registry) => matches(registry),
        None => reference == "scratch" || matches("docker.io") || matches("hub.docker.com"),
    }
}

/// hadolint's patterns: `*`, `*.suffix`, `prefix.*` or an exact name.
fn registry_matches(pattern: &str, registry: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        registry.ends_with(suffix)
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        registry.starts_with(prefix)
    } else {
        registry == pattern
    }
}

// ---- DL3057 ----

/// DL3057 (off unless overridden): a stage without HEALTHCHECK, hadolint's way: a stage
/// built FROM a stage with one has one, and a HEALTHCHECK also clears the stages the current
/// one is built on (by name, up the chain).
pub fn healthcheck_missing(ctx: &Context) -> Vec<usize> {
    struct Id {
        src: String,
        name: String,
        line: usize,
    }
    let mut good: Vec<Id> = Vec::new();
    let mut bad: Vec<Id> = Vec::new();
    for stage in ctx.stages {
        let id = Id {
            src: image_ref(&stage.base_name).name.to_ascii_lowercase(),
            name: stage_name(stage),
            line: stage.location.start_line,
        };
        let has = stage
            .commands
            .iter()
            .any(|c| matches!(c.instruction, Instruction::Healthcheck(_)));
        let inherits = good.iter().any(|g| g.name == id.src);
        if has {
            // The stages this one is built on, and theirs, are cleared.
            let mut names = vec![id.src.clone()];
            while let Some(name) = names.pop() {
                let (now_good, still_bad): (Vec<Id>, Vec<Id>) =
                    bad.into_iter().partition(|b| b.name == name);
                bad = still_bad;
                names.extend(now_good.iter().map(|g| g.src.clone()));
                good.extend(now_good);
            }
            good.push(id);
        } else if inherits {
            good.push(id);
        } else {
            bad.push(id);
        }
    }
    let mut lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
    lines.sort_unstable();
    lines
}

// ---- DL3059 ----

/// DL3059: a RUN right after another RUN with the same flags, when both are a single
/// command. (hadolint's condition reads "at most two commands", but ShellCheck's AST gives
/// each command twice, a redirection wrapper and the command: `a && b` counts four.)
pub fn consecutive_runs(ctx: &Context) -> Vec<usize> {
    let mut out = Vec::new();
    for stage in ctx.stages {
        let mut prev: Option<(&RunCommand, usize)> = None;
        for c in &stage.commands {
            let Instruction::Run(run) = &c.instruction else {
                prev = None;
                continue;
            };
            let count = split(&script_of(run)).commands.len();
            if let Some((p, p_count)) = prev {
                if same_flags(p, run) && count <= 1 && p_count <= 1 {
                    out.push(c.location.start_line);
                    continue;
                }
            }
            prev = Some((run, count));
        }
    }
    out
}

fn same_flags(a: &RunCommand, b: &RunCommand) -> bool {
    a.mount_specs == b.mount_specs && a.network == b.network && a.security == b.security
}

#[cfg(test)]
mod tests {
    use crate::lint::{lint_with, LintConfig};

    fn lines(src: &str, code: &str, config: &LintConfig) -> Vec<usize> {
        lint_with(src, "Dockerfile", config)
            .unwrap()
            .into_iter()
            .filter(|f| f.code == code)
            .map(|f| f.line)
            .collect()
    }

    #[test]
    fn dl3059_only_single_command_runs_with_the_same_flags() {
        let d = LintConfig::default();
        let src = "FROM a:1\nRUN a\nRUN b\nRUN c && d\nRUN e\nRUN --network=none f\nRUN g\n";
        assert_eq!(lines(src, "DL3059", &d), [3]);
        let src = "FROM a:1\nRUN a\n# note\nRUN b\nWORKDIR /x\nRUN c\n";
        assert_eq!(lines(src, "DL3059", &d), [4]);
    }

    #[test]
    fn dl3026_patterns_stages_and_docker_hub() {
        let mut c = LintConfig::default();
        let src = "FROM debian:12 AS a\nFROM ghcr.io/o/x:1\nFROM a\nFROM scratch\nCOPY --from=quay.io/q:1 / /x\n";
        assert_eq!(
            lines(src, "DL3026", &c),
            Vec::<usize>::new(),
            "off without a list"
        );
        c.trusted_registries = vec!["docker.io".into()];
        assert_eq!(lines(src, "DL3026", &c), [2, 5]);
        c.trusted_registries = vec!["*cr.io".into()];
        assert_eq!(lines(src, "DL3026", &c), [1, 5]);
        c.trusted_registries = vec!["ghcr.*".into(), "hub.docker.com".into()];
        assert_eq!(lines(src, "DL3026", &c), [5]);
    }

    #[test]
    fn dl3057_is_off_by_default_and_a_child_healthcheck_clears_its_parent() {
        let src = "FROM a:1 AS base\nFROM base\nHEALTHCHECK CMD [\"true\"]\nFROM b:1\n";
        assert!(lines(src, "DL3057", &LintConfig::default()).is_empty());
        let c = LintConfig::from_yaml("override: {info: [DL3057]}", "c").unwrap();
        assert_eq!(lines(src, "DL3057", &c), [4]);
    }
}
