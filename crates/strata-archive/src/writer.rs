//! Deterministic layer writing: entries → normalised tar → compressor, with
//! the diff_id (sha256 of the tar) and digest (sha256 of the compressed
//! bytes) computed in the same pass. The diff_id is hashed on a helper
//! thread (see `OffloadHashingWriter`), so it runs concurrently with the
//! digest, which is hashed as the compressed bytes are written; without
//! compression the two are the same hash, computed once.
//!
//! Normalisation: ustar headers with empty uname/gname; mode = permission
//! bits incl. setuid/setgid/sticky; mtime in whole seconds (sub-second parts
//! are dropped, so no PAX `mtime` record for ordinary times), clamped to
//! `source_date_epoch` when set; PAX records only for what ustar cannot hold
//! (names/link names > 100 bytes or non-ASCII, sizes ≥ 8 GiB, ids ≥ 2^21,
//! negative mtimes) plus `SCHILY.xattr.*`. Directories end in `/`.
//! Whiteouts are empty regular files with mode 0.

use crate::compression::{Compression, Compressor};
use crate::digest::{HashingWriter, OffloadHashingWriter};
use crate::entry::{normalize_rel, Entry, EntryKind, FileSource};
use crate::error::{Error, Result};
use crate::header::{self, HeaderFields};
use crate::whiteout::{opaque_path, whiteout_path};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use strata_oci::Digest;

/// Largest read of source file content (reads go straight into the
/// diff_id hasher's 1 MiB chunk, so most are ~1 MiB).
const READ_BUF: usize = 1 << 20;

/// Options of [`LayerWriter`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Clamp every mtime to at most this (SOURCE_DATE_EPOCH).
    pub source_date_epoch: Option<i64>,
    /// Compression threads; 0 = `std::thread::available_parallelism()`.
    /// The output does not depend on it.
    pub threads: usize,
    /// Leave the compressed stream unhashed ([`LayerInfo::digest`] is `None`): for sinks
    /// that hash what they store themselves (a content store), so that the same bytes are
    /// not hashed twice on the writing thread.
    pub skip_output_digest: bool,
}

/// Identity of a written layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// sha256 of the bytes written to the output; `None` when
    /// [`WriteOptions::skip_output_digest`] is set (for an uncompressed layer it is the
    /// diff_id either way).
    pub digest: Option<Digest>,
    /// Bytes written to the output (compressed size).
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub uncompressed_size: u64,
}

/// Streams entries into a compressed layer; see the module docs.
pub struct LayerWriter<W: Write> {
    tar: OffloadHashingWriter<Compressor<HashingWriter<W>>>,
    /// Without compression the digest is the diff_id.
    uncompressed: bool,
    opts: WriteOptions,
    hdr: Vec<u8>,
}

impl<W: Write> LayerWriter<W> {
    /// Starts a layer written to `out`. Fails only if the zstd encoder
    /// cannot be set up.
    pub fn new(out: W, compression: Compression, opts: WriteOptions) -> Result<Self> {
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let uncompressed = compression == Compression::None;
        let out = if uncompressed || opts.skip_output_digest {
            HashingWriter::counting(out)
        } else {
            HashingWriter::new(out)
        };
        let comp =
            Compressor::new(out, compression, threads).map_err(|source| Error::Compressor {
                compression: compression.to_string(),
                source,
            })?;
        Ok(Self {
            tar: OffloadHashingWriter::new(comp),
            uncompressed,
            opts,
            hdr: Vec::with_capacity(4096),
        })
    }

