//! The rebuild plan, read from the registry: the digests IMAGE's tag named before the current
//! one (its tag history), every image downstream of them with its build record, base name
//! and the `-rebuild.N` tag it will get, in waves by depth (`LineageIndex::rebuild_waves`'
//! order: a wave depends only on earlier waves).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use strata_distribution::govern::{Dependent, ImageRef};
use strata_distribution::names::{ManifestRef, RepositoryName};
use strata_govern::lineage::BuildRecord;
use strata_oci::{Digest, Reference};

use super::super::{api_image, registry_of};
use crate::commands::govern::display::table;

/// Why a dependent is not rebuilt: what it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// No `org.strata.build` annotation.
    BuildRecord,
    /// No tag to derive `-rebuild.N` from.
    Tag,
    /// No `base.name` annotation.
    BaseName,
}

/// One image to rebuild (or skip).
#[derive(Debug, Clone)]
pub struct Planned {
    pub digest: Digest,
    /// `repository:tag` names, as the registry lists them.
    pub names: Vec<String>,
    pub parent: Digest,
    pub depth: usize,
    pub build: Option<BuildRecord>,
    /// `registry/repository:<tag>-rebuild.N`.
    pub new_tag: Option<Reference>,
    /// Its base as its Dockerfile names it (the `base.name` annotation).
    pub from_name: Option<String>,
    /// Built from a work tree with uncommitted changes (its revision ends in `-dirty`).
    pub dirty: bool,
    pub skip: Option<Skip>,
}

pub struct Plan {
    pub target: Reference,
    /// What the children of the old digests are rebuilt on: `registry/repo@digest`.
    pub new_parent: Reference,
    pub old_digests: BTreeSet<Digest>,
    pub waves: Vec<Vec<Planned>>,
}

pub fn make(target: &Reference) -> Result<Plan> {
    let (_client, registry) = registry_of(target)?;
    let api = registry.govern();
    let image = api_image(target)?;
    let (old_digests, new_digest) = match &image.reference {
        ManifestRef::Digest(d) => (BTreeSet::from([d.clone()]), d.clone()),
        ManifestRef::Tag(tag) => {
            let history = api
                .tag_history(&image.name, tag)
                .with_context(|| format!("tag history of {target}"))?;
            let Some(current) = history.history.last().and_then(|e| e.digest.clone()) else {
                bail!("{target}: the tag is deleted; nothing names the new parent");
            };
            let olds = history
                .history
                .iter()
                .filter_map(|e| e.digest.clone())
                .filter(|d| *d != current)
                .collect();
            (olds, current)
        }
    };
    let mut dependents: BTreeMap<Digest, Dependent> = BTreeMap::new();
    for old in &old_digests {
        let of = ImageRef {
            name: image.name.clone(),
            reference: ManifestRef::Digest(old.clone()),
        };
        let answer = api
            .dependents(&of)
            .with_context(|| format!("dependents of {of}"))?;
        for d in answer.dependents {
            dependents.entry(d.digest.clone()).or_insert(d);
        }
    }
    let mut tags_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut planned = Vec::new();
    for d in dependents.into_values() {
        planned.push(plan_one(&api, target, d, &mut tags_of)?);
    }
    Ok(Plan {
        target: target.clone(),
        new_parent: target.with_digest(new_digest),
        old_digests,
        waves: waves(planned),
    })
}

impl Plan {
    /// The repository digest `d` (an old digest of the target, or a planned image) is in.
    pub fn repository_of(&self, d: &Digest) -> Result<String> {
        if self.old_digests.contains(d) {
            return Ok(self.target.repository().to_owned());
        }
        self.waves
            .iter()
            .flatten()
            .find(|p| p.digest == *d)
            .and_then(|p| p.names.first())
            .map(|n| split_name(n).0.to_owned())
            .with_context(|| format!("{d}: not in the plan, no repository to read it from"))
    }
}

/// Groups by depth, each wave sorted by name.
fn waves(planned: Vec<Planned>) -> Vec<Vec<Planned>> {
    let mut by_depth: BTreeMap<usize, Vec<Planned>> = BTreeMap::new();
    for p in planned {
        by_depth.entry(p.depth).or_default().push(p);
    }
    by_depth
        .into_values()
        .map(|mut w| {
            w.sort_by(|a, b| a.names.cmp(&b.names));
            w
        })
        .collect()
}

/// `repository:tag` → (repository, tag); `repository@digest` → (repository, None).
fn split_name(name: &str) -> (&str, Option<&str>) {
    if let Some((repo, _)) = name.split_once('@') {
        return (repo, None);
    }
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], Some(&name[slash + i + 1..])),
        None => (name, None),
    }
}

