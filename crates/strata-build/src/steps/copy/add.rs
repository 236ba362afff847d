//! ADD's extras: sources fetched over HTTP(S) (verified with `--checksum`), git repositories
//! checked out (see [`super::git`]), local tar archives unpacked into the destination, and
//! heredoc bodies as files.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use strata_archive::{open_decompressed, Entry, EntryKind};
use strata_content::Store;
use strata_oci::Digest;

use crate::error::{BuildError, FetchError, Result, StepError};
use crate::sources::rootfs::RootfsView;
use crate::sources::select::{clean_source, Node};
use crate::steps::copy::git::{self, CheckoutOptions, GitError, Resolved};
use crate::steps::copy::git_ref::{GitRef, GitScheme};
use crate::steps::copy::rules::{CopyError, Overrides, Planned};
use crate::steps::copy::Pending;
use crate::steps::Step;

const HEREDOCS: &str = "heredoc";
const DOWNLOADS: &str = "url";
const CHECKOUTS: &str = "git";

/// Where [`TempSources::empty_root`] is made.
const EMPTY_ROOT: &str = "empty-root";

/// A scratch directory for sources that must become files first; removed when dropped.
pub struct TempSources {
    dir: tempfile::TempDir,
}

impl TempSources {
    pub fn new(store: &Store) -> Result<TempSources> {
        let base = store.root().join("tmp");
        let dir = tempfile::Builder::new()
            .prefix("sources-")
            .tempdir_in(&base)
            .map_err(BuildError::io("creating a temp dir in", &base))?;
        Ok(TempSources { dir })
    }

    /// Whether `path` is a heredoc body made here (never unpacked by ADD).
    pub fn holds_heredoc(&self, path: &Path) -> bool {
        path.starts_with(self.dir.path().join(HEREDOCS))
    }

    /// Whether `path` is a file downloaded here (unpacked only with `--unpack=true`).
    pub fn holds_download(&self, path: &Path) -> bool {
        path.starts_with(self.dir.path().join(DOWNLOADS))
    }

    /// Whether `path` is a git checkout made here (its tree is walked on disk).
    pub fn holds_git(&self, path: &Path) -> bool {
        path.starts_with(self.dir.path().join(CHECKOUTS))
    }

    /// An empty root directory (0755, made now): what a stage or image without layers
    /// (`--from=scratch`) reads as `/`, as BuildKit's empty snapshot.
    pub fn empty_root(&self) -> Result<PathBuf> {
        let root = self.dir.path().join(EMPTY_ROOT);
        std::fs::create_dir_all(&root).map_err(BuildError::io("creating", &root))?;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))
            .map_err(BuildError::io("setting the mode of", &root))?;
        Ok(root)
    }

    /// Checks a resolved git source out into a directory of its own.
    fn checkout(
        &self,
        source: &GitRef,
        res: &Resolved,
        opts: &CheckoutOptions,
    ) -> Result<PathBuf, GitError> {
        let base = self.dir.path().join(CHECKOUTS);
        std::fs::create_dir_all(&base).map_err(|e| GitError::Io {
            op: "creating",
            path: base.clone(),
            source: e,
        })?;
        let dir = tempfile::Builder::new()
            .prefix("checkout-")
            .tempdir_in(&base)
            .map_err(|e| GitError::Io {
                op: "creating a temp dir in",
                path: base.clone(),
                source: e,
            })?
            .keep();
        let tree = dir.join("tree");
        git::checkout(&source.remote, res, opts, &tree, &dir)?;
        Ok(tree)
    }

    /// A path for a file called `name` (one plain path component) of `kind`.
    fn file(&self, kind: &str, name: &str) -> Result<PathBuf> {
        if !is_file_name(name) {
            let err = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name");
            return Err(BuildError::io("naming a source file", Path::new(name))(err));
        }
        let digest = Digest::of(name.as_bytes());
        let d = self.dir.path().join(kind).join(digest.short());
        std::fs::create_dir_all(&d).map_err(BuildError::io("creating", &d))?;
        Ok(d.join(name))
    }

    /// Turns every pending source into a node on disk.
    pub fn materialise(&self, pending: Vec<Pending>, step: &Step<'_>) -> Result<Vec<Node>> {
        pending
            .into_iter()
            .map(|p| match p {
                Pending::Node(n) => Ok(n),
                Pending::Heredoc { name, content } => {
                    let file = heredoc_file_name(&name)
                        .ok_or_else(|| step.fail(StepError::HeredocName { name: name.clone() }))?;
                    let path = self.file(HEREDOCS, &file)?;
                    write_file(&path, content.as_bytes(), 0o644, None)?;
                    node(&file, path)
                }
                Pending::Url {
                    url,
                    checksum,
                    path,
                } => {
                    let fail = |source| {
                        step.fail(StepError::Fetch {
                            url: url.clone(),
                            source,
                        })
                    };
                    let path = match path {
                        Some(p) => p,
                        None => self.download(&url, checksum.as_deref()).map_err(fail)?,
                    };
                    node(&url_name(&url).map_err(fail)?, path)
                }
                Pending::Git {
                    source,
                    resolved,
                    options,
                } => {
                    let tree = self.checkout(&source, &resolved, &options).map_err(|e| {
                        step.fail(StepError::Git {
                            src: source.remote.clone(),
                            source: e,
                        })
                    })?;
                    node(&source.remote, tree)
                }
            })
            .collect()
    }

    fn download(&self, url: &str, checksum: Option<&str>) -> Result<PathBuf, FetchError> {
        let name = url_name(url)?;
        let (bytes, modified) = fetch(url)?;
        if let Some(c) = checksum {
            let got = Digest::of(&bytes).to_string();
            if got != c {
                return Err(FetchError::ChecksumMismatch {
                    expected: c.to_owned(),
                    actual: got,
                });
            }
        }
        let path = self
            .file(DOWNLOADS, &name)
            .map_err(|e| FetchError::Save(Box::new(e)))?;
        write_file(&path, &bytes, 0o600, modified).map_err(|e| FetchError::Save(Box::new(e)))?;
        Ok(path)
    }
}

