//! Extracting a (decompressed) layer tar into a directory, safely: every
//! path is cleaned (`..` cannot climb above the destination, leading `/` is
//! dropped), parent directories are resolved inside the destination (see
//! [`crate::rootpath`]), and the final component is never followed — an
//! existing entry there is replaced, not written through.

use crate::error::{Error, Result};
use crate::reuse::{self, Failure, Outcome, Reuse, Wanted};
use crate::rootpath::{clean_components, resolve_dir};
use crate::sys;
use crate::whiteout::{classify, WhiteoutMode, WhiteoutName};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tar::EntryType;

/// Options of [`apply_layer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Give entries the owner recorded in the tar (needs root).
    pub same_owner: bool,
    /// What to do with `.wh.*` entries.
    pub whiteouts: WhiteoutMode,
    /// Give every entry this `(uid, gid)` instead (ADD --chown).
    pub chown: Option<(u32, u32)>,
    /// An immutable directory holding an earlier, similar unpack (on the same filesystem):
    /// regular files identical there in bytes and metadata are hard-linked from it instead of
    /// written (see [`crate::reuse`]). The result is the same as without it.
    pub reuse: Option<PathBuf>,
}

/// Counts of what [`apply_layer`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Tar entries read (excluding PAX/GNU extension headers).
    pub entries: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes and fifos created.
    pub devices: u64,
    /// Whiteouts and opaque markers handled (in `Apply`/`Overlay` mode).
    pub whiteouts: u64,
    /// Bytes of file content written (or linked).
    pub bytes: u64,
    /// Regular files hard-linked from [`ApplyOptions::reuse`] (counted in `files` too).
    pub linked: u64,
    /// Entries skipped: the root entry, unsupported types, device nodes
    /// without privilege.
    pub skipped: u64,
}

/// Metadata of one tar entry, read before its content.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    mtime_nsec: u32,
    xattrs: Vec<(String, Vec<u8>)>,
}

/// Extracts the tar stream `tar` into `dest` (which must exist). See the
/// module docs for the safety rules and [`ApplyOptions`] for the modes.
/// Directory modes and mtimes are set at the end, deepest first.
pub fn apply_layer<R: Read>(tar: R, dest: &Path, opts: &ApplyOptions) -> Result<ApplyStats> {
    let mut archive = tar::Archive::new(tar);
    let mut ap = Applier {
        dest,
        opts,
        root: sys::is_root(),
        created: HashSet::new(),
        dirs: Vec::new(),
        stats: ApplyStats::default(),
        buf: vec![0u8; BUF_SIZE],
        cmp_buf: Vec::new(),
        parent_cache: None,
        reuse: opts.reuse.as_deref().and_then(|r| Reuse::open(r, dest)),
        reused: HashSet::new(),
    };
    let mut last: Option<String> = None;
    let entries = archive.entries().map_err(|source| Error::ReadTar {
        after: None,
        source,
    })?;
    for item in entries {
        let mut entry = item.map_err(|source| Error::ReadTar {
            after: last.clone(),
            source,
        })?;
        last = Some(ap.apply_one(&mut entry)?);
    }
    ap.finish_dirs()?;
    tracing::debug!(dest = %dest.display(), stats = ?ap.stats, "layer applied");
    Ok(ap.stats)
}

struct Applier<'a> {
    dest: &'a Path,
    opts: &'a ApplyOptions,
    root: bool,
    created: HashSet<PathBuf>,
    dirs: Vec<(PathBuf, String, Meta)>,
    stats: ApplyStats,
    buf: Vec<u8>,
    /// The candidate's bytes when comparing with [`ApplyOptions::reuse`].
    cmp_buf: Vec<u8>,
    parent_cache: Option<(PathBuf, PathBuf)>,
    reuse: Option<Reuse>,
    /// Inodes of the reuse dir linked into `dest` so far (dev, ino): one is never linked at a
    /// second path, where the layer has two files, not a hard link (the reuse dir may hold
    /// them as one inode), so the inodes of `dest` are the layer's.
    reused: HashSet<(u64, u64)>,
}

const BUF_SIZE: usize = 256 * 1024;

/// Builds an [`Error::Apply`]; called only on failure.
fn aerr(entry: &str, path: &Path, source: io::Error) -> Error {
    Error::Apply {
        entry: entry.to_string(),
        path: path.to_path_buf(),
        source,
    }
}

