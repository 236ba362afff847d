//! Lock files (`strata base lock`): the exact packages of a resolution — name, version,
//! architecture, pool path, SHA256, size, the archive's `Priority` and `Section` (which dpkg's
//! status records, and which may differ from the `.deb`'s own) and the mirror/suite each came
//! from — and the `Date` of every Release used. Building from a lock skips resolution and fetches exactly those files
//! by hash, from the cache, the mirror, or a snapshot mirror.
//!
//! TOML, packages sorted by name, releases by source: the same resolution always serialises
//! to the same bytes.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dpkg::stanza::with_overrides;
use crate::repo::{Cache, PackageRecord, Repository, Version};
use crate::resolve::Resolution;

/// The lock file format version this code reads and writes. Version 1 lacked `priority` and
/// `section`, so an offline build from it could not reproduce an online one: it is refused
/// with a request to re-lock (the packages are the same; only the file gains the fields).
pub const LOCK_VERSION: u32 = 2;

/// A lock file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    pub arch: String,
    #[serde(default, rename = "release")]
    pub releases: Vec<LockedRelease>,
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

/// A Release a lock was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedRelease {
    pub mirror: String,
    pub suite: String,
    pub date: String,
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    /// The index's `Priority` and `Section` (absent when the index gives none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    pub mirror: String,
    pub suite: String,
}

impl LockedPackage {
    /// The archive's overrides of the `.deb`'s control fields, as a record's paragraph holds
    /// them.
    fn overrides(&self) -> Vec<(&'static str, &str)> {
        [("Priority", &self.priority), ("Section", &self.section)]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_deref()?)))
            .collect()
    }
}

/// A lock that cannot be read, written or honoured.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a strata base lock file")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{path}: lock file version {found}, this strata reads version {LOCK_VERSION}: re-lock with `strata base lock`")]
    Version { path: PathBuf, found: u32 },
    #[error("{path}: package {package}: {reason}")]
    Invalid {
        path: PathBuf,
        package: String,
        reason: String,
    },
    #[error("the lock is for architecture {lock}, the repository for {repo}")]
    Arch { lock: String, repo: String },
    #[error("locked package {package}={version} (sha256 {sha256}) is in no index nor the cache, and no snapshot mirror is named: add one (e.g. http://snapshot.debian.org/archive/debian/<date>) or re-lock")]
    Unavailable {
        package: String,
        version: String,
        sha256: String,
    },
}

impl Lock {
    /// The lock of a resolution made from `repo`.
    ///
    /// Each package's `mirror` is the one it was fetched from; [`Lock::with_mirrors`] maps an
    /// override (a local cache) back to the build file's.
    pub fn from_resolution(resolution: &Resolution, repo: &Repository) -> Lock {
        let mut packages: Vec<LockedPackage> = resolution
            .packages
            .iter()
            .map(|p| LockedPackage {
                name: p.name.clone(),
                version: p.version.clone(),
                arch: p.arch.clone(),
                filename: p.filename.clone(),
                sha256: p.sha256.clone(),
                size: p.size,
                priority: p.field("Priority"),
                section: p.field("Section"),
                mirror: p.mirror.clone(),
                suite: p.suite.clone(),
            })
            .collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        let mut releases: Vec<LockedRelease> = repo
            .suites()
            .iter()
            .map(|s| LockedRelease {
                mirror: s.mirror.clone(),
                suite: s.suite.clone(),
                date: s.date.clone(),
            })
            .collect();
        releases.sort_by(|a, b| (&a.mirror, &a.suite).cmp(&(&b.mirror, &b.suite)));
        Lock {
            version: LOCK_VERSION,
            arch: repo.arch().to_owned(),
            releases,
            packages,
        }
    }

    /// The lock with every package's and release's mirror that equals a key of `mirrors`
    /// replaced by its value: `strata base lock --mirror URL` records the file's mirrors, not
    /// the override, which is a transport detail (as apt's proxy).
    pub fn with_mirrors(mut self, mirrors: &[(String, String)]) -> Lock {
        let map = |m: &mut String| {
            if let Some((_, to)) = mirrors.iter().find(|(from, _)| from == m) {
                *m = to.clone();
            }
        };
        for p in &mut self.packages {
            map(&mut p.mirror);
        }
        for r in &mut self.releases {
            map(&mut r.mirror);
        }
        self.releases
            .sort_by(|a, b| (&a.mirror, &a.suite).cmp(&(&b.mirror, &b.suite)));
        self
    }

