//! Deterministic tars of a layout: sorted entries, root-owned, mtime 0, blobs streamed
//! straight from the store.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;

use strata_oci::Digest;

use crate::error::{Error, Result};
use crate::store::Store;

/// Writes `blobs/sha256/<hex>` for every digest, then `files` (names sorting after `blobs/`).
pub(crate) fn write_layout_tar<W: Write>(
    store: &Store,
    out: W,
    dest: &Path,
    blobs: &BTreeSet<Digest>,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<W> {
    let io_err = |e| Error::io(dest)(e);
    let mut b = tar::Builder::new(out);
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, dir, std::io::empty())
            .map_err(io_err)?;
    }
    for d in blobs {
        let file = store.open_blob(d)?;
        let size = file
            .metadata()
            .map_err(Error::io(store.blob_path(d)))?
            .len();
        let mut h = header(tar::EntryType::Regular, 0o644, size);
        let mut reader = file.take(size);
        b.append_data(&mut h, format!("blobs/sha256/{}", d.hex()), &mut reader)
            .map_err(io_err)?;
        if reader.limit() != 0 {
            return Err(Error::Export {
                path: dest.to_owned(),
                reason: format!("blob {d} shrank while it was being written"),
            });
        }
    }
    for (name, bytes) in files {
        let mut h = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        b.append_data(&mut h, name, bytes.as_slice())
            .map_err(io_err)?;
    }
    b.into_inner().map_err(io_err)
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    let _ = h.set_username("");
    let _ = h.set_groupname("");
    h
}
