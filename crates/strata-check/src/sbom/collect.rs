//! Reading the candidate files of each layer ([`LayerFiles`], a [`LayerVisitor`]) and
//! merging the layers bottom-up into the final filesystem's candidates ([`merge`]):
//! whiteouts and opaque directories delete what lower layers had, a later file (or
//! anything else) at a path replaces the lower one, hard links share their target's
//! content.
//!
//! Memory: a candidate text file is kept whole but capped ([`Kind::max_size`]); an
//! executable is sniffed for the ELF magic and, only when ELF, spooled to an unnamed
//! temporary file, scanned and dropped, so only its packages are kept. Each layer also
//! keeps the paths of its other non-directory entries (to hide lower candidates).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, Write};

use crate::image::{Entry, EntryKind, LayerInfo, LayerVisitor, Want};

use super::catalog::{elf, Kind};
use super::package::Cataloged;

/// What a layer holds at a candidate path.
#[derive(Debug, Clone)]
pub enum Content {
    /// A cataloger's file, whole.
    Text(Kind, Vec<u8>),
    /// An ELF binary's packages (Go modules, Rust crates).
    Binary(Vec<Cataloged>),
    /// A file whose presence is all that matters (`package-lock.json`).
    Marker(Kind),
}

/// What is being read of the current entry.
enum Reading {
    None,
    Text {
        path: String,
        kind: Kind,
        buf: Vec<u8>,
    },
    Executable {
        path: String,
        state: Sniff,
    },
}

#[derive(Clone, Copy, PartialEq)]
enum Sniff {
    First,
    Elf,
    NotElf,
}

/// One layer's candidate files and deletions.
pub struct LayerFiles {
    pub layer: LayerInfo,
    deleted: Vec<String>,
    opaque: Vec<String>,
    /// Non-directory entries that are not candidates: they hide lower candidates.
    shadows: Vec<String>,
    hardlinks: Vec<(String, String)>,
    files: Vec<(String, Content)>,
    reading: Reading,
    spool: Option<File>,
    /// The first failure to spool a binary (disk full…), reported after the walk.
    pub error: Option<std::io::Error>,
}

impl LayerFiles {
    pub fn new(layer: &LayerInfo) -> LayerFiles {
        LayerFiles {
            layer: layer.clone(),
            deleted: Vec::new(),
            opaque: Vec::new(),
            shadows: Vec::new(),
            hardlinks: Vec::new(),
            files: Vec::new(),
            reading: Reading::None,
            spool: None,
            error: None,
        }
    }

    fn shadow(&mut self, path: &str) {
        // The bottom layer has nothing below it to hide.
        if self.layer.index > 0 {
            self.shadows.push(path.to_string());
        }
    }

    fn file(&mut self, entry: &Entry) -> Want {
        if let Some(kind) = Kind::of(&entry.path) {
            if kind == Kind::NpmLock {
                self.files.push((entry.path.clone(), Content::Marker(kind)));
                return Want::Entry;
            }
            if entry.size > kind.max_size() {
                tracing::warn!(path = %entry.path, layer = %self.layer.digest, size = entry.size, "SBOM: file too large for its cataloger; skipped");
                self.shadow(&entry.path);
                return Want::Entry;
            }
            self.reading = Reading::Text {
                path: entry.path.clone(),
                kind,
                buf: Vec::with_capacity(entry.size as usize),
            };
            return Want::Content;
        }
        if entry.mode & 0o111 != 0 && entry.size >= 64 {
            self.reading = Reading::Executable {
                path: entry.path.clone(),
                state: Sniff::First,
            };
            return Want::Content;
        }
        self.shadow(&entry.path);
        Want::Entry
    }

    /// The spool file, empty.
    fn spool(&mut self) -> std::io::Result<&mut File> {
        if self.spool.is_none() {
            self.spool = Some(tempfile::tempfile()?);
        }
        let f = self.spool.as_mut().expect("just set");
        f.set_len(0)?;
        f.rewind()?;
        Ok(f)
    }

    fn scan_spooled(&mut self, path: String) {
        let Some(f) = self.spool.as_mut() else {
            return self.shadow(&path);
        };
        if let Err(e) = f.flush().and_then(|()| f.rewind()) {
            self.error.get_or_insert(e);
            return;
        }
        match elf::scan(f) {
            Ok(found) if !found.is_empty() => self.files.push((path, Content::Binary(found))),
            Ok(_) => self.shadow(&path),
            Err(e) => {
                tracing::warn!(path = %path, layer = %self.layer.digest, error = %e, "SBOM: binary not cataloged");
                self.shadow(&path);
            }
        }
    }
}

impl LayerVisitor for LayerFiles {
    fn entry(&mut self, entry: &Entry) -> Want {
        self.reading = Reading::None;
        match &entry.kind {
            EntryKind::Whiteout => self.deleted.push(entry.path.clone()),
            EntryKind::Opaque => self.opaque.push(entry.path.clone()),
            EntryKind::Dir => {}
            EntryKind::File => return self.file(entry),
            EntryKind::Hardlink { target } => {
                self.hardlinks.push((entry.path.clone(), target.clone()));
            }
            EntryKind::Symlink { .. } | EntryKind::Other => self.shadow(&entry.path),
        }
        Want::Entry
    }

    fn content(&mut self, chunk: &[u8]) {
        let (first, is_elf) = match &mut self.reading {
            Reading::Text { buf, .. } => {
                buf.extend_from_slice(chunk);
                return;
            }
            Reading::Executable { state, .. } => {
                let first = *state == Sniff::First;
                if first {
                    *state = match chunk.starts_with(elf::MAGIC) {
                        true => Sniff::Elf,
                        false => Sniff::NotElf,
                    };
                }
                (first, *state == Sniff::Elf)
            }
            Reading::None => return,
        };
        if !is_elf {
            return;
        }
        let written = match (first, self.spool.as_mut()) {
            (false, Some(f)) => f.write_all(chunk),
            _ => self.spool().and_then(|f| f.write_all(chunk)),
        };
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }

    fn end_content(&mut self) {
        match std::mem::replace(&mut self.reading, Reading::None) {
            Reading::Text { path, kind, buf } => self.files.push((path, Content::Text(kind, buf))),
            Reading::Executable {
                path,
                state: Sniff::Elf,
            } => self.scan_spooled(path),
            Reading::Executable { path, .. } => self.shadow(&path),
            Reading::None => {}
        }
    }
}

/// The final filesystem's candidates: path → (index of the layer that put it, content).
pub type Final = BTreeMap<String, (usize, Content)>;

/// Applies the layers bottom-up (`layers` in order).
pub fn merge(layers: Vec<LayerFiles>) -> Final {
    let mut fs = Final::new();
    for layer in layers {
        let index = layer.layer.index;
        for d in &layer.deleted {
            fs.remove(d);
            remove_under(&mut fs, d);
        }
        for o in &layer.opaque {
            remove_under(&mut fs, o);
        }
        for s in &layer.shadows {
            fs.remove(s);
        }
        for (path, content) in layer.files {
            fs.insert(path, (index, content));
        }
        for (path, target) in &layer.hardlinks {
            match fs.get(target).cloned() {
                Some(v) => fs.insert(path.clone(), v),
                None => fs.remove(path),
            };
        }
    }
    fs
}

/// Removes every path under directory `dir` (`""` is the root).
fn remove_under(fs: &mut Final, dir: &str) {
    if dir.is_empty() {
        fs.clear();
        return;
    }
    let prefix = format!("{dir}/");
    let doomed: Vec<String> = fs
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        fs.remove(&k);
    }
}
