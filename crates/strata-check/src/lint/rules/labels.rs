//! LABEL rules: DL3048 (invalid key) always; with a `label-schema` in the config, the
//! schema rules: DL3049 (label missing in a stage), DL3050 (a label outside the schema, with
//! `strict-labels`), DL3051 (empty), and the value types DL3052 (url), DL3053 (rfc3339),
//! DL3054 (spdx), DL3055 (hash), DL3056 (semver), DL3058 (email).

use strata_dockerfile::{Instruction, KeyValue, Stage};

use super::stage::image_ref;
use crate::lint::config::LabelType;
use crate::lint::{Context, Severity};

/// A rule whose message names the label (`{label}` in `message`); its check returns the
/// lines with the label each is about.
pub struct LabelRule {
    pub id: &'static str,
    pub severity: Severity,
    pub message: &'static str,
    pub check: fn(&Context) -> Vec<(usize, String)>,
}

use Severity::*;

/// The schema rules with one finding per label, ordered by id.
pub static LABEL_RULES: &[LabelRule] = &[
    LabelRule {
        id: "DL3049",
        severity: Info,
        message: "Label `{label}` is missing.",
        check: missing,
    },
    LabelRule {
        id: "DL3051",
        severity: Warning,
        message: "label `{label}` is empty.",
        check: empty,
    },
    LabelRule {
        id: "DL3052",
        severity: Warning,
        message: "Label `{label}` is not a valid URL.",
        check: not_url,
    },
    LabelRule {
        id: "DL3053",
        severity: Warning,
        message: "Label `{label}` is not a valid time format - must conform to RFC3339.",
        check: not_rfc3339,
    },
    LabelRule {
        id: "DL3054",
        severity: Warning,
        message: "Label `{label}` is not a valid SPDX identifier.",
        check: not_spdx,
    },
    LabelRule {
        id: "DL3055",
        severity: Warning,
        message: "Label `{label}` is not a valid git hash.",
        check: not_hash,
    },
    LabelRule {
        id: "DL3056",
        severity: Warning,
        message: "Label `{label}` does not conform to semantic versioning.",
        check: not_semver,
    },
    LabelRule {
        id: "DL3058",
        severity: Warning,
        message: "Label `{label}` is not a valid email format - must conform to RFC5322.",
        check: not_email,
    },
];

/// A LABEL pair with its quotes removed (`"a b"` → `a b`), as hadolint sees it.
struct Pair {
    key: String,
    value: String,
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    let quoted = b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0];
    if !quoted {
        return s.to_string();
    }
    let inner = &s[1..s.len() - 1];
    if b[0] == b'"' {
        inner.replace("\\\"", "\"")
    } else {
        inner.to_string()
    }
}

/// Every LABEL instruction's pairs with its line.
fn labels(ctx: &Context) -> Vec<(Vec<Pair>, usize)> {
    ctx.stages
        .iter()
        .flat_map(|s| &s.commands)
        .filter_map(|c| match &c.instruction {
            Instruction::Label(pairs) => Some((unquoted(pairs), c.location.start_line)),
            _ => None,
        })
        .collect()
}

fn unquoted(pairs: &[KeyValue]) -> Vec<Pair> {
    pairs
        .iter()
        .map(|p| Pair {
            key: unquote(&p.key),
            value: unquote(&p.value),
        })
        .collect()
}

/// DL3048: a key that is not lower-case `[a-z0-9._/-]`, starting with a letter and ending
/// with a letter or digit, without `..`/`--`, outside docker's reserved namespaces.
pub fn invalid_key(ctx: &Context) -> Vec<usize> {
    labels(ctx)
        .into_iter()
        .filter(|(pairs, _)| pairs.iter().any(|p| !valid_key(&p.key)))
        .map(|(_, l)| l)
        .collect()
}

fn valid_key(key: &str) -> bool {
    let starts = key.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let ends = key
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let chars = key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_/".contains(c));
    let reserved = ["com.docker.", "io.docker.", "org.dockerproject."]
        .iter()
        .any(|ns| key.starts_with(ns));
    let doubled = key.contains("..") || key.contains("--");
    starts && ends && chars && !reserved && !doubled
}

/// DL3050: with `strict-labels`, a LABEL setting a key outside the schema.
pub fn superfluous(ctx: &Context) -> Vec<usize> {
    if !ctx.config.strict_labels.unwrap_or(false) {
        return Vec::new();
    }
    let schema = &ctx.config.label_schema;
    labels(ctx)
        .into_iter()
        .filter(|(pairs, _)| pairs.iter().any(|p| !schema.contains_key(&p.key)))
        .map(|(_, l)| l)
        .collect()
}

