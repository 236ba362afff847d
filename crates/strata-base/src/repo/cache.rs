//! The download cache under `<root>/base-cache/`: verified `.deb`s by SHA256
//! (`debs/<sha256>.deb`) and uncompressed Packages indices by the SHA256 their Release lists
//! (`indices/<sha256>`). Everything is written to a temp file in the same directory, checked,
//! then renamed: a killed download leaves nothing a later run would trust.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::http::Http;
use super::{PackageRecord, RepoError};

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Opens (creating) the cache at `dir`, e.g. `<root>/base-cache`.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Cache, RepoError> {
        let dir = dir.into();
        for sub in ["debs", "indices"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|source| RepoError::Io { path, source })?;
        }
        Ok(Cache { dir })
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the `.deb` with this SHA256 is (or would be) kept.
    pub fn deb_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("debs").join(format!("{sha256}.deb"))
    }

    /// The cached `.deb` with this hash and size, re-hashed now; `None` when absent or when
    /// the file no longer matches (then it is removed).
    pub fn cached_deb(&self, sha256: &str, size: u64) -> Option<PathBuf> {
        let path = self.deb_path(sha256);
        let meta = fs::metadata(&path).ok()?;
        if meta.len() == size && hash_file(&path).ok().as_deref() == Some(sha256) {
            return Some(path);
        }
        tracing::warn!(path = %path.display(), "cached .deb does not match its hash: removed");
        let _ = fs::remove_file(&path);
        None
    }

    pub(crate) fn index_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("indices").join(sha256)
    }

    /// Stores `bytes` as the index with this (already checked) hash.
    pub(crate) fn store_index(&self, sha256: &str, bytes: &[u8]) -> Result<(), RepoError> {
        let dir = self.dir.join("indices");
        let io_err = |source| RepoError::Io {
            path: dir.clone(),
            source,
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io_err)?;
        tmp.write_all(bytes).map_err(io_err)?;
        tmp.persist(self.index_path(sha256))
            .map_err(|e| io_err(e.error))?;
        Ok(())
    }
}

/// SHA256 of a file, lowercase hex.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Makes sure every package's `.deb` is in the cache (downloading the missing ones from their
/// mirror, `jobs` at a time, each verified by size and SHA256 while written) and returns their
/// paths, in the order of `pkgs`. A wrong hash or size is an error naming the package and URL,
/// and nothing is kept.
pub fn fetch_debs(
    cache: &Cache,
    pkgs: &[PackageRecord],
    jobs: usize,
) -> Result<Vec<PathBuf>, RepoError> {
    let http = Http::default();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<PathBuf, RepoError>>>> =
        Mutex::new((0..pkgs.len()).map(|_| None).collect());
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, 16).min(pkgs.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= pkgs.len() || failed.load(Ordering::Relaxed) {
                    break;
                }
                let result = fetch_one(cache, &http, &pkgs[i]);
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    // The first error in package order, so the message does not depend on thread timing; a
    // package left unfetched (`None`) only follows a failure, which is returned first.
    results.into_iter().flatten().collect::<Result<Vec<_>, _>>()
}

/// One `.deb`: from the cache when its hash matches, else downloaded (again, up to three
/// times, when the connection breaks mid-body).
fn fetch_one(cache: &Cache, http: &Http, pkg: &PackageRecord) -> Result<PathBuf, RepoError> {
    if let Some(path) = cache.cached_deb(&pkg.sha256, pkg.size) {
        return Ok(path);
    }
    let mut attempt = 1;
    loop {
        match download(cache, http, pkg) {
            Err(RepoError::Read { url, source }) if attempt < 3 => {
                tracing::warn!(%url, error = %source, "download broke off: retrying");
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Downloads one `.deb` into the cache, hashed while written.
fn download(cache: &Cache, http: &Http, pkg: &PackageRecord) -> Result<PathBuf, RepoError> {
    let url = pkg.url();
    tracing::info!(package = %pkg.name, version = %pkg.version, %url, "downloading");
    let Some(mut body) = http.get(&url)? else {
        return Err(RepoError::DebNotFound {
            package: pkg.name.clone(),
            version: pkg.version.clone(),
            url,
        });
    };
    let dir = cache.dir.join("debs");
    let io_err = |source| RepoError::Io {
        path: dir.clone(),
        source,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = body.read(&mut buf).map_err(|source| RepoError::Read {
            url: url.clone(),
            source,
        })?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > pkg.size {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(io_err)?;
    }
    let got = hex::encode(hasher.finalize());
    if size != pkg.size || got != pkg.sha256 {
        return Err(RepoError::DebMismatch {
            package: pkg.label(),
            url,
            detail: format!(
                "want sha256 {}, {} bytes; got {got}, {size}{} bytes",
                pkg.sha256,
                pkg.size,
                if size > pkg.size { " or more" } else { "" }
            ),
        });
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    let path = cache.deb_path(&pkg.sha256);
    tmp.persist(&path).map_err(|e| io_err(e.error))?;
    Ok(path)
}
