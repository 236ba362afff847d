//! [`SecretVisitor`]: the secrets of one layer, found while [`crate::image::walk`] streams
//! it. A file's content arrives in chunks; the visitor keeps the last [`MAX_BACK`] +
//! [`MAX_AHEAD`] bytes of a chunk for the next one, so a secret across a chunk boundary is
//! found and a huge file costs one chunk of memory. Text only: a file whose first 8 KiB
//! hold a NUL byte is binary and skipped, and a NUL later ends the file's scan (ripgrep's
//! rule).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use serde::Serialize;

use super::matcher::{redact, Scanner};
use super::rule::Rule;
use super::{MAX_AHEAD, MAX_BACK};
use crate::image::{Entry, EntryKind, LayerInfo, LayerVisitor, Want};

/// How much of a file's start is sniffed for a NUL byte.
const SNIFF: usize = 8 << 10;

/// A secret in a file of a layer.
#[derive(Debug, Clone)]
pub struct FileFinding {
    pub rule: &'static Rule,
    pub path: String,
    /// 1-based line of the secret's first byte.
    pub line: u64,
    /// The secret, redacted.
    pub secret: String,
}

/// What a layer removes from the layers below it: to tell which findings are gone from
/// the image's filesystem (yet still shipped in their layer).
#[derive(Debug, Default)]
pub struct Removals {
    /// Paths deleted by whiteouts (with everything under them).
    pub whiteouts: HashSet<String>,
    /// Directories whose lower contents an opaque marker hides.
    pub opaques: HashSet<String>,
    /// Hashes of the paths of the layer's non-directory entries (which replace a lower
    /// file at the same path).
    pub entries: HashSet<u64>,
}

impl Removals {
    /// Whether this layer deletes `path` (`Some(false)`) or replaces it (`Some(true)`).
    pub fn removes(&self, path: &str) -> Option<bool> {
        if self.entries.contains(&path_hash(path)) {
            return Some(true);
        }
        let mut at = path;
        loop {
            if self.whiteouts.contains(at) {
                return Some(false);
            }
            let Some((parent, _)) = at.rsplit_once('/') else {
                break;
            };
            if self.opaques.contains(parent) {
                return Some(false);
            }
            at = parent;
        }
        self.opaques.contains("").then_some(false)
    }
}

/// Counts of what was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScanStats {
    /// Text files scanned.
    pub files: u64,
    /// Bytes of text scanned.
    pub bytes: u64,
    /// Files skipped as binary (a NUL byte in their first 8 KiB).
    pub binary_files: u64,
}

impl ScanStats {
    pub fn add(&mut self, other: &ScanStats) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.binary_files += other.binary_files;
    }
}

/// The secrets of one layer and what it removes.
#[derive(Debug)]
pub struct LayerScan {
    pub layer: LayerInfo,
    pub findings: Vec<FileFinding>,
    pub removals: Removals,
    pub stats: ScanStats,
}

/// The file being read.
struct FileScan {
    path: String,
    /// Offset in the file of `buf[0]`.
    base: u64,
    /// Keyword hits before this index of `buf` have been looked at.
    done: usize,
    /// An index of `buf` and the 1-based line it is on.
    cursor: (usize, u64),
    first: bool,
    /// Binary, or a NUL ended it: the rest is not read.
    stopped: bool,
    seen: HashSet<(usize, u64)>,
}

/// A [`LayerVisitor`] finding secrets (see the module docs). `strata analyze --secrets`
/// runs it beside its own visitor in the same walk.
pub struct SecretVisitor {
    scanner: &'static Scanner,
    buf: Vec<u8>,
    file: Option<FileScan>,
    out: LayerScan,
}

impl SecretVisitor {
    pub fn new(scanner: &'static Scanner, layer: &LayerInfo) -> SecretVisitor {
        SecretVisitor {
            scanner,
            buf: Vec::new(),
            file: None,
            out: LayerScan {
                layer: layer.clone(),
                findings: Vec::new(),
                removals: Removals::default(),
                stats: ScanStats::default(),
            },
        }
    }

