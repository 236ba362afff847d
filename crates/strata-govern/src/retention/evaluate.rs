//! Evaluation, repository by repository: each rule that selects the repository picks its
//! images (tags, bucket, label), orders them by its criterion (ties by digest, so the result
//! never depends on input order) and keeps some; an image is kept when protected or when any
//! rule keeps it, and its reason is the protection or the first rule that keeps it.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use globset::GlobMatcher;

use super::{Decision, Keep, RetentionPolicy, RetentionRule};
use crate::{glob, labels, Image};

const DAY: i64 = 86_400;

/// A rule with its globs compiled (`None`: a glob that does not compile, which `parse`
/// refuses; such a rule made in code selects nothing).
struct Compiled<'a> {
    number: usize,
    rule: &'a RetentionRule,
    repositories: Option<GlobMatcher>,
    tags: Option<Option<GlobMatcher>>,
}

impl Compiled<'_> {
    fn selects_repository(&self, repository: &str) -> bool {
        let tags_ok = !matches!(self.tags, Some(None));
        tags_ok
            && self
                .repositories
                .as_ref()
                .is_some_and(|g| g.is_match(repository))
    }

    fn selects(&self, image: &Image, bucket: Option<&str>) -> bool {
        let tags = match &self.tags {
            Some(Some(glob)) => image.tags.iter().any(|t| glob.is_match(t)),
            _ => true,
        };
        let bucket_ok = match self.rule.bucket.as_deref() {
            Some("none") => bucket.is_none(),
            Some(b) => bucket == Some(b),
            None => true,
        };
        let label_ok = match &self.rule.label {
            Some(l) => image.labels.contains(l),
            None => true,
        };
        tags && bucket_ok && label_ok
    }
}

pub(super) fn evaluate(
    policy: &RetentionPolicy,
    images: &[Image],
    protected: &dyn Fn(&Image) -> Option<String>,
    now: i64,
) -> Vec<Decision> {
    let rules: Vec<Compiled> = policy.rules.iter().enumerate().map(compile).collect();
    let mut by_repo: BTreeMap<&str, Vec<&Image>> = BTreeMap::new();
    for image in images {
        by_repo.entry(&image.repository).or_default().push(image);
    }
    let mut out = Vec::with_capacity(images.len());
    for (repository, mut imgs) in by_repo {
        let active: Vec<&Compiled> = rules
            .iter()
            .filter(|r| r.selects_repository(repository))
            .collect();
        if active.is_empty() {
            continue;
        }
        imgs.sort_by(|a, b| {
            b.pushed
                .cmp(&a.pushed)
                .then_with(|| a.digest.cmp(&b.digest))
        });
        out.extend(repository_decisions(policy, &active, &imgs, protected, now));
    }
    out
}

fn compile((i, rule): (usize, &RetentionRule)) -> Compiled<'_> {
    Compiled {
        number: i + 1,
        rule,
        repositories: glob::repository(&rule.repositories).ok(),
        tags: rule.tags.as_deref().map(|t| glob::tag(t).ok()),
    }
}

