//! The per-layer records of entries (sorted runs, spilled past a bound), what
//! [`super::merge`] applies and [`super::report`] groups into duplicates.

use std::cmp::Ordering;
use std::io::{self, Read, Write};

use xxhash_rust::xxh3::Xxh3;

use super::runs::{get, get_str, put_str, Item, Run, Runs};
use crate::image::{Entry, EntryKind, LayerInfo, LayerVisitor, Want};

/// What an entry is, for the waste merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// Symlinks, hard links, devices: they take no content bytes.
    Other,
    Whiteout,
    Opaque,
}

impl Kind {
    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(c: u8) -> io::Result<Kind> {
        Ok(match c {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Other,
            3 => Kind::Whiteout,
            4 => Kind::Opaque,
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "entry kind")),
        })
    }
}

/// One entry of a layer, ordered by path (components first: `a/b` right after `a`,
/// before `a-b`) then layer, so a path's versions and then its subtree come together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRec {
    pub path: String,
    pub layer: u32,
    pub kind: Kind,
    pub size: u64,
}

/// Compares paths component by component (`/` below every other byte).
pub fn path_order(a: &str, b: &str) -> Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    a.bytes().map(key).cmp(b.bytes().map(key))
}

impl Item for PathRec {
    fn order(&self, other: &Self) -> Ordering {
        path_order(&self.path, &other.path).then(self.layer.cmp(&other.layer))
    }

    fn encode(&self, w: &mut impl Write) -> io::Result<()> {
        put_str(w, &self.path)?;
        w.write_all(&self.layer.to_le_bytes())?;
        w.write_all(&[self.kind.code()])?;
        w.write_all(&self.size.to_le_bytes())
    }

    fn decode(r: &mut impl Read) -> io::Result<Option<Self>> {
        let Some(path) = get_str(r)? else {
            return Ok(None);
        };
        Ok(Some(PathRec {
            path,
            layer: u32::from_le_bytes(get(r)?),
            kind: Kind::from_code(get::<1>(r)?[0])?,
            size: u64::from_le_bytes(get(r)?),
        }))
    }
}

/// A regular file's content hash, ordered by hash then layer then path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashRec {
    pub hash: u128,
    pub size: u64,
    pub layer: u32,
    pub path: String,
}

impl Item for HashRec {
    fn order(&self, other: &Self) -> Ordering {
        (self.hash, self.layer, &self.path).cmp(&(other.hash, other.layer, &other.path))
    }

    fn encode(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.hash.to_le_bytes())?;
        w.write_all(&self.size.to_le_bytes())?;
        w.write_all(&self.layer.to_le_bytes())?;
        put_str(w, &self.path)
    }

    fn decode(r: &mut impl Read) -> io::Result<Option<Self>> {
        let mut first = [0u8; 16];
        match r.read_exact(&mut first) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let size = u64::from_le_bytes(get(r)?);
        let layer = u32::from_le_bytes(get(r)?);
        let path = get_str(r)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "hash record"))?;
        Ok(Some(HashRec {
            hash: u128::from_le_bytes(first),
            size,
            layer,
            path,
        }))
    }
}

/// A layer's entries and content hashes, as they are collected.
pub struct LayerFiles {
    pub info: LayerInfo,
    pub paths: Runs<PathRec>,
    pub hashes: Runs<HashRec>,
    /// Σ of the regular files' sizes.
    pub bytes: u64,
    pub files: usize,
    hashing: Option<(Xxh3, String, u64)>,
    /// The first error writing a spilled run (reported after the walk).
    pub error: Option<io::Error>,
}

impl std::fmt::Debug for LayerFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerFiles")
            .field("info", &self.info)
            .field("bytes", &self.bytes)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl LayerFiles {
    pub fn new(info: &LayerInfo) -> LayerFiles {
        LayerFiles::with_runs(info, Runs::default(), Runs::default())
    }

    /// With given runs (tests use small spill limits).
    pub fn with_runs(info: &LayerInfo, paths: Runs<PathRec>, hashes: Runs<HashRec>) -> LayerFiles {
        LayerFiles {
            info: info.clone(),
            paths,
            hashes,
            bytes: 0,
            files: 0,
            hashing: None,
            error: None,
        }
    }

    /// Records an entry (for tests and for [`LayerVisitor::entry`]).
    pub fn record(&mut self, path: &str, kind: Kind, size: u64) {
        if kind == Kind::File {
            self.bytes += size;
            self.files += 1;
        }
        let rec = PathRec {
            path: path.to_string(),
            layer: self.info.index as u32,
            kind,
            size,
        };
        self.keep(|s| s.paths.push(rec));
    }

    fn keep(&mut self, f: impl FnOnce(&mut Self) -> io::Result<()>) {
        if self.error.is_none() {
            if let Err(e) = f(self) {
                self.error = Some(e);
            }
        }
    }

    /// The sorted runs of paths and hashes.
    pub fn finish(self) -> io::Result<(Run2, LayerSummary)> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let summary = LayerSummary {
            info: self.info,
            bytes: self.bytes,
            files: self.files,
        };
        Ok(((self.paths.finish()?, self.hashes.finish()?), summary))
    }
}

/// A layer's path runs and hash runs.
pub type Run2 = (Vec<Run<PathRec>>, Vec<Run<HashRec>>);

/// What a layer's walk counted.
#[derive(Debug, Clone)]
pub struct LayerSummary {
    pub info: LayerInfo,
    pub bytes: u64,
    pub files: usize,
}

impl LayerVisitor for LayerFiles {
    fn entry(&mut self, entry: &Entry) -> Want {
        let kind = match entry.kind {
            EntryKind::File => Kind::File,
            EntryKind::Dir => Kind::Dir,
            EntryKind::Whiteout => Kind::Whiteout,
            EntryKind::Opaque => Kind::Opaque,
            EntryKind::Symlink { .. } | EntryKind::Hardlink { .. } | EntryKind::Other => {
                Kind::Other
            }
        };
        self.record(&entry.path, kind, entry.size);
        if kind == Kind::File && entry.size > 0 {
            self.hashing = Some((Xxh3::new(), entry.path.clone(), entry.size));
            return Want::Content;
        }
        Want::Entry
    }

    fn content(&mut self, chunk: &[u8]) {
        if let Some((h, _, _)) = self.hashing.as_mut() {
            h.update(chunk);
        }
    }

    fn end_layer(&mut self) {
        self.keep(|s| s.paths.seal());
        self.keep(|s| s.hashes.seal());
    }

    fn end_content(&mut self) {
        if let Some((h, path, size)) = self.hashing.take() {
            let rec = HashRec {
                hash: h.digest128(),
                size,
                layer: self.info.index as u32,
                path,
            };
            self.keep(|s| s.hashes.push(rec));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_order_by_component() {
        let mut v = vec!["a-b", "a/z", "a", "a0", "a/b/c", "b", ""];
        v.sort_by(|x, y| path_order(x, y));
        assert_eq!(v, ["", "a", "a/b/c", "a/z", "a-b", "a0", "b"]);
    }
}
