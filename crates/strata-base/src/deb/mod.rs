//! Reading a `.deb`: an `ar` archive of `debian-binary` (`2.0`), `control.tar[.gz|.xz|.zst]`
//! and `data.tar[.gz|.xz|.zst|.bz2]`, in that order (deb(5)). Compression is sniffed by
//! strata-archive, so the member's suffix is only a hint. The whole package is read into
//! memory (Debian's packages are small; the largest of `debug` is ~10 MB): the data tar
//! becomes [`strata_archive::Entry`] values with their content, in archive order, which is
//! the order dpkg records in `info/<pkg>.list`.

mod control;
mod data;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use control::ControlArchive;
pub use data::DataFile;

/// What is wrong with a `.deb`.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("{path}: cannot read the package")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not a Debian package: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("{path}: corrupt or truncated member {member}")]
    Member {
        path: PathBuf,
        member: String,
        #[source]
        source: io::Error,
    },
}

/// One unpacked package: its control archive and the data tar's entries.
#[derive(Debug, Clone)]
pub struct DebPackage {
    pub path: PathBuf,
    pub control: ControlArchive,
    /// The data tar's entries, in archive order, paths relative (`usr/bin/x`), the root
    /// (`./`) left out.
    pub files: Vec<DataFile>,
}

impl DebPackage {
    /// Reads and checks the whole package at `path`.
    pub fn open(path: &Path) -> Result<DebPackage, DebError> {
        let file = std::fs::File::open(path).map_err(|source| DebError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        read_deb(path, io::BufReader::with_capacity(1 << 20, file))
    }
}

fn format(path: &Path, reason: impl Into<String>) -> DebError {
    DebError::Format {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_deb<R: Read>(path: &Path, reader: R) -> Result<DebPackage, DebError> {
    let mut ar = ar::Archive::new(reader);
    let mut seen_binary = false;
    let mut control = None;
    let mut files = None;
    while let Some(member) = ar.next_entry() {
        let mut member = member.map_err(|source| DebError::Member {
            path: path.to_path_buf(),
            member: "(ar header)".into(),
            source,
        })?;
        let name = String::from_utf8_lossy(member.header().identifier())
            .trim_end_matches('/')
            .to_owned();
        let size = member.header().size();
        let member_err = |source| DebError::Member {
            path: path.to_path_buf(),
            member: name.clone(),
            source,
        };
        let mut bytes = Vec::with_capacity(size as usize);
        member.read_to_end(&mut bytes).map_err(member_err)?;
        if (bytes.len() as u64) < size {
            return Err(member_err(io::ErrorKind::UnexpectedEof.into()));
        }
        if name == "debian-binary" {
            if !bytes.starts_with(b"2.") {
                return Err(format(path, "debian-binary is not 2.x"));
            }
            seen_binary = true;
        } else if name.starts_with("control.tar") {
            control = Some(ControlArchive::read(bytes).map_err(member_err)?);
        } else if name.starts_with("data.tar") {
            files = Some(data::read(bytes).map_err(member_err)?);
        } else if !name.starts_with('_') {
            return Err(format(path, format!("unexpected member {name:?}")));
        }
    }
    if !seen_binary {
        return Err(format(path, "no debian-binary member"));
    }
    let control = control.ok_or_else(|| format(path, "no control.tar member"))?;
    let files = files.ok_or_else(|| format(path, "no data.tar member (truncated?)"))?;
    Ok(DebPackage {
        path: path.to_path_buf(),
        control,
        files,
    })
}

/// A tar member's decompressed bytes: compression sniffed (gzip, xz, zstd, bzip2, none).
fn decompress(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    let len = bytes.len();
    let (mut reader, _) = strata_archive::open_decompressed(io::Cursor::new(bytes))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut out = Vec::with_capacity(len * 3);
    reader.read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
