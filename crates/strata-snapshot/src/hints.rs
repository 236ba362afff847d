//! Sibling hints: for each parent chain id, the snapshot last unpacked on top of it
//! (`hints/<parent hex>` holds the child's hex). A new layer over the same parent is most
//! often the same build step after a small edit (a `COPY app/` with one file changed), so
//! its unpack hard-links the unchanged files from that sibling instead of writing them
//! again (see `strata_archive::ApplyOptions::reuse`, which compares every byte). A hint is
//! only a guess: a stale or torn one is ignored.

use std::fs;
use std::path::PathBuf;

use strata_oci::Digest;
use tracing::{debug, warn};

use crate::error::{io_err, Result};
use crate::store::{nonce, SnapshotStore};

impl SnapshotStore {
    /// The trusted snapshot last unpacked over `parent` (a chain id), other than `hex`.
    pub(crate) fn sibling_of(&self, parent: &Digest, hex: &str) -> Option<PathBuf> {
        let text = fs::read_to_string(self.hints_dir().join(parent.hex())).ok()?;
        let sibling = text.trim();
        Digest::from_hex(sibling).ok()?;
        if sibling == hex {
            return None;
        }
        let dir = self.hex_dir(sibling);
        self.trusted(sibling, &dir).then_some(dir)
    }

    /// Records `hex` as the latest snapshot over `parent`; failures only lose the hint.
    pub(crate) fn record_sibling(&self, parent: &Digest, hex: &str) {
        let parent_hex = parent.hex();
        let dir = self.hints_dir();
        let tmp = dir.join(format!(".{parent_hex}-{}", nonce()));
        let done = fs::write(&tmp, hex).and_then(|()| fs::rename(&tmp, dir.join(parent_hex)));
        if let Err(e) = done {
            let _ = fs::remove_file(&tmp);
            warn!(error = %e, "cannot record a snapshot hint");
        }
    }

    /// Removes hints whose snapshot is gone (after snapshots were removed) and temp files of
    /// interrupted writes; returns how many.
    pub fn clean_hints(&self) -> Result<usize> {
        let dir = self.hints_dir();
        let mut removed = 0;
        for item in fs::read_dir(&dir).map_err(io_err("read", &dir))? {
            let path = item.map_err(io_err("read", &dir))?.path();
            let temp = path
                .file_name()
                .is_some_and(|n| n.as_encoded_bytes()[0] == b'.');
            let live = !temp
                && fs::read_to_string(&path)
                    .map(|h| self.hex_dir(h.trim()).is_dir())
                    .unwrap_or(false);
            if !live {
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                removed += 1;
            }
        }
        debug!(removed, "cleaned snapshot hints");
        Ok(removed)
    }

    pub(crate) fn hints_dir(&self) -> PathBuf {
        self.dir.join("hints")
    }
}
