//! Reusing the files of an earlier unpack: when a layer is applied next to an immutable
//! directory that holds a similar layer (a snapshot of the same build step before a one-file
//! edit, say), a regular file whose metadata and bytes are identical there is hard-linked
//! instead of written again. Creating thousands of inodes is the slow part of unpacking small
//! files; a link costs a directory entry only. BuildKit's overlay differ does the same for
//! immutable snapshots (`diffapply` with hard links).
//!
//! Nothing is trusted: a candidate is opened beneath the reuse root without following any
//! symlink, must be a regular file on the same filesystem with the same size, mode, owner and
//! mtime and no xattrs, and its bytes are compared with the entry's as they stream in. On the
//! first difference the file is written normally (the matching prefix copied from the
//! candidate), so the result is exactly what a plain unpack gives.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, CWD};

/// What a reused file must look like (the metadata a plain unpack would give it).
pub(crate) struct Wanted {
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
}

/// An open reuse root.
pub(crate) struct Reuse {
    root: File,
    dev: u64,
}

impl Reuse {
    /// Opens `root` for reuse into `dest`; `None` when it cannot serve (missing, or on
    /// another filesystem, where links are impossible).
    pub fn open(root: &Path, dest: &Path) -> Option<Reuse> {
        let dir = File::open(root).ok()?;
        let dev = rustix::fs::fstat(&dir).ok()?.st_dev;
        let dest_dev = rustix::fs::stat(dest).ok()?.st_dev;
        if dev != dest_dev {
            tracing::debug!(reuse = %root.display(), "reuse dir on another filesystem: not used");
            return None;
        }
        Some(Reuse { root: dir, dev })
    }

    /// The file at `rel` below the root, when its metadata matches `want`.
    pub fn candidate(&self, rel: &Path, want: &Wanted) -> Option<File> {
        let fd = rustix::fs::openat2(
            &self.root,
            rel,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )
        .ok()?;
        let st = rustix::fs::fstat(&fd).ok()?;
        let same = st.st_mode & libc::S_IFMT == libc::S_IFREG
            && st.st_dev == self.dev
            && st.st_size as u64 == want.size
            && st.st_mode & 0o7777 == want.mode & 0o7777
            && st.st_uid == want.uid
            && st.st_gid == want.gid
            && st.st_mtime as i64 == want.mtime
            && st.st_mtime_nsec as u32 == want.mtime_nsec;
        if !same || has_xattrs(&fd) {
            return None;
        }
        Some(File::from(fd))
    }
}

/// Whether the file has any extended attribute (those would have to be compared too).
fn has_xattrs(fd: &impl AsFd) -> bool {
    let mut buf = [0u8; 1];
    !matches!(rustix::fs::flistxattr(fd, &mut buf), Ok(0))
}

/// Streams `src` (`size` bytes) into `target`: hard-links `cand` when every byte is equal,
/// else writes the file (the prefix that matched is copied from `cand`). `create` makes the
/// new file when one is needed.
pub(crate) fn link_or_write(
    src: &mut impl Read,
    mut cand: File,
    target: &Path,
    bufs: (&mut [u8], &mut [u8]),
    create: impl FnOnce() -> io::Result<File>,
) -> Result<Outcome, Failure> {
    let (buf, theirs) = bufs;
    let mut matched = 0u64;
    loop {
        let n = read_some(src, buf).map_err(Failure::Read)?;
        if n == 0 {
            break;
        }
        let equal = cand.read_exact(&mut theirs[..n]).is_ok() && theirs[..n] == buf[..n];
        if !equal {
            let mut out = create().map_err(Failure::Write)?;
            copy_prefix(&mut cand, matched, &mut out).map_err(Failure::Write)?;
            out.write_all(&buf[..n]).map_err(Failure::Write)?;
            return Ok(Outcome::Writing(out, matched + n as u64));
        }
        matched += n as u64;
    }
    if link_fd(&cand, target).is_ok() {
        return Ok(Outcome::Linked(matched));
    }
    // Linking failed (no /proc, too many links): the bytes are known equal, copy them.
    let mut out = create().map_err(Failure::Write)?;
    copy_prefix(&mut cand, matched, &mut out).map_err(Failure::Write)?;
    Ok(Outcome::Writing(out, matched))
}

/// Which side of [`link_or_write`] failed.
pub(crate) enum Failure {
    /// Reading the entry.
    Read(io::Error),
    /// Making the target.
    Write(io::Error),
}

/// How [`link_or_write`] ended.
pub(crate) enum Outcome {
    /// `target` is a link to the candidate; this many bytes were read from the entry.
    Linked(u64),
    /// `target` is a new file holding this many bytes; the rest of the entry still has to be
    /// written to it.
    Writing(File, u64),
}

fn read_some(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match src.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Copies the first `len` bytes of `cand` to `out` (copy_file_range where it can).
fn copy_prefix(cand: &mut File, len: u64, out: &mut File) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    cand.seek(SeekFrom::Start(0))?;
    let copied = io::copy(&mut Read::by_ref(cand).take(len), out)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "reuse candidate shrank while being copied",
        ));
    }
    Ok(())
}

/// Links exactly the inode open as `file` at `target` (through `/proc/self/fd`, so the name
/// the candidate was found under cannot be swapped in between).
fn link_fd(file: &File, target: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        CWD,
        proc_path.as_str(),
        CWD,
        target,
        AtFlags::SYMLINK_FOLLOW,
    )
    .map_err(io::Error::from)
}