/// The cache-key line of a URL source. With `--checksum` nothing is downloaded until the
/// step misses the cache; without it the content is fetched now and its digest used.
pub fn describe_url(
    url: &str,
    checksum: Option<&str>,
    tmp: &TempSources,
) -> Result<(String, Pending), FetchError> {
    url_name(url)?;
    if let Some(c) = checksum {
        c.parse::<Digest>()
            .map_err(|source| FetchError::BadChecksum {
                checksum: c.to_owned(),
                source,
            })?;
        let line = format!("url {url} {c}\n");
        return Ok((
            line,
            Pending::Url {
                url: url.to_owned(),
                checksum: Some(c.to_owned()),
                path: None,
            },
        ));
    }
    let path = tmp.download(url, None)?;
    let bytes = std::fs::read(&path).map_err(FetchError::Read)?;
    let line = format!("url {url} {}\n", Digest::of(&bytes));
    Ok((
        line,
        Pending::Url {
            url: url.to_owned(),
            checksum: None,
            path: Some(path),
        },
    ))
}

/// The cache-key line of a git source: the commit its ref resolves to now (`ls-remote`),
/// with what the checkout holds (source/git/source.go `shaToCacheKey`). `--checksum` and
/// `--keep-git-dir` must agree with the source's own `?checksum=`/`?keep-git-dir=`
/// (convert.go `dispatchCopy`).
pub fn describe_git(
    source: &GitRef,
    checksum: Option<&str>,
    keep_git_dir: Option<bool>,
) -> Result<(String, Pending), GitError> {
    if source.scheme == GitScheme::Ssh {
        return Err(GitError::SshUnsupported);
    }
    let keep = match (keep_git_dir, source.keep_git_dir) {
        (Some(a), Some(b)) if a != b => return Err(GitError::KeepGitDirConflict),
        (flag, own) => own.or(flag).unwrap_or(false),
    };
    let checksum = match (checksum, source.checksum.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(GitError::ChecksumConflict(a.to_owned(), b.to_owned()))
        }
        (flag, own) => own.or(flag),
    };
    let resolved = git::resolve(&source.remote, source.reference.as_deref(), checksum)?;
    let options = CheckoutOptions {
        subdir: git::clean_subdir(source.subdir.as_deref()),
        keep_git_dir: keep,
        submodules: source.submodules.unwrap_or(true),
    };
    let line = format!("git {}\n", git::cache_key(&resolved, &options));
    let pending = Pending::Git {
        source: source.clone(),
        resolved,
        options,
    };
    Ok((line, pending))
}

/// Every entry below a checkout, with paths relative to it, directories before what they
/// hold; symlinks are not followed. An entry that cannot be listed or stat'ed is an error
/// naming it, never left out of the copy.
pub fn walk_checkout(root: &Node) -> Result<Vec<(String, Node)>, CopyError> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(&root.real)
        .min_depth(1)
        .sort_by_file_name()
    {
        let e = e.map_err(|e| CopyError::Read {
            path: e.path().unwrap_or(&root.real).to_owned(),
            source: e.into(),
        })?;
        let meta = std::fs::symlink_metadata(e.path()).map_err(|source| CopyError::Read {
            path: e.path().to_owned(),
            source,
        })?;
        // Below the root by construction of the walk.
        let rel = e.path().strip_prefix(&root.real).unwrap_or(e.path());
        let rel = rel.to_string_lossy().into_owned();
        let node = Node {
            path: rel.clone(),
            real: e.path().to_owned(),
            meta,
        };
        out.push((rel, node));
    }
    Ok(out)
}

