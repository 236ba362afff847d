//! The data archive: the package's files as layer entries, in archive order.

use std::io::{self, Read};
use std::sync::Arc;

use strata_archive::{normalize_rel, Entry, EntryKind, FileSource};
use tar::EntryType;

/// One file of a package, as it would be written into a layer (path relative, as the
/// package ships it: `bin/sh` stays `bin/sh` here, the merged-/usr mapping is the image's).
pub type DataFile = Entry;

pub(super) fn read(compressed: Vec<u8>) -> io::Result<Vec<DataFile>> {
    let tar = super::decompress(compressed)?;
    let mut archive = tar::Archive::new(&tar[..]);
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        if let Some(file) = to_entry(entry)? {
            out.push(file);
        }
    }
    Ok(out)
}

fn to_entry<R: Read>(mut entry: tar::Entry<'_, R>) -> io::Result<Option<DataFile>> {
    let header = entry.header().clone();
    let path = normalize_rel(&entry.path()?.to_string_lossy());
    if path.is_empty() {
        return Ok(None);
    }
    let link = || -> io::Result<String> { Ok(entry_link(&header)?.unwrap_or_default()) };
    let kind = match header.entry_type() {
        EntryType::Regular | EntryType::Continuous => {
            let mut bytes = Vec::with_capacity(header.size()? as usize);
            entry.read_to_end(&mut bytes)?;
            EntryKind::File {
                size: bytes.len() as u64,
                source: FileSource::Bytes(Arc::from(bytes)),
            }
        }
        EntryType::Directory => EntryKind::Dir,
        EntryType::Symlink => EntryKind::Symlink {
            target: entry
                .link_name()?
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_else(|| link().unwrap_or_default()),
        },
        EntryType::Link => EntryKind::Hardlink {
            target: normalize_rel(
                &entry
                    .link_name()?
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        },
        EntryType::Char => EntryKind::CharDevice {
            major: header.device_major()?.unwrap_or(0),
            minor: header.device_minor()?.unwrap_or(0),
        },
        EntryType::Block => EntryKind::BlockDevice {
            major: header.device_major()?.unwrap_or(0),
            minor: header.device_minor()?.unwrap_or(0),
        },
        EntryType::Fifo => EntryKind::Fifo,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{path}: unsupported tar entry type {other:?}"),
            ))
        }
    };
    let mut e = Entry::new(path, kind);
    e.mode = header.mode()? & 0o7777;
    e.uid = header.uid()? as u32;
    e.gid = header.gid()? as u32;
    e.mtime = header.mtime()? as i64;
    Ok(Some(e))
}

fn entry_link(header: &tar::Header) -> io::Result<Option<String>> {
    Ok(header
        .link_name()?
        .map(|l| l.to_string_lossy().into_owned()))
}
