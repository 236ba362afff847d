//! From the build file (and lock) to verified `.deb`s in the cache: the repository loaded
//! and its signatures checked, the packages resolved (or taken from the lock), downloaded.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use strata_base::config::{BaseConfig, Variant};
use strata_base::lock::Lock;
use strata_base::repo::{fetch_debs, Cache, PackageRecord, RepoOptions, Repository, Source};
use strata_base::resolve::{self, Request, Wanted};

use crate::cli::BaseSourceArgs;

/// The packages to install and the Release dates they come from.
pub struct Selected {
    pub records: Vec<PackageRecord>,
    /// `Date:` of each Release (the lock's when offline).
    pub release_dates: Vec<String>,
}

pub fn cache_dir(root: &Path, args: &BaseSourceArgs) -> PathBuf {
    args.cache
        .clone()
        .unwrap_or_else(|| root.join("base-cache"))
}

pub fn load_repo(config: &BaseConfig, args: &BaseSourceArgs, cache: &Cache) -> Result<Repository> {
    let sources: Vec<Source> = config
        .suite_sources(args.mirror.as_deref())
        .into_iter()
        .map(|s| {
            let comps: Vec<&str> = s.components.iter().map(String::as_str).collect();
            Source::new(&s.mirror, &s.suite, &comps)
        })
        .collect();
    let mut opts = RepoOptions::new(sources, &config.arch(), cache.clone());
    opts.keyring = config.keyring();
    // Snapshots keep Releases long past their Valid-Until (apt's Check-Valid-Until=no).
    opts.check_valid_until = config.source.snapshot.is_none();
    Repository::load(&opts).context("loading the package indices")
}

/// (override, file's) mirror pairs where `--mirror` replaces the file's: a lock records the
/// file's mirror, the override being only how this machine reaches it.
pub fn to_file_mirrors(config: &BaseConfig, mirror: Option<&str>) -> Vec<(String, String)> {
    pairs(config, mirror, false)
}

/// (override, file's) pairs when `from_file` is false, (file's, override) when true.
fn pairs(config: &BaseConfig, mirror: Option<&str>, from_file: bool) -> Vec<(String, String)> {
    if mirror.is_none() {
        return Vec::new();
    }
    let mut out: Vec<(String, String)> = config
        .suite_sources(mirror)
        .into_iter()
        .zip(config.suite_sources(None))
        .filter(|(o, f)| o.mirror != f.mirror)
        .map(|(o, f)| {
            if from_file {
                (f.mirror, o.mirror)
            } else {
                (o.mirror, f.mirror)
            }
        })
        .collect();
    out.dedup();
    out
}

pub fn request(config: &BaseConfig) -> Request {
    Request {
        packages: config.packages.iter().map(|p| Wanted::parse(p)).collect(),
        variant: match config.variant {
            Variant::Minbase => resolve::Variant::Minbase,
            Variant::None => resolve::Variant::None,
        },
    }
}

/// Resolves the packages (or reads the lock). Nothing is downloaded but the signed indices.
pub fn select(
    config: &BaseConfig,
    args: &BaseSourceArgs,
    cache: &Cache,
    lock: Option<&Path>,
    offline: bool,
) -> Result<Selected> {
    let (records, release_dates) = match lock {
        Some(path) => {
            let lock = Lock::load(path)?;
            let repo = if offline {
                None
            } else {
                Some(load_repo(config, args, cache)?)
            };
            let snapshots: Vec<String> = config
                .source
                .snapshot
                .as_ref()
                .map(|_| config.mirrors(None).0)
                .into_iter()
                .collect();
            // A package taken from the lock alone is fetched through `--mirror` too.
            let lock = lock.with_mirrors(&pairs(config, args.mirror.as_deref(), true));
            let records = lock
                .packages(cache, repo.as_ref(), &snapshots)
                .with_context(|| format!("taking the packages of {}", path.display()))?;
            let dates = lock.releases.iter().map(|r| r.date.clone()).collect();
            (records, dates)
        }
        None => {
            let repo = load_repo(config, args, cache)?;
            let resolution = resolve::resolve(&repo, &request(config))
                .with_context(|| format!("resolving the packages of {}", args.file.display()))?;
            let dates = repo.suites().iter().map(|s| s.date.clone()).collect();
            (resolution.packages, dates)
        }
    };
    Ok(Selected {
        records,
        release_dates,
    })
}

/// The selected packages' `.deb`s: the cache's, each re-hashed, and what it lacks downloaded.
pub fn debs(selected: &Selected, args: &BaseSourceArgs, cache: &Cache) -> Result<Vec<PathBuf>> {
    fetch_debs(cache, &selected.records, args.jobs).context("fetching the packages")
}