    /// Appends one entry. Entries are written in call order; a hardlink's
    /// target must have been appended before it.
    ///
    /// On [`Error::InvalidEntry`] or a source file that cannot be opened
    /// ([`Error::ReadSource`] from the open) nothing was written and the
    /// writer can go on; after any other error the layer is incomplete and
    /// the writer must be dropped.
    ///
    /// The root itself (empty path, `.` or `/`) is skipped for a directory
    /// (layers do not carry it) and means the root for an opaque marker.
    pub fn append(&mut self, entry: &Entry) -> Result<()> {
        let is_root = normalize_rel(&entry.path).is_empty();
        let path = match (&entry.kind, is_root) {
            (EntryKind::Dir, true) => return Ok(()),
            (EntryKind::OpaqueDir, true) => String::new(),
            _ => checked_path(&entry.path, &entry.path)?,
        };
        let name = match &entry.kind {
            EntryKind::Dir => format!("{path}/"),
            EntryKind::Whiteout => whiteout_path(&path),
            EntryKind::OpaqueDir => opaque_path(&path),
            _ => path.clone(),
        };
        let mtime = match self.opts.source_date_epoch {
            Some(sde) => entry.mtime.min(sde),
            None => entry.mtime,
        };
        let (typeflag, size, linkname, dev) = match &entry.kind {
            EntryKind::File { size, .. } => (header::TYPE_FILE, *size, String::new(), (0, 0)),
            EntryKind::Dir => (header::TYPE_DIR, 0, String::new(), (0, 0)),
            EntryKind::Symlink { target } => (header::TYPE_SYMLINK, 0, target.clone(), (0, 0)),
            EntryKind::Hardlink { target } => {
                (header::TYPE_LINK, 0, checked_path(target, &path)?, (0, 0))
            }
            EntryKind::CharDevice { major, minor } => {
                (header::TYPE_CHAR, 0, String::new(), (*major, *minor))
            }
            EntryKind::BlockDevice { major, minor } => {
                (header::TYPE_BLOCK, 0, String::new(), (*major, *minor))
            }
            EntryKind::Fifo => (header::TYPE_FIFO, 0, String::new(), (0, 0)),
            EntryKind::Whiteout | EntryKind::OpaqueDir => {
                (header::TYPE_FILE, 0, String::new(), (0, 0))
            }
        };
        if linkname.contains('\0') {
            return Err(invalid(&path, "link target contains a NUL byte"));
        }
        let is_whiteout = matches!(entry.kind, EntryKind::Whiteout | EntryKind::OpaqueDir);
        let empty = Default::default();
        self.hdr.clear();
        header::encode(
            &HeaderFields {
                name: &name,
                typeflag,
                mode: if is_whiteout { 0 } else { entry.mode },
                uid: entry.uid,
                gid: entry.gid,
                size,
                mtime,
                linkname: &linkname,
                devmajor: dev.0,
                devminor: dev.1,
                xattrs: if is_whiteout { &empty } else { &entry.xattrs },
            },
            &mut self.hdr,
        );
        let werr = |source| Error::Write {
            entry: path.clone(),
            source,
        };
        // Open the source before writing anything, so a missing file
        // leaves the layer untouched.
        let file = match &entry.kind {
            EntryKind::File {
                source: FileSource::Path(src),
                ..
            } => Some(File::open(src).map_err(|source| Error::ReadSource {
                path: src.clone(),
                source,
            })?),
            EntryKind::File {
                source: FileSource::Bytes(data),
                size,
            } if data.len() as u64 != *size => {
                return Err(invalid(&path, "in-memory content length differs from size"));
            }
            _ => None,
        };
        self.tar.write_all(&self.hdr).map_err(werr)?;
        if let EntryKind::File { source, size } = &entry.kind {
            self.write_content(&path, source, file, *size)?;
        }
        Ok(())
    }

    fn write_content(
        &mut self,
        path: &str,
        source: &FileSource,
        file: Option<File>,
        size: u64,
    ) -> Result<()> {
        let werr = |source| Error::Write {
            entry: path.to_string(),
            source,
        };
        match source {
            FileSource::Bytes(data) => self.tar.write_all(data).map_err(werr)?,
            FileSource::Path(src) => {
                let rerr = |source| Error::ReadSource {
                    path: src.clone(),
                    source,
                };
                let Some(mut file) = file else {
                    return Err(invalid(path, "source file not opened"));
                };
                let mut left = size;
                while left > 0 {
                    let want = left.min(READ_BUF as u64) as usize;
                    // Read straight into the diff_id hasher's chunk.
                    let dst = self.tar.spare(want).map_err(werr)?;
                    let want = want.min(dst.len());
                    let n = match file.read(&mut dst[..want]) {
                        Ok(0) => {
                            return Err(Error::SourceChanged {
                                entry: path.to_string(),
                                path: src.clone(),
                                expected: size,
                                actual: size - left,
                            })
                        }
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(rerr(e)),
                    };
                    self.tar.commit(n).map_err(werr)?;
                    left -= n as u64;
                }
            }
        }
        let zeros = [0u8; header::BLOCK];
        self.tar
            .write_all(&zeros[..header::padding(size)])
            .map_err(werr)
    }

