//! The metadata `strata build` records on the image manifest (docs/GOVERN.md "Metadata at
//! build"): where the source came from ([`git`], overridden by [`ci`]), the build record
//! (`org.strata.build`, how to build the image again), `ref.name`, and `--annotation`s
//! ([`annotation`]), which win over everything automatic; and the tags of
//! `--tag-from-git` ([`tags`], [`semver`]). The builder adds `base.name`, `base.digest` and
//! `created` itself (`strata_build`'s `output::annotate`).
//! Must not: build, tag or push.

pub mod annotation;
pub mod ci;
pub mod git;
pub mod semver;
pub mod tags;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use strata_govern::annotations as keys;
use strata_govern::lineage::BuildRecord;
use strata_oci::Reference;

pub use annotation::Annotation;

/// Where the build's source came from: git's view of the context, with the CI's variables
/// winning where set. Empty with `--no-git-metadata` or outside git and CI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// The repository URL.
    pub url: Option<String>,
    /// The full commit.
    pub commit: Option<String>,
    /// The work tree has changes (or untracked or ignored files) beside the commit.
    pub dirty: bool,
    /// The release tag of the commit.
    pub version: Option<String>,
    pub branch: Option<String>,
    pub author: Option<String>,
    /// The CI run's URL.
    pub run: Option<String>,
    /// The work tree's root on this machine.
    pub root: Option<PathBuf>,
}

impl Source {
    /// Git's view of the context (else of the Dockerfile's directory), then the CI's.
    pub fn detect(context: &Path, dockerfile: &Path) -> Result<Source> {
        let mut info = git::read(context)?;
        if info.is_none() {
            if let Some(dir) = dockerfile.parent().filter(|d| !d.as_os_str().is_empty()) {
                info = git::read(dir)?;
            }
        }
        Ok(Source::merge(info, ci::from_env()))
    }

    fn merge(git: Option<git::GitInfo>, ci: Option<ci::CiInfo>) -> Source {
        let mut s = match git {
            Some(g) => Source {
                url: g.remote,
                version: semver::release_tag(&g.tags).cloned(),
                commit: g.commit,
                dirty: g.dirty,
                branch: g.branch,
                author: g.author,
                run: None,
                root: Some(g.root),
            },
            None => Source::default(),
        };
        if let Some(ci) = ci {
            s.url = ci.source.or(s.url);
            s.commit = ci.revision.or(s.commit);
            s.version = ci.version.or(s.version);
            s.branch = ci.branch.or(s.branch);
            s.run = ci.run;
        }
        s
    }

    /// The revision annotation: the commit, `-dirty` when the tree has changes (buildx's
    /// `BUILDX_GIT_CHECK_DIRTY=1`, always on here).
    fn revision(&self) -> Option<String> {
        let commit = self.commit.as_ref()?;
        Some(match self.dirty {
            true => format!("{commit}-dirty"),
            false => commit.clone(),
        })
    }
}

/// What the metadata is computed from.
pub struct Inputs<'a> {
    pub context: &'a Path,
    pub dockerfile: &'a Path,
    pub target: Option<&'a str>,
    pub build_args: &'a BTreeMap<String, String>,
    /// The final `-t` tags.
    pub tags: &'a [Reference],
    pub source: &'a Source,
    pub explicit: &'a [Annotation],
    /// `SOURCE_DATE_EPOCH` is set: the output must not depend on where it was built.
    pub reproducible: bool,
}

/// The manifest annotations of the build: git and CI, the build record, `ref.name`, then
/// the explicit ones (they win).
pub fn annotations(inputs: &Inputs<'_>) -> Result<BTreeMap<String, String>> {
    let s = inputs.source;
    let mut out = BTreeMap::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            out.insert(key.to_owned(), v);
        }
    };
    put(keys::SOURCE, s.url.clone());
    put(keys::REVISION, s.revision());
    put(keys::VERSION, s.version.clone());
    put(keys::AUTHORS, s.author.clone());
    put(keys::BRANCH, s.branch.clone());
    put(keys::CI_RUN, s.run.clone());
    put(
        keys::REF_NAME,
        inputs.tags.first().and_then(|t| t.tag()).map(str::to_owned),
    );
    if let Some(record) = build_record(inputs)? {
        let record = serde_json::to_string(&record).context("encoding the build record")?;
        put(keys::BUILD, Some(record));
    }
    for a in inputs.explicit {
        out.insert(a.key.clone(), a.value.clone());
    }
    Ok(out)
}

/// How to build the image again: the repository and commit with the context and
/// Dockerfile relative to its root when the source is a git repository with a URL; else
/// the context's absolute path — left out when the build is to be reproducible
/// (`SOURCE_DATE_EPOCH`), since it names a place on this machine.
fn build_record(inputs: &Inputs<'_>) -> Result<Option<BuildRecord>> {
    let context = absolute(inputs.context)?;
    let dockerfile = absolute(inputs.dockerfile)?;
    let s = inputs.source;
    let (source, commit, base) = match (&s.url, &s.commit) {
        (Some(url), Some(commit)) => {
            let root = s.root.clone().unwrap_or_else(|| context.clone());
            (url.clone(), Some(commit.clone()), root)
        }
        _ if inputs.reproducible => return Ok(None),
        _ => (context.display().to_string(), None, context.clone()),
    };
    Ok(Some(BuildRecord {
        source,
        commit,
        context: relative(&context, &base),
        dockerfile: relative(&dockerfile, &base),
        target: inputs.target.map(str::to_owned),
        args: inputs.build_args.clone(),
        // Known once the build is done: the builder fills it in (`linked_layers_into`).
        linked_layers: None,
    }))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
    // git prints the root with symlinks resolved: compare like with like.
    Ok(abs.canonicalize().unwrap_or(abs))
}

/// `path` relative to `base` (`.` for `base` itself); absolute when outside it.
fn relative(path: &Path, base: &Path) -> String {
    let base = base.canonicalize().unwrap_or_else(|_| base.to_owned());
    match path.strip_prefix(&base) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_wins_over_git() {
        let git = git::GitInfo {
            root: "/src".into(),
            remote: Some("git@host:org/app.git".into()),
            commit: Some("aaaa".into()),
            dirty: true,
            tags: vec!["v1.0.0".into(), "v1.1.0".into()],
            branch: None,
            author: Some("A <a@x>".into()),
        };
        let s = Source::merge(Some(git.clone()), None);
        assert_eq!(s.version.as_deref(), Some("v1.1.0"));
        assert_eq!(s.revision().as_deref(), Some("aaaa-dirty"));
        let ci = ci::CiInfo {
            system: "github",
            source: Some("https://github.com/org/app".into()),
            revision: Some("bbbb".into()),
            branch: Some("main".into()),
            ..Default::default()
        };
        let s = Source::merge(Some(git), Some(ci));
        assert_eq!(s.url.as_deref(), Some("https://github.com/org/app"));
        assert_eq!(s.commit.as_deref(), Some("bbbb"));
        assert_eq!(s.version.as_deref(), Some("v1.1.0"));
        assert_eq!(s.branch.as_deref(), Some("main"));
        assert_eq!(s.author.as_deref(), Some("A <a@x>"));
    }
}