/// The (line, label) of every LABEL pair of a schema label of type `ty` (any type: `None`)
/// whose value is bad.
fn bad_values(
    ctx: &Context,
    ty: Option<LabelType>,
    bad: impl Fn(&str) -> bool,
) -> Vec<(usize, String)> {
    let schema = &ctx.config.label_schema;
    let mut out = Vec::new();
    for (pairs, line) in labels(ctx) {
        for p in &pairs {
            let typed = schema
                .get(&p.key)
                .is_some_and(|t| ty.is_none_or(|ty| *t == ty));
            if typed && bad(&p.value) {
                out.push((line, p.key.clone()));
            }
        }
    }
    out
}

/// DL3051: a schema label set to the empty string.
pub fn empty(ctx: &Context) -> Vec<(usize, String)> {
    bad_values(ctx, None, str::is_empty)
}

/// DL3052: a `url` label that is not an absolute URL.
pub fn not_url(ctx: &Context) -> Vec<(usize, String)> {
    bad_values(ctx, Some(LabelType::Url), |v| url::Url::parse(v).is_err())
}

/// DL3053: an `rfc3339` label that is not an RFC 3339 date-time.
pub fn not_rfc3339(ctx: &Context) -> Vec<(usize, String)> {
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    bad_values(ctx, Some(LabelType::Rfc3339), |v| {
        time::OffsetDateTime::parse(v, rfc3339).is_err()
    })
}

/// DL3054: an `spdx` label that is not an SPDX license id.
pub fn not_spdx(ctx: &Context) -> Vec<(usize, String)> {
    bad_values(ctx, Some(LabelType::Spdx), |v| {
        spdx::license_id(v).is_none()
    })
}

/// DL3055: a `hash` label that is not a git commit id (7 or 40 lower-case hex digits).
pub fn not_hash(ctx: &Context) -> Vec<(usize, String)> {
    bad_values(ctx, Some(LabelType::Hash), |v| {
        let hex = v
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        !hex || (v.len() != 7 && v.len() != 40)
    })
}

/// DL3056: a `semver` label that is not a semantic version.
pub fn not_semver(ctx: &Context) -> Vec<(usize, String)> {
    bad_values(ctx, Some(LabelType::Semver), |v| {
        semver::Version::parse(v).is_err()
    })
}

/// DL3058: an `email` label that is not an RFC 5322 address.
pub fn not_email(ctx: &Context) -> Vec<(usize, String)> {
    bad_values(ctx, Some(LabelType::Email), |v| {
        !email_address::EmailAddress::is_valid(v)
    })
}

// ---- DL3049 ----

/// DL3049: a stage missing a schema label, reported at its FROM, hadolint's way: a stage
/// built FROM a stage with the label has it, and a stage only used by `COPY --from` (or
/// named like the stage that sets the label) need not have it.
pub fn missing(ctx: &Context) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for label in ctx.config.label_schema.keys() {
        out.extend(
            missing_label(ctx.stages, label)
                .into_iter()
                .map(|l| (l, label.clone())),
        );
    }
    out
}

fn missing_label(stages: &[Stage], label: &str) -> Vec<usize> {
    struct Id<'a> {
        alias: Option<&'a str>,
        line: usize,
    }
    let mut good: Vec<Id> = Vec::new();
    let mut bad: Vec<Id> = Vec::new();
    // Stages whose missing label is forgiven (hadolint's "silent").
    let silence = |bad: &mut Vec<Id>, name: &str| bad.retain(|b| b.alias != Some(name));
    for stage in stages {
        let base = image_ref(&stage.base_name).name.to_ascii_lowercase();
        let id = Id {
            alias: stage.name.as_deref(),
            line: stage.location.start_line,
        };
        let current = stage.name.clone().unwrap_or_else(|| base.clone());
        let mut is_good = good.iter().any(|g| g.alias == Some(base.as_str()));
        for c in &stage.commands {
            match &c.instruction {
                Instruction::Copy(copy) => {
                    if let Some(from) = &copy.from {
                        silence(&mut bad, &from.to_ascii_lowercase());
                    }
                }
                Instruction::Label(pairs) if unquoted(pairs).iter().any(|p| p.key == label) => {
                    silence(&mut bad, &current);
                    is_good = true;
                }
                _ => {}
            }
        }
        if is_good {
            good.push(id);
        } else {
            bad.push(id);
        }
    }
    bad.iter().map(|b| b.line).collect()
}