    /// Reads and checks a lock file.
    pub fn load(path: &Path) -> Result<Lock, LockError> {
        let text = std::fs::read_to_string(path).map_err(|source| LockError::Io {
            path: path.to_owned(),
            source,
        })?;
        let lock: Lock = toml::from_str(&text).map_err(|source| LockError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        lock.validate(path)?;
        Ok(lock)
    }

    fn validate(&self, path: &Path) -> Result<(), LockError> {
        if self.version != LOCK_VERSION {
            return Err(LockError::Version {
                path: path.to_owned(),
                found: self.version,
            });
        }
        let mut seen = BTreeSet::new();
        for p in &self.packages {
            let invalid = |reason: String| LockError::Invalid {
                path: path.to_owned(),
                package: p.name.clone(),
                reason,
            };
            if p.name.is_empty() || p.filename.is_empty() || p.mirror.is_empty() {
                return Err(invalid("empty name, filename or mirror".to_owned()));
            }
            if !seen.insert(p.name.as_str()) {
                return Err(invalid("locked twice".to_owned()));
            }
            Version::parse(&p.version).map_err(|e| invalid(e.to_string()))?;
            if p.sha256.len() != 64
                || !p
                    .sha256
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(invalid(format!(
                    "sha256 {:?} is not 64 lowercase hex digits",
                    p.sha256
                )));
            }
        }
        Ok(())
    }

    /// The TOML text: deterministic for a given lock.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("a lock always serialises");
        format!("# strata base lock file: written by `strata base lock`, read by `strata base build`.\n{body}")
    }

    /// Writes the lock atomically (temp file in the same directory, then rename).
    pub fn save(&self, path: &Path) -> Result<(), LockError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let io_err = |source| LockError::Io {
            path: path.to_owned(),
            source,
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err)?;
        tmp.write_all(self.to_toml().as_bytes()).map_err(io_err)?;
        tmp.persist(path).map_err(|e| io_err(e.error))?;
        Ok(())
    }

    /// The locked packages as records to fetch, in name order. Each comes from `repo` when an
    /// index still lists the same file (then with its full index paragraph), else from the lock
    /// alone (a `control` of only `Priority` and `Section`) when the cache holds the file or a snapshot mirror can serve it
    /// (the first of `snapshots`, unless the lock already names a snapshot mirror). Anything
    /// else is [`LockError::Unavailable`], naming the package.
    ///
    /// Without `repo` (no index loaded: the fast path of a warm build) a package the cache
    /// lacks is fetched by its pool path from the lock's mirror (or the first snapshot mirror);
    /// a file the mirror no longer has is then [`RepoError::DebNotFound`] from `fetch_debs`,
    /// naming the package and version.
    ///
    /// [`RepoError::DebNotFound`]: crate::repo::RepoError::DebNotFound
    pub fn packages(
        &self,
        cache: &Cache,
        repo: Option<&Repository>,
        snapshots: &[String],
    ) -> Result<Vec<PackageRecord>, LockError> {
        if let Some(repo) = repo {
            if repo.arch() != self.arch {
                return Err(LockError::Arch {
                    lock: self.arch.clone(),
                    repo: repo.arch().to_owned(),
                });
            }
        }
        let mut out = Vec::with_capacity(self.packages.len());
        for p in &self.packages {
            let indexed = repo
                .and_then(|r| r.find(&p.name, &p.version))
                .filter(|r| r.sha256 == p.sha256 && r.arch == p.arch);
            if let Some(rec) = indexed {
                let mut rec = rec.clone();
                let overrides = p.overrides();
                if overrides
                    .iter()
                    .any(|(k, v)| rec.field(k).as_deref() != Some(*v))
                {
                    rec.control = with_overrides(&rec.control, &overrides);
                }
                out.push(rec);
                continue;
            }
            let mut rec = PackageRecord {
                name: p.name.clone(),
                version: p.version.clone(),
                arch: p.arch.clone(),
                filename: p.filename.clone(),
                sha256: p.sha256.clone(),
                size: p.size,
                mirror: p.mirror.clone(),
                suite: p.suite.clone(),
                control: with_overrides("", &p.overrides()),
            };
            let cached = cache.deb_path(&p.sha256).exists();
            if cached || is_snapshot(&p.mirror) || (repo.is_none() && snapshots.is_empty()) {
                out.push(rec);
                continue;
            }
            let Some(snapshot) = snapshots.first() else {
                return Err(LockError::Unavailable {
                    package: p.name.clone(),
                    version: p.version.clone(),
                    sha256: p.sha256.clone(),
                });
            };
            rec.mirror = snapshot.trim_end_matches('/').to_owned();
            out.push(rec);
        }
        Ok(out)
    }
}