fn plan_one(
    api: &strata_client::govern::Govern<'_>,
    target: &Reference,
    d: Dependent,
    tags_of: &mut BTreeMap<String, BTreeSet<String>>,
) -> Result<Planned> {
    let mut p = Planned {
        digest: d.digest.clone(),
        names: d.names.clone(),
        parent: d.parent.clone(),
        depth: d.depth,
        build: d.build.clone(),
        new_tag: None,
        from_name: None,
        dirty: false,
        skip: None,
    };
    let tagged = d.names.iter().find_map(|n| match split_name(n) {
        (repo, Some(tag)) => Some((repo.to_owned(), tag.to_owned())),
        _ => None,
    });
    if p.build.is_none() {
        p.skip = Some(Skip::BuildRecord);
        return Ok(p);
    }
    let Some((repo, tag)) = tagged else {
        p.skip = Some(Skip::Tag);
        return Ok(p);
    };
    let name: RepositoryName = repo
        .parse()
        .with_context(|| format!("{repo}: not a repository name"))?;
    let json = api
        .image(&ImageRef {
            name: name.clone(),
            reference: ManifestRef::Digest(d.digest.clone()),
        })
        .with_context(|| format!("{repo}@{}", d.digest))?;
    p.from_name = json
        .annotations
        .get(strata_govern::annotations::BASE_NAME)
        .cloned();
    p.dirty = json
        .annotations
        .get(strata_govern::annotations::REVISION)
        .is_some_and(|r| r.ends_with("-dirty"));
    if p.from_name.is_none() {
        p.skip = Some(Skip::BaseName);
        return Ok(p);
    }
    if !tags_of.contains_key(&repo) {
        let images = api
            .images(&name)
            .with_context(|| format!("images of {repo}"))?;
        let tags = images.images.into_iter().flat_map(|i| i.tags).collect();
        tags_of.insert(repo.clone(), tags);
    }
    let new = rebuild_tag(&tag, &tags_of[&repo]);
    tags_of
        .get_mut(&repo)
        .expect("inserted")
        .insert(new.clone());
    let reference = format!("{}/{repo}:{new}", target.registry());
    p.new_tag = Some(
        Reference::parse(&reference).with_context(|| format!("{reference}: not a reference"))?,
    );
    Ok(p)
}

/// `<tag>-rebuild.N`, N one more than the highest taken (a rebuilt tag's own `-rebuild.N`
/// suffix is dropped first: `1-rebuild.1` rebuilt again becomes `1-rebuild.2`).
pub fn rebuild_tag(tag: &str, existing: &BTreeSet<String>) -> String {
    let base = match tag.rsplit_once("-rebuild.") {
        Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => b,
        _ => tag,
    };
    let prefix = format!("{base}-rebuild.");
    let highest = existing
        .iter()
        .filter_map(|t| t.strip_prefix(&prefix)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{}", highest + 1)
}

impl Plan {
    /// The plan as a table on stdout: wave, image, digest, source, new tag (or why skipped).
    pub fn print(&self) -> Result<()> {
        eprintln!(
            "dependents of {} (earlier digests: {}), rebuilt on {}",
            self.target,
            self.old_digests
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.new_parent
        );
        let mut rows = vec![vec![
            "WAVE".to_owned(),
            "IMAGE".into(),
            "DIGEST".into(),
            "SOURCE".into(),
            "NEW TAG".into(),
        ]];
        for (w, wave) in self.waves.iter().enumerate() {
            for p in wave {
                rows.push(vec![
                    (w + 1).to_string(),
                    p.names.first().cloned().unwrap_or_else(|| "-".into()),
                    p.digest.to_string(),
                    source_text(p.build.as_ref()),
                    match (&p.skip, &p.new_tag) {
                        (Some(s), _) => format!("skipped: {s}"),
                        (None, Some(t)) if p.rebase_possible() => {
                            format!("{t} (rebase possible)")
                        }
                        (None, Some(t)) => t.to_string(),
                        (None, None) => "-".into(),
                    },
                ]);
            }
        }
        table(&rows)
    }
}

impl Planned {
    /// Its record says its own layers are all linked copies: `--rebase` can re-base it
    /// (unless the new parent's config changed, found out when re-basing).
    pub fn rebase_possible(&self) -> bool {
        self.build
            .as_ref()
            .is_some_and(|b| b.linked_layers.is_some())
    }
}

fn source_text(build: Option<&BuildRecord>) -> String {
    match build {
        None => "-".into(),
        Some(b) => match &b.commit {
            Some(c) => format!("{}@{} ({})", b.source, &c[..c.len().min(12)], b.dockerfile),
            None => format!("{} ({})", b.source, b.dockerfile),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuild_tags_count_up_and_never_repeat() {
        let none = BTreeSet::new();
        assert_eq!(rebuild_tag("1", &none), "1-rebuild.1");
        let taken: BTreeSet<String> = ["1-rebuild.1", "1-rebuild.3", "10-rebuild.9", "1-rebuild.x"]
            .map(String::from)
            .into();
        assert_eq!(rebuild_tag("1", &taken), "1-rebuild.4");
        assert_eq!(rebuild_tag("1-rebuild.3", &taken), "1-rebuild.4");
    }

    #[test]
    fn names_split_into_repository_and_tag() {
        assert_eq!(split_name("team/app:1"), ("team/app", Some("1")));
        assert_eq!(split_name("app@sha256:ab"), ("app", None));
        assert_eq!(split_name("app"), ("app", None));
    }
}
