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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::walk::CHUNK;
    use strata_oci::Digest;

    const TOKEN: &str = "ghp_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8";

    fn layer() -> LayerInfo {
        LayerInfo {
            index: 0,
            digest: format!("sha256:{}", "a".repeat(64))
                .parse::<Digest>()
                .unwrap(),
            media_type: String::new(),
            blob_size: 0,
            diff_id: None,
            created_by: None,
        }
    }

    fn file(path: &str, size: usize) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            size: size as u64,
            mode: 0o644,
            uid: 0,
            gid: 0,
        }
    }

    /// Feeds `content` to a fresh visitor in chunks of `chunk` bytes.
    fn scan(content: &[u8], chunk: usize) -> LayerScan {
        let mut v = SecretVisitor::new(Scanner::builtin(), &layer());
        assert_eq!(v.entry(&file("app/f", content.len())), Want::Content);
        for c in content.chunks(chunk) {
            v.content(c);
        }
        v.end_content();
        v.finish()
    }

    /// Lines of filler with the token placed so that it starts at byte `at`.
    fn text_with_token_at(at: usize, len: usize) -> (Vec<u8>, u64) {
        let mut text = Vec::with_capacity(len);
        while text.len() + 64 < at {
            text.extend_from_slice(b"filler line without anything secret in it, just words\n");
        }
        text.resize(at - 1, b' ');
        text.push(b'\n');
        let line = text.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        text.extend_from_slice(TOKEN.as_bytes());
        text.push(b'\n');
        while text.len() < len {
            text.extend_from_slice(b"more filler\n");
        }
        (text, line)
    }

    #[test]
    fn a_secret_across_a_chunk_boundary_is_found_once_on_its_line() {
        for at in [CHUNK - 20, CHUNK - MAX_AHEAD - 3, CHUNK + 5, 2 * CHUNK - 1] {
            let (text, line) = text_with_token_at(at, 3 * CHUNK);
            let out = scan(&text, CHUNK);
            assert_eq!(out.findings.len(), 1, "token at {at}");
            assert_eq!(out.findings[0].line, line, "token at {at}");
            assert_eq!(out.findings[0].secret, "ghp_*****");
            assert_eq!(out.stats.bytes, text.len() as u64);
        }
    }

    #[test]
    fn small_chunks_find_the_same_as_one() {
        let (text, line) = text_with_token_at(70_000, 100_000);
        for chunk in [1000, 4096, 65536, 1 << 20] {
            let out = scan(&text, chunk);
            let lines: Vec<u64> = out.findings.iter().map(|f| f.line).collect();
            assert_eq!(lines, vec![line], "chunks of {chunk}");
        }
    }

    #[test]
    fn memory_stays_one_chunk_on_a_huge_file() {
        let mut v = SecretVisitor::new(Scanner::builtin(), &layer());
        v.entry(&file("var/log/huge", 64 * CHUNK));
        let chunk = b"x = 1\n".repeat(CHUNK / 6);
        for _ in 0..64 {
            v.content(&chunk);
            assert!(v.buf.len() <= CHUNK + MAX_AHEAD + MAX_BACK);
        }
        v.end_content();
        assert_eq!(v.finish().stats.files, 1);
    }

    #[test]
    fn binary_files_are_skipped_and_counted() {
        let mut content = b"\x7fELF\0\0".to_vec();
        content.extend_from_slice(TOKEN.as_bytes());
        let out = scan(&content, CHUNK);
        assert!(out.findings.is_empty());
        assert_eq!((out.stats.files, out.stats.binary_files), (0, 1));
        // A NUL after the sniffed start ends the scan there.
        let mut late = vec![b'a'; SNIFF + 10];
        late.extend_from_slice(format!("\n{TOKEN}\n\0{TOKEN}\n").as_bytes());
        assert_eq!(scan(&late, CHUNK).findings.len(), 1);
    }

    #[test]
    fn removals_know_whiteouts_opaque_directories_and_replacements() {
        let mut r = Removals::default();
        r.whiteouts.insert("etc/secret".into());
        r.opaques.insert("root/.aws".into());
        r.entries.insert(path_hash("app/.env"));
        assert_eq!(r.removes("etc/secret"), Some(false));
        assert_eq!(r.removes("etc/secret/inner"), Some(false));
        assert_eq!(r.removes("root/.aws/credentials"), Some(false));
        assert_eq!(r.removes("app/.env"), Some(true));
        assert_eq!(r.removes("etc/secrets"), None);
        assert_eq!(r.removes("root/.aws"), None);
    }
}