    /// The layer's findings, removals and counts.
    pub fn finish(self) -> LayerScan {
        self.out
    }

    /// Looks at the keyword hits in `buf[done..to]`.
    fn process(&mut self, to: usize) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if to <= file.done {
            return;
        }
        let hits = self
            .scanner
            .scan(&self.buf, file.done, to, Some(&file.path));
        for hit in hits {
            if !file.seen.insert((hit.rule, file.base + hit.start as u64)) {
                continue;
            }
            let line = line_of(&self.buf, &mut file.cursor, hit.start);
            self.out.findings.push(FileFinding {
                rule: self.scanner.rule(hit.rule),
                path: file.path.clone(),
                line,
                secret: redact(&self.buf[hit.start..hit.end]),
            });
        }
        file.done = to;
    }

    /// Drops the front of the buffer that no later hit can reach.
    fn compact(&mut self) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let keep_from = file.done.saturating_sub(MAX_BACK);
        if keep_from == 0 {
            return;
        }
        line_of(&self.buf, &mut file.cursor, keep_from);
        self.buf.drain(..keep_from);
        file.base += keep_from as u64;
        file.done -= keep_from;
        file.cursor.0 -= keep_from;
    }
}

impl LayerVisitor for SecretVisitor {
    fn entry(&mut self, entry: &Entry) -> Want {
        let removals = &mut self.out.removals;
        match entry.kind {
            EntryKind::Whiteout => {
                removals.whiteouts.insert(entry.path.clone());
            }
            EntryKind::Opaque => {
                removals.opaques.insert(entry.path.clone());
            }
            EntryKind::Dir => {}
            _ => {
                removals.entries.insert(path_hash(&entry.path));
            }
        }
        if !entry.is_file() || entry.size == 0 {
            return Want::Entry;
        }
        self.buf.clear();
        self.file = Some(FileScan {
            path: entry.path.clone(),
            base: 0,
            done: 0,
            cursor: (0, 1),
            first: true,
            stopped: false,
            seen: HashSet::new(),
        });
        Want::Content
    }

    fn content(&mut self, chunk: &[u8]) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if file.stopped {
            return;
        }
        if file.first {
            file.first = false;
            if memchr::memchr(0, &chunk[..chunk.len().min(SNIFF)]).is_some() {
                file.stopped = true;
                self.out.stats.binary_files += 1;
                return;
            }
            self.out.stats.files += 1;
        }
        let text = match memchr::memchr(0, chunk) {
            Some(nul) => {
                file.stopped = true;
                &chunk[..nul]
            }
            None => chunk,
        };
        self.out.stats.bytes += text.len() as u64;
        let stopped = file.stopped;
        self.buf.extend_from_slice(text);
        if stopped {
            self.process(self.buf.len());
            return;
        }
        self.process(self.buf.len().saturating_sub(MAX_AHEAD));
        self.compact();
    }

    fn end_content(&mut self) {
        if self.file.as_ref().is_some_and(|f| !f.stopped) {
            self.process(self.buf.len());
        }
        self.file = None;
        if self.buf.capacity() > 4 * crate::image::walk::CHUNK {
            self.buf = Vec::new();
        }
    }
}

/// The line of `buf[at]`, moving `cursor` (an index and its line) there.
fn line_of(buf: &[u8], cursor: &mut (usize, u64), at: usize) -> u64 {
    let (from, line) = *cursor;
    let newlines = |s: &[u8]| s.iter().filter(|&&b| b == b'\n').count() as u64;
    let line = if at >= from {
        line + newlines(&buf[from..at])
    } else {
        line - newlines(&buf[at..from])
    };
    *cursor = (at, line);
    line
}

fn path_hash(path: &str) -> u64 {
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}