/// Whether a mirror URL is a snapshot archive (`snapshot.debian.org/archive/<archive>/<time>`),
/// which keeps every file it ever served.
pub fn is_snapshot(mirror: &str) -> bool {
    mirror.contains("snapshot.debian.org/archive/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{resolve, Request, Variant};

    fn rec(name: &str, version: &str, sha: char) -> PackageRecord {
        PackageRecord {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: "amd64".to_owned(),
            filename: format!("pool/main/{name}_{version}_amd64.deb"),
            sha256: sha.to_string().repeat(64),
            size: 42,
            mirror: "http://deb.debian.org/debian".to_owned(),
            suite: "bookworm".to_owned(),
            control: format!(
                "Package: {name}\nVersion: {version}\nArchitecture: amd64\n\
                 Priority: required\nSection: {name}-section\n"
            ),
        }
    }

    fn locked(dir: &Path) -> (Lock, Repository) {
        let repo = Repository::from_records(
            "amd64",
            vec![rec("zlib1g", "1:1.2.13", 'a'), rec("bash", "5.2.15-2", 'b')],
        );
        let res = resolve(&repo, &Request::new(&["zlib1g", "bash"], Variant::None)).unwrap();
        let lock = Lock::from_resolution(&res, &repo);
        lock.save(&dir.join("base.lock")).unwrap();
        (lock, repo)
    }

    #[test]
    fn round_trips_byte_for_byte_sorted_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, _) = locked(dir.path());
        let path = dir.path().join("base.lock");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.find("name = \"bash\"").unwrap() < text.find("name = \"zlib1g\"").unwrap());
        assert!(text.contains("version = \"1:1.2.13\""), "{text}");
        let back = Lock::load(&path).unwrap();
        assert_eq!(back, lock);
        back.save(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (_, _) = locked(dir.path());
        let path = dir.path().join("base.lock");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(&"b".repeat(64), "xyz")).unwrap();
        let err = Lock::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("base.lock") && err.contains("package bash"),
            "{err}"
        );
        std::fs::write(&path, "version = 1\narch = \"amd64\"\n").unwrap();
        let err = Lock::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("version 1") && err.contains("re-lock"),
            "{err}"
        );
        std::fs::write(&path, "nonsense = [").unwrap();
        assert!(matches!(Lock::load(&path), Err(LockError::Parse { .. })));
    }

    #[test]
    fn packages_from_index_cache_or_snapshot_else_a_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, repo) = locked(dir.path());
        let cache = Cache::new(dir.path().join("cache")).unwrap();
        // Still in the index: the index's record, with its paragraph.
        let recs = lock.packages(&cache, Some(&repo), &[]).unwrap();
        assert_eq!(recs.len(), 2);
        assert!(recs[0].control.starts_with("Package: bash"));
        // The index moved on: without cache nor snapshot it is an error naming the package.
        let newer = Repository::from_records("amd64", vec![rec("bash", "5.2.15-3", 'c')]);
        let err = lock
            .packages(&cache, Some(&newer), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("bash=5.2.15-2"), "{err}");
        // A snapshot mirror serves it by its pool path.
        let snap = "http://snapshot.debian.org/archive/debian/20240801T000000Z/".to_owned();
        let recs = lock.packages(&cache, Some(&newer), &[snap]).unwrap();
        assert_eq!(
            recs[0].url(),
            "http://snapshot.debian.org/archive/debian/20240801T000000Z/pool/main/bash_5.2.15-2_amd64.deb"
        );
        // No index loaded: the lock's own mirror (or the snapshot) by pool path.
        let recs = lock.packages(&cache, None, &[]).unwrap();
        assert_eq!(recs[0].mirror, "http://deb.debian.org/debian");
        // The cache holds it: fine offline too.
        std::fs::write(cache.deb_path(&"b".repeat(64)), b"x").unwrap();
        std::fs::write(cache.deb_path(&"a".repeat(64)), b"x").unwrap();
        let recs = lock.packages(&cache, None, &[]).unwrap();
        assert_eq!(recs[1].name, "zlib1g");
        assert_eq!(
            recs[1].control,
            "Priority: required\nSection: zlib1g-section\n"
        );
    }

    #[test]
    fn priority_and_section_are_locked_and_given_back_without_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, repo) = locked(dir.path());
        let text = std::fs::read_to_string(dir.path().join("base.lock")).unwrap();
        assert!(text.contains("priority = \"required\""), "{text}");
        assert!(text.contains("section = \"bash-section\""), "{text}");
        let cache = Cache::new(dir.path().join("cache")).unwrap();
        let offline = lock.packages(&cache, None, &[]).unwrap();
        let online = lock.packages(&cache, Some(&repo), &[]).unwrap();
        for recs in [&offline, &online] {
            assert_eq!(recs[0].field("Priority").as_deref(), Some("required"));
            assert_eq!(recs[0].field("Section").as_deref(), Some("bash-section"));
        }
        // The index's overrides changed since: the lock's win, as offline.
        let mut moved = rec("bash", "5.2.15-2", 'b');
        moved.control = moved
            .control
            .replace("Priority: required", "Priority: optional");
        let moved = Repository::from_records("amd64", vec![moved, rec("zlib1g", "1:1.2.13", 'a')]);
        let recs = lock.packages(&cache, Some(&moved), &[]).unwrap();
        assert_eq!(recs[0].field("Priority").as_deref(), Some("required"));
        assert!(recs[0].control.starts_with("Package: bash"));
    }

    #[test]
    fn with_mirrors_records_the_files_mirror_not_the_override() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, _) = locked(dir.path());
        let cache = "http://127.0.0.1:3142/deb.debian.org/debian".to_owned();
        let via_cache = lock
            .clone()
            .with_mirrors(&[("http://deb.debian.org/debian".to_owned(), cache.clone())]);
        assert!(via_cache.packages.iter().all(|p| p.mirror == cache));
        let back = via_cache.with_mirrors(&[(cache, "http://deb.debian.org/debian".to_owned())]);
        assert_eq!(back, lock);
    }
}