/// The decisions for one repository's images, sorted newest push first.
fn repository_decisions(
    policy: &RetentionPolicy,
    rules: &[&Compiled],
    images: &[&Image],
    protected: &dyn Fn(&Image) -> Option<String>,
    now: i64,
) -> Vec<Decision> {
    let buckets: Vec<Option<&str>> = images
        .iter()
        .map(|i| labels::bucket(&i.labels, &policy.label_order))
        .collect();
    let mut kept: Vec<Option<String>> = vec![None; images.len()];
    let mut passed: Vec<Vec<String>> = vec![Vec::new(); images.len()];
    for rule in rules {
        let selected: Vec<usize> = (0..images.len())
            .filter(|&i| rule.selects(images[i], buckets[i]))
            .collect();
        let what = describe(rule.rule);
        for (i, keeps, detail) in apply(&rule.rule.keep, images, selected, now) {
            let line = format!("rule {} ({what}): {detail}", rule.number);
            if !keeps {
                passed[i].push(line);
            } else if kept[i].is_none() {
                kept[i] = Some(line);
            }
        }
    }
    let mut out = Vec::with_capacity(images.len());
    for (i, image) in images.iter().enumerate() {
        let (keep, reason) = match (protected(image), kept[i].take()) {
            (Some(p), _) => (true, format!("protected: {p}")),
            (None, Some(k)) => (true, k),
            (None, None) if passed[i].is_empty() => (false, "no rule selects it".to_owned()),
            (None, None) => (false, format!("no rule keeps it: {}", passed[i].join("; "))),
        };
        out.push(Decision {
            repository: image.repository.clone(),
            digest: image.digest.clone(),
            tags: image.tags.clone(),
            bucket: buckets[i].map(str::to_owned),
            keep,
            reason,
        });
    }
    out
}

/// Each selected image (an index into `images`), whether `keep` keeps it, and the detail
/// for its reason (`#3`, `pushed 2 days ago`).
fn apply(
    keep: &Keep,
    images: &[&Image],
    mut selected: Vec<usize>,
    now: i64,
) -> Vec<(usize, bool, String)> {
    match *keep {
        Keep::NewestPushed(n) => {
            // `images` is already newest push first, ties by digest.
            ranked(selected, n)
        }
        Keep::NewestPulled(n) => {
            selected.sort_by_key(|&i| {
                let img = images[i];
                (
                    img.last_pulled.is_none(),
                    Reverse(img.last_pulled),
                    Reverse(img.pushed),
                    &img.digest,
                )
            });
            ranked(selected, n)
        }
        Keep::PushedWithinDays(d) => selected
            .into_iter()
            .map(|i| {
                let t = images[i].pushed;
                (
                    i,
                    t >= now - i64::from(d) * DAY,
                    format!("pushed {}", ago(now, t)),
                )
            })
            .collect(),
        Keep::PulledWithinDays(d) => selected
            .into_iter()
            .map(|i| match images[i].last_pulled {
                Some(t) => (
                    i,
                    t >= now - i64::from(d) * DAY,
                    format!("pulled {}", ago(now, t)),
                ),
                None => (i, false, "never pulled".to_owned()),
            })
            .collect(),
        Keep::Always(keeps) => selected
            .into_iter()
            .map(|i| (i, keeps, "always".to_owned()))
            .collect(),
    }
}

fn ranked(order: Vec<usize>, n: usize) -> Vec<(usize, bool, String)> {
    order
        .into_iter()
        .enumerate()
        .map(|(rank, i)| (i, rank < n, format!("#{}", rank + 1)))
        .collect()
}

fn ago(now: i64, t: i64) -> String {
    let secs = now - t;
    if secs < DAY {
        format!("{}h ago", secs.max(0) / 3600)
    } else {
        format!("{} days ago", secs / DAY)
    }
}

/// The rule in a few words: its selectors (those not left at "everything") and its keep.
pub(super) fn describe(rule: &RetentionRule) -> String {
    let mut parts = Vec::new();
    if rule.repositories != "**" {
        parts.push(format!("repositories {}", rule.repositories));
    }
    if let Some(t) = &rule.tags {
        parts.push(format!("tags {t}"));
    }
    if let Some(b) = &rule.bucket {
        parts.push(format!("bucket {b}"));
    }
    if let Some(l) = &rule.label {
        parts.push(format!("label {l}"));
    }
    parts.push(match rule.keep {
        Keep::NewestPushed(n) => format!("newest {n} pushed"),
        Keep::NewestPulled(n) => format!("newest {n} pulled"),
        Keep::PushedWithinDays(d) => format!("pushed within {d} days"),
        Keep::PulledWithinDays(d) => format!("pulled within {d} days"),
        Keep::Always(_) => "always".to_owned(),
    });
    parts.join(", ")
}
