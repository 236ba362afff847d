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
use std::sync::Mutex;
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
        let entries = walk(&root, &ignore)?;
        let key = root.to_string_lossy().into_owned();
        let stamps = store.file_hashes(&key)?;
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
        (stamp_of(&entry.meta, stamp.digest.clone()) == *stamp).then(|| stamp.digest.clone())
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
        message: e.to_string(),
    })
}

/// Walks the context with the ignore rules; directories that are excluded and cannot have a
/// re-included child are not descended into.
fn walk(root: &Path, ignore: &DockerIgnore) -> Result<BTreeMap<String, ContextEntry>> {
    let mut out = BTreeMap::new();
    let meta = std::fs::symlink_metadata(root).map_err(BuildError::io("reading", root))?;
    out.insert(
        String::new(),
        ContextEntry {
            rel: String::new(),
            meta,
        },
    );
    let mut it = walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .into_iter();
    while let Some(item) = it.next() {
        let item = item.map_err(|e| {
            let path = e
                .path()
                .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
            BuildError::Input {
                path,
                message: e.to_string(),
            }
        })?;
        let rel = relative(root, item.path());
        let is_dir = item.file_type().is_dir();
        if ignore.matches(&rel) {
            if is_dir && !ignore.may_reinclude_under(&rel) {
                it.skip_current_dir();
            }
            continue;
        }
        let meta = item.metadata().map_err(|e| BuildError::Input {
            path: item.path().to_path_buf(),
            message: e.to_string(),
        })?;
        out.insert(rel.clone(), ContextEntry { rel, meta });
    }
    Ok(out)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