impl Applier<'_> {
    /// Applies one entry; returns its name for error context.
    fn apply_one<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<String> {
        self.stats.entries += 1;
        let raw = e.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let comps = clean_components(&raw);
        let Some((base, parents)) = comps.split_last() else {
            self.stats.skipped += 1; // the root itself
            return Ok(name);
        };
        let rel: PathBuf = comps.iter().collect();
        let kind = e.header().entry_type();
        if self.opts.whiteouts != WhiteoutMode::Ignore {
            let wh = classify(base.to_str().unwrap_or(""));
            if wh != WhiteoutName::None {
                self.parent_cache = None;
                self.whiteout(&name, parents, wh)?;
                return Ok(name);
            }
        }
        let meta = read_meta(e, &name)?;
        let parent_rel: PathBuf = parents.iter().collect();
        let parent = self.parent(&parent_rel, parents, &name)?;
        let target = parent.join(base);
        let is_dir = kind == EntryType::Directory;
        self.clear_target(&target, is_dir, &name)?;
        let err = |s| aerr(&name, &target, s);
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                self.stats.files += 1;
                if self.write_file(e, &target, &name, &meta)? {
                    // A link to an identical file: its metadata is already right.
                    self.created.insert(rel);
                    return Ok(name);
                }
            }
            EntryType::Directory => {
                match fs::DirBuilder::new().mode(0o700).create(&target) {
                    Ok(()) => {}
                    Err(x) if x.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(x) => return Err(err(x)),
                }
                self.stats.dirs += 1;
            }
            EntryType::Symlink => {
                let link = e
                    .link_name_bytes()
                    .ok_or_else(|| invalid(&name, "symlink without target"))?;
                std::os::unix::fs::symlink(OsStr::from_bytes(&link), &target).map_err(&err)?;
                self.stats.symlinks += 1;
                self.parent_cache = None;
            }
            EntryType::Link => {
                self.hardlink(e, &target, &name)?;
                self.created.insert(rel);
                return Ok(name);
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                if !self.device(e, &target, &name, meta.mode)? {
                    return Ok(name);
                }
            }
            other => {
                tracing::warn!(entry = %name, kind = ?other, "skipping unsupported tar entry type");
                self.stats.skipped += 1;
                return Ok(name);
            }
        }
        self.set_meta(&target, &name, &meta, kind)?;
        if is_dir {
            self.dirs.push((target, name.clone(), meta));
        }
        self.created.insert(rel);
        Ok(name)
    }

    /// The resolved parent directory, creating missing ones.
    fn parent(&mut self, rel: &Path, comps: &[&OsStr], name: &str) -> Result<PathBuf> {
        if let Some((r, abs)) = &self.parent_cache {
            if r == rel {
                return Ok(abs.clone());
            }
        }
        let abs =
            resolve_dir(self.dest, comps, true).map_err(|s| aerr(name, &self.dest.join(rel), s))?;
        self.parent_cache = Some((rel.to_path_buf(), abs.clone()));
        Ok(abs)
    }

    /// Removes whatever is at `target` unless both are directories.
    fn clear_target(&mut self, target: &Path, is_dir: bool, name: &str) -> Result<()> {
        let err = |s| aerr(name, target, s);
        match fs::symlink_metadata(target) {
            Ok(m) if m.is_dir() => {
                if !is_dir {
                    fs::remove_dir_all(target).map_err(err)?;
                    self.parent_cache = None;
                }
            }
            Ok(_) => fs::remove_file(target).map_err(err)?,
            Err(x) if x.kind() == io::ErrorKind::NotFound => {}
            Err(x) => return Err(err(x)),
        }
        Ok(())
    }

    /// Writes a regular file's content; true when it was hard-linked from the reuse dir
    /// instead (metadata included).
    fn write_file<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        target: &Path,
        name: &str,
        meta: &Meta,
    ) -> Result<bool> {
        let err = |s| aerr(name, target, s);
        let read_err = |source| Error::ReadEntry {
            entry: name.to_string(),
            source,
        };
        let create = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(target)
        };
        let expected = e.size();
        let (mut file, mut written) = match self.reuse_candidate(target, meta, expected) {
            Some((cand, inode)) => {
                self.cmp_buf.resize(BUF_SIZE, 0);
                let bufs = (&mut self.buf[..], &mut self.cmp_buf[..]);
                match reuse::link_or_write(e, cand, target, bufs, create) {
                    Ok(Outcome::Linked(n)) => {
                        self.check_size(name, expected, n)?;
                        self.reused.insert(inode);
                        self.stats.linked += 1;
                        return Ok(true);
                    }
                    Ok(Outcome::Writing(file, n)) => (file, n),
                    Err(Failure::Read(x)) => return Err(read_err(x)),
                    Err(Failure::Write(x)) => return Err(err(x)),
                }
            }
            None => (create().map_err(&err)?, 0),
        };
        loop {
            let n = match e.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(x) if x.kind() == io::ErrorKind::Interrupted => continue,
                Err(x) => return Err(read_err(x)),
            };
            file.write_all(&self.buf[..n]).map_err(&err)?;
            written += n as u64;
        }
        self.check_size(name, expected, written)?;
        Ok(false)
    }

    /// Counts `actual` bytes of an entry whose header said `expected`.
    fn check_size(&mut self, name: &str, expected: u64, actual: u64) -> Result<()> {
        if actual != expected {
            return Err(Error::Truncated {
                entry: name.to_string(),
                expected,
                actual,
            });
        }
        self.stats.bytes += actual;
        Ok(())
    }

    /// A file of the reuse dir at `target`'s place that may be linked, with its inode: same
    /// size, mode, owner and mtime, no xattrs (bytes are compared by the caller), and not
    /// linked at another path of `dest` already.
    fn reuse_candidate(
        &self,
        target: &Path,
        meta: &Meta,
        size: u64,
    ) -> Option<(std::fs::File, (u64, u64))> {
        let reuse = self.reuse.as_ref()?;
        let (uid, gid) = self.owner(meta)?;
        if !meta.xattrs.is_empty() {
            return None;
        }
        let rel = target.strip_prefix(self.dest).ok()?;
        let want = Wanted {
            size,
            mode: meta.mode,
            uid,
            gid,
            mtime: meta.mtime,
            mtime_nsec: meta.mtime_nsec,
        };
        let file = reuse.candidate(rel, &want)?;
        let st = file.metadata().ok()?;
        let inode = (st.dev(), st.ino());
        (!self.reused.contains(&inode)).then_some((file, inode))
    }

    fn hardlink<R: Read>(
        &mut self,
        e: &tar::Entry<'_, R>,
        target: &Path,
        name: &str,
    ) -> Result<()> {
        let link = e
            .link_name_bytes()
            .ok_or_else(|| invalid(name, "hardlink without target"))?;
        let comps = clean_components(&link);
        let Some((base, parents)) = comps.split_last() else {
            return Err(invalid(name, "hardlink to the root"));
        };
        let src_parent =
            resolve_dir(self.dest, parents, false).map_err(|s| aerr(name, target, s))?;
        let src = src_parent.join(base);
        fs::hard_link(&src, target).map_err(|s| aerr(name, &src, s))?;
        self.stats.hardlinks += 1;
        Ok(())
    }

    /// Creates a device node or fifo; false when skipped for lack of privilege.
    fn device<R: Read>(
        &mut self,
        e: &tar::Entry<'_, R>,
        target: &Path,
        name: &str,
        mode: u32,
    ) -> Result<bool> {
        let h = e.header();
        let (kind, dev) = match h.entry_type() {
            EntryType::Char | EntryType::Block => {
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                let k = if h.entry_type() == EntryType::Char {
                    libc::S_IFCHR
                } else {
                    libc::S_IFBLK
                };
                (k, sys::makedev(major, minor))
            }
            _ => (libc::S_IFIFO, 0),
        };
        match sys::mknod(target, kind, mode, dev) {
            Ok(()) => {
                self.stats.devices += 1;
                Ok(true)
            }
            Err(x)
                if x.raw_os_error() == Some(libc::EPERM) && !self.root && kind != libc::S_IFIFO =>
            {
                tracing::warn!(entry = %name, "skipping device node: not running as root");
                self.stats.skipped += 1;
                Ok(false)
            }
            Err(x) => Err(aerr(name, target, x)),
        }
    }

    /// Owner, xattrs, mode (not for symlinks), mtime (not yet for dirs).
    fn set_meta(&mut self, target: &Path, name: &str, meta: &Meta, kind: EntryType) -> Result<()> {
        let err = |s| aerr(name, target, s);
        // Owner first: chown clears setuid bits and security.capability.
        if let Some((uid, gid)) = self.owner(meta) {
            std::os::unix::fs::lchown(target, Some(uid), Some(gid)).map_err(&err)?;
        }
        for (k, v) in &meta.xattrs {
            if let Err(x) = sys::set_xattr(target, k, v) {
                match x.raw_os_error() {
                    Some(libc::EPERM | libc::ENOTSUP | libc::EACCES) => {
                        tracing::warn!(entry = %name, xattr = %k, error = %x, "cannot set xattr");
                    }
                    _ => return Err(err(x)),
                }
            }
        }
        match kind {
            EntryType::Symlink => {
                sys::set_times_nofollow(target, meta.mtime, meta.mtime_nsec).map_err(&err)?
            }
            EntryType::Directory => {}
            _ => {
                fs::set_permissions(target, Permissions::from_mode(meta.mode)).map_err(&err)?;
                sys::set_times_nofollow(target, meta.mtime, meta.mtime_nsec).map_err(&err)?;
            }
        }
        Ok(())
    }

    /// The owner an entry gets, when one is set (else the unpacking user's).
    fn owner(&self, meta: &Meta) -> Option<(u32, u32)> {
        match self.opts.chown {
            Some(o) => Some(o),
            None if self.opts.same_owner => Some((meta.uid, meta.gid)),
            None => None,
        }
    }

    fn whiteout(&mut self, name: &str, parents: &[&OsStr], wh: WhiteoutName<'_>) -> Result<()> {
        let parent_rel: PathBuf = parents.iter().collect();
        let create = self.opts.whiteouts == WhiteoutMode::Overlay;
        let parent = resolve_dir(self.dest, parents, create)
            .map_err(|s| aerr(name, &self.dest.join(&parent_rel), s))?;
        self.stats.whiteouts += 1;
        match (self.opts.whiteouts, wh) {
            (WhiteoutMode::Apply, WhiteoutName::Opaque) if parent.is_dir() => {
                self.clear_lower(&parent, &parent_rel, name)?;
            }
            (WhiteoutMode::Apply, WhiteoutName::Whiteout(victim)) => {
                if victim == "." || victim == ".." || victim.contains('/') {
                    return Err(invalid(name, "whiteout of an invalid name"));
                }
                self.clear_target(&parent.join(victim), false, name)?;
            }
            (WhiteoutMode::Overlay, WhiteoutName::Opaque) => {
                sys::set_xattr(&parent, crate::whiteout::OVERLAY_OPAQUE_XATTR, b"y")
                    .map_err(|s| aerr(name, &parent, s))?;
            }
            (WhiteoutMode::Overlay, WhiteoutName::Whiteout(victim)) => {
                if victim == "." || victim == ".." {
                    return Err(invalid(name, "whiteout of an invalid name"));
                }
                let target = parent.join(victim);
                self.clear_target(&target, false, name)?;
                sys::mknod(&target, libc::S_IFCHR, 0, 0).map_err(|s| aerr(name, &target, s))?;
                self.created.insert(parent_rel.join(victim));
            }
            _ => {}
        }
        Ok(())
    }

    /// Removes everything below `dir` that this layer did not create.
    fn clear_lower(&mut self, dir: &Path, rel: &Path, name: &str) -> Result<()> {
        let err = |s| aerr(name, dir, s);
        for child in fs::read_dir(dir).map_err(&err)? {
            let child = child.map_err(&err)?;
            let child_rel = rel.join(child.file_name());
            let path = child.path();
            let ft = child.file_type().map_err(&err)?;
            if !self.created.contains(&child_rel) {
                let res = if ft.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                res.map_err(|s| aerr(name, &path, s))?;
            } else if ft.is_dir() {
                self.clear_lower(&path, &child_rel, name)?;
            }
        }
        Ok(())
    }

    /// Sets directory modes and times, children before parents.
    fn finish_dirs(&mut self) -> Result<()> {
        for (path, name, meta) in self.dirs.drain(..).rev() {
            let err = |s| aerr(&name, &path, s);
            fs::set_permissions(&path, Permissions::from_mode(meta.mode)).map_err(&err)?;
            sys::set_times_nofollow(&path, meta.mtime, meta.mtime_nsec).map_err(&err)?;
        }
        Ok(())
    }
}