    /// Writes the end-of-archive blocks, finishes compression and returns
    /// the layer's identity and the output.
    pub fn finish(mut self) -> Result<(LayerInfo, W)> {
        let ferr = |source| Error::Finish { source };
        self.tar
            .write_all(&[0u8; 2 * header::BLOCK])
            .map_err(ferr)?;
        let (diff_id, uncompressed_size, comp) = self.tar.finish().map_err(ferr)?;
        let hashed = comp.finish().map_err(ferr)?;
        let (digest, size, out) = hashed.finish();
        let digest = if self.uncompressed {
            Some(diff_id.clone())
        } else if self.opts.skip_output_digest {
            None
        } else {
            digest
        };
        tracing::debug!(%diff_id, ?digest, size, uncompressed_size, "layer written");
        Ok((
            LayerInfo {
                diff_id,
                digest,
                size,
                uncompressed_size,
            },
            out,
        ))
    }
}

fn invalid(entry: &str, reason: &str) -> Error {
    Error::InvalidEntry {
        entry: entry.to_string(),
        reason: reason.to_string(),
    }
}

/// Normalises `p` and rejects empty paths, `..` and NUL bytes.
fn checked_path(p: &str, entry: &str) -> Result<String> {
    let path = normalize_rel(p);
    if path.is_empty() {
        return Err(invalid(entry, "empty path"));
    }
    if path.split('/').any(|c| c == "..") {
        return Err(invalid(entry, "path contains '..'"));
    }
    if path.contains('\0') {
        return Err(invalid(entry, "path contains a NUL byte"));
    }
    Ok(path)
}

/// The path as it appears in the tar, used as the sort key.
fn tar_key(e: &Entry) -> String {
    let p = normalize_rel(&e.path);
    match e.kind {
        EntryKind::Whiteout => whiteout_path(&p),
        EntryKind::OpaqueDir => opaque_path(&p),
        _ => p,
    }
}

/// Sorts entries component-wise by their tar path (byte order within each
/// component, so a directory comes right before its children — the order
/// of a sorted filesystem walk), then makes the first entry of every
/// hardlink group in that order the one carrying the content.
pub fn sort_entries(entries: &mut Vec<Entry>) {
    let mut keyed: Vec<(String, Entry)> = entries.drain(..).map(|e| (tar_key(&e), e)).collect();
    keyed.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    entries.extend(keyed.into_iter().map(|(_, e)| e));
    order_hardlinks(entries);
}

/// If a hardlink sorts before the file it links to, the two swap roles (and
/// metadata) and the group's other links are retargeted.
fn order_hardlinks(entries: &mut [Entry]) {
    let pos: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (normalize_rel(&e.path), i))
        .collect();
    for i in 0..entries.len() {
        let EntryKind::Hardlink { target } = &entries[i].kind else {
            continue;
        };
        let target = normalize_rel(target);
        let Some(&j) = pos.get(&target) else { continue };
        if j <= i || !matches!(entries[j].kind, EntryKind::File { .. }) {
            continue;
        }
        let new_target = normalize_rel(&entries[i].path);
        let (head, tail) = entries.split_at_mut(j);
        let (a, b) = (&mut head[i], &mut tail[0]);
        std::mem::swap(&mut a.kind, &mut b.kind);
        std::mem::swap(&mut a.mode, &mut b.mode);
        std::mem::swap(&mut a.uid, &mut b.uid);
        std::mem::swap(&mut a.gid, &mut b.gid);
        std::mem::swap(&mut a.mtime, &mut b.mtime);
        std::mem::swap(&mut a.mtime_nsec, &mut b.mtime_nsec);
        std::mem::swap(&mut a.xattrs, &mut b.xattrs);
        b.kind = EntryKind::Hardlink {
            target: new_target.clone(),
        };
        for e in entries.iter_mut().skip(i + 1) {
            if let EntryKind::Hardlink { target: t } = &mut e.kind {
                if normalize_rel(t) == target {
                    *t = new_target.clone();
                }
            }
        }
    }
}

/// Sorts `entries` (see [`sort_entries`]), writes them as one layer and
/// returns its identity and the output.
pub fn write_layer<W: Write>(
    mut entries: Vec<Entry>,
    out: W,
    compression: Compression,
    opts: WriteOptions,
) -> Result<(LayerInfo, W)> {
    sort_entries(&mut entries);
    let mut w = LayerWriter::new(out, compression, opts)?;
    for e in &entries {
        w.append(e)?;
    }
    w.finish()
}
