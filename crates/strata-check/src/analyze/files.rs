//! The per-layer record of entries: what [`super::merge`] applies.

use xxhash_rust::xxh3::Xxh3;

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

/// One entry of a layer.
#[derive(Debug, Clone)]
pub struct Record {
    pub path: Box<str>,
    pub kind: Kind,
    pub size: u64,
    /// xxh3-128 of the content (regular files with content).
    pub hash: Option<u128>,
}

/// A layer and its entries, in tar order.
pub struct LayerFiles {
    pub info: LayerInfo,
    pub records: Vec<Record>,
    /// Σ of the regular files' sizes.
    pub bytes: u64,
    pub files: usize,
    hashing: Option<Xxh3>,
}

impl std::fmt::Debug for LayerFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerFiles")
            .field("info", &self.info)
            .field("records", &self.records.len())
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl LayerFiles {
    pub fn new(info: &LayerInfo) -> LayerFiles {
        LayerFiles {
            info: info.clone(),
            records: Vec::new(),
            bytes: 0,
            files: 0,
            hashing: None,
        }
    }
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
        self.records.push(Record {
            path: entry.path.as_str().into(),
            kind,
            size: entry.size,
            hash: None,
        });
        if kind == Kind::File {
            self.bytes += entry.size;
            self.files += 1;
            if entry.size > 0 {
                self.hashing = Some(Xxh3::new());
                return Want::Content;
            }
        }
        Want::Entry
    }

    fn content(&mut self, chunk: &[u8]) {
        if let Some(h) = self.hashing.as_mut() {
            h.update(chunk);
        }
    }

    fn end_content(&mut self) {
        if let (Some(h), Some(last)) = (self.hashing.take(), self.records.last_mut()) {
            last.hash = Some(h.digest128());
        }
    }
}
