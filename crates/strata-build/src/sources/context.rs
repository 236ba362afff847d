//! The build context: the files a build may read, after `.dockerignore`, with content digests
//! kept warm by a stat cache.
//!
//! The context is walked once per build (lazily, on the first COPY/ADD that reads it). Content
//! digests come from the store's stat cache when a file's size, mtime, ctime and inode are
//! unchanged, so a warm build stats files instead of reading them. A stamp is only recorded
//! for a file whose ctime is older than the moment hashing started (git's "racy clean" rule),
//! so a file changed in the same clock tick as it was hashed is always read again.

use std::collections::{BTreeMap, HashMap};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use strata_content::{FileStamp, Store};
use strata_dockerfile::DockerIgnore;
use strata_oci::Digest;

use crate::error::{BuildError, Result};

/// How much older than the start of hashing a file's ctime must be for its stamp to be kept.
const RACY_MARGIN_NS: i64 = 20_000_000;

/// One file, directory or symlink of the context.
#[derive(Debug, Clone)]
pub struct ContextEntry {
    /// Relative path, `/`-separated; `""` is the context root.
    pub rel: String,
    pub meta: Metadata,
}

/// A walked context: its entries by relative path, in path order.
pub struct Context {
    root: PathBuf,
    key: String,
    entries: BTreeMap<String, ContextEntry>,
    stamps: HashMap<String, FileStamp>,
    fresh: Mutex<Vec<(String, FileStamp)>>,
    started_ns: i64,
}