/// Heredoc sources (`COPY <<EOF /dst`), after the other sources as BuildKit adds them
/// (convert.go `dispatchCopy`: `SourceContents` become `llb.Mkfile(name, 0644, data)` in a
/// scratch state, copied like any file). Their bodies go into the cache key.
pub fn heredoc_sources(docs: &[strata_dockerfile::Heredoc], desc: &mut Vec<u8>) -> Vec<Pending> {
    docs.iter()
        .map(|h| {
            let digest = Digest::of(h.content.as_bytes());
            desc.extend_from_slice(format!("heredoc {} {digest}\n", h.name).as_bytes());
            Pending::Heredoc {
                name: h.name.clone(),
                content: h.content.clone(),
            }
        })
        .collect()
}

fn url_name(url: &str) -> Result<String, FetchError> {
    let parsed = url::Url::parse(url).map_err(FetchError::Url)?;
    parsed
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .ok_or(FetchError::NoName)
}

fn fetch(url: &str) -> Result<(Vec<u8>, Option<i64>), FetchError> {
    let resp = ureq::get(url)
        .call()
        .map_err(|e| FetchError::Request(Box::new(e)))?;
    let modified = resp
        .header("Last-Modified")
        .and_then(|h| httpdate::parse_http_date(h).ok())
        .and_then(|t| {
            t.duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs() as i64)
        });
    let mut bytes = Vec::new();
    resp.into_reader()
        .read_to_end(&mut bytes)
        .map_err(FetchError::Read)?;
    Ok((bytes, modified))
}