fn invalid(entry: &str, reason: &str) -> Error {
    Error::InvalidEntry {
        entry: entry.to_string(),
        reason: reason.to_string(),
    }
}

/// Mode, owner, mtime (PAX `mtime` with fraction when present) and
/// `SCHILY.xattr.*` records of an entry.
fn read_meta<R: Read>(e: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta> {
    let h = e.header();
    let bad = |source| Error::ReadEntry {
        entry: name.to_string(),
        source,
    };
    let mut meta = Meta {
        mode: h.mode().map_err(bad)? & 0o7777,
        uid: h.uid().map_err(bad)? as u32,
        gid: h.gid().map_err(bad)? as u32,
        mtime: h.mtime().map_err(bad)? as i64,
        mtime_nsec: 0,
        xattrs: Vec::new(),
    };
    if let Some(exts) = e.pax_extensions().map_err(bad)? {
        for ext in exts {
            let ext = ext.map_err(bad)?;
            let Ok(key) = ext.key() else { continue };
            if let Some(x) = key.strip_prefix("SCHILY.xattr.") {
                meta.xattrs
                    .push((x.to_string(), ext.value_bytes().to_vec()));
            } else if key == "mtime" {
                if let Some((s, ns)) = ext.value().ok().and_then(parse_pax_time) {
                    meta.mtime = s;
                    meta.mtime_nsec = ns;
                }
            }
        }
    }
    Ok(meta)
}

/// `"1700000000.5"` → `(1700000000, 500000000)`.
fn parse_pax_time(s: &str) -> Option<(i64, u32)> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    Some((secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pax_times() {
        assert_eq!(parse_pax_time("12"), Some((12, 0)));
        assert_eq!(parse_pax_time("12.5"), Some((12, 500_000_000)));
        assert_eq!(parse_pax_time("12.0000000019"), Some((12, 1)));
        assert_eq!(parse_pax_time("x"), None);
    }
}