impl Context {
    /// Walks `root`, skipping what `.dockerignore` excludes, and loads the stat cache.
    pub fn load(store: &Store, root: &Path) -> Result<Context> {
        let root = root
            .canonicalize()
            .map_err(BuildError::io("reading build context", root))?;
        let ignore = read_dockerignore(&root)?;
        let started_ns = now_ns();
        let key = root.to_string_lossy().into_owned();
        let (entries, stamps) = rayon::join(|| walk(&root, &ignore), || store.file_hashes(&key));
        let (entries, stamps) = (entries?, stamps?);
        tracing::debug!(
            entries = entries.len(),
            stamps = stamps.len(),
            "context walked"
        );
        Ok(Context {
            root,
            key,
            entries,
            stamps,
            fresh: Mutex::new(Vec::new()),
            started_ns,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn get(&self, rel: &str) -> Option<&ContextEntry> {
        self.entries.get(rel)
    }

    /// Every entry strictly below `dir` (`""` for the whole context), in path order.
    pub fn below<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a ContextEntry> + 'a {
        use std::ops::Bound;
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let start = if dir.is_empty() {
            Bound::Excluded(String::new())
        } else {
            Bound::Included(prefix.clone())
        };
        self.entries
            .range::<String, _>((start, Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, e)| e)
    }

    /// All entries, in path order.
    pub fn entries(&self) -> impl Iterator<Item = &ContextEntry> {
        self.entries.values()
    }

    pub fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// The cached digest of a regular file, if its stamp still matches.
    pub fn cached_digest(&self, entry: &ContextEntry) -> Option<Digest> {
        let stamp = self.stamps.get(&entry.rel)?;
        let m = &entry.meta;
        let same = stamp.size == m.size()
            && stamp.mtime_ns == m.mtime() * 1_000_000_000 + m.mtime_nsec()
            && stamp.ctime_ns == m.ctime() * 1_000_000_000 + m.ctime_nsec()
            && stamp.ino == m.ino()
            && stamp.mode == m.mode();
        same.then(|| stamp.digest.clone())
    }

    /// Records a digest computed by reading the file, for the stat cache.
    pub fn record_digest(&self, entry: &ContextEntry, digest: &Digest) {
        if entry.meta.ctime() * 1_000_000_000 + entry.meta.ctime_nsec() + RACY_MARGIN_NS
            < self.started_ns
        {
            let stamp = stamp_of(&entry.meta, digest.clone());
            self.fresh
                .lock()
                .expect("stamp list poisoned")
                .push((entry.rel.clone(), stamp));
        }
    }

    /// Digests of regular files: from the stat cache, else read (in parallel) and recorded.
    pub fn digests(&self, files: &[&ContextEntry]) -> Result<Vec<Digest>> {
        files
            .par_iter()
            .map(|e| match self.cached_digest(e) {
                Some(d) => Ok(d),
                None => {
                    let path = self.abs(&e.rel);
                    let bytes = std::fs::read(&path).map_err(BuildError::io("reading", &path))?;
                    let d = Digest::of(&bytes);
                    self.record_digest(e, &d);
                    Ok(d)
                }
            })
            .collect()
    }

    /// Writes the stamps learned during this build to the store's stat cache.
    pub fn save_stamps(&self, store: &Store) -> Result<()> {
        let fresh = std::mem::take(&mut *self.fresh.lock().expect("stamp list poisoned"));
        if !fresh.is_empty() {
            store.put_file_hashes(&self.key, &fresh)?;
        }
        Ok(())
    }
}

/// The build context of one build, walked on first use and shared by every stage.
#[derive(Default)]
pub struct LazyContext(Mutex<Option<Arc<Context>>>);

impl LazyContext {
    /// The context under `root`, walked (and its stat cache loaded) on the first call.
    pub fn get(&self, store: &Store, root: &Path) -> Result<Arc<Context>> {
        let mut slot = self.0.lock().expect("context lock poisoned");
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let ctx = Arc::new(Context::load(store, root)?);
        *slot = Some(ctx.clone());
        Ok(ctx)
    }

    /// Saves the stamps learned by this build, if the context was used.
    pub fn finish(&self, store: &Store) -> Result<()> {
        if let Some(ctx) = self.0.lock().expect("context lock poisoned").as_ref() {
            ctx.save_stamps(store)?;
        }
        Ok(())
    }
}

fn stamp_of(meta: &Metadata, digest: Digest) -> FileStamp {
    FileStamp {
        size: meta.size(),
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        ino: meta.ino(),
        mode: meta.mode(),
        digest,
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn read_dockerignore(root: &Path) -> Result<DockerIgnore> {
    let path = root.join(".dockerignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(BuildError::io("reading", path)(e)),
    };
    DockerIgnore::parse(&text).map_err(|e| BuildError::Input {
        path,
        source: crate::error::InputError::Dockerignore(e),
    })
}

/// Walks the context with the ignore rules, directories in parallel; directories that are
/// excluded and cannot have a re-included child are not descended into.
fn walk(root: &Path, ignore: &DockerIgnore) -> Result<BTreeMap<String, ContextEntry>> {
    let meta = std::fs::symlink_metadata(root).map_err(BuildError::io("reading", root))?;
    let found = Mutex::new(vec![ContextEntry {
        rel: String::new(),
        meta,
    }]);
    let failure = Mutex::new(None);
    let walker = Walker {
        root,
        ignore,
        found: &found,
        failure: &failure,
    };
    rayon::scope(|s| walker.dir(s, String::new()));
    if let Some(e) = failure.into_inner().expect("walk lock poisoned") {
        return Err(e);
    }
    let found = found.into_inner().expect("walk lock poisoned");
    Ok(found.into_iter().map(|e| (e.rel.clone(), e)).collect())
}

struct Walker<'w> {
    root: &'w Path,
    ignore: &'w DockerIgnore,
    found: &'w Mutex<Vec<ContextEntry>>,
    failure: &'w Mutex<Option<BuildError>>,
}

impl<'w> Walker<'w> {
    fn dir<'s>(&'s self, scope: &rayon::Scope<'s>, rel: String)
    where
        'w: 's,
    {
        let path = if rel.is_empty() {
            self.root.to_path_buf()
        } else {
            self.root.join(&rel)
        };
        let mut local = Vec::new();
        if let Err(e) = self.read(scope, &path, &rel, &mut local) {
            self.failure
                .lock()
                .expect("walk lock poisoned")
                .get_or_insert(e);
        }
        self.found.lock().expect("walk lock poisoned").extend(local);
    }

    fn read<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        path: &Path,
        rel: &str,
        local: &mut Vec<ContextEntry>,
    ) -> Result<()>
    where
        'w: 's,
    {
        let rd = std::fs::read_dir(path).map_err(BuildError::io("reading", path))?;
        for item in rd {
            let item = item.map_err(BuildError::io("reading", path))?;
            let name = item.file_name();
            let name = name.to_string_lossy();
            let child = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            let is_dir = item
                .file_type()
                .map_err(BuildError::io("reading", item.path()))?
                .is_dir();
            if self.ignore.matches(&child) {
                if is_dir && self.ignore.may_reinclude_under(&child) {
                    scope.spawn(move |s| self.dir(s, child));
                }
                continue;
            }
            let meta = item
                .metadata()
                .map_err(BuildError::io("reading", item.path()))?;
            if is_dir {
                let sub = child.clone();
                scope.spawn(move |s| self.dir(s, sub));
            }
            local.push(ContextEntry { rel: child, meta });
        }
        Ok(())
    }
}
