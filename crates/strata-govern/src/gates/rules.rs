//! The gate rules: the checks `parse` runs on a policy, and each rule's check of a subject.
//! A violation's `rule` is the key as written in the policy file.

use globset::GlobMatcher;
use strata_oci::Reference;

use super::allow::{self, without_host, Pattern};
use super::size::{human, parse_size};
use super::{GateError, GatePolicy, Stage, Subject, Violation};
use crate::{glob, labels};

/// An `allowed-bases` entry: a registry host alone, or an image glob.
enum Base {
    Host(GlobMatcher),
    Image(Pattern),
}

fn invalid(key: &str, reason: String) -> GateError {
    GateError::Invalid {
        key: key.to_owned(),
        reason,
    }
}

pub(super) fn validate(policy: &GatePolicy) -> Result<(), GateError> {
    for b in &policy.allowed_bases {
        compile_base(b).map_err(|e| invalid("allowed-bases", format!("{b:?}: {e}")))?;
    }
    for r in &policy.roots {
        glob::repository(r).map_err(|e| invalid("roots", format!("{r:?}: {e}")))?;
    }
    for (env, tags) in &policy.forbidden_tags {
        if !labels::valid(env) {
            let reason = format!("{env:?} is not a label ([a-z0-9] then [a-z0-9._-])");
            return Err(invalid("forbidden-tags", reason));
        }
        for t in tags {
            glob::tag(t).map_err(|e| invalid("forbidden-tags", format!("{env}: {t:?}: {e}")))?;
        }
    }
    if let Some(size) = &policy.max_size {
        parse_size(size).map_err(|e| invalid("max-size", e.to_string()))?;
    }
    if policy
        .required_annotations
        .iter()
        .any(|a| a.trim().is_empty())
    {
        return Err(invalid("required-annotations", "an empty key".to_owned()));
    }
    for a in &policy.allow {
        allow::compile(a).map_err(|e| invalid("allow", format!("{a:?}: {e}")))?;
    }
    Ok(())
}

/// `registry.example` (a host, see [`looks_like_host`]) or an image glob,
/// normalised as docker normalises names (`debian` → `docker.io/library/debian`).
fn compile_base(pattern: &str) -> Result<Base, globset::Error> {
    let first = pattern.split('/').next().unwrap_or_default();
    let host_like = looks_like_host(first);
    let globbed = pattern.contains('/') && first.contains(['*', '?', '[', '{']);
    if !pattern.contains('/') && host_like {
        return glob::tag(pattern).map(Base::Host);
    }
    let full = if host_like || globbed {
        pattern.to_owned()
    } else if pattern.contains('/') {
        format!("docker.io/{pattern}")
    } else {
        format!("docker.io/library/{pattern}")
    };
    allow::compile(&full).map(Base::Image)
}

/// A registry host as docker tells one from a repository: it has a `.`, a `:port`, or is
/// `localhost` (`debian:12` is an image with a tag, `registry:5000` a host).
fn looks_like_host(first: &str) -> bool {
    let port = first
        .split_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    first.contains('.') || port || first == "localhost" || first.starts_with("localhost:")
}

pub(super) fn check(policy: &GatePolicy, stage: &Stage, subject: &Subject) -> Vec<Violation> {
    let digest = subject.digest.as_deref().unwrap_or_default();
    if policy.allows(&subject.repository, &subject.tags, digest) {
        return Vec::new();
    }
    let mut out = Vec::new();
    out.extend(base(policy, subject));
    if let Stage::Promote(env) = stage {
        out.extend(forbidden_tags(policy, env, subject));
        out.extend(latest(policy, env, subject));
    }
    out.extend(max_size(policy, subject));
    out.extend(secrets(policy, subject));
    out.extend(annotations(policy, subject));
    out
}

fn violation(rule: &str, message: String) -> Option<Violation> {
    Some(Violation {
        rule: rule.to_owned(),
        message,
    })
}