fn write_file(path: &Path, bytes: &[u8], mode: u32, mtime: Option<i64>) -> Result<()> {
    std::fs::write(path, bytes).map_err(BuildError::io("writing", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(BuildError::io("chmod", path))?;
    if let Some(t) = mtime {
        let ft = filetime::FileTime::from_unix_time(t, 0);
        filetime::set_file_mtime(path, ft).map_err(BuildError::io("setting mtime of", path))?;
    }
    Ok(())
}

/// The file a heredoc source becomes: `path.Join("/", name)` must be one file directly
/// under `/` (BuildKit's `Mkfile` in an empty image), so `<<"/x"` is `x`, and `<<"a/b"`,
/// `<<".."` are refused. Never a path outside the temp directory.
fn heredoc_file_name(name: &str) -> Option<String> {
    let clean = strata_oci::path::clean(&format!("/{name}"));
    let file = clean.strip_prefix('/')?;
    is_file_name(file).then(|| file.to_owned())
}

/// One plain path component: not empty, `.`, `..`, and without `/`.
fn is_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

fn node(name: &str, real: PathBuf) -> Result<Node> {
    let meta = std::fs::symlink_metadata(&real).map_err(BuildError::io("reading", &real))?;
    Ok(Node {
        path: name.to_owned(),
        real,
        meta,
    })
}

/// Unpacks a local tar archive (plain or compressed) under `dest`, as
/// solver/llbsolver/file/unpack.go does with go-archive's `Untar`: entries keep their modes,
/// owners and mtimes (`--chown` overrides owners, `--chmod` is not applied); whiteout names are
/// written literally; directories the archive implies but does not hold are 0755 0:0, made now.
pub fn add_archive(
    p: &mut Planned,
    archive: &Path,
    dest: &str,
    ov: &Overrides,
    (image, now): (Option<&RootfsView>, i64),
) -> std::io::Result<()> {
    let f = std::fs::File::open(archive)?;
    let (reader, _) =
        open_decompressed(std::io::BufReader::new(f)).map_err(std::io::Error::other)?;
    let mut ar = tar::Archive::new(reader);
    let base = dest.trim_start_matches('/').trim_end_matches('/');
    for item in ar.entries()? {
        let mut item = item?;
        let Some(entry) = archive_entry(&mut item, base, ov)? else {
            continue;
        };
        add_implied_dirs(p, base, &entry.path, (image, now));
        p.entries.insert(entry.path.clone(), entry);
    }
    Ok(())
}

/// go-archive `createImpliedDirectories`: missing parents of an entry, below the destination,
/// are made 0755 and owned by (unmapped) root, whatever `--chown` says; existing ones are kept.
fn add_implied_dirs(
    p: &mut Planned,
    base: &str,
    path: &str,
    (image, now): (Option<&RootfsView>, i64),
) {
    let mut cur = path;
    while let Some((parent, _)) = cur.rsplit_once('/') {
        if parent.len() <= base.len() {
            break;
        }
        let exists = image.is_some_and(|v| v.lookup_exact(&format!("/{parent}")).is_some());
        if !exists && !p.entries.contains_key(parent) {
            let mut e = Entry::new(parent.to_owned(), EntryKind::Dir);
            e.mode = 0o755;
            e.mtime = now;
            p.entries.insert(parent.to_owned(), e);
        }
        cur = parent;
    }
}

fn archive_entry<R: Read>(
    item: &mut tar::Entry<'_, R>,
    base: &str,
    ov: &Overrides,
) -> std::io::Result<Option<Entry>> {
    let raw = item.path()?.to_string_lossy().into_owned();
    let rel = clean_source(&raw);
    if rel.is_empty() {
        return Ok(None);
    }
    let path = if base.is_empty() {
        rel
    } else {
        format!("{base}/{rel}")
    };
    let h = item.header().clone();
    let link = || {
        h.link_name()
            .ok()
            .flatten()
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let kind = match h.entry_type() {
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => EntryKind::Symlink { target: link() },
        tar::EntryType::Link => {
            let t = clean_source(&link());
            EntryKind::Hardlink {
                target: if base.is_empty() {
                    t
                } else {
                    format!("{base}/{t}")
                },
            }
        }
        tar::EntryType::Regular | tar::EntryType::Continuous => {
            let mut data = Vec::with_capacity(h.size().unwrap_or(0) as usize);
            item.read_to_end(&mut data)?;
            EntryKind::File {
                size: data.len() as u64,
                source: strata_archive::FileSource::Bytes(data.into()),
            }
        }
        tar::EntryType::Fifo => EntryKind::Fifo,
        _ => return Ok(None),
    };
    let mut e = Entry::new(path, kind);
    e.mode = h.mode().unwrap_or(0o644) & 0o7777;
    let (uid, gid) = ov
        .chown
        .unwrap_or((h.uid().unwrap_or(0) as u32, h.gid().unwrap_or(0) as u32));
    (e.uid, e.gid) = (uid, gid);
    e.mtime = h.mtime().unwrap_or(0) as i64;
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_names_never_leave_the_temp_dir() {
        assert_eq!(heredoc_file_name("EOT").as_deref(), Some("EOT"));
        assert_eq!(heredoc_file_name("/x").as_deref(), Some("x"));
        assert_eq!(heredoc_file_name("./x").as_deref(), Some("x"));
        // Go's path.Join("/", …) stops `..` at the root.
        assert_eq!(heredoc_file_name("../../../../HD2").as_deref(), Some("HD2"));
        for bad in ["/tmp/HD_ESCAPE", "..", "a/b", "", "/"] {
            assert_eq!(heredoc_file_name(bad), None, "{bad:?}");
        }
    }

    /// Directories nested below `root` until the absolute path is longer than `PATH_MAX`:
    /// listing the deepest fails (`ENAMETOOLONG`), for root too, unlike a mode of 000.
    fn too_deep(root: &Path) -> PathBuf {
        let name = "d".repeat(250);
        let mut dir = std::fs::File::open(root).unwrap();
        let mut path = root.to_owned();
        while path.as_os_str().len() <= 4200 {
            let fd = rustix::fs::openat(
                &dir,
                name.as_str(),
                rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            );
            if fd.is_err() {
                rustix::fs::mkdirat(&dir, name.as_str(), rustix::fs::Mode::from_raw_mode(0o755))
                    .unwrap();
            }
            let fd = rustix::fs::openat(
                &dir,
                name.as_str(),
                rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            )
            .unwrap();
            dir = std::fs::File::from(fd);
            path.push(&name);
        }
        path
    }

    /// An entry the walk cannot read is an error naming it; before, it vanished from the
    /// copy (`filter_map(|e| e.ok())`).
    #[test]
    fn walk_checkout_reports_an_unreadable_entry_instead_of_dropping_it() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a"), "a").unwrap();
        let root = node("", t.path().to_owned()).unwrap();
        let ok = walk_checkout(&root).unwrap();
        assert_eq!(
            ok.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["a"]
        );

        let deep = too_deep(t.path());
        let err = walk_checkout(&root).unwrap_err();
        let CopyError::Read { path, source } = &err else {
            panic!("not a read error: {err}");
        };
        assert!(deep.starts_with(path), "{path:?}");
        assert_eq!(
            source.raw_os_error(),
            Some(rustix::io::Errno::NAMETOOLONG.raw_os_error())
        );
        assert!(err.to_string().starts_with("reading /"), "{err}");
    }
}