/// `allowed-bases` for an image with a base; `roots` for one without (checked when either
/// key is set: setting only `roots` still limits which repositories may have no base).
fn base(policy: &GatePolicy, subject: &Subject) -> Option<Violation> {
    if policy.allowed_bases.is_empty() && policy.roots.is_empty() {
        return None;
    }
    let Some(name) = &subject.base_name else {
        let root = policy
            .roots
            .iter()
            .filter_map(|r| glob::repository(r).ok())
            .any(|g| {
                g.is_match(&subject.repository)
                    || without_host(&subject.repository).is_some_and(|r| g.is_match(r))
            });
        return (!root).then(|| Violation {
            rule: "roots".to_owned(),
            message: match policy.roots.is_empty() {
                true => format!(
                    "{} has no base image and roots is empty: no repository may have none",
                    subject.repository
                ),
                false => format!(
                    "{} has no base image and is not one of the roots ({})",
                    subject.repository,
                    policy.roots.join(", ")
                ),
            },
        });
    };
    if policy.allowed_bases.is_empty() {
        return None;
    }
    let Ok(reference) = Reference::parse_name_only(name) else {
        return violation(
            "allowed-bases",
            format!("base {name:?} is not an image reference"),
        );
    };
    let full = reference.name();
    let digest = reference.digest().map(ToString::to_string);
    let allowed = policy
        .allowed_bases
        .iter()
        .filter_map(|b| compile_base(b).ok())
        .any(|b| match b {
            Base::Host(host) => host.is_match(reference.registry()),
            Base::Image(p) => p.matches_reference(&full, reference.tag(), digest.as_deref()),
        });
    if allowed {
        return None;
    }
    violation(
        "allowed-bases",
        format!(
            "base {name} is not an allowed base ({})",
            policy.allowed_bases.join(", ")
        ),
    )
}

fn forbidden_tags(policy: &GatePolicy, env: &str, subject: &Subject) -> Option<Violation> {
    let globs: Vec<GlobMatcher> = policy
        .forbidden_tags
        .get(env)?
        .iter()
        .filter_map(|t| glob::tag(t).ok())
        .collect();
    let bad: Vec<&str> = subject
        .tags
        .iter()
        .filter(|t| globs.iter().any(|g| g.is_match(t)))
        .map(String::as_str)
        .collect();
    if bad.is_empty() {
        return None;
    }
    violation(
        "forbidden-tags",
        format!("tag {} may not be promoted to {env}", bad.join(", ")),
    )
}

fn latest(policy: &GatePolicy, env: &str, subject: &Subject) -> Option<Violation> {
    if policy.allow_latest_promotion || subject.tags.iter().any(|t| t != "latest") {
        return None;
    }
    let what = if subject.tags.is_empty() {
        "an untagged image"
    } else {
        "an image tagged only latest"
    };
    violation(
        "allow-latest-promotion",
        format!("{what} is never promoted to {env}: tag it with a version"),
    )
}

fn max_size(policy: &GatePolicy, subject: &Subject) -> Option<Violation> {
    let limit = policy.max_size_bytes()?;
    (subject.size > limit).then(|| Violation {
        rule: "max-size".to_owned(),
        message: format!(
            "the image is {} ({} bytes), over the limit of {} ({limit} bytes)",
            human(subject.size),
            subject.size,
            policy.max_size.as_deref().unwrap_or_default()
        ),
    })
}

fn secrets(policy: &GatePolicy, subject: &Subject) -> Option<Violation> {
    if !policy.no_secrets {
        return None;
    }
    match subject.secrets {
        Some(0) => None,
        Some(n) => violation(
            "no-secrets",
            format!(
                "the secret scan found {n} secret{}",
                if n == 1 { "" } else { "s" }
            ),
        ),
        None => violation(
            "no-secrets",
            "the image was not scanned for secrets (no-secrets needs a scan)".to_owned(),
        ),
    }
}

fn annotations(policy: &GatePolicy, subject: &Subject) -> Option<Violation> {
    let missing: Vec<&str> = policy
        .required_annotations
        .iter()
        .filter(|k| {
            subject
                .annotations
                .get(*k)
                .is_none_or(|v| v.trim().is_empty())
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return None;
    }
    violation(
        "required-annotations",
        format!("missing annotation {}", missing.join(", ")),
    )
}
